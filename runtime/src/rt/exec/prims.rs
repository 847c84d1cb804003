//! The locks and clock `park.rs` builds on, under one name each:
//! parking_lot's here, loom's in `runtime/tests/loom_park.rs`, which
//! compiles the real `park.rs` against a shim of this module (the same
//! names and signatures) so that loom checks the code that ships, without
//! rebuilding the crate under `--cfg loom`. Whatever `park.rs` needs goes
//! through here, nothing around it.

pub(super) use std::time::Instant;

pub(super) use parking_lot::{Condvar, Mutex};
