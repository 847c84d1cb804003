//! `RwLock<T>`: Go's `sync.RWMutex` with the data it protects inside.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::rt::asleep::Waiting;
use crate::rt::block::BlockInfo;
use crate::rt::detect;
use crate::rt::ident::Ident;
use crate::rt::semaphore::{Parked, Semaphore, MAX_PERMITS};

/// A reader is one permit; a writer takes them all.
const READER: usize = 1;
const WRITER: usize = MAX_PERMITS;

/// A reader/writer lock protecting a `T`: Go's `sync.RWMutex`, with the data
/// inside it.
///
/// Any number of readers ([`read`](RwLock::read)) or one writer
/// ([`write`](RwLock::write)) hold it at a time. Waiting parks the goroutine.
///
/// **Fairness**, as in Go: goroutines are served first come, first served. A
/// waiting writer blocks readers that arrive after it (so a stream of readers
/// cannot starve a writer), and when a writer unlocks, the readers queued
/// directly behind it are admitted together. Ownership passes directly to the
/// waiters being admitted; nobody can barge in between.
///
/// **Memory.** A write unlock happens before the next read or write lock
/// returns; a read unlock happens before the next write lock returns.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::sync::RwLock;
///
/// goro::run(async {
///     let config = Arc::new(RwLock::new(String::from("v1")));
///     let reader = {
///         let config = config.clone();
///         goro::spawn(async move { config.read().await.clone() })
///     };
///     let seen = reader.await;
///     assert!(seen == "v1");
///     *config.write().await = String::from("v2");
///     assert_eq!(*config.read().await, "v2");
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    sem: Semaphore,
    id: Ident,
    /// Never contended: the semaphore admits readers or one writer only. It
    /// exists to hand out `&T` / `&mut T` without `unsafe`.
    data: parking_lot::RwLock<T>,
}

impl<T> RwLock<T> {
    /// Makes an unlocked lock holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::sync::RwLock;
    ///
    /// static TABLE: RwLock<Vec<&str>> = RwLock::new(Vec::new());
    ///
    /// goro::run(async {
    ///     TABLE.write().await.push("row");
    ///     assert_eq!(TABLE.read().await.len(), 1);
    /// });
    /// ```
    pub const fn new(value: T) -> Self {
        RwLock {
            sem: Semaphore::new(MAX_PERMITS),
            id: Ident::new(),
            data: parking_lot::RwLock::new(value),
        }
    }

    /// Consumes the lock and returns the data.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = goro::sync::RwLock::new(3);
    /// assert_eq!(l.into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading, waiting while a writer holds the lock or is queued
    /// ahead: Go's `rw.RLock()`. Dropping the guard unlocks (`RUnlock`).
    ///
    /// Cancel safe: dropping the future before it resolves leaves the queue,
    /// or releases the read lock if it had already been granted.
    ///
    /// Not reentrant, as in Go: a goroutine that holds a read lock and asks
    /// for another can wait forever if a writer queued in between.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let l = goro::sync::RwLock::new(1);
    ///     let a = l.read().await;
    ///     let b = l.read().await; // readers share the lock
    ///     assert_eq!(*a + *b, 2);
    /// });
    /// ```
    #[track_caller]
    pub fn read(&self) -> ReadFuture<'_, T> {
        ReadFuture(Acquire::new(self, READER, Location::caller()))
    }

    /// Locks for writing, waiting until no reader or writer holds the lock
    /// and every goroutine queued ahead has had its turn: Go's `rw.Lock()`.
    /// Dropping the guard unlocks (`Unlock`).
    ///
    /// Cancel safe: dropping the future before it resolves leaves the queue
    /// (readers queued behind it may then proceed), or releases the write
    /// lock if it had already been granted.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let l = goro::sync::RwLock::new(vec![1]);
    ///     l.write().await.push(2);
    ///     assert_eq!(*l.read().await, [1, 2]);
    /// });
    /// ```
    #[track_caller]
    pub fn write(&self) -> WriteFuture<'_, T> {
        WriteFuture(Acquire::new(self, WRITER, Location::caller()))
    }

    /// Locks for reading if that can be done without waiting: Go's
    /// `rw.TryRLock()`. `None` if a writer holds the lock or anyone is
    /// queued.
    ///
    /// Never blocks. Under the detector a successful try is an acquire like
    /// [`read`](RwLock::read); a failed one orders nothing. From synchronous
    /// code it is the only way in; on failure hand the work to a goroutine
    /// rather than spin (see [`Mutex::try_lock`](crate::sync::Mutex::try_lock)).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = goro::sync::RwLock::new(0);
    /// let r = l.try_read().unwrap();
    /// assert!(l.try_read().is_some());
    /// assert!(l.try_write().is_none());
    /// drop(r);
    /// ```
    #[track_caller]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        if self.sem.try_acquire(READER) {
            Some(self.read_guard(Location::caller()))
        } else {
            None
        }
    }

    /// Locks for writing if that can be done without waiting: Go's
    /// `rw.TryLock()`. `None` if anyone holds the lock or is queued.
    ///
    /// Never blocks. Under the detector a successful try is an acquire like
    /// [`write`](RwLock::write); a failed one orders nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = goro::sync::RwLock::new(0);
    /// let mut w = l.try_write().unwrap();
    /// *w += 1;
    /// assert!(l.try_read().is_none());
    /// drop(w);
    /// assert_eq!(*l.try_read().unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        if self.sem.try_acquire(WRITER) {
            Some(self.write_guard(Location::caller()))
        } else {
            None
        }
    }

    /// A mutable reference to the data; `&mut self` proves nobody holds the
    /// lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut l = goro::sync::RwLock::new(1);
    /// *l.get_mut() = 2;
    /// assert_eq!(l.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The guard of a read lock taken at `loc` (reported to the detector).
    fn read_guard(&self, loc: &'static Location<'static>) -> RwLockReadGuard<'_, T> {
        detect::rlock(self.id.obj(), loc);
        let data = self
            .data
            .try_read()
            .expect("goro: RwLock data locked by a writer during a read lock (bug)");
        RwLockReadGuard {
            data,
            _unlock: Unlock(self, READER, loc),
        }
    }

    /// The guard of the write lock taken at `loc` (reported to the detector).
    fn write_guard(&self, loc: &'static Location<'static>) -> RwLockWriteGuard<'_, T> {
        detect::wlock(self.id.obj(), loc);
        let data = self
            .data
            .try_write()
            .expect("goro: RwLock data locked during a write lock (bug)");
        RwLockWriteGuard {
            data,
            _unlock: Unlock(self, WRITER, loc),
        }
    }

    /// The one unlock path (`n` says reader or writer).
    fn unlock(&self, n: usize) {
        self.sem.release(n);
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Releases the permits on drop, after the data guard declared before it.
/// Unlocks `n` permits when dropped; the location is where the lock was
/// taken (a guard's drop has no caller location of its own).
struct Unlock<'a, T: ?Sized>(&'a RwLock<T>, usize, &'static Location<'static>);

impl<T: ?Sized> Drop for Unlock<'_, T> {
    fn drop(&mut self) {
        let obj = self.0.id.obj();
        if self.1 == WRITER {
            detect::wunlock(obj, self.2);
        } else {
            detect::runlock(obj, self.2);
        }
        self.0.unlock(self.1);
    }
}

/// What a read and a write future share: the wait for `n` permits (one
/// for a reader, all for a writer) asked for at `loc`, which leaves the
/// queue, or gives back permits already granted, when dropped unfinished.
struct Acquire<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    n: usize,
    parked: Option<Parked>,
    loc: &'static Location<'static>,
    yielded: bool,
    waited: bool,
}

impl<'a, T: ?Sized> Acquire<'a, T> {
    fn new(lock: &'a RwLock<T>, n: usize, loc: &'static Location<'static>) -> Self {
        Acquire {
            lock,
            n,
            parked: None,
            loc,
            yielded: false,
            waited: false,
        }
    }

    /// Ready once the permits are this future's (the caller builds the
    /// guard, which reports the lock).
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if detect::yield_point(cx, &mut self.yielded) {
            return Poll::Pending;
        }
        let r = self.lock.sem.poll_acquire(self.n, &mut self.parked, cx);
        if r.is_pending() {
            let obj = self.lock.id.obj();
            let what = if self.n == 1 {
                Waiting::ReadLock
            } else {
                Waiting::WriteLock
            };
            detect::block_on(self.loc, what, cx.waker(), || BlockInfo::Lock {
                obj,
                addr: std::ptr::from_ref(self.lock).cast::<u8>() as usize,
            });
            if detect::active() && !std::mem::replace(&mut self.waited, true) {
                detect::lock_wait(obj, self.loc);
            }
        }
        r
    }
}

impl<T: ?Sized> Drop for Acquire<'_, T> {
    fn drop(&mut self) {
        if let Some(p) = self.parked.take() {
            self.lock.sem.cancel(self.n, p);
        }
    }
}

/// The future of [`RwLock::read`]; resolves to a [`RwLockReadGuard`].
///
/// # Examples
///
/// ```
/// use goro::sync::{ReadFuture, RwLock};
///
/// goro::run(async {
///     let l = RwLock::new(5);
///     let fut: ReadFuture<'_, i32> = l.read();
///     assert_eq!(*fut.await, 5);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct ReadFuture<'a, T: ?Sized>(Acquire<'a, T>);

impl<'a, T: ?Sized> Future for ReadFuture<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let a = &mut self.get_mut().0;
        match a.poll(cx) {
            Poll::Ready(()) => Poll::Ready(a.lock.read_guard(a.loc)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> fmt::Debug for ReadFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadFuture")
            .field("parked", &self.0.parked.is_some())
            .finish()
    }
}

/// The future of [`RwLock::write`]; resolves to a [`RwLockWriteGuard`].
///
/// # Examples
///
/// ```
/// use goro::sync::{RwLock, WriteFuture};
///
/// goro::run(async {
///     let l = RwLock::new(5);
///     let fut: WriteFuture<'_, i32> = l.write();
///     *fut.await += 1;
///     assert_eq!(*l.read().await, 6);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct WriteFuture<'a, T: ?Sized>(Acquire<'a, T>);

impl<'a, T: ?Sized> Future for WriteFuture<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let a = &mut self.get_mut().0;
        match a.poll(cx) {
            Poll::Ready(()) => Poll::Ready(a.lock.write_guard(a.loc)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> fmt::Debug for WriteFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteFuture")
            .field("parked", &self.0.parked.is_some())
            .finish()
    }
}

/// Shared access to a read-locked [`RwLock`]'s data; dropping it unlocks
/// (Go's `RUnlock`). `Send` when `T` is `Sync`.
///
/// # Examples
///
/// ```
/// use goro::sync::{RwLock, RwLockReadGuard};
///
/// goro::run(async {
///     let l = RwLock::new("hi");
///     let g: RwLockReadGuard<'_, &str> = l.read().await;
///     assert_eq!(*g, "hi");
/// });
/// ```
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    // Field order matters: `data` is released before `_unlock` runs.
    data: parking_lot::RwLockReadGuard<'a, T>,
    _unlock: Unlock<'a, T>,
}

/// Exclusive access to a write-locked [`RwLock`]'s data; dropping it unlocks
/// (Go's `Unlock`), admitting the goroutines queued next. `Send` when `T` is.
///
/// # Examples
///
/// ```
/// use goro::sync::{RwLock, RwLockWriteGuard};
///
/// goro::run(async {
///     let l = RwLock::new(0);
///     let mut g: RwLockWriteGuard<'_, i32> = l.write().await;
///     *g = 7;
///     drop(g);
///     assert_eq!(*l.read().await, 7);
/// });
/// ```
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    // Field order matters: `data` is released before `_unlock` runs.
    data: parking_lot::RwLockWriteGuard<'a, T>,
    _unlock: Unlock<'a, T>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
