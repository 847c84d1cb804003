//! goro's production executor, on Go's scheduler model.
//!
//! - One worker thread per core (Go's M with its P), each with a FIFO run
//!   queue (`crossbeam_deque::Worker`) and a `runnext` slot: a goroutine
//!   woken by a goroutine on a worker runs next on that worker, as Go does
//!   for channel hand-offs, so a ping-pong stays on one core and in cache.
//! - A global injector queue for wake-ups from outside the workers (the
//!   main thread, the tokio I/O thread), checked every 61st goroutine so
//!   it never starves (Go's number).
//! - Work stealing from the other workers' queues, but only of goroutines
//!   that would wait there: a thief watches a queue for 2 µs and takes
//!   half of it if its worker, at the pace it runs goroutines, would need
//!   more than 20 µs to get through it (Go steals any non-empty queue at
//!   once; goroutines a channel wakes, a few hundred nanoseconds each, ran
//!   at half speed moved to the other core: see `worker::Probe`). A
//!   `runnext` slot is stolen only from a worker that has been stuck in one
//!   poll for a whole spin (Go waits 3 µs before it steals `runnext`).
//! - Workers that find nothing spin briefly before parking, at most one at
//!   a time; new work wakes a parked worker only if nobody spins (Go's
//!   `wakep`), and a wake into `runnext` wakes nobody: nothing there is
//!   for another worker to take. Wake-ups across threads, each a futex
//!   call, were a quarter of all time on tokio's scheduler.
//! - One allocation per goroutine: the `async_task` cell. A cell refers
//!   to its executor by address ([`task::ExecRef`]), not by an `Arc`: the
//!   executor is kept alive by a count of cells that each worker keeps in
//!   batches ([`Shared::cells`]), so a spawn and a cell's end write no line
//!   the other worker writes. A dead goroutine's cell is freed when its
//!   census slot is reused, by the thread about to allocate the next cell
//!   (see `rt::asleep`), so that glibc's thread cache serves it.
//! - Timers in one heap, fired by workers between goroutines and by a
//!   worker parked with a timeout for the earliest one, or spinning when it
//!   is very close (see [`timer`] and [`worker`]).
//! - A tokio runtime on a background thread for I/O ([`io`]).
//! - A monitor thread that rescues a goroutine stuck in the `runnext` slot
//!   of a worker busy in one long poll ([`sysmon`]).
//!
//! Nothing here runs under the detecting scheduler, which has its own
//! executor (`rt::sched`).
//!
//! Hand-written synchronization: only the idle-worker protocol ([`idle`]:
//! an idle list under a mutex, the `nspinning`/`nidle` counters read
//! without it, the timer waiter, and the SeqCst fences that pair a push
//! with a worker's last look before it sleeps) and the parker under it
//! ([`park`]). `runtime/tests/loom_park.rs` compiles both real files
//! against loom's types and checks them under loom. Also the cells' count
//! that keeps the executor alive ([`cells`]), which
//! `runtime/tests/loom_cells.rs` checks the same way. Everything else is
//! `async-task`, `crossbeam-deque`, `crossbeam-utils` and locks.

mod cells;
mod idle;
mod io;
mod park;
mod prims;
mod sysmon;
mod task;
pub(crate) mod timer;
mod worker;

pub(crate) use self::worker::can_spin;

use std::cell::RefCell;
use std::future::Future;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_task::Runnable;
use crossbeam_deque::{Injector, Stealer, Worker};
use crossbeam_utils::atomic::AtomicCell;
use crossbeam_utils::CachePadded;
use parking_lot::{Condvar, Mutex};

use self::cells::Cells;
use self::idle::Idle;
use self::io::Io;
use self::task::Registry;
use self::timer::{CallState, SleepState, Timers};
use super::asleep::TaskHome;
use super::goroutine::RunState;

/// What a worker shares with the others, and with the threads that wake
/// its goroutines.
struct Slot {
    stealer: Stealer<Runnable>,
    runnext: AtomicCell<Option<Runnable>>,
    /// Goroutines this worker has polled (written by it alone): a thief
    /// sees its pace, or that it is stuck.
    ticks: AtomicUsize,
}

/// The executor of one `goro::run`.
///
/// Aligned to a cache line pair so that the `Arc`'s reference counts, which
/// every spawn increments (the cell's schedule function holds a clone) and
/// every freed cell decrements, on both workers, sit on a line of their
/// own: next to them, the fields that every schedule reads missed too.
#[repr(align(128))]
pub(crate) struct Shared {
    slots: Box<[CachePadded<Slot>]>,
    injector: Injector<Runnable>,
    /// Parked and spinning workers, and their parkers.
    idle: Idle,
    timers: Timers,
    shutdown: AtomicBool,
    registry: Registry,
    /// Runnables scheduled after shutdown: dropped by `Runtime::shutdown`.
    graveyard: Mutex<Vec<Runnable>>,
    /// Workers still in their loop, for the shutdown's wait.
    running: Mutex<usize>,
    stopped: Condvar,
    run: Arc<RunState>,
    /// The task cells alive, plus a share per worker and one for the
    /// `Runtime`: when it reaches zero, the reference it stands for (made
    /// in [`Runtime::start`]) is dropped (see [`cells`]).
    cells: CachePadded<Cells>,
}

thread_local! {
    /// The executor a goroutine started on this thread goes to: set on the
    /// workers and, during `run`, on the thread that called it.
    static EXEC: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

/// The executor of the run on this thread, if any.
pub(crate) fn current() -> Option<Arc<Shared>> {
    EXEC.with(|e| e.borrow().clone())
}

/// The executor of the run on this thread, by address: no reference count
/// to touch (a line that every worker's spawns would share). It stays
/// alive while this thread's reference to it does, which only
/// `set_current` replaces: at the start and end of a worker or a run,
/// never during a spawn.
pub(crate) fn current_ptr() -> Option<NonNull<Shared>> {
    EXEC.with(|e| e.borrow().as_deref().map(NonNull::from))
}

fn set_current(s: Option<Arc<Shared>>) -> Option<Arc<Shared>> {
    EXEC.with(|e| std::mem::replace(&mut *e.borrow_mut(), s))
}

impl cells::HasCells for Shared {
    fn cells(&self) -> &Cells {
        &self.cells
    }
}

impl Shared {
    fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Starts `fut` as goroutine `id`; its task handle goes to `home` (its
    /// census entry) if it has one, else to the executor's registry.
    #[inline(always)]
    pub(crate) fn spawn<F>(&self, id: u64, fut: F, home: Option<TaskHome>)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        task::spawn(self, id, fut, home);
    }

    /// A new goroutine: the back of this worker's queue (stealable), or the
    /// injector from any other thread.
    fn schedule_spawned(&self, r: Runnable) {
        if let Err(r) = worker::push_local(self, r) {
            self.push_global(r);
        }
    }

    /// The schedule function of every goroutine: where a wake-up goes.
    fn schedule(&self, r: Runnable, yielded: bool) {
        if self.is_shut_down() {
            self.graveyard.lock().push(r);
            return;
        }
        worker::schedule(self, r, yielded);
    }

    fn push_global(&self, r: Runnable) {
        self.injector.push(r);
        self.wakep();
    }

    /// Go's `wakep` (see [`Idle::wakep`]).
    fn wakep(&self) {
        self.idle.wakep();
    }

    /// A timer that wakes the current goroutine at `at` (ns on the clock).
    pub(crate) fn sleep(&self, at: u64) -> Arc<SleepState> {
        let (s, earliest) = self.timers.sleep(at);
        if earliest {
            self.idle.kick();
        }
        s
    }

    pub(crate) fn cancel_sleep(&self, s: &SleepState) {
        self.timers.cancel_sleep(s);
    }

    /// `f` at `at`, then every `period` while it returns `true`.
    pub(crate) fn call(
        &self,
        at: u64,
        period: Option<u64>,
        f: Box<dyn FnMut() -> bool + Send>,
    ) -> Arc<CallState> {
        let (c, earliest) = self.timers.call(at, period, f);
        if earliest {
            self.idle.kick();
        }
        c
    }

    /// Timers neither fired nor stopped.
    pub(crate) fn pending_timers(&self) -> usize {
        self.timers.pending()
    }

    pub(crate) fn cancel_call(&self, c: &CallState) {
        self.timers.cancel_call(c);
    }
}

/// A started executor: its workers and its I/O thread.
pub(crate) struct Runtime {
    shared: Arc<Shared>,
    io: Io,
    sysmon: Option<std::thread::JoinHandle<()>>,
    previous: Option<Option<Arc<Shared>>>,
    /// The `Runtime`'s share of [`Shared::cells`] is still held.
    share: bool,
}

impl Runtime {
    /// Starts `workers` worker threads for `run`, and makes the executor
    /// current on this thread until [`shutdown`](Runtime::shutdown).
    pub(crate) fn start(workers: usize, run: Arc<RunState>) -> Runtime {
        let workers = workers.max(1);
        let locals: Vec<Worker<Runnable>> = (0..workers).map(|_| Worker::new_fifo()).collect();
        let slots = locals
            .iter()
            .map(|w| {
                CachePadded::new(Slot {
                    stealer: w.stealer(),
                    runnext: AtomicCell::new(None),
                    ticks: AtomicUsize::new(0),
                })
            })
            .collect();
        let shared = Arc::new(Shared {
            slots,
            injector: Injector::new(),
            idle: Idle::new(workers),
            timers: Timers::new(),
            shutdown: AtomicBool::new(false),
            registry: Registry::new(),
            graveyard: Mutex::new(Vec::new()),
            running: Mutex::new(workers),
            stopped: Condvar::new(),
            run,
            // A share for each worker and for the `Runtime`.
            cells: CachePadded::new(Cells::new(workers + 1)),
        });
        // The reference the cells' count stands for, dropped when the count
        // reaches zero (see `cells`).
        let _ = Arc::into_raw(shared.clone());
        if let Some(c) = shared.run.census() {
            // A timer stopped off the workers while all of them are parked:
            // one wakes to park again, and checks for a deadlock.
            let weak = Arc::downgrade(&shared);
            c.set_poke(Box::new(move || {
                if let Some(s) = weak.upgrade() {
                    s.idle.kick();
                }
            }));
        }
        let io = Io::start();
        for (index, queue) in locals.into_iter().enumerate() {
            let shared = shared.clone();
            let handle = io.handle().clone();
            std::thread::Builder::new()
                .name("goro-worker".into())
                .spawn(move || worker::main(shared, index, queue, handle))
                // The executor is leaked (the unstarted workers' shares are
                // never given back): the program cannot go on anyway.
                .unwrap_or_else(|e| panic!("goro::run: cannot start a worker thread: {e}"));
        }
        let sysmon = Some(sysmon::start(shared.clone()));
        let previous = Some(set_current(Some(shared.clone())));
        Runtime {
            shared,
            io,
            sysmon,
            previous,
            share: true,
        }
    }

    /// Gives back the `Runtime`'s share of the cells' count, once.
    fn release_share(&mut self) {
        if std::mem::take(&mut self.share) {
            // SAFETY: the share was held (taken once above), and `Cells`
            // lives in the executor that `self.shared` keeps alive during
            // the call.
            unsafe { cells::release_share(NonNull::from(&*self.shared), 0) };
        }
    }

    /// The executor, to spawn on.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Ends the run as Go ends a program: workers stop after the goroutine
    /// they are polling (waiting at most `grace` for them), and every
    /// goroutine left, running or parked, is dropped, as are pending timers
    /// and the tokio runtime.
    pub(crate) fn shutdown(mut self, grace: Duration) {
        let s = self.shared.clone();
        s.shutdown.store(true, Ordering::SeqCst);
        s.idle.wake_all();
        {
            let deadline = std::time::Instant::now() + grace;
            let mut running = s.running.lock();
            while *running > 0 {
                if s.stopped.wait_until(&mut running, deadline).timed_out() {
                    break;
                }
            }
        }
        // Drop what is left; drops may wake (schedule into the graveyard)
        // or cancel more, so loop until nothing is left.
        loop {
            let mut any = s.registry.cancel_all();
            if let Some(c) = s.run.census() {
                any |= c.cancel_tasks();
            }
            while let Some(r) = s.injector.steal().success() {
                any = true;
                drop(r);
            }
            for slot in s.slots.iter() {
                while let Some(r) = slot.stealer.steal().success() {
                    any = true;
                    drop(r);
                }
                if let Some(r) = slot.runnext.take() {
                    any = true;
                    drop(r);
                }
            }
            let dead = std::mem::take(&mut *s.graveyard.lock());
            any |= !dead.is_empty();
            drop(dead);
            if !any {
                break;
            }
        }
        s.timers.clear();
        if let Some(m) = self.sysmon.take() {
            m.thread().unpark();
            let _ = m.join();
        }
        self.io.stop();
        if let Some(p) = self.previous.take() {
            set_current(p);
        }
        self.release_share();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(p) = self.previous.take() {
            // Not shut down (a panic in `run`): stop the workers at least.
            self.shared.shutdown.store(true, Ordering::SeqCst);
            self.shared.idle.wake_all();
            if let Some(m) = self.sysmon.take() {
                m.thread().unpark();
            }
            set_current(p);
        }
        self.release_share();
    }
}
