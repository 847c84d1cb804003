//! The idle-worker protocol: Go's `wakep`, spinning rules and `stopm`,
//! and the hand-off of the earliest timer to a parked worker.
//!
//! - At most one worker spins (looks for work before it parks): Go allows
//!   `GOMAXPROCS/2` spinners, one on the two cores goro is measured on,
//!   and each extra spinner costs a core's worth of stealing attempts.
//! - New stealable work calls [`Idle::wakep`]: if nobody spins and a worker
//!   is parked, that worker is woken as the new spinner. A spinner that
//!   finds work stops spinning and, if more work is queued, calls `wakep`
//!   (Go's `resetspinning`), so a burst is spread one worker at a time.
//!   A spawn calls [`Idle::wakep_local`], without the fence below: its
//!   work is on its own worker's queue, which that worker runs anyway.
//! - A worker parks in [`Idle::park`]: it registers as idle, issues a
//!   SeqCst fence, looks at every queue once more, and only then sleeps.
//!   `wakep` pushes, fences, then reads the idle count: of the two fences
//!   one comes first, so either the waker sees the idle worker or the
//!   worker's look sees the work (no lost wake-up). A worker whose last
//!   look finds work takes the spinning role back if it is free (Go's
//!   `findrunnable`): the pusher may have seen it spinning and woken
//!   nobody, and the work it takes may not be all there is.
//! - The worker that parks with a timeout for the earliest timer claims
//!   `timer_waiter`; a new earliest timer ([`Idle::kick`]) wakes that
//!   worker to recompute its timeout, or any parked worker if none waits.
//! - Shutdown ([`Idle::wake_all`]) sets every parker's flag, so a worker
//!   between its last look and its sleep does not sleep.
//!
//! Everything here goes through `super::prims` and `super::park`, nothing
//! else of the executor: `runtime/tests/loom_park.rs` compiles this very
//! file against loom's types and checks these properties under loom.

use std::time::Duration;

use crossbeam_utils::CachePadded;

use super::park::{Parker, Wake};
use super::prims::{
    fence, yield_now, AtomicUsize, Instant, Mutex, Ordering::Relaxed, Ordering::SeqCst,
};

/// "No worker" in `timer_waiter`.
const NO_WORKER: usize = usize::MAX;

/// Timers closer than this (ns) are waited for by yielding the thread, not
/// by a timed park: a futex timeout is tens of µs late.
pub(super) const TIMER_SPIN: u64 = 100_000;

/// The idle and spinning workers of one executor, and their parkers.
pub(super) struct Idle {
    /// Parked workers (indexes).
    list: Mutex<Vec<usize>>,
    /// `list.len()`, for the lock-free check of `wakep`.
    nidle: AtomicUsize,
    /// Workers spinning: 0 or 1.
    nspinning: AtomicUsize,
    /// The worker parked with a timeout for the earliest timer, or
    /// `NO_WORKER`.
    timer_waiter: AtomicUsize,
    parkers: Box<[CachePadded<Parker>]>,
}

impl Idle {
    /// The protocol for `workers` workers, none idle, none spinning.
    pub(super) fn new(workers: usize) -> Self {
        Idle {
            list: Mutex::new(Vec::with_capacity(workers)),
            nidle: AtomicUsize::new(0),
            nspinning: AtomicUsize::new(0),
            timer_waiter: AtomicUsize::new(NO_WORKER),
            parkers: (0..workers)
                .map(|_| CachePadded::new(Parker::new()))
                .collect(),
        }
    }

    /// Go's `wakep`: new stealable work (pushed before this call) wakes a
    /// parked worker, as the spinning one, unless a worker already spins
    /// (it will find the work) or none is parked (all are running).
    pub(super) fn wakep(&self) {
        // Pairs with the fence in `park`: one of the two sees the other.
        fence(SeqCst);
        self.wakep_local();
    }

    /// [`wakep`](Idle::wakep) for work the caller pushed on the queue of
    /// its own worker, without the fence: a worker about to park may miss
    /// that work and this call may miss that worker, but the work is not
    /// lost: its queue's own worker runs it when its poll returns (and the
    /// monitor wakes a thief for a worker stuck in one poll). The fence,
    /// a full barrier, waited at every spawn for the stores of the new
    /// task cell to leave the store buffer. Go's `newproc` has no
    /// store-load barrier between its `runqput` and `wakep` either.
    pub(super) fn wakep_local(&self) {
        if self.nspinning.load(SeqCst) != 0 || self.nidle.load(SeqCst) == 0 {
            return;
        }
        if self
            .nspinning
            .compare_exchange(0, 1, SeqCst, SeqCst)
            .is_err()
        {
            return;
        }
        let w = {
            let mut list = self.list.lock();
            let w = list.pop();
            self.nidle.store(list.len(), SeqCst);
            w
        };
        match w {
            Some(i) => self.parkers[i].unpark(Wake::Spinner),
            None => {
                self.nspinning.fetch_sub(1, SeqCst);
            }
        }
    }

    /// Makes the caller, a worker that found nothing to run, the spinning
    /// worker if none spins; `true` if it is now.
    pub(super) fn try_spin(&self) -> bool {
        self.nspinning.load(SeqCst) == 0
            && self
                .nspinning
                .compare_exchange(0, 1, SeqCst, SeqCst)
                .is_ok()
    }

    /// The spinning worker gives up: it found nothing.
    pub(super) fn stop_spinning(&self) {
        self.nspinning.fetch_sub(1, SeqCst);
    }

    /// Go's `resetspinning`: the spinning worker found work and stops
    /// spinning; if `more` says work is still queued, a parked worker is
    /// woken for it (its pusher's `wakep` saw this spinner and woke nobody).
    pub(super) fn spinner_found_work(&self, more: impl FnOnce() -> bool) {
        self.nspinning.fetch_sub(1, SeqCst);
        // Pairs with the fence in `wakep`: a pusher that saw this worker
        // spinning pushed before `more` looks.
        fence(SeqCst);
        if more() {
            self.wakep();
        }
    }

    /// Parks worker `me` until woken; `true` if it wakes as the spinning
    /// worker. `look` is its last look at the queues after registering as
    /// idle (`true`: work to run, or the run is over: stay awake).
    /// `next_timer` is the earliest timer's deadline and `now` the clock
    /// (ns): if no other worker waits for the earliest timer, this one
    /// sleeps until it, or yields the thread if it is within
    /// [`TIMER_SPIN`]. `last` runs when this worker was the last to
    /// register as idle and its look found nothing: no goroutine is running
    /// or runnable (Go's `checkdead`; the deadlock census's check).
    pub(super) fn park(
        &self,
        me: usize,
        look: impl FnOnce() -> bool,
        last: impl FnOnce(),
        next_timer: impl Fn() -> Option<u64>,
        now: impl Fn() -> u64,
    ) -> bool {
        let all = {
            let mut list = self.list.lock();
            list.push(me);
            self.nidle.store(list.len(), SeqCst);
            list.len() == self.parkers.len()
        };
        // Pairs with the fence in `wakep`: a pusher that saw no idle worker
        // pushed before this point, so `look` sees its work.
        fence(SeqCst);
        if look() {
            // Go's `findrunnable` after its last check: the worker takes
            // the spinning role back if it is free, so that taking this work
            // wakes another worker when more is queued. Without it, a
            // pusher whose `wakep` saw this worker spinning woke nobody,
            // and a second goroutine queued behind the first waited, with
            // the other worker asleep, until this one was done.
            return self.unidle(me) || self.try_spin();
        }
        if all {
            last();
        }
        let mut deadline = None;
        let claimed = next_timer().is_some()
            && self
                .timer_waiter
                .compare_exchange(NO_WORKER, me, SeqCst, SeqCst)
                .is_ok();
        if claimed {
            // Pairs with the fence in `kick`: a kicker of an earlier timer
            // saw this claim (and wakes this worker), or this read sees
            // its deadline.
            fence(SeqCst);
            if let Some(next) = next_timer() {
                let now = now();
                if next <= now.saturating_add(TIMER_SPIN) {
                    // Very close: yield the thread and look again.
                    self.timer_waiter.store(NO_WORKER, SeqCst);
                    let spinning = self.unidle(me);
                    yield_now();
                    return spinning;
                }
                deadline = Some(Instant::now() + Duration::from_nanos(next - now));
            }
        }
        let wake = self.parkers[me].park(deadline);
        if claimed {
            // Released on every path: a claim left behind would make every
            // later park skip the timed sleep, and the timer would be late
            // until some unrelated wake-up.
            let _ = self
                .timer_waiter
                .compare_exchange(me, NO_WORKER, SeqCst, SeqCst);
        }
        match wake {
            // The waker took it off the idle list and counted it spinning.
            Wake::Spinner => true,
            // The waker took it off the idle list.
            Wake::Plain | Wake::Shutdown => false,
            // Nobody did, or one did just now (its wake-up follows).
            Wake::Timeout => self.unidle(me),
        }
    }

    /// Leaves the idle list; `true` if the worker is now the spinning one.
    /// If a waker already took it off the list, its wake-up is on the way:
    /// take it now, so that a `Spinner` wake (the waker counted this worker
    /// in `nspinning`) is honoured.
    fn unidle(&self, me: usize) -> bool {
        {
            let mut list = self.list.lock();
            if let Some(pos) = list.iter().position(|&i| i == me) {
                list.swap_remove(pos);
                self.nidle.store(list.len(), SeqCst);
                return false;
            }
        }
        loop {
            match self.parkers[me].try_take() {
                Some(Wake::Spinner) => return true,
                Some(_) => return false,
                None => yield_now(),
            }
        }
    }

    /// A timer became the earliest (stored before this call): the worker
    /// parked for the previous earliest must recompute its timeout, or,
    /// with none, a parked worker must become the timer's waiter.
    pub(super) fn kick(&self) {
        // Pairs with the fence after the claim in `park`.
        fence(SeqCst);
        let waiter = self.timer_waiter.load(SeqCst);
        let w = {
            let mut list = self.list.lock();
            let w = if waiter == NO_WORKER {
                list.pop()
            } else {
                // Not on the list: awake, or being woken; it will look.
                let pos = list.iter().position(|&i| i == waiter);
                pos.map(|p| list.swap_remove(p))
            };
            self.nidle.store(list.len(), SeqCst);
            w
        };
        if let Some(i) = w {
            self.parkers[i].unpark(Wake::Plain);
        }
    }

    /// Wakes every worker, parked or about to park, for the end of the run
    /// (set the run's shutdown flag first: their `look` must see it).
    pub(super) fn wake_all(&self) {
        for p in self.parkers.iter() {
            p.unpark(Wake::Shutdown);
        }
    }

    /// Whether every worker is on the idle list now.
    pub(super) fn all_idle(&self) -> bool {
        self.nidle.load(SeqCst) == self.parkers.len()
    }

    /// Workers idle or spinning, read without ordering: a hint.
    pub(super) fn idle_or_spinning(&self) -> usize {
        self.nidle.load(Relaxed) + self.nspinning.load(Relaxed)
    }

    /// The parked workers now.
    pub(super) fn parked(&self) -> Vec<usize> {
        self.list.lock().clone()
    }
}
