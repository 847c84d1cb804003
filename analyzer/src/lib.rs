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
//!
//! With the `cli` feature (on by default) it also holds the renderers
//! ([`render`]: rustc-style, JSON Lines, SARIF, GitHub annotations) and the
//! `cargo race` subcommand ([`cli`]). The runtime depends on this crate with
//! default features off, so programs using goro never compile those.

pub mod engine;
pub mod env;
pub mod event;
pub mod finding;
pub mod fxhash;
pub mod trace;
pub mod vv;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod render;

pub use engine::Engine;
pub use finding::{Finding, FindingKind, Frame, GoroutineInfo, Shrink, Site};
