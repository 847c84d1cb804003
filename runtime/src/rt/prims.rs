//! The atomics and lock under the semaphores (`semaphore.rs`) and their
//! wait queue (`waitq.rs`), under one name each: std's and parking_lot's
//! here, loom's in `runtime/tests/loom_mutex.rs`, which compiles those two
//! real files against a shim of this module (the same names and
//! signatures, `const fn new` included) so that loom checks the code that
//! ships without rebuilding the crate under `--cfg loom`. Whatever those
//! files share between threads goes through here. The channel lock
//! (`spin.rs`) takes its atomics and hints from here too, for
//! `runtime/tests/loom_spin.rs`.

pub(crate) use std::hint::spin_loop;
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize};
pub(crate) use std::thread::yield_now;

pub(crate) use parking_lot::{Mutex, MutexGuard};
