//! A strictly FIFO counting semaphore: the model under `Mutex` (one permit)
//! and `RwLock` (a reader takes one permit, a writer all of them).
//!
//! One atomic word holds the free permits and two flags:
//!
//! - `WAITERS`: the wait queue is not empty. Set and cleared only under the
//!   queue lock. While it is set, the lock-free fast paths (acquire *and*
//!   release) stand aside, so every change of the word is made under the
//!   queue lock: that is what makes hand-off exact.
//! - `HANDOFF`: the permits were last handed to parked goroutines, which may
//!   not be running yet; spinning for them to finish is pointless.
//!
//! Acquire: one compare-and-swap when permits are free and nobody waits. A
//! goroutine that finds waiters queues behind them, even if permits are free
//! at that instant (no barging), so a waiter cannot starve.
//!
//! Release: one compare-and-swap when nobody waits. With waiters, the
//! permits go straight to the front of the queue: the woken goroutine owns
//! them before it runs, and a goroutine that tries to acquire in between
//! queues behind.
//!
//! Cancel safety: a parked acquire that is dropped is removed from the queue;
//! if it was already handed its permits, they are released again (and so
//! passed on to the next waiter), never leaked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll};

use super::waitq::{Locked, WaitQueue, Wakers};

const WAITERS: usize = 1;
const HANDOFF: usize = 2;
const SHIFT: u32 = 2;

/// The most permits a semaphore may hold (an `RwLock` writer takes them all).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 5;

/// How many times a `Mutex` acquire re-reads a lock held by a running
/// goroutine before it parks. Critical sections are usually far shorter than
/// a park and wake-up, and parking under contention starts a convoy: with
/// hand-off, every later acquire then costs a goroutine switch.
const SPIN_LIMIT: u32 = 64;

fn spinning_pays() -> bool {
    static MULTI_CORE: OnceLock<bool> = OnceLock::new();
    *MULTI_CORE.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()) > 1)
}

pub(crate) struct Semaphore {
    /// `permits << SHIFT | HANDOFF | WAITERS`.
    state: AtomicUsize,
    /// Parked acquires; the payload is the number of permits wanted.
    queue: WaitQueue<usize>,
}

/// A parked acquire: its queue id.
#[derive(Debug)]
pub(crate) struct Parked(u64);

impl Semaphore {
    pub(crate) const fn new(permits: usize) -> Self {
        assert!(permits <= MAX_PERMITS);
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            queue: WaitQueue::new(),
        }
    }

    /// Takes `n` permits if they are free and nobody is waiting.
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS != 0 || s >> SHIFT < n {
                return false;
            }
            let new = (s - (n << SHIFT)) & !HANDOFF;
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// Acquires `n` permits, parking in FIFO order. `parked` carries the
    /// queue entry across polls; it is `None` again once this returns ready.
    /// A caller dropped while `parked` is `Some` must call [`Self::cancel`].
    ///
    /// `spin`: re-read a lock held by a running goroutine a few times before
    /// parking (`Mutex` only: a writer waiting for readers would spin in vain).
    pub(crate) fn poll_acquire(
        &self,
        n: usize,
        parked: &mut Option<Parked>,
        spin: bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if let Some(Parked(id)) = *parked {
            let r = self.queue.poll_released(id, cx);
            if r.is_ready() {
                *parked = None;
            }
            return r;
        }
        if self.try_acquire(n) || (spin && self.spin_acquire(n)) {
            return Poll::Ready(());
        }
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS != 0 {
                // The word only changes under the lock now.
                break;
            }
            let (new, acquired) = if s >> SHIFT >= n {
                ((s - (n << SHIFT)) & !HANDOFF, true)
            } else {
                (s | WAITERS, false)
            };
            match self
                .state
                .compare_exchange(s, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) if acquired => return Poll::Ready(()),
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        *parked = Some(Parked(q.push(n, Some(cx.waker().clone()))));
        Poll::Pending
    }

    fn spin_acquire(&self, n: usize) -> bool {
        if !spinning_pays() {
            return false;
        }
        for _ in 0..SPIN_LIMIT {
            let s = self.state.load(Ordering::Relaxed);
            if s & (WAITERS | HANDOFF) != 0 {
                return false;
            }
            if s >> SHIFT >= n && self.try_acquire(n) {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// Gives back `n` permits; with waiters, hands them to the front of the
    /// queue.
    pub(crate) fn release(&self, n: usize) {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & WAITERS == 0 {
            let new = (s + (n << SHIFT)) & !HANDOFF;
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
        let mut wake = Wakers::new();
        let mut q = self.queue.lock();
        self.release_locked(&mut q, n, &mut wake);
        drop(q);
    }

    /// A parked acquire is dropped: leave the queue, or, if the permits were
    /// already handed to it, release them.
    pub(crate) fn cancel(&self, n: usize, parked: Parked) {
        let mut wake = Wakers::new();
        let mut q = self.queue.lock();
        match q.remove(parked.0) {
            None => self.release_locked(&mut q, n, &mut wake),
            Some(was_front) => {
                if q.is_empty() {
                    self.state.fetch_and(!WAITERS, Ordering::Release);
                } else if was_front {
                    // The new front may fit the free permits (readers behind
                    // a writer that gave up).
                    self.release_locked(&mut q, 0, &mut wake);
                }
            }
        }
        drop(q);
    }

    /// Adds `n` permits and hands out as many as fit, front first.
    fn release_locked(&self, q: &mut Locked<'_, usize>, n: usize, wake: &mut Wakers) {
        if q.is_empty() {
            // `WAITERS` is clear, so the fast paths run concurrently.
            self.state.fetch_add(n << SHIFT, Ordering::Release);
            return;
        }
        // `WAITERS` is set: nobody else changes the word until we clear it.
        let s = self.state.load(Ordering::Acquire);
        let mut permits = (s >> SHIFT) + n;
        let mut handed = false;
        while let Some(&want) = q.front() {
            if want > permits {
                break;
            }
            permits -= want;
            q.release_front(wake);
            handed = true;
        }
        let mut new = (permits << SHIFT) | (s & HANDOFF);
        if handed {
            new |= HANDOFF;
        }
        if !q.is_empty() {
            new |= WAITERS;
        }
        self.state.store(new, Ordering::Release);
    }
}

impl std::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("Semaphore")
            .field("permits", &(s >> SHIFT))
            .field("waiters", &(s & WAITERS != 0))
            .finish()
    }
}
