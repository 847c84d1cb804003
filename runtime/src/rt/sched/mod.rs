//! The detecting scheduler: runs a program's goroutines on one thread, one at
//! a time, choosing who runs next at every step with a seeded strategy, on a
//! virtual clock, and feeds every operation to the happens-before engine.
//!
//! A step is one goroutine's run from a scheduling point to the next (or to
//! where it parks or ends). Every goro operation begins with a scheduling
//! point (the operation's future yields once before acting), so the
//! strategy decides between any two operations. The yield is taken in
//! place when it would change nothing ([`step_here`]): the strategy's
//! choice is made there, and if it chose the running goroutine, that
//! goroutine goes on within the same poll. When nothing can run,
//! the clock jumps to the next timer; a goroutine awaiting a future that is
//! not goro's (tokio I/O) is waiting on the outside world, and the scheduler
//! waits for its waker in real time. When main is parked and can provably
//! never be woken, the others run on for the grace period, then the
//! schedule ends with the deadlock even if they could still run (`proof`).
//! When main returns, the others run on for the grace period too: in
//! virtual time, and until one of them has taken a hundredth of the step limit
//! since (or the step limit is reached). Whatever is left then, blocked or
//! still running (a loop on a sleep or a ticker), is leaked; the step
//! limit is never the verdict after main returned.
//!
//! **Time passes while goroutines run.** As in Go, a timer may fire while
//! goroutines could still run: at every step with a timer pending, the
//! strategy may take the clock ([`strategy::CLOCK`]) instead of a
//! goroutine, which moves the clock to the next timer and fires it. That
//! choice is recorded, replayed and shrunk like any other. So that a
//! program that always has work (a goroutine polling with `select!` and
//! `default`) still sees its timers, the clock is taken by force once it
//! has been passed over for [`CLOCK_MIN_LAG`] steps and for as many steps
//! as the timer's distance at one step per [`STEP_TIME`] (a forced firing
//! is no choice: replays reach it at the same step).
//!
//! **Every schedule ends.** Steps and timer firings together are bounded by
//! the step limit: a schedule in which only a timer keeps firing (a live
//! ticker beside blocked goroutines) ends there like any other.
//!
//! The executor lives in a thread-local while a schedule runs; primitives
//! reach it through [`crate::rt::detect`], never directly.

mod meta;
mod proof;
pub(crate) mod strategy;
mod trace;

use std::cell::{Cell, RefCell};
use std::collections::BinaryHeap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use goro_analyzer::engine::{EndState, Held};
use goro_analyzer::event::{Addr, Blocked, Event, Gid, Loc, ObjId, Op, Wait};
use goro_analyzer::fxhash::FxHashMap as HashMap;
use goro_analyzer::trace::TraceStep;
use goro_analyzer::{Engine, Finding};

use strategy::Chooser;

use super::block::BlockInfo;
use super::goroutine::{Crash, RunState};

/// Wakes arrive here, possibly from other threads (tokio I/O); the run loop
/// drains them in arrival order.
struct WakeQueue {
    q: Mutex<Vec<Gid>>,
    cv: Condvar,
    /// The run loop sleeps on `cv` (waiting for the outside world): only
    /// then is a notification (a futex call) worth making.
    sleeping: AtomicBool,
    /// `q` may be non-empty: set under the lock by each push, cleared
    /// under it by each drain. The run loop reads it at every step instead
    /// of locking `q` (wakes on its own thread go straight to the ready
    /// set, so `q` is almost always empty); a wake from another thread in
    /// flight is seen at the next step, as if it had come a moment later.
    queued: AtomicBool,
}

impl WakeQueue {
    /// Whether a wake may be queued (see `queued`).
    #[inline]
    fn maybe_queued(&self) -> bool {
        self.queued.load(Ordering::Acquire)
    }

    /// The queue, locked (a panic while it was held left it usable).
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Gid>> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A goroutine's waker. Every goroutine has one (a million goroutines, a
/// million wakers), so it holds 8 bytes (one 32-byte allocation with the
/// `Arc`'s counts) and no handle of its schedule's wake queue: the queue
/// is found by the schedule's serial, on the executor's thread in
/// `CUR_WAKES`, from another thread (tokio I/O: rare) in [`QUEUES`].
struct TaskWaker {
    /// The goroutine's index (`Exec::spawn` checks that it fits).
    idx: u32,
    /// Its schedule's serial (see `ACTIVE`).
    serial: u32,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let gid = Gid::from_index(self.idx as usize);
        if !wake_here(gid, self.serial) {
            wake_queued(gid, self.serial);
        }
    }
}

/// A wake of goroutine `gid` of schedule `serial` that [`wake_here`] could
/// not make: through the schedule's queue. Out of line, so that the common
/// wake (on the executor's thread) stays small.
#[cold]
#[inline(never)]
fn wake_queued(gid: Gid, serial: u32) {
    // A schedule that is over drains nothing: the wake is dropped.
    let Some(q) = wake_queue(serial) else {
        return;
    };
    let mut queue = q.lock();
    queue.push(gid);
    q.queued.store(true, Ordering::Release);
    drop(queue);
    if q.sleeping.load(Ordering::Acquire) {
        q.cv.notify_one();
    }
}

/// The wake queues of the schedules running in the process, by serial:
/// how a waker woken on another thread finds its schedule's queue.
static QUEUES: Mutex<Vec<(u32, std::sync::Weak<WakeQueue>)>> = Mutex::new(Vec::new());

/// The wake queue of the schedule with serial `serial`, while it runs.
fn wake_queue(serial: u32) -> Option<Arc<WakeQueue>> {
    if serial == self::serial() {
        if let Some(q) = CUR_WAKES.with(|q| q.borrow().clone()) {
            return Some(q);
        }
    }
    let queues = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    queues
        .iter()
        .find(|(s, _)| *s == serial)
        .and_then(|(_, q)| q.upgrade())
}

/// A wake on the executor's own thread, while nothing there borrows the
/// executor (a goroutine's poll: every yield and every channel hand-off),
/// goes straight into the ready set: no lock, no queue to drain. Wakes from
/// other threads, or from inside the executor's borrow, take the queue.
/// Either way the order is the program's order on this thread, so
/// schedules stay deterministic.
fn wake_here(gid: Gid, serial: u32) -> bool {
    with_exec_cell(|ex| {
        let Ok(mut ex) = ex.try_borrow_mut() else {
            return false;
        };
        // A waker of an earlier schedule on this thread is not ours.
        if ex.serial != serial {
            return false;
        }
        ex.make_ready(gid);
        true
    })
    .unwrap_or(false)
}

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

struct Task {
    fut: BoxFuture,
    waker: Waker,
}

enum TimerAction {
    Wake(Waker),
    Call(Box<dyn FnOnce()>),
}

struct Timer {
    at: Duration,
    seq: u64,
    action: TimerAction,
    /// Firing it may run the user's code (an `after_func`'s function):
    /// the proof cannot tell what that code could unlock or complete.
    opaque: bool,
}

/// A step while a timer is pending lasts at least this much time, for the
/// forced firing: a timer `d` away fires by force after `d / STEP_TIME`
/// steps passed over it (and at least [`CLOCK_MIN_LAG`]).
pub(crate) const STEP_TIME: Duration = Duration::from_micros(1);

/// Steps the clock may be passed over, at least, before it is taken by
/// force: how far a strategy can let work run ahead of a due timer.
pub(crate) const CLOCK_MIN_LAG: u64 = 1000;

impl PartialEq for Timer {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timer {
    // Reversed: BinaryHeap is a max-heap and the earliest timer comes first.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// How a schedule ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Every goroutine finished, or main finished and the rest are blocked.
    Completed,
    /// Main had not returned and nothing could run (no timer pending).
    Blocked,
    /// A goroutine panicked; the schedule was stopped there.
    Panicked,
    /// The step limit ended a schedule whose main had not returned.
    StepLimit,
    /// Main returned, and goroutines could still run (ready, or with
    /// timers pending) when the grace period after it ran out: in virtual
    /// time, or in steps ([`Exec::grace_steps`], or the step limit).
    GraceOver,
    /// Main, and these goroutines with it, can provably never be woken;
    /// the others ran on (as after main returns) and could still run, wait
    /// for timers past the grace period, or for the outside world.
    Stuck(Vec<Gid>),
}

/// The result of one schedule.
pub(crate) struct ScheduleResult {
    pub(crate) findings: Vec<Finding>,
    pub(crate) ending: Ending,
    pub(crate) trace_hash: u64,
    /// Every operation, when tracing was asked for.
    pub(crate) trace: Vec<TraceStep>,
    /// Steps taken, timer firings when nothing else could run included:
    /// what the step limit bounds.
    pub(crate) steps: u64,
    /// The choices the schedule took, to replay or shrink it.
    pub(crate) record: strategy::Record,
    /// The partial-order reduction's log of the schedule, when kept.
    pub(crate) dpor: Option<Box<strategy::dpor::Run>>,
}

/// Settings of one schedule.
pub(crate) struct ScheduleConfig {
    pub(crate) seed: u64,
    pub(crate) index: u32,
    pub(crate) chooser: Chooser,
    pub(crate) max_steps: u64,
    /// Virtual time the other goroutines may run on after main returns.
    pub(crate) grace: Duration,
    /// Record every operation (`GORO_TRACE`), for replays.
    pub(crate) trace: bool,
}

pub(crate) struct Exec {
    /// The schedule's serial (`ACTIVE` while it runs).
    serial: u32,
    tasks: Vec<Option<Task>>,
    meta: meta::Metas,
    ready: Vec<Gid>,
    /// Position of each goroutine in `ready` (usize::MAX if absent).
    ready_pos: Vec<usize>,
    wakes: Arc<WakeQueue>,
    now: Duration,
    timers: BinaryHeap<Timer>,
    timer_seq: u64,
    engine: Engine,
    chooser: Chooser,
    steps: u64,
    /// Timer firings when nothing else could run: with `steps`, bounded by
    /// `max_steps`, so a timer that fires for ever ends the schedule too.
    firings: u64,
    /// Steps since the clock last moved, while it was offered.
    clock_lag: u64,
    max_steps: u64,
    grace: Duration,
    hasher: goro_analyzer::fxhash::FxHasher,
    trace: Option<trace::Tracer>,
    objs: HashMap<u64, u64>,
    /// The last `(global, local)` pair `local_obj` answered.
    last_obj: Option<(u64, u64)>,
    /// Set by a goro primitive that parks the running goroutine.
    parked: bool,
    main_done: bool,
    main_done_at: Duration,
    /// A goroutine has taken [`Exec::grace_steps`] steps since main
    /// returned, or the step limit was reached after it.
    grace_spent: bool,
    /// The goroutine being dropped at the end of the schedule, if any: what
    /// goes with it (channel handles, CancelFuncs) is what it held.
    teardown: Option<Gid>,
    /// A plain access may skip building its event: no trace, no reduction
    /// log, no teardown (see [`access`]). One flag for the three, kept by
    /// `install` and `teardown`.
    plain_fast: bool,
    /// The key of the `rand_below` streams: the seed mixed with
    /// [`SELECT_STREAM`], once per schedule.
    draw_key: u64,
    held: Vec<Held>,
    /// Whether main can never be woken, and when to check.
    proof: proof::Proof,
    /// The main goroutine (what the proof's periodic check asks about).
    main_gid: Gid,
    /// The goroutine the strategy chose for the next step at a scheduling
    /// point of the running one ([`step_here`]): the run loop polls it
    /// without choosing again.
    chosen: Option<Gid>,
    /// The run the schedule's goroutines report their panics to: a panic
    /// reported during a step ends the schedule before the next choice.
    run: Option<Arc<RunState>>,
}

thread_local! {
    static EXEC: RefCell<Option<Rc<RefCell<Exec>>>> = const { RefCell::new(None) };
    /// The executor `EXEC` holds, as a plain pointer (null when it holds
    /// none): what a plain access reads. A thread-local without a
    /// destructor is one load; `EXEC`'s borrow and registration check,
    /// and its closure too large to inline, were a fifth of an access.
    static EXEC_PTR: Cell<*const RefCell<Exec>> = const { Cell::new(std::ptr::null()) };
    /// The goroutine being polled (`None`: a timer callback or teardown).
    static CURRENT: Cell<Option<Gid>> = const { Cell::new(None) };
    /// The running schedule's serial, unique in the process; 0: none.
    static ACTIVE: Cell<u32> = const { Cell::new(0) };
    /// The running schedule's wake queue (`None`: none).
    static CUR_WAKES: RefCell<Option<Arc<WakeQueue>>> = const { RefCell::new(None) };
    /// The running schedule keeps the partial-order reduction's log: the
    /// one check a footprint report pays otherwise.
    static DPOR_ON: Cell<bool> = const { Cell::new(false) };
}

#[cfg(test)]
thread_local! {
    /// Tests only: `false` makes [`step_here`] yield where it would choose
    /// in place, to compare the two (`race::explore`'s tests).
    pub(crate) static CHOOSE_IN_PLACE: Cell<bool> = const { Cell::new(true) };
}

/// Runs `f` on the executor when the running schedule keeps the
/// reduction's log. Skipped while the scheduler itself holds the executor
/// (its own reads of channel state): no goroutine's step runs then.
fn with_exec_dpor(f: impl FnOnce(&mut Exec)) {
    if !DPOR_ON.with(|d| d.get()) {
        return;
    }
    EXEC.with(|e| {
        let Ok(e) = e.try_borrow() else { return };
        let Some(ex) = e.as_ref() else { return };
        let Ok(mut ex) = ex.try_borrow_mut() else {
            return;
        };
        f(&mut ex);
    });
}

/// Whether a detecting schedule runs on this thread: the one check goro's
/// operations pay in production (none without the `detect` feature).
#[inline]
pub(crate) fn active() -> bool {
    cfg!(feature = "detect") && ACTIVE.with(|a| a.get() != 0)
}

/// The running schedule's serial (0: none on this thread).
// Inlined: called from the channel code, generic and so compiled in the
// user's crate, on every operation under the detector.
#[inline]
pub(crate) fn serial() -> u32 {
    ACTIVE.with(|a| a.get())
}

// Inlined: called from the channel code, generic and so compiled in the
// user's crate, on every operation under the detector.
#[inline]
pub(crate) fn current_gid() -> Option<Gid> {
    CURRENT.with(|c| c.get())
}

/// Runs `f` on the installed executor's cell, if any. Through `EXEC_PTR`,
/// not `EXEC`: this runs on every detected operation.
#[inline(always)]
fn with_exec_cell<R>(f: impl FnOnce(&RefCell<Exec>) -> R) -> Option<R> {
    let ex = EXEC_PTR.with(Cell::get);
    if ex.is_null() {
        return None;
    }
    // SAFETY: `EXEC_PTR` is non-null only while `EXEC` holds the `Rc` it
    // points into (`install` sets both; `finish`, or `ClearExecPtr` if the
    // schedule unwinds, clears the pointer before `EXEC` can let go of
    // it), and only this thread reads it: the `RefCell` is alive. Its
    // borrow flag still guards the executor.
    Some(f(unsafe { &*ex }))
}

fn with_exec<R>(f: impl FnOnce(&mut Exec) -> R) -> Option<R> {
    // Only `run_schedule` and `finish` install or remove the executor,
    // never from inside `f`.
    with_exec_cell(|ex| f(&mut ex.borrow_mut()))
}

/// Applies `op` by goroutine `g` (`None`: no goroutine) to the engine and
/// the trace. Inlined into its two callers (`rt::detect`), so the event is
/// built in place.
#[inline]
pub(crate) fn emit(g: Option<Gid>, op: Op, loc: Loc) {
    let Some(g) = g else {
        return emit_for_none(op, loc);
    };
    // Built once here and lent to the closure: moving a 96-byte event into
    // it cost a copy per operation, on the detector's hottest path.
    let ev = Event { g, op, loc };
    with_exec(|ex| emit_in(ex, &ev));
}

/// [`emit`] of an operation of no goroutine.
#[cold]
#[inline(never)]
fn emit_for_none(op: Op, loc: Loc) {
    // Timer callbacks act for no goroutine and order nothing; what goes
    // with a goroutine dropped at the end is that goroutine's, for the
    // engine to judge.
    with_exec(|ex| {
        if let Some(t) = ex.teardown {
            ex.engine.apply_teardown(&Event { g: t, op, loc });
        }
    });
}

/// [`emit`] of `ev`, on the executor.
#[inline(always)]
fn emit_in(ex: &mut Exec, ev: &Event) {
    if ex.teardown.is_some() {
        ex.engine.apply_teardown(ev);
        return;
    }
    let g = ev.g;
    ex.hash_event(g, &ev.op, ev.loc);
    if ex.trace.is_some() {
        trace_event(ex, ev);
    }
    ex.engine.apply(ev);
    if let Some(d) = ex.chooser.dpor() {
        d.op(g, &ev.op);
    }
}

/// Records `ev` in the trace (`GORO_TRACE`): out of line, off the
/// untraced path.
#[cold]
#[inline(never)]
fn trace_event(ex: &mut Exec, ev: &Event) {
    let (seed, step) = (ex.seed(), ex.steps);
    let name = ex.meta.name(ev.g.index()).map(str::to_string);
    if let Some(t) = ex.trace.as_mut() {
        t.record(seed, step, name, ev);
    }
}

/// What an accessed location is, for reports: `std::any::type_name` of
/// its type, called only when a report or the whole event needs it (one
/// register to pass, where the name is two).
pub(crate) type What = fn() -> &'static str;

/// What a detected plain access needs of this thread's schedule: the
/// executor and the running goroutine. Read by the hook inlined at the
/// access (`rt::detect::access`), whose check it replaces, and handed
/// straight to [`access`]: read there, the thread-locals are calls until
/// the linker relaxes them, which made the common path save six registers.
#[derive(Clone, Copy)]
pub(crate) struct Running {
    /// `EXEC_PTR`, not null.
    ex: NonNull<RefCell<Exec>>,
    /// `CURRENT`.
    g: Option<Gid>,
}

/// This thread's schedule, if one runs: `Some` when [`active`], but for
/// the moments `install` and `finish` set and clear `EXEC_PTR` and
/// `ACTIVE` one after the other (an access then finds no executor and is
/// reported by neither path). Not to be kept: [`access`] relies on it
/// being fresh.
#[inline(always)]
pub(crate) fn running() -> Option<Running> {
    let ex = NonNull::new(EXEC_PTR.with(Cell::get).cast_mut())?;
    Some(Running {
        ex,
        g: current_gid(),
    })
}

/// A plain read (`WRITE == false`) or write of `addr` by the running
/// goroutine at `site`: [`emit`] of an `Op::Read` or `Op::Write`, the
/// detector's most frequent event (two per `counter += 1`). Unless the
/// event is wanted whole (a trace, the reduction's log, a teardown), it is
/// hashed and handed to the engine without being built.
///
/// Out of line: it is reached only under the detector, and inlined its
/// body made `Shared::get`/`set` too large to inline into production code
/// (`racy_counter` 1.2 -> 5.5-7 ns per access). Its common case, an
/// access that continues the engine's same-epoch run
/// ([`Engine::same_epoch`]), makes no call, reads no thread-local and
/// takes its six arguments in registers (the site as the caller's
/// `&Location`: a `Loc` goes through memory; `WRITE` a constant): it saves
/// three registers (six when it read the thread-locals) and builds no
/// frame. Everything else is a tail call.
#[inline(never)]
pub(crate) fn access<const WRITE: bool>(
    on: Running,
    addr: Addr,
    what: What,
    site: &'static Location<'static>,
) {
    let Some(g) = on.g else {
        return access_whole(None, addr, WRITE, what, site);
    };
    // SAFETY: `on` was read from `EXEC_PTR` on this thread just before the
    // call (`running`), with no schedule installed or removed since: the
    // `RefCell` is alive (see `with_exec_cell`). Its borrow flag still
    // guards the executor.
    let cell = unsafe { on.ex.as_ref() };
    let taken = {
        let mut ex = cell.borrow_mut();
        if ex.plain_fast {
            let loc = Loc::from_std(site);
            ex.hash_access(g, WRITE, loc);
            Some(ex.engine.same_epoch(g, addr, WRITE, loc))
        } else {
            None
        }
    };
    // The executor's borrow ends before either call: they are tail calls.
    match taken {
        Some(true) => {}
        Some(false) => access_recorded(g, addr, WRITE, what, site),
        None => access_whole(Some(g), addr, WRITE, what, site),
    }
}

/// [`access`] of an access already hashed that the engine's same-epoch run
/// did not take: the engine records and checks it.
#[inline(never)]
fn access_recorded(g: Gid, addr: Addr, write: bool, what: What, site: &'static Location<'static>) {
    with_exec(|ex| {
        ex.engine
            .access(g, addr, write, what(), Loc::from_std(site))
    });
}

/// [`access`] as a whole event through [`emit`]: for a trace, the
/// reduction's log, a teardown, or no running goroutine.
#[cold]
#[inline(never)]
fn access_whole(
    g: Option<Gid>,
    addr: Addr,
    write: bool,
    what: What,
    site: &'static Location<'static>,
) {
    let loc = Loc::from_std(site);
    let what = what();
    let op = if write {
        Op::Write { addr, what }
    } else {
        Op::Read { addr, what }
    };
    emit(g, op, loc);
}

/// A handle of channel `global` that can send (`send`) or receive (`recv`)
/// is dropped: at the end of a schedule, by the goroutine being torn down,
/// which therefore held it.
pub(crate) fn note_handle_drop(global: u64, send: bool, recv: bool) {
    with_exec(|ex| {
        if let Some(g) = ex.teardown {
            let ch = ex.local_obj(global);
            ex.held.push(Held { g, ch, send, recv });
        } else if ex.chooser.dpor().is_some() {
            // Fewer handles: what the proof that a goroutine parked here
            // can never be woken reads.
            let ch = ex.local_obj(global);
            touch_in(ex, strategy::footprint::Key::Obj(ch.0), true);
        }
    });
}

/// The running step touched `key` (writing it, or only reading it), for
/// the partial-order reduction (`strategy::footprint`): what operations
/// that emit no event report (a failed `try_recv`, `len`, a failed
/// `try_lock`, a `Cond` signal).
pub(crate) fn touch(key: strategy::footprint::Key, write: bool) {
    with_exec_dpor(|ex| touch_in(ex, key, write));
}

fn touch_in(ex: &mut Exec, key: strategy::footprint::Key, write: bool) {
    if ex.teardown.is_some() {
        return;
    }
    if let Some(d) = ex.chooser.dpor() {
        d.touch(key, write);
    }
}

/// The running step did something that touches state the reduction cannot
/// name: it is dependent with every step.
pub(crate) fn touch_unknown() {
    with_exec_dpor(|ex| {
        if let Some(d) = ex.chooser.dpor() {
            d.touch_unknown();
        }
    });
}

/// [`touch`] of the channel with process-wide id `global` (a write).
// Inlined: called from the channel code (compiled in the user's crate) on
// every operation, where the reduction is off but in exhaustive runs.
#[inline]
pub(crate) fn touch_chan(global: u64) {
    if DPOR_ON.with(Cell::get) {
        touch_chan_in(global);
    }
}

#[inline(never)]
fn touch_chan_in(global: u64) {
    with_exec_dpor(|ex| {
        if ex.teardown.is_none() && ex.chooser.dpor().is_some() {
            let ch = ex.local_obj(global);
            touch_in(ex, strategy::footprint::Key::Obj(ch.0), true);
        }
    });
}

/// Whether the schedule is dropping its goroutines at its end.
pub(crate) fn tearing_down() -> bool {
    with_exec(|ex| ex.teardown.is_some()).unwrap_or(false)
}

/// A dense, per-schedule id for the object with process-wide id `global`,
/// so that traces do not depend on allocation order across schedules.
pub(crate) fn obj(global: u64) -> ObjId {
    with_exec(|ex| ex.local_obj(global)).unwrap_or(ObjId(global))
}

/// [`obj`] for an object that keeps `cache` for it: `(schedule serial << 32)
/// | local id` from the last lookup, so an object used on every operation
/// (a channel) skips the map. A serial is unique in the process, so a hit
/// is always this schedule's id.
// Inlined: called from the channel code, generic and so compiled in the
// user's crate, on every operation under the detector.
#[inline]
pub(crate) fn obj_cached(global: u64, cache: &std::sync::atomic::AtomicU64) -> ObjId {
    let serial = u64::from(ACTIVE.with(|a| a.get()));
    let c = cache.load(Ordering::Relaxed);
    if c >> 32 == serial && c as u32 != 0 {
        return ObjId(c & 0xffff_ffff);
    }
    let id = obj(global);
    if id.0 <= u64::from(u32::MAX) {
        cache.store(serial << 32 | id.0, Ordering::Relaxed);
    }
    id
}

/// The running goroutine parked on a goro primitive (not the outside world).
pub(crate) fn note_park() {
    with_exec(|ex| {
        ex.parked = true;
        if let Some(d) = ex.chooser.dpor() {
            d.parked();
        }
    });
}

/// What the running goroutine parked on, for the leak and deadlock checks.
pub(crate) fn note_block(info: BlockInfo, loc: Loc) {
    note_parked_on(info, loc, None);
}

/// Like [`note_block`], for an operation that parked with `waker` (from
/// its `Context`): when that is the goroutine's own waker, the proof may
/// count on the operation holding it.
pub(crate) fn note_block_on(info: BlockInfo, loc: Loc, waker: &Waker) {
    note_parked_on(info, loc, Some(waker));
}

fn note_parked_on(info: BlockInfo, loc: Loc, waker: Option<&Waker>) {
    let Some(g) = current_gid() else {
        return;
    };
    with_exec(|ex| {
        ex.parked = true;
        if let Some(d) = ex.chooser.dpor() {
            d.parked_on(Some(&info));
        }
        ex.meta.parked(g.index(), waker, (info, loc));
    });
}

/// The running goroutine reached a scheduling point (the start of an
/// operation, which `waker` polls): takes the step there, without the round
/// trip through the run loop, when the strategy picks this goroutine again.
/// Returns [`Step::Go`] when it goes on; otherwise it must yield (return
/// `Pending`), the run loop then polling whoever was chosen (or choosing,
/// if this function did not): [`Step::Yield`] when the yield's wake was
/// made here, [`Step::Wake`] when the caller must still wake itself with
/// `waker`.
///
/// Two cases, each exactly what yielding would have done (step count,
/// strategy, record, trace hash; so schedules, traces and findings are
/// those of yielding):
///
/// - **Forced**: it is the only goroutine that could be chosen (nothing
///   else ready, no wake pending, no timer offered): the strategy's step
///   with one candidate.
/// - **Chosen**: others are ready too. The yield's wake makes it ready, and
///   the strategy chooses among all of them as the run loop's next turn
///   would (the proof's periodic check not due, no panic reported, no
///   wake queued from another thread, no timer offered). If it chose this
///   goroutine, the step begins here as the loop would begin it; else the
///   choice is kept for the loop (`Exec::chosen`). Only when the yield's
///   wake is its own task's (`waker`: a future that polls it under a waker
///   of its own decides itself what a yield means), no panic was raised in
///   this poll (its recovery is heard when the poll ends), and the
///   partial-order reduction is off (it logs the end of every poll).
///
/// A future that polls several operations under the goroutine's waker in
/// one poll (a `join!`) sees a choice at each scheduling point, where a
/// yield would have let its later operations run in the same step: still
/// one deterministic schedule per seed.
pub(crate) fn step_here(waker: &Waker) -> Step {
    let Some(g) = current_gid() else {
        return Step::Wake;
    };
    with_exec(|ex| {
        if ex.chosen.is_some()
            || ex.out_of_steps()
            || ex.grace_spent
            || ex.clock_offered().is_some()
        {
            return Step::Wake;
        }
        if ex.wakes.maybe_queued() && !ex.wakes.lock().is_empty() {
            return Step::Wake;
        }
        if ex.ready.is_empty() {
            ex.steps += 1;
            ex.count_grace_step(g);
            let step = ex.steps;
            let chosen = ex.chooser.choose(step, &[g], &|x| x == g);
            debug_assert_eq!(chosen, g, "the only ready goroutine is chosen");
            g.hash(&mut ex.hasher);
            return Step::Go;
        }
        if ex.chooser.dpor().is_some()
            || ex.main_check_due(g)
            || ex.run.as_ref().is_some_and(|r| r.panic_pending())
            || super::panic::raised_in_poll()
            || !ex.meta[g.index()].parking.is_own(waker)
        {
            return Step::Wake;
        }
        #[cfg(test)]
        if !CHOOSE_IN_PLACE.with(Cell::get) {
            return Step::Wake;
        }
        // The yield's wake (its own waker's: checked above), then the run
        // loop's next turn.
        ex.make_ready(g);
        let next = ex.choose_goroutine();
        if next != g {
            ex.chosen = Some(next);
            return Step::Yield;
        }
        // Its task is out already: it is the one being polled.
        ex.begin_step_here(g);
        Step::Go
    })
    .unwrap_or(Step::Wake)
}

/// What the running goroutine does at a scheduling point: see
/// [`step_here`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// It goes on: its step was taken here.
    Go,
    /// It yields, already woken (made ready) here.
    Yield,
    /// It yields and must wake itself with its waker.
    Wake,
}

/// A seeded choice in `0..n` for the running goroutine (select!).
///
/// Each goroutine draws from a stream of its own, keyed by the seed and its
/// spawn path and indexed by a counter of its draws: every draw is fresh
/// (several in one step, as a select's shuffle makes, are independent), the
/// stream shares nothing with the strategy's choices or priorities, and an
/// edit in one goroutine leaves the others' draws unchanged.
pub(crate) fn rand_below(n: usize) -> usize {
    with_exec(|ex| {
        let key = ex.draw_key;
        let (path, draw) = match ex.meta.get_mut(current_gid().unwrap_or(Gid::MAIN).index()) {
            Some(m) => {
                m.draws += 1;
                (m.path, m.draws)
            }
            None => (0, 0),
        };
        let seeded = strategy::below(strategy::mix2(strategy::mix2(key, path), draw), n);
        // A replay takes its recorded draw instead; every draw is recorded.
        ex.chooser.draw(n, seeded)
    })
    .unwrap_or(0)
}

/// Salt of the `rand_below` streams, apart from every other use of the seed.
const SELECT_STREAM: u64 = 0x5e1e_c700_0000_0001;

/// The virtual clock.
pub(crate) fn now() -> Duration {
    with_exec(|ex| {
        touch_in(ex, strategy::footprint::Key::Clock, false);
        ex.now
    })
    .unwrap_or_default()
}

/// Wakes `waker` when the virtual clock reaches `at`.
pub(crate) fn wake_at(at: Duration, waker: Waker) {
    with_exec(|ex| ex.add_timer(at, TimerAction::Wake(waker), false));
}

/// Runs `f` (outside any goroutine) when the virtual clock reaches `at`.
/// `opaque`: `f` may run the user's code.
pub(crate) fn call_at(at: Duration, f: Box<dyn FnOnce()>, opaque: bool) {
    with_exec(|ex| ex.add_timer(at, TimerAction::Call(f), opaque));
}

/// Starts goroutine `gid` (the id `RunState` handed out) running `fut`, as
/// a child of the running goroutine `parent` (`None`: none).
pub(crate) fn spawn(parent: Option<Gid>, gid: Gid, name: Option<&str>, fut: BoxFuture) {
    with_exec(|ex| ex.spawn(parent, gid, name.map(str::to_string), fut));
}

impl Exec {
    /// Adds event `op` of goroutine `g` at `loc` to the trace hash. It is
    /// compared within a process only: a file is hashed by address, not by
    /// content.
    #[inline(always)]
    fn hash_event(&mut self, g: Gid, op: &Op, loc: Loc) {
        self.hash_parts(g, std::mem::discriminant(op), loc);
    }

    /// [`Exec::hash_event`] of an `Op::Write` (`write`) or `Op::Read`,
    /// without the event.
    #[inline(always)]
    fn hash_access(&mut self, g: Gid, write: bool, loc: Loc) {
        // Constants: the discriminants of the two variants.
        let d = if write {
            std::mem::discriminant(&Op::Write {
                addr: Addr(0),
                what: "",
            })
        } else {
            std::mem::discriminant(&Op::Read {
                addr: Addr(0),
                what: "",
            })
        };
        self.hash_parts(g, d, loc);
    }

    /// One round of the trace hash per event: the rounds are a serial
    /// chain through the whole schedule (four per event were about 20
    /// cycles of latency per plain access, the detector's most frequent
    /// event), so the parts are folded into one word beside it.
    #[inline(always)]
    fn hash_parts(&mut self, g: Gid, d: std::mem::Discriminant<Op>, loc: Loc) {
        // The variant as a number: its hash alone, a constant where the
        // variant is known (an access).
        let mut kind = goro_analyzer::fxhash::FxHasher::default();
        d.hash(&mut kind);
        let at = u64::from(loc.line) << 32 | u64::from(loc.column);
        let site = (loc.file.as_ptr() as u64) ^ at.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (site ^ kind.finish() ^ g.get().rotate_left(32)).hash(&mut self.hasher);
    }

    fn seed(&self) -> u64 {
        self.chooser.seed()
    }

    fn add_timer(&mut self, at: Duration, action: TimerAction, opaque: bool) {
        // Which timers are pending decides what the clock's steps fire:
        // dependent with them (they write the clock), not with other
        // registrations (the earliest timers fire together, whatever order
        // they came in), except one that may run the user's code: timers
        // due together fire in the order they came in, and its goroutine's
        // number depends on that order.
        touch_in(self, strategy::footprint::Key::Clock, opaque);
        self.timer_seq += 1;
        self.timers.push(Timer {
            at: at.max(self.now),
            seq: self.timer_seq,
            action,
            opaque,
        });
    }

    /// Whether some pending timer may run the user's code when it fires.
    fn opaque_timers(&self) -> bool {
        self.timers.iter().any(|t| t.opaque)
    }

    /// Steps and idle timer firings have used up the budget.
    fn out_of_steps(&self) -> bool {
        self.steps + self.firings >= self.max_steps
    }

    /// When the next timer fires, if time may pass to it now: none past
    /// the grace period once main is done or proven stuck.
    #[inline]
    fn clock_offered(&self) -> Option<Duration> {
        // Asked at every step: most have no timer pending.
        if self.timers.is_empty() {
            return None;
        }
        self.clock_offered_at()
    }

    /// [`Exec::clock_offered`] with a timer pending.
    fn clock_offered_at(&self) -> Option<Duration> {
        let limit = if self.main_done {
            Some(self.main_done_at + self.grace)
        } else {
            self.proof.stuck_since().map(|at| at + self.grace)
        };
        let at = self.timers.peek()?.at;
        limit.is_none_or(|l| at <= l).then_some(at)
    }

    /// The clock has been passed over long enough (see [`STEP_TIME`]) that
    /// the timer due at `at` fires now, whatever the strategy.
    fn clock_overdue(&self, at: Duration) -> bool {
        let far = at.saturating_sub(self.now).as_nanos() / STEP_TIME.as_nanos().max(1);
        self.clock_lag >= CLOCK_MIN_LAG && u128::from(self.clock_lag) >= far
    }

    fn spawn(&mut self, parent: Option<Gid>, gid: Gid, name: Option<String>, fut: BoxFuture) {
        let path = match parent {
            None => strategy::mix(gid.get()),
            Some(parent) => {
                let p = &mut self.meta[parent.index()];
                p.children += 1;
                strategy::mix2(p.path, u64::from(p.children))
            }
        };
        let i = gid.index();
        assert_eq!(
            i,
            self.tasks.len(),
            "goroutine ids are dense under detection"
        );
        let waker = Arc::new(TaskWaker {
            idx: u32::try_from(i).expect("fewer than 2^32 goroutines under detection"),
            serial: self.serial,
        });
        let parking = proof::Parking::new(&waker, &fut);
        let waker = Waker::from(waker);
        self.tasks.push(Some(Task { fut, waker }));
        self.meta.push(path, name, parking);
        self.ready_pos.push(usize::MAX);
        self.chooser.on_spawn(gid, path);
        self.make_ready(gid);
    }

    /// The dense per-schedule id of the object with process-wide id
    /// `global`, handed out in order of first use.
    #[inline]
    fn local_obj(&mut self, global: u64) -> ObjId {
        // The last object again (a lock, then its unlock): no map lookup.
        if let Some((g, id)) = self.last_obj {
            if g == global {
                return ObjId(id);
            }
        }
        let n = self.objs.len() as u64 + 1;
        let id = *self.objs.entry(global).or_insert(n);
        self.last_obj = Some((global, id));
        ObjId(id)
    }

    fn make_ready(&mut self, gid: Gid) {
        let i = gid.index();
        if self.meta[i].done || self.ready_pos[i] != usize::MAX {
            return;
        }
        self.meta[i].external = false;
        self.ready_pos[i] = self.ready.len();
        self.ready.push(gid);
        if let Some(d) = self.chooser.dpor() {
            // Its next step comes after the step that woke it.
            d.woken(u32::try_from(gid.get()).unwrap_or(u32::MAX));
        }
    }

    fn unready(&mut self, gid: Gid) {
        let i = gid.index();
        let pos = std::mem::replace(&mut self.ready_pos[i], usize::MAX);
        if pos == usize::MAX {
            return;
        }
        self.ready.swap_remove(pos);
        if let Some(&moved) = self.ready.get(pos) {
            self.ready_pos[moved.index()] = pos;
        }
    }

    fn drain_wakes(&mut self) {
        if !self.wakes.maybe_queued() {
            return;
        }
        let woken = {
            let mut q = self.wakes.lock();
            self.wakes.queued.store(false, Ordering::Release);
            std::mem::take(&mut *q)
        };
        for g in woken {
            self.make_ready(g);
        }
    }

    fn external_waiters(&self) -> bool {
        self.meta.iter().any(|m| m.external && !m.done)
    }

    /// Ends the reduction's log: who could still run (their next steps
    /// nobody saw).
    fn dpor_finish(&mut self) {
        if self.chooser.dpor().is_none() {
            return;
        }
        self.drain_wakes();
        let mut pending: Vec<u32> = self
            .ready
            .iter()
            .map(|g| u32::try_from(g.get()).unwrap_or(u32::MAX))
            .collect();
        if self.clock_offered().is_some() {
            pending.push(strategy::CLOCK_ID);
        }
        if let Some(d) = self.chooser.dpor() {
            d.finish(pending);
        }
    }
}

/// Runs one schedule of a program whose main goroutine is `main` (already
/// wrapped by the caller), with id `main_gid`. After every step `take_panic`
/// says whether a goroutine panicked, which ends the schedule. Returns when
/// the schedule ends.
///
/// The schedule's steps: [`install`] the executor, [`run_loop`] until the
/// schedule ends (each turn: [`Exec::pick`] a goroutine, [`poll_task`] it,
/// [`settle`] its poll; when nothing is ready, [`idle`]: fire timers or
/// wait for the outside world), then read the [`end_state`], [`teardown`]
/// the goroutines and [`finish`] the engine.
pub(crate) fn run_schedule(
    cfg: ScheduleConfig,
    main_gid: Gid,
    main: BoxFuture,
    take_panic: &dyn Fn() -> Option<Crash>,
) -> ScheduleResult {
    let exec = install(cfg, main_gid);
    let _ptr = ClearExecPtr(exec.borrow().serial);
    exec.borrow_mut()
        .spawn(None, main_gid, Some("main".to_string()), main);
    let ending = run_loop(&exec, main_gid, take_panic);
    exec.borrow_mut().dpor_finish();
    let end = end_state(&exec, &ending);
    teardown(&exec);
    finish(exec, end, ending)
}

/// Clears `EXEC_PTR` when a schedule unwinds (`finish` clears it
/// otherwise): `EXEC` then keeps the executor until the thread exits, and
/// what its drop runs must not reach it through the pointer. Either way,
/// takes the schedule (its serial) out of [`QUEUES`]: a later wake of one
/// of its goroutines finds no queue.
struct ClearExecPtr(u32);

impl Drop for ClearExecPtr {
    fn drop(&mut self) {
        EXEC_PTR.with(|p| p.set(std::ptr::null()));
        CUR_WAKES.with(|q| q.borrow_mut().take());
        QUEUES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(s, _)| *s != self.0);
    }
}

/// Makes the schedule's executor and installs it on this thread: from here
/// on, goro's operations report to it.
fn install(cfg: ScheduleConfig, main_gid: Gid) -> Rc<RefCell<Exec>> {
    let wakes = Arc::new(WakeQueue {
        q: Mutex::new(Vec::new()),
        cv: Condvar::new(),
        sleeping: AtomicBool::new(false),
        queued: AtomicBool::new(false),
    });
    static SERIALS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    // Never 0 (that means "none"), even after wrapping.
    let serial = SERIALS.fetch_add(1, Ordering::Relaxed).max(1);
    let weak_wakes = Arc::downgrade(&wakes);
    let exec = Rc::new(RefCell::new(Exec {
        serial,
        tasks: Vec::new(),
        meta: Default::default(),
        ready: Vec::new(),
        ready_pos: Vec::new(),
        wakes,
        now: Duration::ZERO,
        timers: BinaryHeap::new(),
        timer_seq: 0,
        engine: Engine::new(cfg.seed, cfg.index),
        chooser: cfg.chooser,
        steps: 0,
        firings: 0,
        clock_lag: 0,
        max_steps: cfg.max_steps,
        grace: cfg.grace,
        hasher: Default::default(),
        trace: cfg.trace.then(Default::default),
        objs: HashMap::default(),
        last_obj: None,
        parked: false,
        main_done: false,
        main_done_at: Duration::ZERO,
        grace_spent: false,
        teardown: None,
        plain_fast: false,
        draw_key: 0,
        held: Vec::new(),
        proof: proof::Proof::default(),
        main_gid,
        chosen: None,
        run: super::goroutine::thread_run(),
    }));
    if !cfg!(feature = "detect") {
        no_detector();
    }
    let prev = EXEC.with(|e| e.borrow_mut().replace(exec.clone()));
    assert!(
        prev.is_none(),
        "goro: a detecting schedule is already running on this thread"
    );
    EXEC_PTR.with(|p| p.set(Rc::as_ptr(&exec)));
    QUEUES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((serial, weak_wakes));
    CUR_WAKES.with(|q| *q.borrow_mut() = Some(exec.borrow().wakes.clone()));
    ACTIVE.with(|a| a.set(serial));
    let dpor = exec.borrow_mut().chooser.dpor().is_some();
    DPOR_ON.with(|d| d.set(dpor));
    {
        let mut ex = exec.borrow_mut();
        ex.plain_fast = ex.trace.is_none() && !dpor;
        ex.draw_key = strategy::mix2(ex.seed(), SELECT_STREAM);
    }
    exec
}

/// A detecting schedule asked of a build without goro's `detect` feature.
#[cold]
fn no_detector() -> ! {
    panic!(
        "goro: this build has no detector: goro's `detect` feature is off \
         (`default-features = false`); turn it on to run `cargo race`, \
         `goro::race` or a detected `#[goro::instrument]` test"
    )
}

/// Steps goroutines until the schedule ends, and says how it ended.
fn run_loop(
    exec: &Rc<RefCell<Exec>>,
    main_gid: Gid,
    take_panic: &dyn Fn() -> Option<Crash>,
) -> Ending {
    loop {
        let mut ex = exec.borrow_mut();
        if let Some(gid) = ex.chosen.take() {
            // Chosen at the last step's scheduling point (`step_here`),
            // where this turn's checks were made.
            let task = ex.begin_step(gid).expect("a ready goroutine has its task");
            drop(ex);
            let ask = poll_step(exec, main_gid, gid, task);
            if let Some(ending) = ended_by_panic(ask, take_panic) {
                return ending;
            }
            continue;
        }
        ex.drain_wakes();
        ex.check_main(main_gid);
        if ex.ready.is_empty() {
            match idle(ex) {
                Some(ending) => return ending,
                None => continue,
            }
        }
        if ex.grace_spent {
            return Ending::GraceOver;
        }
        if ex.out_of_steps() {
            return ex.step_limit();
        }
        let (gid, task) = match ex.pick() {
            Picked::Goroutine(gid, task) => (gid, task),
            Picked::Clock(due) => {
                drop(ex);
                fire(due);
                continue;
            }
        };
        drop(ex);
        let ask = poll_step(exec, main_gid, gid, task);
        if let Some(ending) = ended_by_panic(ask, take_panic) {
            return ending;
        }
    }
}

/// Polls goroutine `gid` for its step and settles the outcome. Returns
/// whether `take_panic` must be asked: main returned or panicked (its join
/// slot is filled), or a panic was reported to the run (or the run is not
/// known). A question with a lock in it, asked after every step, is then
/// asked only when the answer may be yes.
fn poll_step(exec: &Rc<RefCell<Exec>>, main_gid: Gid, gid: Gid, mut task: Task) -> bool {
    let poll = poll_task(gid, &mut task);
    let main_ended = gid == main_gid && poll.is_ready();
    let panic = settle(exec, main_gid, gid, task, poll);
    main_ended || panic
}

/// After a step (`ask`: see [`poll_step`]): a goroutine panic ends the
/// schedule, reported as the panicking goroutine's event.
#[inline(always)]
fn ended_by_panic(ask: bool, take_panic: &dyn Fn() -> Option<Crash>) -> Option<Ending> {
    if !ask {
        return None;
    }
    panic_ending(take_panic)
}

/// [`ended_by_panic`] when it must ask.
#[inline(never)]
fn panic_ending(take_panic: &dyn Fn() -> Option<Crash>) -> Option<Ending> {
    let c = take_panic()?;
    let loc = Loc {
        file: c.file,
        line: c.line,
        column: c.column,
    };
    emit(Some(c.gid), Op::Panic { message: c.message }, loc);
    Some(Ending::Panicked)
}

/// Nothing is ready: fires the next timers, or waits for a wake from the
/// outside world, and returns `None` to go on; or ends the schedule.
fn idle(mut ex: std::cell::RefMut<'_, Exec>) -> Option<Ending> {
    if let Some(stuck) = ex.proof.stuck() {
        // Every goroutine left is stuck with main, and only goro's own
        // timers (a ticker's sends, a deadline's cancel) could still fire:
        // nothing more can happen. A user's `after_func` could, so it gets
        // its grace period.
        let alone = ex
            .meta
            .iter()
            .enumerate()
            .all(|(i, m)| m.done || stuck.binary_search(&Gid::from_index(i)).is_ok());
        if alone && !ex.timers.is_empty() && !ex.opaque_timers() {
            return Some(Ending::Stuck(stuck.to_vec()));
        }
    }
    if ex.clock_offered().is_some() && ex.out_of_steps() {
        return Some(ex.step_limit());
    }
    let before = ex.now;
    if let Some(due) = ex.due_timers() {
        ex.firings += 1;
        ex.clock_lag = 0;
        ex.chooser.clock_step();
        ex.clock_footprint(&due, before);
        drop(ex);
        fire(due);
        return None;
    }
    if let Some(stuck) = ex.proof.stuck() {
        // Others wait for timers past the grace period or for the
        // outside world: main's fate is sealed, stop here.
        if !ex.timers.is_empty() || ex.external_waiters() {
            return Some(Ending::Stuck(stuck.to_vec()));
        }
    }
    if ex.external_waiters() {
        // The outside world decides who is woken: no order is provably
        // unneeded.
        ex.chooser.clock_step();
        if let Some(d) = ex.chooser.dpor() {
            d.touch_unknown();
        }
        let wakes = ex.wakes.clone();
        drop(ex);
        wait_outside(&wakes);
        return None;
    }
    Some(if ex.main_done && !ex.timers.is_empty() {
        // Timers due past the grace period: whoever waits for them is
        // still running when it ends.
        Ending::GraceOver
    } else if ex.main_done {
        Ending::Completed
    } else {
        Ending::Blocked
    })
}

/// Fires timers, outside the executor's borrow (a callback may call back in).
fn fire(due: Vec<Timer>) {
    for t in due {
        match t.action {
            TimerAction::Wake(w) => w.wake(),
            TimerAction::Call(f) => f(),
        }
    }
}

/// Blocks the run loop until a goroutine waiting on the outside world (tokio
/// I/O) is woken, from another thread.
fn wait_outside(wakes: &WakeQueue) {
    let q = wakes.lock();
    // Set under the queue lock: a waker that pushes after we
    // checked sees the flag and notifies.
    wakes.sleeping.store(true, Ordering::Release);
    let _q = wakes
        .cv
        .wait_while(q, |q| q.is_empty())
        .unwrap_or_else(|e| e.into_inner());
    wakes.sleeping.store(false, Ordering::Release);
}

/// Polls goroutine `gid` once, as the running goroutine.
fn poll_task(gid: Gid, task: &mut Task) -> Poll<()> {
    CURRENT.with(|c| c.set(Some(gid)));
    let poll = task
        .fut
        .as_mut()
        .poll(&mut Context::from_waker(&task.waker));
    CURRENT.with(|c| c.set(None));
    poll
}

/// Records the outcome `poll` of goroutine `gid`'s step: it ended, or it
/// waits (on goro, or on the outside world) and keeps its `task`. Returns
/// whether a panic may have been reported to the run (see [`poll_step`]),
/// read under the borrow it holds anyway.
fn settle(exec: &Rc<RefCell<Exec>>, main_gid: Gid, gid: Gid, task: Task, poll: Poll<()>) -> bool {
    let i = gid.index();
    let mut ex = exec.borrow_mut();
    match poll {
        Poll::Ready(()) => {
            ex.meta.end(i);
            // It may have woken itself in its last poll (a combinator whose
            // finished part woke the task): it ended, it is not ready.
            ex.unready(gid);
            if let Some(d) = ex.chooser.dpor() {
                d.not_parked();
            }
            drop(ex);
            drop(task);
            emit(Some(gid), Op::End, Loc::UNKNOWN);
            if gid == main_gid {
                let mut ex = exec.borrow_mut();
                ex.main_done = true;
                ex.main_done_at = ex.now;
                // The grace period starts: which timers may fire changes.
                touch_in(&mut ex, strategy::footprint::Key::Clock, true);
            }
            exec.borrow().panic_may_be_pending()
        }
        Poll::Pending => {
            // Woken during its own poll (a yield) or parked on goro: fine.
            // Otherwise it waits on a future goro does not know.
            let self_woken = ex.ready_pos[i] != usize::MAX
                || (ex.wakes.maybe_queued() && ex.wakes.lock().contains(&gid));
            if !ex.parked && !self_woken {
                ex.meta[i].external = true;
            }
            if self_woken {
                if let Some(d) = ex.chooser.dpor() {
                    d.not_parked();
                }
            }
            ex.tasks[i] = Some(task);
            ex.panic_may_be_pending()
        }
    }
}

/// What a step runs.
enum Picked {
    /// This goroutine, polled with its task.
    Goroutine(Gid, Task),
    /// Time passes to the next timers, which fire.
    Clock(Vec<Timer>),
}

impl Exec {
    /// Whether a goroutine may have reported a panic to the run (always,
    /// when the run is not known).
    #[inline]
    fn panic_may_be_pending(&self) -> bool {
        self.run.as_ref().is_none_or(|r| r.panic_pending())
    }

    /// The steps one goroutine may take after main returned: a hundredth
    /// of the step limit (1,000 by default; at least one). Counted per
    /// goroutine, so that a loop that never stops (a ticker every
    /// millisecond) ends at its verdict, a leak, long before the step
    /// limit, while many goroutines winding down together, each with a few
    /// steps left, are not cut short.
    fn grace_steps(&self) -> u64 {
        (self.max_steps / 100).max(1)
    }

    /// Counts a step of goroutine `g` against its share of the grace.
    fn count_grace_step(&mut self, g: Gid) {
        if !self.main_done {
            return;
        }
        let limit = self.grace_steps();
        let m = &mut self.meta[g.index()];
        m.steps_after_main = m.steps_after_main.saturating_add(1);
        // Counted in 32 bits (`meta::Meta`): a grace of more than 2^32 - 1
        // steps per goroutine (a step limit above 429 billion) ends there.
        if u64::from(m.steps_after_main) >= limit.min(u64::from(u32::MAX)) {
            self.grace_spent = true;
        }
    }

    /// The schedule ends at the step limit: with the deadlock if main was
    /// proven stuck. After main returned the step limit is never the
    /// verdict: what still runs is leaked (the grace is over).
    fn step_limit(&self) -> Ending {
        if self.main_done {
            return Ending::GraceOver;
        }
        match self.proof.stuck() {
            Some(stuck) => Ending::Stuck(stuck.to_vec()),
            None => Ending::StepLimit,
        }
    }

    /// Takes a step: the strategy picks a ready goroutine, which is handed
    /// out with its task for polling, or the clock, when a timer is pending
    /// (see the module docs).
    fn pick(&mut self) -> Picked {
        let clock = self.clock_offered();
        if let Some(at) = clock {
            if self.clock_overdue(at) {
                // Forced: no choice, no step of the strategy's.
                self.clock_lag = 0;
                self.firings += 1;
                self.chooser.clock_step();
                return Picked::Clock(self.due_timers().unwrap_or_default());
            }
        }
        self.steps += 1;
        let step = self.steps;
        let mut ready = std::mem::take(&mut self.ready);
        if let Some(at) = clock {
            ready.push(strategy::CLOCK);
            self.chooser.offer_clock(strategy::Clock {
                distance: at.saturating_sub(self.now),
                lag: self.clock_lag,
            });
        }
        let pos = &self.ready_pos;
        let is_ready = |g: Gid| {
            (g == strategy::CLOCK && clock.is_some())
                || pos.get(g.index()).is_some_and(|&p| p != usize::MAX)
        };
        let gid = self.chooser.choose(step, &ready, &is_ready);
        if clock.is_some() {
            ready.pop();
        }
        self.ready = ready;
        if gid == strategy::CLOCK {
            self.clock_lag = 0;
            gid.hash(&mut self.hasher);
            let before = self.now;
            let due = self.due_timers().unwrap_or_default();
            self.clock_footprint(&due, before);
            return Picked::Clock(due);
        }
        if clock.is_some() {
            self.clock_lag += 1;
        }
        let task = self.begin_step(gid);
        Picked::Goroutine(gid, task.expect("a ready goroutine has its task"))
    }

    /// The strategy's choice among the ready goroutines (no clock offered),
    /// counted as a step.
    fn choose_goroutine(&mut self) -> Gid {
        self.steps += 1;
        let step = self.steps;
        let ready = std::mem::take(&mut self.ready);
        let pos = &self.ready_pos;
        let is_ready = |g: Gid| pos.get(g.index()).is_some_and(|&p| p != usize::MAX);
        let gid = self.chooser.choose(step, &ready, &is_ready);
        self.ready = ready;
        gid
    }

    /// Goroutine `gid`, chosen, takes its step: out of the ready set, its
    /// task handed out for polling (taken out here, unless it is being
    /// polled already: [`step_here`]).
    fn begin_step(&mut self, gid: Gid) -> Option<Task> {
        self.begin_step_here(gid);
        self.tasks[gid.index()].take()
    }

    /// [`Exec::begin_step`] of the goroutine being polled (at a scheduling
    /// point, [`step_here`]): its task is out already.
    #[inline(always)]
    fn begin_step_here(&mut self, gid: Gid) {
        self.unready(gid);
        self.count_grace_step(gid);
        gid.hash(&mut self.hasher);
        self.parked = false;
        self.meta.polled(gid.index());
    }

    /// The clock's step fires `due`, the clock having been at `before`. For
    /// the partial-order reduction the step writes the clock, and what its
    /// firings touch reports itself as they run (`strategy::dpor`): a
    /// sleeper's wake-up orders its next step after this one; a timer
    /// channel's send (`after`, `tick`) and a deadline's cancel (its done
    /// channel closed, and its children's) touch those channels. Whether
    /// a firing still stands was decided by a step that stopped it (a
    /// timer's or ticker's `stop` or `reset`, a context's `cancel`), all of
    /// which are dependent with every step. The step is dependent with
    /// every step when a firing may run the user's code (an `after_func`,
    /// a `time::Timer`: it starts a goroutine), or lies past the grace
    /// period from `before` (a step that proved main stuck, or its return,
    /// could have kept it from firing).
    fn clock_footprint(&mut self, due: &[Timer], before: Duration) {
        let limit = before.saturating_add(self.grace);
        if due.iter().any(|t| t.opaque || t.at > limit) {
            if let Some(d) = self.chooser.dpor() {
                d.touch_unknown();
            }
        }
    }

    /// The next timers, all due at the same instant, with the clock moved
    /// there; none past the grace period once main is done or proven stuck.
    fn due_timers(&mut self) -> Option<Vec<Timer>> {
        let at = self.clock_offered()?;
        self.now = self.now.max(at);
        let mut due = Vec::new();
        while self.timers.peek().is_some_and(|t| t.at <= at) {
            due.push(self.timers.pop().expect("peeked"));
        }
        Some(due)
    }
}

/// Leaks and deadlocks: what is left blocked when nothing can run, or what
/// main is provably stuck with (`None` when the schedule was cut short).
fn end_state(exec: &Rc<RefCell<Exec>>, ending: &Ending) -> Option<EndState> {
    // At the step limit, the goroutines proven never to wake (`proof`),
    // if any: reported beside the step-limit note.
    let proven;
    let stuck = match ending {
        Ending::Completed | Ending::Blocked | Ending::GraceOver => None,
        Ending::Stuck(b) => Some(b),
        Ending::StepLimit => {
            proven = exec.borrow().proven_stuck();
            if proven.is_empty() {
                return None;
            }
            Some(&proven)
        }
        Ending::Panicked => return None,
    };
    let (main_done, blocked, running) = {
        let mut ex = exec.borrow_mut();
        let ex = &mut *ex;
        let mut blocked: Vec<(Gid, Option<(BlockInfo, Loc)>)> = Vec::new();
        let mut running = Vec::new();
        for i in 0..ex.meta.len() {
            let m = &ex.meta[i];
            let g = Gid::from_index(i);
            if m.done || (stuck.is_none() && m.external) {
                continue;
            }
            match stuck {
                Some(b) if !b.contains(&g) => running.push(g),
                _ => {
                    // After main: ready, asleep or ticking is still running
                    // (reported with what it waits or last waited for).
                    let ready = ex.ready_pos[i] != usize::MAX;
                    let timer = ex.meta.park(i).is_some_and(|(b, _)| b.timer_pending());
                    if ex.main_done && stuck.is_none() && (ready || timer) {
                        running.push(g);
                    }
                    blocked.push((g, ex.meta.take_park(i)));
                }
            }
        }
        (ex.main_done, blocked, running)
    };
    // Lazy descriptions may read channel state: outside the borrow,
    // and before the teardown drops handles.
    let blocked = blocked
        .into_iter()
        .map(|(g, b)| {
            let (wait, loc) = match b {
                Some((info, loc)) => (info.wait(), loc),
                None => (Wait::Unknown, Loc::UNKNOWN),
            };
            Blocked { g, wait, loc }
        })
        .collect();
    Some(EndState {
        main_done,
        blocked,
        held: None,
        running,
    })
}

/// Tears down: drops every goroutine outside the executor's borrow (their
/// drops run goro cancel paths, which may call back in), one at a time,
/// noting the channel handles and CancelFuncs that go with each.
fn teardown(exec: &Rc<RefCell<Exec>>) {
    let tasks: Vec<Option<Task>> = std::mem::take(&mut exec.borrow_mut().tasks);
    for (i, task) in tasks.into_iter().enumerate() {
        if let Some(task) = task {
            let mut ex = exec.borrow_mut();
            ex.teardown = Some(Gid::from_index(i));
            ex.plain_fast = false;
            drop(ex);
            drop(task);
        }
    }
    exec.borrow_mut().teardown = None;
    let timers = std::mem::take(&mut exec.borrow_mut().timers);
    drop(timers);
}

/// Hands the end state to the engine, uninstalls the executor and returns
/// the schedule's result.
fn finish(exec: Rc<RefCell<Exec>>, end: Option<EndState>, ending: Ending) -> ScheduleResult {
    {
        let mut ex = exec.borrow_mut();
        let ex = &mut *ex;
        match end {
            Some(mut state) => {
                state.held = Some(std::mem::take(&mut ex.held));
                ex.engine.finish(&state);
            }
            None => ex.engine.finish(&EndState::default()),
        }
    }
    ACTIVE.with(|a| a.set(0));
    DPOR_ON.with(|d| d.set(false));
    EXEC_PTR.with(|p| p.set(std::ptr::null()));
    EXEC.with(|e| e.borrow_mut().take());
    let mut ex = Rc::try_unwrap(exec)
        .ok()
        .expect("the executor is released after its schedule")
        .into_inner();
    let dpor = ex.chooser.take_dpor();
    ScheduleResult {
        dpor,
        trace_hash: ex.hasher.finish(),
        trace: ex.trace.map(trace::Tracer::finish).unwrap_or_default(),
        findings: ex.engine.into_findings(),
        ending,
        steps: ex.steps + ex.firings,
        record: ex.chooser.into_record(),
    }
}
