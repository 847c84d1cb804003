//! `Mutex<T>`: Go's `sync.Mutex` with the data it protects inside.

use std::fmt;
use std::future::Future;
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
/// An uncontended lock and unlock are one compare-and-swap each (plus one on
/// the uncontended lock that holds the data) and allocate nothing; a
/// goroutine that finds the mutex held by a running goroutine re-checks
/// briefly before it parks (on more than one core).
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
    /// Never contended: only the holder of the lock locks it. It exists
    /// to hand out `&mut T` without `unsafe`.
    data: parking_lot::Mutex<T>,
}

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
            data: parking_lot::Mutex::new(value),
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
        let data = self
            .data
            .try_lock()
            .expect("goro: Mutex data lock held without the permit (bug)");
        MutexGuard {
            data,
            unlock: Unlock(self, loc),
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
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

/// Unlocks on drop. A separate field, declared after the data guard, so that
/// the data lock is released before the next owner is admitted.
struct Unlock<'a, T: ?Sized>(&'a Mutex<T>, &'static Location<'static>);

impl<T: ?Sized> Drop for Unlock<'_, T> {
    fn drop(&mut self) {
        self.0.unlock(self.1);
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
    // Field order matters: `data` is released before `unlock` runs.
    data: parking_lot::MutexGuard<'a, T>,
    unlock: Unlock<'a, T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (for `Cond::wait`, which unlocks and
    /// relocks it).
    pub(crate) fn unlock_for_wait(guard: Self) -> &'a Mutex<T> {
        let m = guard.unlock.0;
        drop(guard);
        m
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
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
