//! `Mutex<T>`: Go's `sync.Mutex` with the data it protects inside.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::rt::block::BlockInfo;
use crate::rt::detect;
use crate::rt::ident::Ident;
use crate::rt::semaphore::{MutexSem, MutexWaiter};

/// A mutual exclusion lock protecting a `T`: Go's `sync.Mutex`, with the data
/// inside it as in Rust.
///
/// [`lock`](Mutex::lock) waits (asynchronously: the goroutine parks, the
/// thread runs other goroutines) until the mutex is free, and returns a
/// [`MutexGuard`] that gives access to the data; dropping the guard unlocks.
/// Guards are `Send`: a guard may move to another goroutine and be dropped
/// there, which unlocks from there, as Go allows.
///
/// **Fairness**, as in Go, in two modes. In *normal mode* a goroutine that
/// calls `lock` while the mutex is free takes it at once, even if others are
/// parked waiting: unlock wakes the longest waiter, which then competes with
/// such newcomers. That keeps a contended mutex from costing a goroutine
/// switch per lock. Parked waiters are woken one at a time in the order they
/// started waiting, and a woken waiter that loses keeps its place at the
/// front. Once a waiter has waited more than 1 ms, the mutex switches to
/// *starvation mode*: unlock hands ownership directly to the longest waiter,
/// and newcomers queue behind, so no waiter can starve. It switches back
/// when a waiter that was handed the lock had waited less than 1 ms, or was
/// the last one waiting. Time is measured on goro's clock (virtual under the
/// detector).
///
/// An uncontended lock is one compare-and-swap and an unlock one atomic add,
/// as in Go, and neither allocates. A goroutine that finds the mutex held
/// re-checks briefly before it parks when that can pay, as Go's
/// `runtime_canSpin` decides: on more than one core, while another worker
/// runs goroutines, and only if its own worker has nothing else queued
/// (otherwise it parks at once and lets the worker run the others).
///
/// **Memory.** An unlock happens before the next lock returns, as in Go.
///
/// Share a mutex between goroutines with an `Arc`, inside an `Arc`'d struct,
/// or in a `static` (`new` is `const`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::sync::{Mutex, WaitGroup};
///
/// goro::run(async {
///     let counter = Arc::new(Mutex::new(0));
///     let wg = WaitGroup::new();
///     for _ in 0..8 {
///         wg.add(1);
///         let (counter, wg) = (counter.clone(), wg.clone());
///         goro::go!(async move {
///             for _ in 0..100 {
///                 *counter.lock().await += 1;
///             }
///             wg.done();
///         });
///     }
///     wg.wait().await;
///     assert_eq!(*counter.lock().await, 800);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    sem: MutexSem,
    id: Ident,
    /// Accessed only through a [`MutexGuard`], and the semaphore admits one
    /// guard at a time. (A second lock here, as before, cost two more atomic
    /// read-modify-writes per lock and unlock: about a third of the time of a
    /// contended lock.)
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to the `T` to one goroutine at a time
// (`MutexSem` admits one holder, whose `MutexGuard` is the only way to the
// data), so sharing the mutex only ever moves the `T` between threads, as
// `std::sync::Mutex` does: `T: Send` suffices for both.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// Makes an unlocked mutex holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::sync::Mutex;
    ///
    /// static HITS: Mutex<u64> = Mutex::new(0);
    ///
    /// goro::run(async {
    ///     *HITS.lock().await += 1;
    ///     assert_eq!(*HITS.lock().await, 1);
    /// });
    /// ```
    pub const fn new(value: T) -> Self {
        Mutex {
            sem: MutexSem::new(),
            id: Ident::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the data. No lock is needed: the mutex
    /// is owned, so nobody else can hold it.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Mutex::new(vec![1, 2]);
    /// assert_eq!(m.into_inner(), vec![1, 2]);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting while another goroutine holds it: Go's
    /// `mu.Lock()`. Resolves to a guard; dropping the guard unlocks.
    ///
    /// Takes a free mutex at once in normal mode; otherwise waits, woken in
    /// the order waiters started waiting (see the type's docs). The future
    /// does nothing until polled; it joins the queue on its first poll.
    ///
    /// Cancel safe: dropping the future before it resolves leaves the queue;
    /// if the lock had already been handed to it, the lock passes on to the
    /// next waiter (or is unlocked), so it is never leaked; if it had been
    /// woken to compete, the next waiter is woken in its place.
    ///
    /// Like Go's mutex, it is not reentrant: locking a mutex that the same
    /// goroutine holds waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let m = goro::sync::Mutex::new(String::new());
    ///     m.lock().await.push_str("hello");
    ///     assert_eq!(*m.lock().await, "hello");
    /// });
    /// ```
    #[track_caller]
    pub fn lock(&self) -> LockFuture<'_, T> {
        self.lock_at(Location::caller())
    }

    /// [`Mutex::lock`] on behalf of a call at `loc` (`Cond::wait` relocks at
    /// its own caller's line).
    pub(crate) fn lock_at(&self, loc: &'static Location<'static>) -> LockFuture<'_, T> {
        LockFuture {
            mutex: self,
            parked: None,
            loc,
            yielded: false,
            waited: false,
        }
    }

    /// Locks the mutex if that can be done without waiting: Go's
    /// `mu.TryLock()`. `None` if it is held, or if it is in starvation mode
    /// (it is being handed to a waiter). In normal mode a free mutex is taken
    /// even if goroutines are parked waiting for it, as in Go.
    ///
    /// Never blocks and is not a scheduling point. Under the detector a
    /// successful try is an acquire like [`lock`](Mutex::lock) (the last
    /// unlock happens before it); a failed one orders nothing, so reading
    /// shared data after a failed try is a race, as in Go.
    ///
    /// From synchronous code (a `Drop`, a callback) this is the only way to
    /// take the lock; when it fails, do not spin: hand the work to a
    /// goroutine (`goro::go!(async move { m.lock().await; .. })`), or keep
    /// the state in an atomic or a channel instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Mutex::new(1);
    /// let g = m.try_lock().expect("unlocked");
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        detect::touch(self.id.obj());
        if self.sem.try_lock() {
            Some(self.guard(Location::caller()))
        } else {
            None
        }
    }

    /// A mutable reference to the data. No lock is needed: `&mut self`
    /// proves that nobody else can hold the mutex.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = goro::sync::Mutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The guard of the goroutine that now holds the permit, which it took
    /// at `loc` (reported to the detector).
    fn guard(&self, loc: &'static Location<'static>) -> MutexGuard<'_, T> {
        detect::lock(self.id.obj(), loc);
        MutexGuard {
            mutex: self,
            loc,
            _not_auto: PhantomData,
        }
    }

    /// The one unlock path: every guard drop ends here. `loc` is where the
    /// lock was taken (a guard's drop has no caller location of its own).
    fn unlock(&self, loc: &'static Location<'static>) {
        detect::unlock(self.id.obj(), loc);
        self.sem.unlock();
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// The future of [`Mutex::lock`]; resolves to a [`MutexGuard`].
///
/// Dropping it before it resolves gives up its place in the queue, or passes
/// the lock on if it had already been handed over (or wakes the next waiter
/// if it had been woken).
///
/// # Examples
///
/// ```
/// use goro::sync::{LockFuture, Mutex};
///
/// goro::run(async {
///     let m = Mutex::new(5);
///     let fut: LockFuture<'_, i32> = m.lock();
///     assert_eq!(*fut.await, 5);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct LockFuture<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    parked: Option<MutexWaiter>,
    loc: &'static Location<'static>,
    yielded: bool,
    /// The detector has been told this lock waits.
    waited: bool,
}

impl<'a, T: ?Sized> Future for LockFuture<'a, T> {
    type Output = MutexGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
        // Production's uncontended lock, inlined: one compare-and-swap. (Not
        // under the detector, whose lock is first a scheduling point.)
        if this.parked.is_none() && !detect::active() && this.mutex.sem.try_lock() {
            return Poll::Ready(this.mutex.guard(this.loc));
        }
        this.poll_slow(cx)
    }
}

impl<'a, T: ?Sized> LockFuture<'a, T> {
    #[inline(never)]
    fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self;
        let m = this.mutex;
        if detect::yield_point(cx, &mut this.yielded) {
            return Poll::Pending;
        }
        // Spinning on one thread under the detector only burns steps.
        let spin = !detect::active();
        match m.sem.poll_lock(&mut this.parked, spin, cx) {
            Poll::Ready(()) => Poll::Ready(m.guard(this.loc)),
            Poll::Pending => {
                let obj = m.id.obj();
                detect::block_on(
                    this.loc,
                    crate::rt::asleep::Waiting::Lock,
                    cx.waker(),
                    || BlockInfo::Lock {
                        obj,
                        addr: std::ptr::from_ref(m).cast::<u8>() as usize,
                    },
                );
                if detect::active() && !std::mem::replace(&mut this.waited, true) {
                    detect::lock_wait(obj, this.loc);
                }
                Poll::Pending
            }
        }
    }
}

impl<T: ?Sized> Drop for LockFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(p) = self.parked.take() {
            self.mutex.sem.cancel(p);
        }
    }
}

impl<T: ?Sized> fmt::Debug for LockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture")
            .field("parked", &self.parked.is_some())
            .finish()
    }
}

/// Access to a locked [`Mutex`]'s data; dropping it unlocks (Go's
/// `mu.Unlock()`), waking the longest waiter if there is one (or, in
/// starvation mode, handing the mutex to it).
///
/// `Send` when `T` is: a guard may be dropped by another goroutine than the
/// one that locked, as Go allows.
///
/// # Examples
///
/// ```
/// use goro::sync::{Mutex, MutexGuard};
///
/// goro::run(async {
///     let m = Mutex::new(vec![1]);
///     let mut g: MutexGuard<'_, Vec<i32>> = m.lock().await;
///     g.push(2);
///     drop(g); // unlock
///     assert_eq!(*m.lock().await, [1, 2]);
/// });
/// ```
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// Where the lock was taken (a guard's drop has no caller location of
    /// its own).
    loc: &'static Location<'static>,
    /// Opts out of the auto traits, which the reference above would derive
    /// wrongly (`Sync` for any `T: Send`); the impls below say when.
    _not_auto: PhantomData<*const ()>,
}

// SAFETY: a guard is the holder's access to the `T`; moving it to another
// thread moves that access, which `T: Send` allows (and unlocking from
// another goroutine is what Go allows).
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
// SAFETY: a shared guard gives only `&T` to other threads: `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (for `Cond::wait`, which unlocks and
    /// relocks it).
    pub(crate) fn unlock_for_wait(guard: Self) -> &'a Mutex<T> {
        let m = guard.mutex;
        drop(guard);
        m
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock(self.loc);
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard's goroutine holds the mutex (the semaphore
        // admits one holder until the guard drops), so nothing else
        // references the data; the lock's acquire ordering makes the
        // previous holder's writes visible.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only access
        // through the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
