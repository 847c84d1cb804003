//! A worker thread: Go's `schedule` / `findrunnable` loop.
//!
//! Each turn: fire due timers; run `runnext`, else the head of the own
//! queue, else a batch from the injector (every 61st turn the injector
//! first, so it never starves). With nothing to run, the worker becomes
//! the spinning worker if there is none, and steals for a short while;
//! then it parks ([`Idle::park`](super::idle::Idle::park)): it registers
//! as idle, looks at every queue once more (a waker that saw no idle worker
//! pushed before this look), and sleeps, with a timeout for the earliest
//! timer if no other worker waits for it.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_task::Runnable;
use crossbeam_deque::{Steal, Worker};

use super::cells;
use super::timer::NONE;
use super::{set_current, Shared, Slot};
use crate::rt::clock::now_nanos;
use crate::rt::goroutine::set_thread_run;

/// How long a worker with nothing to run looks for work before it parks.
const SPIN: Duration = Duration::from_micros(30);
/// How long a worker must be stuck in one poll before a thief takes the
/// goroutine in its `runnext` slot.
const STEAL_RUNNEXT_AFTER: Duration = Duration::from_micros(10);
/// A thief takes from another worker's queue only goroutines that would
/// wait longer than this there: a queue its worker drains sooner at the
/// pace it is going stays where it is (see [`Probe`]).
const STEAL_WAIT_NS: u64 = 20_000;
/// How long a thief watches a queue's pace before judging it.
const PROBE_NS: u64 = 2_000;
/// How often a spinning worker looks at the other workers' queues (each
/// look reads lines their workers write).
const LOOK_NS: u64 = 500;
/// `runnext` goroutines run in a row before the queue's head gets a turn: a
/// ping-pong pair must not starve the rest of the queue.
const MAX_RUNNEXT_STREAK: u32 = 64;

/// This thread's worker.
struct Local {
    shared: Arc<Shared>,
    index: usize,
    queue: Worker<Runnable>,
    tick: Cell<u32>,
    /// Goroutines polled here: this worker's `Slot::ticks`, which only it
    /// writes.
    polled: Cell<usize>,
    streak: Cell<u32>,
    spinning: Cell<bool>,
    /// Other workers' `ticks` when this one started spinning.
    seen: RefCell<Vec<usize>>,
    /// This worker's view of the other workers' queues while it spins.
    probes: RefCell<Vec<Probe>>,
    /// When it last looked at them (ns on the clock).
    looked: Cell<u64>,
    /// Task cells made on this worker minus those dropped here, not yet in
    /// `Shared::cells` (see `cells`).
    cells: Cell<i64>,
}

thread_local! {
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's worker if it belongs to `shared` (compared
/// by address only).
fn with_local<R>(shared: *const Shared, f: impl FnOnce(Option<&Local>) -> R) -> R {
    let mut f = Some(f);
    let done = LOCAL.try_with(|l| {
        let f = f.take().expect("called once");
        // Not borrowed while the worker is being taken down (its queue's
        // drops end cells): the shared count takes those.
        let Ok(l) = l.try_borrow() else {
            return f(None);
        };
        match l.as_deref() {
            Some(l) if std::ptr::eq(Arc::as_ptr(&l.shared), shared) => f(Some(l)),
            _ => f(None),
        }
    });
    match done {
        Ok(r) => r,
        // A cell dropped by a thread-local's destructor: no worker here.
        Err(_) => (f.take().expect("not called"))(None),
    }
}

/// A task cell of `shared` is made: counted on this worker if it is one of
/// `shared`'s, else in the shared count.
#[inline]
pub(super) fn count_cell(shared: &Shared) {
    let local = with_local(shared, |l| match l {
        Some(l) => {
            let n = l.cells.get() + 1;
            if n >= cells::FLUSH_AT {
                shared.cells.add(n);
                l.cells.set(0);
            } else {
                l.cells.set(n);
            }
            true
        }
        None => false,
    });
    if !local {
        shared.cells.add(1);
    }
}

/// A task cell of `shared` is dropped: `true` if counted on this worker
/// (one of `shared`'s, which holds a share of the count, so the executor
/// outlives this call), else the caller takes it from the shared count.
#[inline]
pub(super) fn uncount_cell(shared: NonNull<Shared>) -> bool {
    with_local(shared.as_ptr(), |l| match l {
        Some(l) => {
            let n = l.cells.get() - 1;
            if n <= -cells::FLUSH_AT {
                // SAFETY: `n` cells are given back; this worker's share
                // keeps the count above zero.
                unsafe { cells::release(shared, -n) };
                l.cells.set(0);
            } else {
                l.cells.set(n);
            }
            true
        }
        None => false,
    })
}

/// A new goroutine goes to the back of this worker's queue; `Err` off the
/// workers.
pub(super) fn push_local(shared: &Shared, r: Runnable) -> Result<(), Runnable> {
    with_local(shared, |l| match l {
        Some(l) => {
            l.queue.push(r);
            shared.idle.wakep_local();
            Ok(())
        }
        None => Err(r),
    })
}

/// A wake-up. On a worker: into `runnext` (the goroutine it displaces goes
/// to the queue), or, for a goroutine that woke itself while running (a
/// yield), to the back of the queue. Elsewhere: the injector.
pub(super) fn schedule(shared: &Shared, r: Runnable, yielded: bool) {
    let rest = with_local(shared, |l| {
        let Some(l) = l else { return Some(r) };
        let to_queue = if yielded {
            Some(r)
        } else {
            shared.slots[l.index].runnext.swap(Some(r))
        };
        if let Some(q) = to_queue {
            l.queue.push(q);
            shared.wakep();
        }
        None
    });
    // `with_local` gave the runnable back only off the workers.
    if let Some(r) = rest {
        shared.push_global(r);
    }
}

/// Go's `runtime_canSpin`, for a goroutine that finds a `sync::Mutex` held:
/// spinning can pay only if this worker has nothing queued (else it should
/// park and run the others) and another worker is neither idle nor looking
/// for work (so the holder may be running). `true` off the workers (a
/// foreign tokio runtime): nothing to ask there. `runnext` is not looked
/// at: it cannot be read without taking it.
pub(crate) fn can_spin() -> bool {
    LOCAL.with(|l| {
        let l = l.borrow();
        let Some(l) = l.as_deref() else { return true };
        let s = &*l.shared;
        l.queue.is_empty() && s.idle.idle_or_spinning() + 1 < s.slots.len()
    })
}

/// Decrements the running-worker count even if a drop panics.
struct Exit(Arc<Shared>);

impl Drop for Exit {
    fn drop(&mut self) {
        // No more counting on this thread: its cell count is final once the
        // worker is out of `LOCAL`, and the drops of what it still holds go
        // to the shared count.
        let local = LOCAL.with(|l| l.borrow_mut().take());
        let counted = local.as_ref().map_or(0, |l| l.cells.get());
        drop(local);
        set_current(None);
        crate::rt::asleep::detach_worker(&self.0.run);
        set_thread_run(None);
        let mut running = self.0.running.lock();
        *running -= 1;
        drop(running);
        self.0.stopped.notify_all();
        // SAFETY: this worker's share is given back once, here, with its
        // count; `self.0` keeps the executor alive during the call.
        unsafe { cells::release_share(NonNull::from(&*self.0), counted) };
    }
}

/// The worker thread's body.
pub(super) fn main(
    shared: Arc<Shared>,
    index: usize,
    queue: Worker<Runnable>,
    io: tokio::runtime::Handle,
) {
    let _exit = Exit(shared.clone());
    let _io = io.enter();
    set_current(Some(shared.clone()));
    set_thread_run(Some(shared.run.clone()));
    // The deadlock census's per-worker counts, flushed in `park`.
    crate::rt::asleep::attach_worker(&shared.run, index);
    let n = shared.slots.len();
    let local = Rc::new(Local {
        shared,
        index,
        queue,
        tick: Cell::new(0),
        polled: Cell::new(0),
        streak: Cell::new(0),
        spinning: Cell::new(false),
        seen: RefCell::new(vec![0; n]),
        probes: RefCell::new(vec![Probe::default(); n]),
        looked: Cell::new(0),
        cells: Cell::new(0),
    });
    LOCAL.with(|l| *l.borrow_mut() = Some(local.clone()));
    local.run_loop();
    // Shut down: what is still queued here is dropped here.
    while let Some(r) = local.queue.pop() {
        drop(r);
    }
    if let Some(r) = local.shared.slots[index].runnext.take() {
        drop(r);
    }
}

impl Local {
    fn run_loop(&self) {
        let s = &*self.shared;
        loop {
            if s.is_shut_down() {
                return;
            }
            s.timers.fire_due(now_nanos);
            if let Some(r) = self.next_task() {
                self.run(r);
                continue;
            }
            if !self.spinning.get() {
                self.spinning.set(s.idle.try_spin());
            }
            if self.spinning.get() {
                if let Some(r) = self.spin() {
                    self.run(r);
                    continue;
                }
                self.spinning.set(false);
                s.idle.stop_spinning();
            }
            self.park();
        }
    }

    fn run(&self, r: Runnable) {
        if self.spinning.get() {
            self.spinning.set(false);
            let s = &*self.shared;
            s.idle
                .spinner_found_work(|| !self.queue.is_empty() || !s.injector.is_empty());
        }
        // Only this worker writes its `ticks`: a store of its own count,
        // not a locked read-modify-write, at every poll.
        let polled = self.polled.get().wrapping_add(1);
        self.polled.set(polled);
        self.shared.slots[self.index]
            .ticks
            .store(polled, Ordering::Relaxed);
        r.run();
    }

    /// `runnext`, the own queue, the injector.
    fn next_task(&self) -> Option<Runnable> {
        let s = &*self.shared;
        let slot = &s.slots[self.index];
        let t = self.tick.get().wrapping_add(1);
        self.tick.set(t);
        if t % 61 == 0 {
            if let Some(r) = steal_from_injector(s, &self.queue) {
                return Some(r);
            }
        }
        if self.streak.get() < MAX_RUNNEXT_STREAK {
            if let Some(r) = slot.runnext.take() {
                self.streak.set(self.streak.get() + 1);
                return Some(r);
            }
        }
        self.streak.set(0);
        if let Some(r) = self.queue.pop() {
            return Some(r);
        }
        if let Some(r) = slot.runnext.take() {
            return Some(r);
        }
        steal_from_injector(s, &self.queue)
    }

    /// Looks for work for up to [`SPIN`]: timers, the injector, the other
    /// workers' queues, and a stuck worker's `runnext`.
    fn spin(&self) -> Option<Runnable> {
        let s = &*self.shared;
        let start = Instant::now();
        {
            let mut seen = self.seen.borrow_mut();
            let mut probes = self.probes.borrow_mut();
            let now = now_nanos();
            for (i, slot) in s.slots.iter().enumerate() {
                seen[i] = slot.ticks.load(Ordering::Relaxed);
                probes[i].restart(slot, seen[i], now);
            }
        }
        let mut round = 0u32;
        loop {
            if s.is_shut_down() {
                return None;
            }
            if s.timers.fire_due(now_nanos) {
                if let Some(r) = self.next_task() {
                    return Some(r);
                }
            }
            if let Some(r) = self.steal() {
                return Some(r);
            }
            round += 1;
            if round % 8 == 0 {
                let spent = start.elapsed();
                if spent > STEAL_RUNNEXT_AFTER {
                    if let Some(r) = self.steal_stuck_runnext() {
                        return Some(r);
                    }
                }
                if spent > SPIN {
                    return None;
                }
                // The machine may have fewer cores than runnable threads.
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }

    /// A batch from the injector, else from another worker's queue whose
    /// goroutines would wait there too long (see [`Probe`]).
    fn steal(&self) -> Option<Runnable> {
        let s = &*self.shared;
        if let Some(r) = steal_from_injector(s, &self.queue) {
            return Some(r);
        }
        let now = now_nanos();
        // Each look reads a line that the worker looked at writes at every
        // poll: a look per spin round made each of its writes a miss.
        if now.saturating_sub(self.looked.get()) < LOOK_NS {
            return None;
        }
        self.looked.set(now);
        let n = s.slots.len();
        let first = fastrand::usize(..n);
        let mut probes = self.probes.borrow_mut();
        for k in 0..n {
            let v = (first + k) % n;
            let slot = &s.slots[v];
            let ticks = slot.ticks.load(Ordering::Relaxed);
            if v == self.index || !probes[v].waits_too_long(slot, ticks, now) {
                continue;
            }
            loop {
                match slot.stealer.steal_batch_and_pop(&self.queue) {
                    Steal::Success(r) => {
                        probes[v].stole_at = ticks;
                        return Some(r);
                    }
                    Steal::Empty => break,
                    Steal::Retry => {}
                }
            }
        }
        None
    }

    /// The `runnext` goroutine of a worker that has polled nothing since
    /// this one started spinning: it is stuck in one long poll.
    fn steal_stuck_runnext(&self) -> Option<Runnable> {
        let s = &*self.shared;
        let seen = self.seen.borrow();
        for (i, slot) in s.slots.iter().enumerate() {
            if i != self.index && slot.ticks.load(Ordering::Relaxed) == seen[i] {
                if let Some(r) = slot.runnext.take() {
                    return Some(r);
                }
            }
        }
        None
    }

    /// Whether anything is ready to run anywhere (a look after registering
    /// as idle).
    fn work_anywhere(&self) -> bool {
        let s = &*self.shared;
        if !s.injector.is_empty() || !self.queue.is_empty() {
            return true;
        }
        if s.slots.iter().any(|slot| !slot.stealer.is_empty()) {
            return true;
        }
        // `runnext` of this worker (a timer may have filled it).
        let mine = &s.slots[self.index].runnext;
        if let Some(r) = mine.take() {
            if let Some(other) = mine.swap(Some(r)) {
                self.queue.push(other);
            }
            return true;
        }
        let next = s.timers.next();
        next != NONE && next <= now_nanos()
    }

    /// Parks until woken (or until the earliest timer, if this worker
    /// waits for it).
    fn park(&self) {
        let s = &*self.shared;
        // The slots of goroutines that ended here go back to the census.
        crate::rt::asleep::flush(&s.run);
        let spinning = s.idle.park(
            self.index,
            || s.is_shut_down() || self.work_anywhere(),
            // The last worker to park: is every goroutine asleep?
            || crate::rt::asleep::all_parked(&s.run, || s.idle.all_idle(), || self.work_anywhere()),
            || Some(s.timers.next()).filter(|&t| t != NONE),
            now_nanos,
        );
        self.spinning.set(spinning);
    }
}

fn steal_from_injector(s: &Shared, queue: &Worker<Runnable>) -> Option<Runnable> {
    loop {
        match s.injector.steal_batch_and_pop(queue) {
            Steal::Success(r) => return Some(r),
            Steal::Empty => return None,
            Steal::Retry => {}
        }
    }
}

/// A thief's look at another worker's queue: its length and that worker's
/// `ticks` when the look began.
///
/// Go's thieves take half of any non-empty queue at once. On two cores that
/// cost `fanout` twice its time on one core (bench/README.md, "Stealing only
/// what waits"): the goroutines a channel wakes run a few hundred
/// nanoseconds each, against the same channel, and moving them to the other
/// core moves every line they touch with them. So a thief first watches the
/// queue for [`PROBE_NS`], and takes from it only if its worker, at the
/// pace it ran goroutines meanwhile, would need more than
/// [`STEAL_WAIT_NS`] to get through what was queued (none run: a long poll,
/// or long goroutines). A worker that gets through its queue sooner keeps
/// it: it was going to run those goroutines within that time anyway.
#[derive(Clone, Copy)]
struct Probe {
    at: u64,
    ticks: usize,
    len: usize,
    /// The worker's `ticks` when this thief last took from its queue: while
    /// they have not moved, that worker is still in the poll it was in
    /// then (a spawning loop), and its queue has waited all along.
    stole_at: usize,
}

impl Default for Probe {
    fn default() -> Probe {
        Probe {
            at: 0,
            ticks: 0,
            len: 0,
            stole_at: usize::MAX,
        }
    }
}

impl Probe {
    fn restart(&mut self, slot: &Slot, ticks: usize, now: u64) {
        self.at = now;
        self.ticks = ticks;
        self.len = slot.stealer.len();
    }

    /// Whether what `slot`'s queue held at the start of this look would
    /// wait longer than [`STEAL_WAIT_NS`] (`ticks`: the worker's, read
    /// now); starts a new look when this one is over.
    fn waits_too_long(&mut self, slot: &Slot, ticks: usize, now: u64) -> bool {
        if ticks == self.stole_at {
            return true;
        }
        let elapsed = now.saturating_sub(self.at);
        if elapsed < PROBE_NS {
            return false;
        }
        if backlog_waits(self.len, ticks.wrapping_sub(self.ticks), elapsed) {
            return true;
        }
        if self.len == 0 || elapsed >= STEAL_WAIT_NS {
            self.restart(slot, ticks, now);
        }
        false
    }
}

/// Whether `len` goroutines queued behind a worker that ran `ran`
/// goroutines in `elapsed` ns would wait there longer than
/// [`STEAL_WAIT_NS`]: at that pace they take `len * elapsed / ran`.
fn backlog_waits(len: usize, ran: usize, elapsed: u64) -> bool {
    len > 0 && (ran as u64).saturating_mul(STEAL_WAIT_NS) < len as u64 * elapsed
}

#[cfg(test)]
mod tests {
    use super::{backlog_waits, PROBE_NS, STEAL_WAIT_NS};

    #[test]
    fn a_backlog_is_taken_only_if_it_would_wait_too_long() {
        // Nothing queued: nothing to take.
        assert!(!backlog_waits(0, 0, STEAL_WAIT_NS));
        // A worker stuck in one poll: everything queued waits.
        assert!(backlog_waits(1, 0, PROBE_NS));
        // `fanout`: ten woken goroutines of ~200 ns each, ten run in 2 µs.
        assert!(!backlog_waits(10, 10, PROBE_NS));
        // Ten goroutines of ~3 µs each: none ran yet in 2 µs.
        assert!(backlog_waits(10, 0, PROBE_NS));
        // Exactly the limit's pace: still kept.
        assert!(!backlog_waits(10, 10, STEAL_WAIT_NS));
        assert!(backlog_waits(11, 10, STEAL_WAIT_NS));
    }
}
