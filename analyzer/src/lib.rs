//! goro's analysis engine: happens-before over vector clocks, the detectors
//! built on it, and the findings they produce.
//!
//! The data path: a runtime turns each completed operation into an
//! [`event::Event`]; the [`Engine`] applies it to its clocks and shadows and
//! records [`Finding`]s; findings serialize to JSON Lines
//! ([`finding::SCHEMA`]) for `cargo race` to gather and render.
//!
//! This crate knows nothing of the runtime: it consumes events and produces
//! findings.

pub mod engine;
pub mod event;
pub mod finding;
pub mod vv;

pub use engine::Engine;
pub use finding::{Finding, FindingKind, Frame, GoroutineInfo, Site};
