//! The models under `Mutex` and `RwLock`.
//!
//! [`Semaphore`], under `RwLock` (a reader takes one permit, a writer all of
//! them), is strictly FIFO with direct hand-off, as Go's `RWMutex` is fair.
//! [`MutexSem`], under `Mutex`, follows Go's `sync.Mutex`: newcomers may take
//! a free lock ahead of parked waiters (normal mode), and a waiter that has
//! waited more than 1 ms switches the mutex to hand-off (starvation mode).
//!
//! # `Semaphore`
//!
//! One atomic word holds the free permits and a flag, `WAITERS`: the wait
//! queue is not empty. It is set and cleared only under the queue lock.
//! While it is set, the lock-free fast paths (acquire *and* release) stand
//! aside, so every change of the word is made under the queue lock: that is
//! what makes hand-off exact.
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
//!
//! # `MutexSem`
//!
//! Go's mutex (`sync/mutex.go`), with a FIFO [`WaitQueue`] for its
//! semaphore. One word holds `LOCKED`, `WAITERS` (the queue is not empty),
//! `WOKEN` (the front waiter has been woken and will compete for the lock)
//! and `STARVING`.
//!
//! *Normal mode.* Lock is one compare-and-swap when the mutex is free, even
//! if goroutines are parked: a running goroutine takes the lock ahead of
//! them, which keeps a contended mutex from turning every acquisition into a
//! goroutine switch. A goroutine that finds it held re-checks briefly when
//! the executor says spinning can pay (Go's `runtime_canSpin`: see
//! `exec::can_spin`), then parks at the back of the queue. Unlock clears
//! `LOCKED` with one atomic subtraction (Go's `AddInt32`) and, if goroutines
//! are parked and none has been woken yet, wakes the front one (`WOKEN`),
//! without giving it the lock. Only the woken
//! waiter competes; the others stay asleep, so waiters are served in FIFO
//! order among themselves. A woken waiter that loses stays at the front
//! (Go's re-queue at the head), keeping the time it started waiting.
//!
//! *Starvation mode.* A woken waiter that loses after waiting more than
//! [`STARVATION`] sets `STARVING`. From then on the mutex counts as held
//! while `STARVING` is set, whatever `LOCKED` says: newcomers queue at the
//! back without trying, and an unlock (which cleared `LOCKED` in its one
//! subtraction, as Go's does) hands the lock to the front waiter under the
//! queue lock, setting `LOCKED` again for it: the waiter owns it before it
//! runs. The mode ends when a waiter
//! that was handed the lock had waited less than [`STARVATION`], or when
//! the last waiter is handed it.
//!
//! Every change of `WAITERS`, `WOKEN` and `STARVING` is a compare-and-swap
//! (or `fetch_and`) made under the queue lock, except that a handed waiter
//! ends starvation mode while it owns the lock; `LOCKED` changes lock-free,
//! except that while `STARVING` is set only a hand-off (under the queue
//! lock) sets it. `STARVING` without `LOCKED` is an unlock in transit to a
//! hand-off: whoever next holds the queue lock and sees that state hands
//! the lock on (normally the unlocker itself).
//! Invariants: `WOKEN` implies that the current front entry was woken;
//! `STARVING` implies `WAITERS`; `WOKEN` and `STARVING` are never set
//! together.
//!
//! Cancel safety: a dropped lock future that was handed the lock unlocks it
//! (and so passes it on); one that was woken but not handed wakes the next
//! waiter if the lock is free, or leaves that to the next unlock.

use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use super::clock;
use super::clock::Instant;
// loom's in `tests/loom_mutex.rs`, which compiles this file.
use super::prims::AtomicUsize;
pub(crate) use super::waitq::Parked;
use super::waitq::{Locked, WaitQueue, Wakers};

const WAITERS: usize = 1;
const SHIFT: u32 = 1;

/// The most permits a semaphore may hold (an `RwLock` writer takes them all).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 5;

pub(crate) struct Semaphore {
    /// `permits << SHIFT | WAITERS`.
    state: AtomicUsize,
    /// Parked acquires; the payload is the number of permits wanted.
    queue: WaitQueue<usize>,
}

impl Semaphore {
    pub(crate) const fn new(permits: usize) -> Self {
        assert!(permits <= MAX_PERMITS);
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            queue: WaitQueue::new(),
        }
    }

    /// Takes `n` permits if they are free and nobody is waiting.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS != 0 || s >> SHIFT < n {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                s - (n << SHIFT),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// Acquires `n` permits, parking in FIFO order. `parked` carries the
    /// queue entry across polls; it is `None` again once this returns ready.
    /// A caller dropped while `parked` is `Some` must call [`Self::cancel`].
    pub(crate) fn poll_acquire(
        &self,
        n: usize,
        parked: &mut Option<Parked>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if let Some(r) = self.queue.poll_parked(parked, cx) {
            return r;
        }
        if self.try_acquire(n) {
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
                (s - (n << SHIFT), true)
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
        *parked = Some(q.park(n, cx));
        Poll::Pending
    }

    /// Gives back `n` permits; with waiters, hands them to the front of the
    /// queue.
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & WAITERS == 0 {
            match self.state.compare_exchange_weak(
                s,
                s + (n << SHIFT),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
        self.release_slow(n);
    }

    #[inline(never)]
    fn release_slow(&self, n: usize) {
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
        match q.remove(parked.id()) {
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
        while let Some(&want) = q.front() {
            if want > permits {
                break;
            }
            permits -= want;
            q.release_front(wake);
        }
        let mut new = permits << SHIFT;
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

// `MutexSem` state bits.
const LOCKED: usize = 1;
const M_WAITERS: usize = 2;
const WOKEN: usize = 4;
const STARVING: usize = 8;

/// A waiter that loses the lock after waiting longer than this switches the
/// mutex to starvation mode (Go's `starvationThresholdNs`).
pub(crate) const STARVATION: Duration = Duration::from_millis(1);

/// How many times a lock attempt re-reads a mutex held by a running
/// goroutine before it parks (normal mode, multi-core only). Critical
/// sections are usually far shorter than a park and wake-up.
const SPIN_LIMIT: u32 = 64;

/// Go's `runtime_canSpin`: more than one core, and the executor has this
/// worker idle but for us while another one runs (the holder, probably).
/// On a worker with other goroutines queued, parking at once lets them run,
/// and keeps two workers from bouncing the mutex's cache line between them
/// on every lock.
fn spinning_pays() -> bool {
    static MULTI_CORE: OnceLock<bool> = OnceLock::new();
    *MULTI_CORE.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()) > 1)
        && super::exec::can_spin()
}

/// The model under `Mutex`: Go's normal and starvation modes (see the module
/// docs).
pub(crate) struct MutexSem {
    /// `STARVING | WOKEN | M_WAITERS | LOCKED`.
    state: AtomicUsize,
    queue: WaitQueue<()>,
}

/// A parked lock: its queue id and when it started waiting.
#[derive(Debug)]
pub(crate) struct MutexWaiter {
    id: u64,
    since: Instant,
}

impl MutexWaiter {
    fn waited_over(&self, limit: Duration) -> bool {
        clock::now().duration_since(self.since) > limit
    }
}

impl MutexSem {
    pub(crate) const fn new() -> Self {
        MutexSem {
            state: AtomicUsize::new(0),
            queue: WaitQueue::new(),
        }
    }

    /// Takes the lock if it is free and the mutex is in normal mode (parked
    /// goroutines do not stop it). One compare-and-swap when nobody waits.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let mut s = 0;
        loop {
            match self.state.compare_exchange_weak(
                s,
                s | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) if actual & (LOCKED | STARVING) != 0 => return false,
                Err(actual) => s = actual,
            }
        }
    }

    /// Locks, parking if need be. `waiter` carries the queue entry across
    /// polls; it is `None` again once this returns ready. A caller dropped
    /// while `waiter` is `Some` must call [`Self::cancel`].
    ///
    /// `spin`: re-read a lock held by a running goroutine a few times before
    /// parking (off under the detector, whose one thread would spin in vain).
    #[inline]
    pub(crate) fn poll_lock(
        &self,
        waiter: &mut Option<MutexWaiter>,
        spin: bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        // The fast path inlines into the caller; the rest stays out of line.
        if waiter.is_none() && self.try_lock() {
            return Poll::Ready(());
        }
        self.poll_lock_slow(waiter, spin, cx)
    }

    #[inline(never)]
    fn poll_lock_slow(
        &self,
        waiter: &mut Option<MutexWaiter>,
        spin: bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if let Some(w) = waiter {
            let r = self.poll_parked(w, spin, cx);
            if r.is_ready() {
                *waiter = None;
            }
            return r;
        }
        if self.try_lock() || (spin && self.spin_lock()) {
            return Poll::Ready(());
        }
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & (LOCKED | STARVING) == 0 {
                // Freed meanwhile: take it (normal mode lets us).
                match self.state.compare_exchange(
                    s,
                    s | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Poll::Ready(()),
                    Err(actual) => s = actual,
                }
            } else if s & M_WAITERS == 0 {
                // A compare-and-swap, so that an unlock in between is seen:
                // it may not have noticed us, and would wake nobody.
                match self.state.compare_exchange(
                    s,
                    s | M_WAITERS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(actual) => s = actual,
                }
            } else {
                // `M_WAITERS` stays set while we hold the queue lock, and any
                // unlock from now on wakes (or hands to) the front.
                break;
            }
        }
        let id = q.push((), Some(cx.waker().clone()));
        *waiter = Some(MutexWaiter {
            id,
            since: clock::now(),
        });
        Poll::Pending
    }

    /// A parked lock is polled: ready if it was handed the lock; the woken
    /// front waiter competes for it; anyone else stays parked.
    fn poll_parked(&self, w: &MutexWaiter, spin: bool, cx: &mut Context<'_>) -> Poll<()> {
        if self.queue.is_released(w.id) {
            self.handed(w);
            return Poll::Ready(());
        }
        if spin && self.state.load(Ordering::Relaxed) & WOKEN != 0 {
            // Probably the woken waiter: give the holder a moment to finish.
            self.spin_wait();
        }
        let mut q = self.queue.lock();
        if self.queue.is_released(w.id) {
            drop(q);
            self.handed(w);
            return Poll::Ready(());
        }
        let mut s = self.state.load(Ordering::Relaxed);
        // `WOKEN` only changes under the queue lock, and means the front
        // waiter was woken.
        if s & WOKEN == 0 || q.front_id() != Some(w.id) {
            q.set_waker(w.id, cx.waker());
            return Poll::Pending;
        }
        let last = q.len() == 1;
        let mut starved = None;
        loop {
            debug_assert!(s & (WOKEN | STARVING | M_WAITERS) == WOKEN | M_WAITERS);
            let new = if s & LOCKED == 0 {
                let mut new = (s | LOCKED) & !WOKEN;
                if last {
                    new &= !M_WAITERS;
                }
                new
            } else {
                // Lost to a running goroutine: park again at the front.
                let starved = *starved.get_or_insert_with(|| w.waited_over(STARVATION));
                if starved {
                    (s & !WOKEN) | STARVING
                } else {
                    s & !WOKEN
                }
            };
            match self
                .state
                .compare_exchange(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) if new & LOCKED != s & LOCKED => {
                    q.remove(w.id);
                    return Poll::Ready(());
                }
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        q.set_waker(w.id, cx.waker());
        Poll::Pending
    }

    /// A parked waiter finds it was handed the lock (starvation mode). If it
    /// had not waited long, the mutex goes back to normal mode.
    fn handed(&self, w: &MutexWaiter) {
        if self.state.load(Ordering::Relaxed) & STARVING != 0 && !w.waited_over(STARVATION) {
            // We own the lock, so no unlock runs concurrently.
            self.state.fetch_and(!STARVING, Ordering::Relaxed);
        }
    }

    fn spin_lock(&self) -> bool {
        if !spinning_pays() {
            return false;
        }
        for _ in 0..SPIN_LIMIT {
            let s = self.state.load(Ordering::Relaxed);
            if s & STARVING != 0 {
                return false;
            }
            if s & LOCKED == 0
                && self
                    .state
                    .compare_exchange_weak(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// Waits a moment for a running holder to unlock (normal mode only).
    fn spin_wait(&self) {
        if !spinning_pays() {
            return;
        }
        for _ in 0..SPIN_LIMIT {
            if self.state.load(Ordering::Relaxed) & (LOCKED | STARVING) != LOCKED {
                return;
            }
            std::hint::spin_loop();
        }
    }

    /// Unlocks: one atomic subtraction, whoever waits (Go's). In normal
    /// mode that frees the lock, and the front waiter is woken unless one
    /// already is; in starvation mode the lock is handed to the front
    /// waiter.
    #[inline]
    pub(crate) fn unlock(&self) {
        // A subtraction, not a compare-and-swap loop: it cannot fail when
        // waiters change the other bits meanwhile, and it is one `lock xadd`.
        let s = self.state.fetch_sub(LOCKED, Ordering::Release);
        debug_assert!(s & LOCKED != 0, "goro: unlock of an unlocked Mutex (bug)");
        if s & STARVING != 0 {
            self.hand_off();
        } else if s & (M_WAITERS | WOKEN) == M_WAITERS {
            self.wake_front();
        }
    }

    /// Normal mode, after an unlock: wakes the front waiter, unless the lock
    /// was taken again (its holder will do it), someone is already woken, or
    /// nobody waits any more.
    #[inline(never)]
    fn wake_front(&self) {
        let mut wake = Wakers::new();
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & (LOCKED | M_WAITERS | WOKEN | STARVING) != M_WAITERS {
                return;
            }
            match self
                .state
                .compare_exchange(s, s | WOKEN, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        q.wake_front(&mut wake);
        drop(q);
    }

    /// Starvation mode, after an unlock cleared `LOCKED`: the front waiter
    /// becomes the holder (`LOCKED` set again for it). The last waiter ends
    /// starvation mode.
    #[inline(never)]
    fn hand_off(&self) {
        let mut wake = Wakers::new();
        let mut q = self.queue.lock();
        // Acquire: if another unlock's hand-off is done here (see below),
        // its holder's writes reach the new holder through us.
        let s = self.state.load(Ordering::Acquire);
        if s & (STARVING | LOCKED) != STARVING {
            // Nothing to hand: a cancel emptied the queue and ended
            // starvation mode (our subtraction freed the lock), or another
            // hand-off already passed the lock on, standing in for ours.
            return;
        }
        debug_assert!(s & (M_WAITERS | WOKEN) == M_WAITERS && !q.is_empty());
        // While `STARVING` is set nobody else changes the word without the
        // queue lock, which we hold: a plain store is exact.
        let new = if q.len() == 1 { LOCKED } else { s | LOCKED };
        self.state.store(new, Ordering::Relaxed);
        // The release store of the queue's watermark publishes our writes to
        // the new holder.
        q.release_front(&mut wake);
        drop(q);
    }

    /// A parked lock is dropped: if it was handed the lock, unlock (passing
    /// it on); if it was the woken waiter, wake the next one in its place if
    /// the lock is free.
    pub(crate) fn cancel(&self, w: MutexWaiter) {
        let mut wake = Wakers::new();
        let mut q = self.queue.lock();
        let Some(was_front) = q.remove(w.id) else {
            drop(q);
            self.unlock();
            return;
        };
        let mut s = self.state.load(Ordering::Relaxed);
        let rewake = loop {
            let woken = was_front && s & WOKEN != 0;
            let (new, rewake) = if q.is_empty() {
                (s & !(M_WAITERS | WOKEN | STARVING), false)
            } else if woken && s & LOCKED != 0 {
                // The next unlock wakes the new front.
                (s & !WOKEN, false)
            } else {
                // Lock free: the new front inherits `WOKEN`, and the wake-up.
                (s, woken)
            };
            if new == s {
                break rewake;
            }
            match self
                .state
                .compare_exchange(s, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break rewake,
                Err(actual) => s = actual,
            }
        };
        if rewake {
            q.wake_front(&mut wake);
        }
        drop(q);
    }
}

impl std::fmt::Debug for MutexSem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("MutexSem")
            .field("locked", &(s & LOCKED != 0))
            .field("waiters", &(s & M_WAITERS != 0))
            .field("woken", &(s & WOKEN != 0))
            .field("starving", &(s & STARVING != 0))
            .finish()
    }
}
