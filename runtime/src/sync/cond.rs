//! `Cond`: Go's `sync.Cond`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::rt::ident::Ident;
use crate::rt::notify::NotifyList;
use crate::sync::mutex::{LockFuture, Mutex, MutexGuard};

/// A condition variable: a place for goroutines to wait for, or announce, a
/// change of state protected by a [`Mutex`]. Go's `sync.Cond`.
///
/// [`wait`](Cond::wait) takes the mutex's guard, atomically unlocks the mutex
/// and parks; after a [`signal`](Cond::signal) or
/// [`broadcast`](Cond::broadcast) it relocks the mutex and gives the guard
/// back. "Atomically" means that a signal sent after `wait` was called (and
/// so after the unlock) reaches this waiter. As in Go, the condition may have
/// changed again by the time the waiter holds the lock, so wait in a loop:
///
/// ```text
/// let mut g = mu.lock().await;
/// while !condition(&g) {
///     g = cond.wait(g).await;
/// }
/// ```
///
/// A `Cond` is not tied to one mutex; use it with one mutex at a time, as Go
/// does. `new` is `const`.
///
/// **Memory.** A `signal` or `broadcast` happens before the `wait` it wakes
/// returns.
///
/// # Examples
///
/// ```
/// use std::collections::VecDeque;
/// use std::sync::Arc;
/// use goro::sync::{Cond, Mutex};
///
/// goro::run(async {
///     let queue = Arc::new((Mutex::new(VecDeque::new()), Cond::new()));
///     let consumer = {
///         let queue = queue.clone();
///         goro::spawn(async move {
///             let (mu, cond) = &*queue;
///             let mut q = mu.lock().await;
///             while q.is_empty() {
///                 q = cond.wait(q).await;
///             }
///             q.pop_front().unwrap()
///         })
///     };
///     let (mu, cond) = &*queue;
///     mu.lock().await.push_back("job");
///     cond.signal();
///     assert_eq!(consumer.await, "job");
/// });
/// ```
pub struct Cond {
    list: NotifyList,
    id: Ident,
}

impl Cond {
    /// Makes a condition variable with no waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// static READY: goro::sync::Cond = goro::sync::Cond::new();
    /// READY.broadcast(); // nobody waits: no effect
    /// ```
    pub const fn new() -> Self {
        Cond {
            list: NotifyList::new(),
            id: Ident::new(),
        }
    }

    /// Unlocks the guard's mutex, waits for a [`signal`](Cond::signal) or
    /// [`broadcast`](Cond::broadcast), relocks the mutex and returns its
    /// guard: Go's `c.Wait()`.
    ///
    /// The waiter is registered and the mutex unlocked by this call itself,
    /// before the returned future is first polled, so a notification sent
    /// at any point after the call is not missed.
    ///
    /// Cancel safe: dropping the future stops waiting, and the mutex stays
    /// unlocked (the guard was given up by the call). If a `signal` had
    /// already chosen this waiter, the signal passes on to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goro::sync::{Cond, Mutex};
    ///
    /// goro::run(async {
    ///     let state = Arc::new((Mutex::new(false), Cond::new()));
    ///     let s = state.clone();
    ///     goro::go!(async move {
    ///         *s.0.lock().await = true;
    ///         s.1.broadcast();
    ///     });
    ///     let (mu, cond) = &*state;
    ///     let mut ready = mu.lock().await;
    ///     while !*ready {
    ///         ready = cond.wait(ready).await;
    ///     }
    ///     assert!(*ready);
    /// });
    /// ```
    #[track_caller]
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> CondWaitFuture<'_, 'a, T> {
        // Ticket first, then unlock: Go's notifyListAdd before L.Unlock.
        let ticket = self.list.add();
        let mutex = MutexGuard::unlock_for_wait(guard);
        CondWaitFuture {
            cond: self,
            mutex,
            state: State::Waiting(ticket),
            loc: Location::caller(),
        }
    }

    /// Wakes the goroutine that has waited longest, if any: Go's
    /// `c.Signal()`. Holding the mutex while signalling is allowed but not
    /// required.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = goro::sync::Cond::new();
    /// cond.signal(); // nobody waits: no effect
    /// ```
    #[track_caller]
    pub fn signal(&self) {
        crate::rt::detect::touch(self.id.obj());
        self.list.notify_one();
    }

    /// Wakes every waiting goroutine: Go's `c.Broadcast()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = goro::sync::Cond::new();
    /// cond.broadcast(); // nobody waits: no effect
    /// ```
    #[track_caller]
    pub fn broadcast(&self) {
        crate::rt::detect::touch(self.id.obj());
        self.list.notify_all();
    }
}

impl Default for Cond {
    fn default() -> Self {
        Cond::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond").finish_non_exhaustive()
    }
}

enum State<'a, T: ?Sized> {
    /// Parked on the ticket.
    Waiting(u64),
    /// Notified; relocking the mutex.
    Locking(LockFuture<'a, T>),
    Done,
}

/// The future of [`Cond::wait`]; resolves to the relocked mutex's guard.
///
/// # Examples
///
/// ```
/// use goro::sync::{Cond, CondWaitFuture, Mutex};
///
/// goro::run(async {
///     let (mu, cond) = (Mutex::new(0), Cond::new());
///     let g = mu.lock().await;
///     let fut: CondWaitFuture<'_, '_, i32> = cond.wait(g);
///     cond.signal();
///     let g = fut.await;
///     assert_eq!(*g, 0);
/// });
/// ```
#[must_use = "futures do nothing unless awaited (the mutex is already unlocked)"]
pub struct CondWaitFuture<'c, 'a, T: ?Sized> {
    cond: &'c Cond,
    mutex: &'a Mutex<T>,
    state: State<'a, T>,
    /// Where `wait` was called: the site of its park and of its relock (a
    /// `poll` has no caller location of its own).
    loc: &'static Location<'static>,
}

impl<'a, T: ?Sized> Future for CondWaitFuture<'_, 'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Waiting(ticket) => {
                    if this.cond.list.poll_wait(*ticket, cx).is_pending() {
                        let obj = this.cond.id.obj();
                        crate::rt::detect::block_on(
                            this.loc,
                            crate::rt::asleep::Waiting::Cond,
                            cx.waker(),
                            || {
                                crate::rt::block::BlockInfo::Fixed(
                                    goro_analyzer::event::Wait::Cond { obj },
                                )
                            },
                        );
                        return Poll::Pending;
                    }
                    this.state = State::Locking(this.mutex.lock_at(this.loc));
                }
                State::Locking(lock) => {
                    let g = match Pin::new(lock).poll(cx) {
                        Poll::Ready(g) => g,
                        Poll::Pending => return Poll::Pending,
                    };
                    this.state = State::Done;
                    return Poll::Ready(g);
                }
                State::Done => panic!("CondWaitFuture polled after completion"),
            }
        }
    }
}

impl<T: ?Sized> Drop for CondWaitFuture<'_, '_, T> {
    fn drop(&mut self) {
        if let State::Waiting(ticket) = self.state {
            self.cond.list.cancel(ticket);
        }
        // A `Locking` state cancels itself when its `LockFuture` drops.
    }
}

impl<T: ?Sized> fmt::Debug for CondWaitFuture<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Waiting(_) => "waiting",
            State::Locking(_) => "locking",
            State::Done => "done",
        };
        f.debug_struct("CondWaitFuture")
            .field("state", &state)
            .finish()
    }
}
