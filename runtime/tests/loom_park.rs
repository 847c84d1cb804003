//! Loom models of the production executor's idle-worker protocol
//! (`runtime/src/rt/exec/`), on the real code.
//!
//! - `idle.rs` (`wakep`, the spinning rules, `park`, `unidle`, the timer
//!   kick, the shutdown wake) and `park.rs` (the parker) are compiled here,
//!   as modules of this test, against the `prims` shim below, which gives
//!   loom's atomics, fence, `Mutex`, `Condvar` and `yield_now` the names
//!   and signatures those files import from their sibling `prims` module in
//!   the crate. No `--cfg loom` rebuild: plain `cargo test -p goro --test
//!   loom_park` runs them.
//! - What is not the real code: the worker's loop ([`worker`], step for
//!   step `worker::Local::run_loop` with its one spin reduced to one more
//!   look), the run queue ([`Queue`]: one flag per item, published with a
//!   Release store and checked with Acquire loads as crossbeam's deque
//!   does, no lock, so that only the protocol's fences order a push
//!   against a worker's last look), and the clock ([`prims::Instant`]:
//!   time reaches [`prims::REACHED`] and no further, so a worker asleep
//!   until a later timer sleeps until it is woken).
//!
//! loom fails a model if every thread ends up blocked (a lost wake-up: a
//! worker asleep while work waits) or an assertion fails.
//!
//! Each model was checked to fail (loom: deadlock) on a seeded bug, by
//! hand, then reverted: the fence in `wakep` removed
//! (`a_push_while_two_workers_go_idle_is_run`,
//! `work_pushed_by_a_busy_worker_is_run_by_another`); the fence in `park`
//! removed (`a_push_while_two_*`); `spinner_found_work` not calling
//! `wakep`, or `park` not taking the spinning role back when its last look
//! finds work (`a_spinner_that_finds_work_wakes_another`: the second is
//! the bug this model found in the shipped code); the fence after the
//! timer claim in `park`, or the one in `kick`, removed
//! (`a_new_earliest_timer_wakes_the_timer_waiter`); `Parker::unpark`
//! notifying without setting its flag (`shutdown_wakes_every_worker`).
//! `list.len() == self.parkers.len()` in `park` weakened to "any worker
//! idle" (`the_last_worker_to_park_sees_nothing_running`: an item is
//! running).
//! Not covered: a timer claim kept after its timer vanished (fixed in
//! `park` by reading, no model reaches that state).
//!
//! Times in a debug build on a loaded 2-core VM (load 12): the
//! `a_spinner_*` model ~35-50 s, `a_new_earliest_*` ~10 s each, the others
//! under 5 s.

use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use loom::sync::{Arc, Notify};
use loom::thread;

/// The real parker.
#[path = "../src/rt/exec/park.rs"]
mod park;

/// The real idle-worker protocol. `TIMER_SPIN` and the yield path of a
/// very close timer are not exercised (every model timer is far).
#[allow(dead_code)]
#[path = "../src/rt/exec/idle.rs"]
mod idle;

use idle::Idle;

/// loom's primitives under the names and signatures `park.rs` and
/// `idle.rs` import (parking_lot's `lock` without poisoning, `Condvar::wait`
/// on a `&mut` guard), and a model clock.
mod prims {
    use std::cell::Cell;
    use std::ops::{Add, Deref, DerefMut};
    use std::time::Duration;

    pub(crate) use loom::sync::atomic::{fence, AtomicUsize, Ordering};
    pub(crate) use loom::thread::yield_now;

    /// How far the model's time goes: a timed wait until this instant
    /// times out (its timer is due), a later one ends only when notified.
    pub(crate) const REACHED: u64 = 1_000_000;

    thread_local! {
        /// The model's clock (ns): 0 until a timed wait times out, then
        /// [`REACHED`]. Outside loom's view, and per test thread: loom
        /// runs all of a model's threads on the test's thread, one at a
        /// time, and each execution starts with [`reset_clock`].
        static CLOCK: Cell<u64> = const { Cell::new(0) };
    }

    pub(crate) fn reset_clock() {
        CLOCK.with(|c| c.set(0));
    }

    pub(crate) fn clock() -> u64 {
        CLOCK.with(Cell::get)
    }

    /// An instant on the model's clock.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
    pub(crate) struct Instant(u64);

    impl Instant {
        pub(crate) fn now() -> Instant {
            Instant(clock())
        }
    }

    impl Add<Duration> for Instant {
        type Output = Instant;

        fn add(self, d: Duration) -> Instant {
            Instant(self.0 + d.as_nanos() as u64)
        }
    }

    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap()))
        }
    }

    /// `None` only inside `Condvar::wait`, which moves loom's guard out
    /// and back.
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            self.0.as_ref().unwrap()
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().unwrap()
        }
    }

    pub(crate) struct Condvar(loom::sync::Condvar);

    pub(crate) struct WaitTimeoutResult(bool);

    impl WaitTimeoutResult {
        pub(crate) fn timed_out(&self) -> bool {
            self.0
        }
    }

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let g = guard.0.take().unwrap();
            guard.0 = Some(self.0.wait(g).unwrap());
        }

        /// Times out at once if the model's time reaches `deadline`, else
        /// waits for a notification.
        pub(crate) fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            deadline: Instant,
        ) -> WaitTimeoutResult {
            if deadline.0 <= REACHED {
                CLOCK.with(|c| c.set(c.get().max(deadline.0)));
                return WaitTimeoutResult(true);
            }
            self.wait(guard);
            WaitTimeoutResult(false)
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }
    }
}

/// "No timer" in [`Exec::timer`].
const NO_TIMER: u64 = u64::MAX;
/// A timer the model's time reaches.
const SOON: u64 = prims::REACHED;
/// A timer it never reaches.
const LATER: u64 = 10 * prims::REACHED;

/// A run queue of `n` items: a flag each, pushed with a Release store and
/// looked at with Acquire loads (crossbeam's deque publishes a push with a
/// Release store of its tail); taking is a swap.
struct Queue(Vec<AtomicBool>);

impl Queue {
    fn new(n: usize) -> Self {
        Queue((0..n).map(|_| AtomicBool::new(false)).collect())
    }

    fn push(&self, i: usize) {
        self.0[i].store(true, Ordering::Release);
    }

    fn take(&self) -> Option<usize> {
        (0..self.0.len())
            .find(|&i| self.0[i].load(Ordering::Acquire) && self.0[i].swap(false, Ordering::AcqRel))
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|f| !f.load(Ordering::Acquire))
    }
}

/// What the model's workers share: the protocol, the queue, a timer (its
/// deadline as `Timers::next` holds it), and the run's end.
struct Exec {
    idle: Idle,
    queue: Queue,
    timer: AtomicU64,
    shutdown: AtomicBool,
    /// Items run and timers fired.
    done: AtomicUsize,
    /// Items + timers the run waits for before it shuts down.
    expect: usize,
    /// Item 0 blocks its worker until item 1 has run.
    item1_ran: Notify,
    /// Item 0 pushes item 1 (`worker::push_local`) before it blocks.
    item0_pushes: bool,
    /// Items being run now.
    running: AtomicUsize,
    /// Times a worker parked as the last one with nothing to run
    /// (`Idle::park`'s `last`: where the deadlock census checks).
    last_calls: AtomicUsize,
}

impl Exec {
    fn new(workers: usize, items: usize, expect: usize) -> Arc<Exec> {
        Self::with(workers, items, expect, false)
    }

    fn with(workers: usize, items: usize, expect: usize, item0_pushes: bool) -> Arc<Exec> {
        Arc::new(Exec {
            idle: Idle::new(workers),
            queue: Queue::new(items),
            timer: AtomicU64::new(NO_TIMER),
            shutdown: AtomicBool::new(false),
            done: AtomicUsize::new(0),
            expect,
            item1_ran: Notify::new(),
            item0_pushes,
            running: AtomicUsize::new(0),
            last_calls: AtomicUsize::new(0),
        })
    }

    fn shut_down(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.idle.wake_all();
    }

    /// One item or timer done; the last one ends the run.
    fn finish_one(&self) {
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 == self.expect {
            self.shut_down();
        }
    }

    /// `Timers::fire_due` on the model's clock: fires the timer if due.
    fn fire_due(&self) -> bool {
        let t = self.timer.load(Ordering::Acquire);
        t <= prims::clock()
            && self
                .timer
                .compare_exchange(t, NO_TIMER, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    /// `Timers::insert` of an earliest timer, then the executor's kick.
    fn add_timer(&self, at: u64) {
        self.timer.store(at, Ordering::SeqCst);
        self.idle.kick();
    }

    /// Runs item `i`. With `blocking`, item 0 waits until item 1 has run
    /// (a goroutine busy in one long poll that another worker must serve).
    fn run(&self, i: usize, blocking: bool) {
        if !blocking && i == 0 && self.item0_pushes {
            self.queue.push(1);
            self.idle.wakep();
        }
        if blocking && i == 0 {
            if self.item0_pushes {
                self.queue.push(1);
                self.idle.wakep();
            }
            self.item1_ran.wait();
        }
        if blocking && i == 1 {
            self.item1_ran.notify();
        }
        self.finish_one();
    }
}

/// `worker::Local::run_loop`, step for step, on the real protocol.
fn worker(e: &Exec, me: usize, mut spinning: bool, blocking: bool) {
    loop {
        if e.shutdown.load(Ordering::SeqCst) {
            return;
        }
        if e.fire_due() {
            e.finish_one();
        }
        let mut got = e.queue.take();
        if got.is_none() {
            if !spinning {
                spinning = e.idle.try_spin();
            }
            if spinning {
                // The spin: one more look.
                got = e.queue.take();
                if got.is_none() {
                    spinning = false;
                    e.idle.stop_spinning();
                }
            }
        }
        if let Some(i) = got {
            if spinning {
                spinning = false;
                e.idle.spinner_found_work(|| !e.queue.is_empty());
            }
            e.running.fetch_add(1, Ordering::SeqCst);
            e.run(i, blocking);
            e.running.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        spinning = e.idle.park(
            me,
            || {
                e.shutdown.load(Ordering::SeqCst)
                    || !e.queue.is_empty()
                    || e.timer.load(Ordering::SeqCst) <= prims::clock()
            },
            || {
                e.last_calls.fetch_add(1, Ordering::SeqCst);
                // Only the workers push in the models that check this: the
                // last worker to park sees nothing run or queued.
                if e.item0_pushes {
                    assert_eq!(e.running.load(Ordering::SeqCst), 0, "an item is running");
                    assert!(e.queue.is_empty(), "an item is queued");
                }
            },
            || Some(e.timer.load(Ordering::SeqCst)).filter(|&t| t != NO_TIMER),
            prims::clock,
        );
    }
}

fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(move || {
        prims::reset_clock();
        f()
    });
}

/// Starts `workers` workers (the first already spinning if `spin0`).
fn start(
    e: &Arc<Exec>,
    workers: usize,
    spin0: bool,
    blocking: bool,
) -> Vec<thread::JoinHandle<()>> {
    if spin0 {
        assert!(e.idle.try_spin());
    }
    (0..workers)
        .map(|me| {
            let e = e.clone();
            thread::spawn(move || worker(&e, me, spin0 && me == 0, blocking))
        })
        .collect()
}

fn join(e: &Exec, handles: Vec<thread::JoinHandle<()>>) {
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(e.done.load(Ordering::SeqCst), e.expect);
}

/// Items pushed from outside the workers (the injector), each followed by
/// `wakep`, while the workers spin out and go idle: every item runs.
fn pushes_while_workers_go_idle(workers: usize, items: usize) {
    check(move || {
        let e = Exec::new(workers, items, items);
        let hs = start(&e, workers, true, false);
        for i in 0..items {
            e.queue.push(i);
            e.idle.wakep();
        }
        join(&e, hs);
    });
}

#[test]
fn a_push_while_one_worker_goes_idle_is_run() {
    pushes_while_workers_go_idle(1, 2);
}

#[test]
fn a_push_while_two_workers_go_idle_is_run() {
    pushes_while_workers_go_idle(2, 1);
}

/// No worker sleeps while work is queued and nobody spins: a worker runs
/// item 0, which pushes item 1 to the queue (`worker::push_local`, then
/// `wakep`) and blocks until item 1 has run: only the other worker can
/// run it, and it may be spinning out or going to sleep meanwhile.
#[test]
fn work_pushed_by_a_busy_worker_is_run_by_another() {
    check(|| {
        let e = Exec::with(2, 2, 2, true);
        e.queue.push(0);
        let hs = start(&e, 2, false, true);
        join(&e, hs);
    });
}

/// Go's `checkdead`: `park`'s `last` (where the deadlock census checks)
/// runs only when no item is running or queued anywhere. Item 0 pushes
/// item 1 while it runs (`worker::push_local`, then `wakep`); the run goes
/// on until both ran and a worker parked as the last one.
#[test]
fn the_last_worker_to_park_sees_nothing_running() {
    check(|| {
        let e = Exec::with(2, 2, usize::MAX, true);
        e.queue.push(0);
        let hs = start(&e, 2, false, false);
        while e.done.load(Ordering::SeqCst) < 2 || e.last_calls.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        e.shut_down();
        for h in hs {
            h.join().unwrap();
        }
    });
}

/// Go's `resetspinning`: worker 0 spins, worker 1 may be parked; two items
/// arrive, and their pushers' `wakep` see the spinner and wake nobody.
/// The spinner takes item 0 (which blocks until item 1 has run) and must
/// wake worker 1 for item 1.
#[test]
fn a_spinner_that_finds_work_wakes_another() {
    check(|| {
        let e = Exec::new(2, 2, 2);
        let hs = start(&e, 2, true, true);
        e.queue.push(0);
        e.queue.push(1);
        e.idle.wakep();
        join(&e, hs);
    });
}

/// A timer earlier than the one a parked worker sleeps until: the kick
/// must wake that worker to recompute its timeout (the other worker, asleep
/// without a timeout, cannot take the timer over: the waiter holds it).
#[test]
fn a_new_earliest_timer_wakes_the_timer_waiter() {
    check(|| {
        let e = Exec::new(2, 0, 1);
        e.timer.store(LATER, Ordering::SeqCst);
        let hs = start(&e, 2, false, false);
        e.add_timer(SOON);
        join(&e, hs);
    });
}

/// A first timer while both workers sleep without a timeout: one of them
/// must be woken to wait for it.
#[test]
fn a_new_earliest_timer_wakes_a_sleeping_worker() {
    check(|| {
        let e = Exec::new(2, 0, 1);
        let hs = start(&e, 2, false, false);
        e.add_timer(SOON);
        join(&e, hs);
    });
}

/// The end of the run wakes every worker, asleep or about to sleep.
#[test]
fn shutdown_wakes_every_worker() {
    check(|| {
        let e = Exec::new(2, 0, usize::MAX);
        let hs = start(&e, 2, true, false);
        e.shut_down();
        for h in hs {
            h.join().unwrap();
        }
    });
}

/// The clock shim is what the timer models rely on.
#[test]
fn the_model_clock_reaches_soon_but_not_later() {
    let now = prims::Instant::now();
    assert!(now + Duration::from_nanos(SOON) <= now + Duration::from_nanos(prims::REACHED));
    assert!(now + Duration::from_nanos(LATER) > now + Duration::from_nanos(prims::REACHED));
}
