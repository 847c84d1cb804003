//! The atomics and lock under the semaphores (`semaphore.rs`) and their
//! wait queue (`waitq.rs`), under one name each: std's and parking_lot's
//! here, loom's in `runtime/tests/loom_mutex.rs`, which compiles those two
//! real files against a shim of this module (the same names and
//! signatures, `const fn new` included) so that loom checks the code that
//! ships without rebuilding the crate under `--cfg loom`. Whatever those
//! files share between threads goes through here.

pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize};

pub(crate) use parking_lot::{Mutex, MutexGuard};

/// `UnsafeCell` with loom's closure API (`with`, `with_mut`), so that the
/// hand-off cell (`handoff.rs`) runs unchanged under loom's, which checks
/// every access (`runtime/tests/loom_handoff.rs`).
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

impl<T> UnsafeCell<T> {
    pub(crate) const fn new(v: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(v))
    }

    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
