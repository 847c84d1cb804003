//! `WaitGroup`: Go's `sync.WaitGroup`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::rt::block::BlockInfo;
use crate::rt::detect;
use crate::rt::waitgroup::{Parked, WaitGroupState};

/// Waits for a collection of goroutines to finish: Go's `sync.WaitGroup`.
///
/// The main goroutine calls [`add`](WaitGroup::add) to set the number of
/// goroutines to wait for; each of them calls [`done`](WaitGroup::done) when
/// finished; [`wait`](WaitGroup::wait) parks until the counter is zero.
/// A `WaitGroup` is a cheap `Clone` handle (an `Arc` inside): clones share
/// one counter, so move a clone into each goroutine.
///
/// As in Go, call `add` before starting the goroutine (not inside it), so
/// that `wait` cannot see a zero counter before the goroutine has counted
/// itself. A `WaitGroup` can be reused once `wait` has returned.
///
/// **Memory.** Every `done` happens before the `wait` it releases returns.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::sync::{atomic::AtomicI64, WaitGroup};
///
/// goro::run(async {
///     let wg = WaitGroup::new();
///     let sum = Arc::new(AtomicI64::new(0));
///     for i in 1..=10 {
///         wg.add(1);
///         let (wg, sum) = (wg.clone(), sum.clone());
///         goro::go!(async move {
///             sum.add(i);
///             wg.done();
///         });
///     }
///     wg.wait().await;
///     assert_eq!(sum.load(), 55);
/// });
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<WaitGroupState>,
}

impl WaitGroup {
    /// Makes a wait group with a zero counter.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let wg = goro::sync::WaitGroup::new();
    ///     wg.wait().await; // zero: returns at once
    /// });
    /// ```
    pub fn new() -> Self {
        WaitGroup {
            inner: Arc::new(WaitGroupState::new()),
        }
    }

    /// Adds `delta` (which may be negative) to the counter: Go's
    /// `wg.Add(delta)`. When the counter reaches zero, every goroutine
    /// blocked in [`wait`](WaitGroup::wait) is released.
    ///
    /// # Panics
    ///
    /// `sync: negative WaitGroup counter`, at this call, if the counter
    /// would go below zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro::sync::WaitGroup::new();
    /// wg.add(2);
    /// wg.add(-2);
    /// ```
    #[track_caller]
    pub fn add(&self, delta: isize) {
        self.inner.add(delta, Location::caller());
    }

    /// Decrements the counter by one: Go's `wg.Done()`, i.e. `add(-1)`.
    ///
    /// # Panics
    ///
    /// `sync: negative WaitGroup counter`, at this call, if the counter is
    /// already zero.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let wg = goro::sync::WaitGroup::new();
    ///     wg.add(1);
    ///     let w = wg.clone();
    ///     goro::go!(async move { w.done() });
    ///     wg.wait().await;
    /// });
    /// ```
    #[track_caller]
    pub fn done(&self) {
        self.inner.add(-1, Location::caller());
    }

    /// A guard that calls [`done`](WaitGroup::done) when dropped: Go's
    /// `defer wg.Done()` in one line. The decrement runs however the
    /// goroutine ends: by returning, by a panic unwinding it (caught by
    /// [`recover`](crate::recover) or not), or by [`goexit`](crate::goexit).
    /// A negative counter is reported at this call.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let wg = goro::sync::WaitGroup::new();
    ///     for _ in 0..3 {
    ///         wg.add(1);
    ///         goro::go!(clone(wg), async move {
    ///             let _done = wg.done_on_drop(); // defer wg.Done()
    ///             println!("working");
    ///         });
    ///     }
    ///     wg.wait().await;
    /// });
    /// ```
    #[track_caller]
    pub fn done_on_drop(&self) -> DoneGuard {
        DoneGuard {
            wg: self.clone(),
            site: Location::caller(),
        }
    }

    /// Waits until the counter is zero: Go's `wg.Wait()`. Returns at once if
    /// it is zero already. Any number of goroutines may wait.
    ///
    /// Cancel safe: dropping the future just stops waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let wg = goro::sync::WaitGroup::new();
    ///     wg.add(1);
    ///     let w = wg.clone();
    ///     goro::go!(async move {
    ///         goro::yield_now().await;
    ///         w.done();
    ///     });
    ///     wg.wait().await;
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) -> WaitFuture<'_> {
        WaitFuture {
            wg: &self.inner,
            parked: None,
            loc: Location::caller(),
            yielded: false,
        }
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl WaitGroup {
    /// The address of the state every handle shares: what the allocator
    /// may hand the next `WaitGroup` once all of them are dropped.
    pub(crate) fn state_addr(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("counter", &self.inner.counter())
            .finish()
    }
}

/// The future of [`WaitGroup::wait`]; resolves once the counter is zero.
///
/// # Examples
///
/// ```
/// use goro::sync::{WaitFuture, WaitGroup};
///
/// goro::run(async {
///     let wg = WaitGroup::new();
///     let fut: WaitFuture<'_> = wg.wait();
///     fut.await;
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct WaitFuture<'a> {
    /// The shared state (an `Arc`, so that a parked wait can report the
    /// counter as it is when the schedule ends, not as it was when it parked).
    wg: &'a Arc<WaitGroupState>,
    parked: Option<Parked>,
    loc: &'static Location<'static>,
    yielded: bool,
}

impl Future for WaitFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if detect::yield_point(cx, &mut this.yielded) {
            return Poll::Pending;
        }
        detect::touch(this.wg.obj());
        if detect::active() && this.parked.is_none() {
            detect::wg_wait(this.wg.obj(), this.wg.counter(), this.loc);
        }
        let r = this.wg.poll_wait(&mut this.parked, cx);
        if r.is_pending() {
            // The counter is read when the schedule ends: `done()` calls
            // made after this wait parked count, and the report says how
            // many are still missing.
            detect::block_on(
                this.loc,
                crate::rt::asleep::Waiting::WaitGroup,
                cx.waker(),
                || BlockInfo::WaitGroup {
                    obj: this.wg.obj(),
                    state: Arc::downgrade(this.wg),
                    // The handle this wait borrows: it cannot move while
                    // the wait is parked.
                    handle: std::ptr::from_ref(this.wg) as usize,
                },
            );
        }
        if r.is_ready() {
            // Every `done` happens before `wait` returns.
            detect::acquire(this.wg.obj(), this.loc);
        }
        r
    }
}

impl Drop for WaitFuture<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.parked.take() {
            self.wg.cancel(p);
        }
    }
}

impl fmt::Debug for WaitFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture")
            .field("parked", &self.parked.is_some())
            .finish()
    }
}

/// Calls [`WaitGroup::done`] when dropped; made by
/// [`WaitGroup::done_on_drop`] (Go's `defer wg.Done()`).
///
/// # Examples
///
/// ```
/// use goro::sync::{DoneGuard, WaitGroup};
///
/// let wg = WaitGroup::new();
/// wg.add(1);
/// let g: DoneGuard = wg.done_on_drop();
/// drop(g); // wg.Done()
/// ```
#[must_use = "dropping the guard at once calls done() at once; bind it: `let _done = ..`"]
pub struct DoneGuard {
    wg: WaitGroup,
    site: &'static Location<'static>,
}

impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.wg.inner.add(-1, self.site);
    }
}

impl fmt::Debug for DoneGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoneGuard").finish_non_exhaustive()
    }
}
