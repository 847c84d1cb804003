//! Procedural macros for goro.
//!
//! This crate is reserved for `#[goro::instrument]` and `#[goro::test]`; it
//! exports nothing yet. See `../shared/DESIGN.md` ("tests") for what it will
//! provide.
