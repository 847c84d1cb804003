//! The atomics, locks, clock and thread calls `park.rs`, `idle.rs` and
//! `cells.rs` build on, under one name each: std's and parking_lot's here,
//! loom's in `runtime/tests/loom_park.rs` and `loom_cells.rs`, which compile
//! the real files against a shim of this module (the same names and signatures)
//! so that loom checks the code that ships, without rebuilding the crate
//! under `--cfg loom`. Whatever those files share between threads goes
//! through here, nothing around it.

pub(super) use std::sync::atomic::{fence, AtomicI64, AtomicPtr, AtomicUsize, Ordering};
pub(super) use std::sync::Arc;
pub(super) use std::thread::yield_now;
pub(super) use std::time::Instant;

pub(super) use parking_lot::{Condvar, Mutex};
