//! `PerRun<T>`: a package-level variable (`var done = make(chan bool)`)
//! that works in production and under the detector.

use std::fmt;
use std::sync::{Arc, Weak};

use crate::rt::goroutine::{self as g, RunState};

/// A package-level variable made once per program run: Go's
/// `var done = make(chan bool)` at package level.
///
/// In Go a package-level channel is made once per process, and a process is
/// one run. In goro a test process runs many programs: every `goro::run`,
/// and under the detector every explored schedule, is a program of its own.
/// A channel (or `WaitGroup`, `Mutex`, ...) in a plain `static` or a
/// `LazyLock` would outlive its program and carry its state (a value left
/// in a buffer, a close) into the next one, so schedules would no longer
/// replay alone. `PerRun` makes its value with `init` on first use in each
/// run and hands out clones of it for the rest of that run: one channel per
/// program, as in Go.
///
/// Under the detector, a channel made outside the running schedule (in a
/// `static`/`LazyLock` initialised by an earlier run, or before `explore`)
/// is refused with a clear panic, `goro: the channel made at FILE:LINE
/// belongs to another run`, reported at the place it was made. Use
/// `PerRun` (or make the channel inside the run and pass it down).
///
/// `T` must be `Clone` (a handle: `Chan`, `WaitGroup`, `Context`, an
/// `Arc<..>`), since every caller gets its own handle.
///
/// # Examples
///
/// ```
/// use goro::{Chan, PerRun};
///
/// // var done = make(chan bool)
/// static DONE: PerRun<Chan<bool>> = PerRun::new(|| goro::chan(0));
///
/// async fn worker() {
///     println!("working");
///     DONE.get().send(true).await;
/// }
///
/// goro::run(async {
///     goro::go!(worker());
///     assert_eq!(DONE.get().recv().await, Some(true));
/// });
/// ```
pub struct PerRun<T> {
    init: fn() -> T,
    slot: parking_lot::Mutex<Option<(Weak<RunState>, T)>>,
}

impl<T> PerRun<T> {
    /// A variable whose value `init` makes on first use in each run (`const`,
    /// for a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::sync::WaitGroup;
    ///
    /// static WG: goro::PerRun<WaitGroup> = goro::PerRun::new(WaitGroup::new);
    /// # goro::run(async { WG.get().add(0) });
    /// ```
    pub const fn new(init: fn() -> T) -> Self {
        PerRun {
            init,
            slot: parking_lot::Mutex::new(None),
        }
    }
}

impl<T: Clone> PerRun<T> {
    /// This run's value, made by `init` on the run's first call.
    ///
    /// # Panics
    ///
    /// Outside [`run`](crate::run), a detected schedule or a tokio runtime
    /// (there is no program to belong to).
    ///
    /// # Examples
    ///
    /// ```
    /// static JOBS: goro::PerRun<goro::Chan<u32>> = goro::PerRun::new(|| goro::chan(4));
    ///
    /// for _ in 0..2 {
    ///     // Each run gets a fresh, empty channel.
    ///     goro::run(async {
    ///         assert!(JOBS.get().try_recv().is_err());
    ///         JOBS.get().send(1).await;
    ///     });
    /// }
    /// ```
    #[track_caller]
    pub fn get(&self) -> T {
        let run = g::current_run();
        let mut slot = self.slot.lock();
        if let Some((owner, v)) = slot.as_ref() {
            if owner.as_ptr() == Arc::as_ptr(&run) {
                return v.clone();
            }
        }
        // First use in this run. The `Weak` keeps the old run's allocation,
        // so its address cannot be reused by a later run.
        let v = (self.init)();
        let old = slot.replace((Arc::downgrade(&run), v.clone()));
        drop(slot);
        drop(old);
        v
    }
}

impl<T> fmt::Debug for PerRun<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerRun").finish_non_exhaustive()
    }
}
