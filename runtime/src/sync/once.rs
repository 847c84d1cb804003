//! `Once`: Go's `sync.Once`.

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};

use crate::rt::detect;
use crate::rt::ident::Ident;

/// Runs a function exactly once: Go's `sync.Once`.
///
/// The first [`call_once`](Once::call_once) runs its closure; every other
/// call, concurrent or later, does not run its own closure and returns only
/// after the first one has finished, so the closure's effects happen before
/// every `call_once` returns. `new` is `const`, so a `Once` can be a
/// `static`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::sync::{atomic::AtomicI32, Once, WaitGroup};
///
/// static INIT: Once = Once::new();
///
/// goro::run(async {
///     let runs = Arc::new(AtomicI32::new(0));
///     let wg = WaitGroup::new();
///     for _ in 0..4 {
///         wg.add(1);
///         let (runs, wg) = (runs.clone(), wg.clone());
///         goro::go!(async move {
///             INIT.call_once(|| {
///                 runs.add(1);
///             });
///             wg.done();
///         });
///     }
///     wg.wait().await;
///     assert_eq!(runs.load(), 1);
/// });
/// ```
pub struct Once {
    inner: std::sync::Once,
    id: Ident,
}

impl Once {
    /// Makes a `Once` that has not run yet.
    ///
    /// # Examples
    ///
    /// ```
    /// static SETUP: goro::sync::Once = goro::sync::Once::new();
    /// assert!(!SETUP.is_completed());
    /// ```
    pub const fn new() -> Self {
        Once {
            inner: std::sync::Once::new(),
            id: Ident::new(),
        }
    }

    /// Runs `f` if and only if this is the first call: Go's `once.Do(f)`.
    ///
    /// Concurrent callers block until the first caller's `f` has returned.
    /// `f` is a plain (not async) closure and the wait blocks the calling
    /// thread, not only the goroutine, so keep `f` short, as Go's docs
    /// advise. Calling `call_once` on the same `Once` from inside `f`
    /// deadlocks, as in Go.
    ///
    /// # Panics
    ///
    /// If `f` panics, the panic propagates to this caller, and, as in Go, the
    /// `Once` still counts as done: later calls return without running their
    /// closure.
    ///
    /// # Examples
    ///
    /// ```
    /// let once = goro::sync::Once::new();
    /// let mut n = 0;
    /// once.call_once(|| n += 1);
    /// once.call_once(|| n += 1);
    /// assert_eq!(n, 1);
    /// ```
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        let loc = Location::caller();
        if !self.inner.is_completed() {
            self.call_slow(f, loc);
        }
        // The body happens before every return.
        detect::acquire(self.id.obj(), loc);
    }

    /// The one path that runs the body.
    #[cold]
    fn call_slow<F: FnOnce()>(&self, f: F, loc: &'static Location<'static>) {
        let mut panicked = None;
        // std's `Once` would poison itself on a panic; Go's counts as done.
        self.inner.call_once(|| {
            if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
                panicked = Some(p);
            }
            detect::release(self.id.obj(), loc);
        });
        if let Some(p) = panicked {
            resume_unwind(p);
        }
    }

    /// Whether a `call_once` has finished running its closure.
    ///
    /// # Examples
    ///
    /// ```
    /// let once = goro::sync::Once::new();
    /// once.call_once(|| {});
    /// assert!(once.is_completed());
    /// ```
    pub fn is_completed(&self) -> bool {
        detect::touch(self.id.obj());
        self.inner.is_completed()
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("completed", &self.is_completed())
            .finish()
    }
}
