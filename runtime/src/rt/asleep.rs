//! Go's deadlock crash on the production executor: when every live
//! goroutine of a `goro::run` is parked on a goro primitive and no timer is
//! pending, nothing can ever wake them, and the run panics with
//! `all goroutines are asleep - deadlock!` and one line per goroutine (its
//! id, `go!` name, creation site and what it waits on).
//!
//! The census does not depend on the executor's design beyond two things:
//! it polls a task with the same waker each time (goro's does; another
//! waker still works, a little slower), and it says when its last worker
//! is about to park with no work anywhere ([`all_parked`]). Each goroutine
//! of a `goro::run` has a [`Sleeper`]: its entry, and the waker its future
//! is polled with, which wraps the executor's waker (kept at the first
//! poll). A poll that returns `Pending` after a goro primitive parked (the
//! `detect::block` hooks note it in a thread-local, a couple of plain
//! stores) leaves the goroutine parked where the executor cannot see it
//! run; a poll that waits on anything else (tokio I/O, a `time::sleep`, a
//! foreign future), or whose waker has more holders than the goro
//! primitives it parked on (something else may wake it), counts as a
//! foreign wait until the goroutine's next poll.
//!
//! The crash is Go's `checkdead`: when the executor's last worker parks with
//! no work queued anywhere, no goroutine is running or runnable. Every live
//! goroutine is then parked; if none waits on something foreign and no
//! timer is pending (one count per run, `busy`, of both), nothing can ever
//! wake them. Nothing is counted on the common path: a goro park and its
//! wake on a worker write no shared word (the earlier census kept each
//! goroutine's state with a compare-and-swap at every poll, park and wake:
//! 12% of a channel ping-pong). `busy` moves for a timer (+1 armed, -1
//! after its wake, or stopped) and for what a goroutine holds until its
//! next poll (`Sleeper::held`): a foreign wait (+1 at the poll that
//! returns, on its worker, before the worker can park), and a spawn or a
//! wake from a thread that is not one of the run's workers (+1 before the
//! goroutine goes on the executor's shared queue). Read as 0 by the last
//! worker after it registered as idle, and followed by one more look at
//! the queues, it cannot miss a wake: a worker that wakes a goroutine is
//! not idle, and whatever wakes one from elsewhere counts it first.
//!
//! The entries live in sharded slots that outlast their goroutines: the
//! next goroutine in a slot reuses its `Sleeper` (one allocation per slot,
//! not per goroutine), and an entry also holds its goroutine's task handle
//! for the executor ([`TaskHome`]), so that a spawn and an exit take one
//! shard lock between them, not one in the census and one in a registry of
//! the executor's. A worker takes its slots from a shard of its own and
//! gives the slots of the goroutines that ended on it back in batches
//! (Go's `gfree` lists): the shard's lock and free list stay in the
//! spawning worker's cache. An entry also keeps the executor's waker of
//! its dead goroutine, the last reference to the goroutine's task cell,
//! until the slot is reused: the spawn that reuses it frees the old cell
//! just before it allocates the new one, on the same thread, where glibc's
//! thread cache serves both (freed by the worker that ran the goroutine,
//! every cell went back through the allocator's arena). [`Census::close`]
//! drops the entries when the run ends. A worker also takes goroutine ids
//! from its run's counter in batches ([`next_id`]).
//!
//! Not seen (as in Go, where all code runs in goroutines): code outside
//! goroutines that will wake them later (a thread of your own, a task
//! spawned on the runtime directly; once it wakes one, that is counted),
//! and combinators that give their children wakers of
//! their own (`FuturesUnordered`) around a goro wait beside a foreign one.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed, Ordering::SeqCst,
};
use std::sync::{Arc, OnceLock};
use std::task::Waker;

use async_task::Task;
use crossbeam_utils::atomic::AtomicCell;
use crossbeam_utils::CachePadded;
use futures_util::task::{waker_ref, ArcWake, AtomicWaker, WakerRef};
use goro_analyzer::event::Gid;
use parking_lot::Mutex;

use super::goroutine::{Crash, RunState};

type Site = &'static Location<'static>;

/// What a goroutine parked on a goro primitive waits for, as its line of the
/// deadlock report says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Waiting {
    Recv = 1,
    Send,
    Select,
    SelectForever,
    Nil,
    Lock,
    ReadLock,
    WriteLock,
    WaitGroup,
    Cond,
    Join,
    Sleep,
}

impl Waiting {
    const ALL: [Waiting; 12] = [
        Waiting::Recv,
        Waiting::Send,
        Waiting::Select,
        Waiting::SelectForever,
        Waiting::Nil,
        Waiting::Lock,
        Waiting::ReadLock,
        Waiting::WriteLock,
        Waiting::WaitGroup,
        Waiting::Cond,
        Waiting::Join,
        Waiting::Sleep,
    ];

    fn text(self) -> &'static str {
        match self {
            Waiting::Recv => "receiving from a channel at",
            Waiting::Send => "sending on a channel at",
            Waiting::Select => "in a select at",
            Waiting::SelectForever => "in a select with no cases at",
            Waiting::Nil => "on a nil channel at",
            Waiting::Lock => "locking a Mutex at",
            Waiting::ReadLock => "read-locking a RwLock at",
            Waiting::WriteLock => "write-locking a RwLock at",
            Waiting::WaitGroup => "waiting on a WaitGroup at",
            Waiting::Cond => "waiting on a Cond at",
            Waiting::Join => "joining the goroutine started at",
            Waiting::Sleep => "sleeping at",
        }
    }

    fn from_u8(v: u8) -> Option<Waiting> {
        Waiting::ALL.get((v as usize).checked_sub(1)?).copied()
    }
}

// ---- What the running poll parked on (thread-local) ----

/// The goro parks of the poll running on this thread: how many keep the
/// goroutine's waker, and the last one's kind and site.
#[derive(Clone, Copy)]
struct Note {
    /// Parks that keep a clone of the waker (all but `select! {}` and nil
    /// channels, which nothing can wake).
    parks: u32,
    what: Option<Waiting>,
    at: *const Location<'static>,
}

const NO_NOTE: Note = Note {
    parks: 0,
    what: None,
    at: ptr::null(),
};

thread_local! {
    static NOTE: Cell<Note> = const { Cell::new(NO_NOTE) };
}

/// A goro primitive parks the running poll at `site` waiting for `what`
/// (production side of `detect::block`). The same site twice in one poll
/// is one park (a receive notes its park, then re-checks and notes again).
#[inline]
pub(crate) fn note(what: Waiting, site: Site) {
    NOTE.with(|n| {
        let mut v = n.get();
        let at: *const Location<'static> = site;
        let keeps_waker = !matches!(what, Waiting::SelectForever | Waiting::Nil);
        if keeps_waker && (v.at != at || v.what != Some(what)) {
            v.parks += 1;
        }
        v.what = Some(what);
        v.at = at;
        n.set(v);
    });
}

/// What the poll ending on this thread noted. Read, not reset: the next
/// poll's `begin` resets it ([`clear_note`]), and nothing else reads it.
#[inline]
fn read_note() -> Note {
    NOTE.with(Cell::get)
}

/// Forgets what an earlier poll on this thread noted: one store, where
/// a `replace` would also copy the note out (its `Option` read compiled to a
/// dozen byte moves).
#[inline]
fn clear_note() {
    NOTE.with(|n| n.set(NO_NOTE));
}

// ---- A worker's part of the census (thread-local) ----

/// A worker's own part of its run's census: its registry shard and its
/// batch of goroutine ids.
#[derive(Clone, Copy)]
struct Local {
    /// The worker's run (compared, never dereferenced); null on threads
    /// that are not workers.
    run: *const RunState,
    /// The registry shard this worker's spawns take their slots from.
    shard: usize,
    /// Goroutine ids this worker took from the run's counter and has not
    /// given out yet: `next_id..end_id` (see [`next_id`]).
    next_id: u64,
    end_id: u64,
}

const NO_LOCAL: Local = Local {
    run: ptr::null(),
    shard: 0,
    next_id: 0,
    end_id: 0,
};

/// Goroutine ids a worker takes from its run's counter at once (Go's
/// `_GoidCacheBatch`): the counter is one read-modify-write per this many
/// spawns, not per spawn (a full barrier, which made every spawn wait for
/// the new goroutine's stores to leave the store buffer).
const ID_BATCH: u64 = 16;

/// A goroutine id of `run` from this worker's batch, refilled from
/// `counter` (the run's); `None` off `run`'s workers, which take theirs
/// from `counter` one at a time. As in Go, ids grow on each worker but
/// two workers' spawns interleave their batches.
#[inline]
pub(crate) fn next_id(run: &RunState, counter: &AtomicU64) -> Option<u64> {
    with_local(run, |l| {
        if l.next_id == l.end_id {
            l.next_id = counter.fetch_add(ID_BATCH, Relaxed);
            l.end_id = l.next_id + ID_BATCH;
        }
        l.next_id += 1;
        l.next_id - 1
    })
}

thread_local! {
    static LOCAL: Cell<Local> = const { Cell::new(NO_LOCAL) };
    /// Slots of goroutines that ended on this worker, not yet back on
    /// their shards' free lists (`shard << 32 | index`): given back
    /// [`FREE_BATCH`] at a time, and when the worker parks or stops.
    static FREED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Slots a worker gives back to the registry at once: one shard lock per
/// this many exits, as Go's `gfput` hands dead goroutines to the global
/// list in batches.
const FREE_BATCH: usize = 32;

/// This thread is worker `index` of `run`, and calls [`flush`] before it
/// parks and [`detach_worker`] when it stops.
pub(crate) fn attach_worker(run: &Arc<RunState>, index: usize) {
    if run.census().is_some() {
        LOCAL.with(|l| {
            l.set(Local {
                run: Arc::as_ptr(run),
                shard: index % SHARDS,
                ..NO_LOCAL
            })
        });
    }
}

/// The worker stops: its share goes to the word of `run` (its run).
pub(crate) fn detach_worker(run: &RunState) {
    flush(run);
    LOCAL.with(|l| l.set(NO_LOCAL));
}

/// A worker of `run` is about to park: the slots of the goroutines that
/// ended on it go back to their shards.
pub(crate) fn flush(run: &RunState) {
    if on_worker(run) {
        free_batch(census_of(run));
    }
}

/// The last worker of `run` to park found no work anywhere (Go's
/// `checkdead`): no goroutine runs or is runnable. With nothing foreign
/// waited on, no timer pending and goroutines still alive, they are all
/// parked on goro primitives: the crash. `look` is the worker's look at
/// every queue, taken again after `busy` is read: a timer or foreign wake
/// pushes its goroutine before its count goes down, so a count read as 0
/// means that push is seen. `all_idle`: every worker is still on the idle
/// list (none was woken since this one registered).
pub(crate) fn all_parked(
    run: &RunState,
    all_idle: impl FnOnce() -> bool,
    look: impl FnOnce() -> bool,
) {
    let Some(census) = run.census() else { return };
    // In this order: a goroutine spawned off the workers counts in `busy`
    // before its entry is live; one that gave its count back at its first
    // poll is running, on a worker that left the idle list.
    if census.over.load(SeqCst)
        || census.live() == 0
        || census.busy.load(SeqCst) != 0
        || !all_idle()
    {
        return;
    }
    if !look() {
        deadlock(run);
    }
}

/// Whether this thread is a worker of `run`: a read of the share's `run`
/// only (a wake asks this), where `with_local` also writes the share back.
#[inline]
fn on_worker(run: &RunState) -> bool {
    LOCAL.with(|l| ptr::eq(l.get().run, run))
}

/// Runs `f` on this thread's share if this thread is a worker of `run`.
#[inline]
fn with_local<R>(run: &RunState, f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL.with(|l| {
        let mut v = l.get();
        if !ptr::eq(v.run, run) {
            return None;
        }
        let r = f(&mut v);
        l.set(v);
        Some(r)
    })
}

/// A foreign wait or a timer of `run` begins: `busy` + 1.
#[inline]
fn busy_add(run: &RunState) {
    census_of(run).busy.fetch_add(1, SeqCst);
}

/// Foreign waits or timers of `run` end: `busy` - `n`. Off the run's
/// workers (a timer stopped by a thread of the user's), the executor may
/// be parked already, all of it: a worker is woken to park again and
/// check.
#[inline]
fn busy_sub(run: &RunState, n: u64) {
    let was = census_of(run).busy.fetch_sub(n, SeqCst);
    if was == n && !on_worker(run) {
        census_of(run).poke();
    }
}

/// Goroutine `s` holds one more unit of `busy` (counted first: `busy` is
/// never below what the goroutines hold).
fn hold(s: &Sleeper) {
    busy_add(&s.run);
    s.held.fetch_add(1, SeqCst);
}

/// Goroutine `s` gives back every unit of `busy` it holds.
#[cold]
fn give_back(s: &Sleeper) {
    let n = s.held.swap(0, SeqCst);
    if n != 0 {
        busy_sub(&s.run, u64::from(n));
    }
}

/// Goroutines per registry shard lock: spawns on different workers rarely
/// meet on one.
const SHARDS: usize = 16;

/// One shard of the census registry. A slot keeps its `Sleeper` after the
/// goroutine ends (state `DEAD`, index on `free`), and the next goroutine
/// registered in it reuses that allocation when no stale waker clone
/// holds it: a spawn storm allocates a `Sleeper` per slot, not per
/// goroutine.
#[derive(Default)]
struct Shard {
    slots: Vec<Arc<Sleeper>>,
    free: Vec<usize>,
}

/// The deadlock census of one `goro::run`.
pub(crate) struct Census {
    /// Foreign waits and pending timers (see the module docs).
    busy: AtomicU64,
    /// Wakes one parked worker of the executor (set by it at its start):
    /// see [`busy_sub`].
    poke: OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// Every tracked goroutine, for the report. One cache line each:
    /// consecutive ids go to consecutive shards, and the worker that spawns
    /// goroutine `n` must not take the line of the one whose goroutine
    /// `n - k` is ending.
    shards: [CachePadded<Mutex<Shard>>; SHARDS],
    /// Main returned (the program is over) or a deadlock was reported.
    over: AtomicBool,
    /// The run has ended: the registry is emptied and tracks nothing more.
    closed: AtomicBool,
}

impl Census {
    pub(crate) fn new() -> Census {
        Census {
            busy: AtomicU64::new(0),
            poke: OnceLock::new(),
            shards: std::array::from_fn(|_| CachePadded::new(Mutex::new(Shard::default()))),
            over: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    /// Cancels every live goroutine whose task handle its entry holds (see
    /// [`TaskHome`]): the executor's end of the run. Returns whether there
    /// was any.
    pub(crate) fn cancel_tasks(&self) -> bool {
        let mut tasks = Vec::new();
        for s in &self.shards {
            tasks.extend(s.lock().slots.iter().filter_map(|e| e.task.take()));
        }
        let any = !tasks.is_empty();
        // Dropped outside the locks: a cancelled task's future is dropped
        // through the schedule function, and its tracker locks its shard.
        drop(tasks);
        any
    }

    /// The run has ended: drops every kept `Sleeper`. They point back at the
    /// run (`Sleeper::run`), which owns this census: without this the run
    /// and its goroutines' entries would keep each other alive. Goroutines
    /// created later are not tracked.
    pub(crate) fn close(&self) {
        self.closed.store(true, SeqCst);
        for s in &self.shards {
            let dead = std::mem::take(&mut *s.lock());
            // Dropped outside the lock: a last waker clone may go with them.
            drop(dead);
        }
    }

    /// Goroutines tracked and not ended, for `num_goroutine`: the entries
    /// not `DEAD` (a worker gives slots back to the free lists in batches,
    /// so the free lists lag). One pass over the entries: `num_goroutine`
    /// is not on any hot path.
    pub(crate) fn live(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let sh = s.lock();
                sh.slots
                    .iter()
                    .filter(|e| e.state.load(Relaxed) != DEAD)
                    .count()
            })
            .sum()
    }

    /// The program is over: no more deadlock checks.
    pub(crate) fn end(&self) {
        self.over.store(true, SeqCst);
    }

    /// Sets how to wake one parked worker of the run's executor (once).
    pub(crate) fn set_poke(&self, poke: Box<dyn Fn() + Send + Sync>) {
        let _ = self.poke.set(poke);
    }

    fn poke(&self) {
        if let Some(p) = self.poke.get() {
            p();
        }
    }
}

/// Every goroutine is asleep: the crash, once.
#[cold]
fn deadlock(run: &RunState) {
    let Some(census) = run.census() else { return };
    if census.over.swap(true, SeqCst) {
        return;
    }
    run.report_panic(Crash::deadlock(report(census)));
}

/// `all goroutines are asleep - deadlock!` and one line per goroutine.
fn report(census: &Census) -> String {
    let mut all: Vec<Arc<Sleeper>> = Vec::new();
    for s in &census.shards {
        let sh = s.lock();
        let live = sh.slots.iter().filter(|s| s.state.load(SeqCst) != DEAD);
        all.extend(live.cloned());
    }
    all.sort_by_key(|s| s.id);
    let mut out = String::from("all goroutines are asleep - deadlock!\n");
    for s in &all {
        let _ = write!(out, "\ngoroutine {}", s.id);
        if let Some(n) = &s.name {
            let _ = write!(out, " [{n}]");
        }
        let _ = write!(out, ", started at {}: ", site(s.site));
        let what = Waiting::from_u8(s.what.load(SeqCst));
        let at = s.at.load(SeqCst);
        match what {
            Some(w) if !at.is_null() => {
                // SAFETY: `at` only ever holds a `&'static Location` (see
                // `Sleeper::at`).
                let at: Site = unsafe { &*at };
                let _ = write!(out, "{} {}", w.text(), site(at));
            }
            _ => out.push_str("asleep"),
        }
    }
    out
}

fn site(l: Site) -> String {
    format!("{}:{}:{}", l.file(), l.line(), l.column())
}

// ---- Pending timers ----

/// Counts a pending production timer of the current run as busy: a timer
/// will wake someone, so the goroutines waiting for it are not deadlocked.
/// Made where the timer is armed, dropped when it has fired (after its
/// wake) or is stopped.
pub(crate) struct TimerPending(Option<Arc<RunState>>);

impl TimerPending {
    pub(crate) fn new() -> TimerPending {
        let run = super::goroutine::thread_run().filter(|r| r.census().is_some());
        if let Some(r) = &run {
            busy_add(r);
        }
        TimerPending(run)
    }
}

impl Drop for TimerPending {
    fn drop(&mut self) {
        if let Some(run) = self.0.take() {
            busy_sub(&run, 1);
        }
    }
}

fn census_of(run: &RunState) -> &Census {
    run.census().expect("tracked runs have a census")
}

// ---- One goroutine ----

const LIVE: u8 = 1;
const DEAD: u8 = 3;

/// One goroutine's census entry; its `Arc` is the goroutine's waker.
///
/// Laid out in two parts (`repr(C)`): first, next to the `Arc`'s counts,
/// what the spawning worker writes when it reuses the entry; then what only
/// the goroutine's poll and its end write (the worker that runs it), which
/// that worker also resets when it frees the slot. A spawn then pulls the
/// counts' line from the other worker, not the whole entry.
#[repr(C)]
pub(crate) struct Sleeper {
    /// `LIVE` from the spawn, `DEAD` from the goroutine's end: plain
    /// stores, read by `num_goroutine` and the report.
    state: AtomicU8,
    /// The second part was reset when the slot was freed (`release`).
    fresh: bool,
    /// The last goro wait: a `Waiting` (and `at`, a `&'static Location`),
    /// written by the goroutine before it goes to sleep, read by the
    /// report. Here, not below, where it would cost 8 bytes of padding;
    /// it is written with `state`.
    what: AtomicU8,
    /// Set when `other` is registered (here for the same reason).
    moved: AtomicBool,
    /// Units of the census's `busy` this goroutine holds until its next
    /// poll (here for the same reason): a foreign wait its last poll
    /// returned on, a spawn or wake-up from a thread that is not one of
    /// the run's workers. Added before the count goes up nowhere else, and
    /// taken with a swap, so each unit goes back once.
    held: AtomicU32,
    /// The executor's handle on the goroutine's task, kept here rather than
    /// in a registry of the executor's own: the spawn and the exit touch
    /// this entry anyway (see [`TaskHome`]).
    task: TaskSlot,
    id: Gid,
    site: Site,
    // ---- Written by the goroutine's worker ----
    /// The executor's waker, kept at the first poll: goro's executor polls
    /// a goroutine with the same waker every time, so later polls only
    /// compare it (`will_wake`) where an `AtomicWaker` would swap a clone
    /// in at every poll and take it out at every wake. It outlives the
    /// goroutine: as the last reference to the dead task cell it is dropped
    /// when the slot is reused, by the spawning thread (see
    /// [`Tracker::new`]), or when the census closes.
    exec: ExecWaker,
    /// A poll with a waker that is not `exec` (an executor that changes
    /// wakers): registered here too, and `moved` says to wake it as well.
    other: AtomicWaker,
    at: AtomicPtr<Location<'static>>,
    run: Arc<RunState>,
    /// Written by a spawn only when it has one (`None` after `release`).
    name: Option<Cow<'static, str>>,
}

/// The goroutine's waker: `futures`' `ArcWake`, not std's `Wake`, for
/// [`waker_ref`], which lends a waker without a reference count of its own
/// (a poll's waker is cloned only by what keeps it). A wake writes nothing
/// of the census's: it only wakes the task (see the module docs).
impl ArcWake for Sleeper {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let this = arc_self;
        if !on_worker(&this.run) {
            // From off the workers (a timer's or tokio's thread, a thread of
            // the user's): the goroutine goes on the executor's shared queue,
            // where the last worker's look might miss it; it holds `busy`
            // until it runs. A goroutine that died meanwhile holds nothing.
            hold(this);
            if this.state.load(SeqCst) == DEAD {
                give_back(this);
            }
        }
        if let Some(w) = this.exec.get() {
            w.wake_by_ref();
        }
        if this.moved.load(SeqCst) {
            this.other.wake();
        }
    }
}

/// A goroutine's handle on its census entry, owned by its `Goroutine`
/// wrapper: registers it at creation, takes it out when dropped.
pub(crate) struct Tracker {
    /// The entry (its polls borrow it as their waker: [`waker_ref`]);
    /// `None` only while dropping, so that the slot's reference can be
    /// found unshared.
    entry: Option<Arc<Sleeper>>,
    slot: (usize, usize),
}

/// References to a `Sleeper` that are not waker clones held by someone
/// else: the tracker's own and the registry's. A poll's waker borrows the
/// tracker's (one read-modify-write fewer at each spawn and each exit than
/// a waker of its own).
const OWN_REFS: usize = 2;

impl Sleeper {
    /// Resets the part the goroutine's worker writes, for the slot's next
    /// goroutine, except the executor's waker: the slot's reuse takes that
    /// out (see [`Tracker::new`]).
    fn reset(&mut self) {
        // `other` is registered only before `moved` is set.
        if std::mem::take(self.moved.get_mut()) {
            self.other.take();
        }
        *self.what.get_mut() = 0;
        *self.at.get_mut() = ptr::null_mut();
        self.name = None;
    }

    fn new(run: &Arc<RunState>, id: Gid, name: Option<Cow<'static, str>>, site: Site) -> Arc<Self> {
        Arc::new(Sleeper {
            state: AtomicU8::new(LIVE),
            fresh: false,
            exec: ExecWaker::new(),
            other: AtomicWaker::new(),
            moved: AtomicBool::new(false),
            held: AtomicU32::new(0),
            task: TaskSlot::new(),
            run: run.clone(),
            id,
            name,
            site,
            what: AtomicU8::new(0),
            at: AtomicPtr::new(ptr::null_mut()),
        })
    }
}

impl Tracker {
    /// Tracks goroutine `id` of `run` (started at `site`), if `run` keeps a
    /// census (a `goro::run`, on the production executor).
    pub(crate) fn new(
        run: &Arc<RunState>,
        id: Gid,
        name: Option<Cow<'static, str>>,
        site: Site,
    ) -> Option<Tracker> {
        let census = run.census()?;
        // A worker takes slots from its own shard: its lock and free list
        // stay in this core's cache (the worker that ran the goroutines
        // gives their slots back in batches). Elsewhere, spread by id.
        let shard = with_local(run, |l| l.shard);
        let off = shard.is_none();
        if off {
            // Spawned off the workers (`goro::run`'s main): it goes on the
            // shared queue, where the last worker's look may miss it, so it
            // holds `busy` until it runs (see `wake_by_ref`); counted before
            // its entry is live, which the check reads first.
            busy_add(run);
        }
        let shard = shard.unwrap_or(id.get() as usize % SHARDS);
        let mut sh = census.shards[shard].lock();
        if census.closed.load(SeqCst) {
            // The run is over: nothing to count any more.
            return None;
        }
        // The dead goroutine's executor waker, the last reference to its
        // task cell: dropped here, after the lock, so that the cell is freed
        // on the thread that is about to allocate the new one (glibc's
        // per-thread cache then serves both; freed by the worker that ran
        // it, the cell went back through the arena every time).
        let mut old_cell = None;
        let index = match sh.free.pop() {
            Some(i) => {
                // The dead goroutine's entry, reused if nobody else holds
                // it (a stale waker clone), else replaced. Same run: `run`
                // stays.
                if let Some(s) = Arc::get_mut(&mut sh.slots[i]) {
                    // Its goroutine gave back what it held when it died.
                    debug_assert_eq!(*s.held.get_mut(), 0);
                    old_cell = s.exec.take();
                    *s.state.get_mut() = LIVE;
                    s.id = id;
                    s.site = site;
                    if !std::mem::take(&mut s.fresh) {
                        // A stale waker clone kept `release` from it.
                        s.reset();
                    }
                    if name.is_some() {
                        s.name = name;
                    }
                } else {
                    sh.slots[i] = Sleeper::new(run, id, name, site);
                }
                i
            }
            None => {
                sh.slots.push(Sleeper::new(run, id, name, site));
                sh.slots.len() - 1
            }
        };
        let sleeper = sh.slots[index].clone();
        drop(sh);
        drop(old_cell);
        if off {
            sleeper.held.fetch_add(1, SeqCst);
        }
        Some(Tracker {
            entry: Some(sleeper),
            slot: (shard, index),
        })
    }

    /// Where the executor keeps this goroutine's task handle: the entry,
    /// by address (see [`TaskHome::keep`]).
    pub(crate) fn home(&self) -> TaskHome {
        TaskHome(Arc::as_ptr(self.entry()))
    }

    /// The run the goroutine belongs to.
    pub(crate) fn run(&self) -> &Arc<RunState> {
        &self.entry().run
    }

    #[inline]
    fn entry(&self) -> &Arc<Sleeper> {
        self.entry.as_ref().expect("a live tracker has its entry")
    }

    /// A poll begins with the executor's waker `executor`; returns the
    /// waker to poll the goroutine's future with.
    #[inline]
    pub(crate) fn begin(&self, executor: &Waker) -> WakerRef<'_> {
        let s = self.entry();
        match s.exec.get() {
            Some(w) if w.will_wake(executor) => {}
            // The first poll.
            None => {
                // SAFETY: only this goroutine's poll sets it, and the
                // executor never runs two polls of one goroutine at once;
                // it is empty (`get` said so, on this thread).
                unsafe { s.exec.set(executor.clone()) };
            }
            Some(_) => {
                s.other.register(executor);
                s.moved.store(true, SeqCst);
            }
        }
        // Running now: what it held in `busy` (a foreign wait, a wake or
        // spawn from off the workers) is over; held until here, so through
        // its time queued.
        if s.held.load(Relaxed) != 0 {
            give_back(s);
        }
        clear_note();
        waker_ref(s)
    }

    /// The poll returned `Pending`: parked on goro primitives, or counted
    /// as waiting on something foreign until its next poll.
    #[inline]
    pub(crate) fn pending(&self) {
        let note = read_note();
        let s = self.entry();
        let holders = Arc::strong_count(s).saturating_sub(OWN_REFS);
        if note.what.is_none() || holders > note.parks as usize {
            // Waits on something goro does not see: counted before this
            // worker can park, so its last look cannot miss it.
            hold(s);
            return;
        }
        // Relaxed: read only by the report, by the last worker to park,
        // after the idle list's lock that this worker takes to park.
        s.what.store(note.what.map_or(0, |w| w as u8), Relaxed);
        s.at.store(note.at as *mut Location<'static>, Relaxed);
    }
}

/// A tracked goroutine's census entry, as the executor's registry: the
/// executor hands it the goroutine's `Task` before the task first runs, the
/// goroutine's tracker lets go of it when the goroutine ends, and the end of
/// the run cancels those left ([`Census::cancel_tasks`]).
///
/// The entry by address, not an `Arc` clone: a clone and its drop were two
/// more read-modify-writes per spawn, and the tracker that made this home
/// keeps the entry alive until its goroutine's future is dropped.
pub(crate) struct TaskHome(*const Sleeper);

impl TaskHome {
    /// Keeps `task`, the handle of the goroutine whose tracker made this
    /// home.
    ///
    /// # Safety
    ///
    /// That tracker is alive: call this after the goroutine's task cell is
    /// made and before it is scheduled (nothing can run or drop the future
    /// that owns the tracker in between: the caller holds its `Runnable`).
    pub(crate) unsafe fn keep(self, task: Task<()>) {
        // SAFETY: the tracker holds an `Arc` of the entry (the caller's
        // contract), so the entry is alive.
        let entry = unsafe { &*self.0 };
        // SAFETY: the slot is empty: a new entry's is, and a reused one's
        // was emptied by its last goroutine's tracker (`Tracker::drop`)
        // or by the end of the run, which tracks nothing after.
        unsafe { entry.task.put(task) };
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let Some(s) = self.entry.take() else {
            return;
        };
        // The task's future is being dropped right now (the tracker lives
        // in it), by its cell's run or the `Runnable`'s drop: there is
        // nothing left to cancel, and detaching the handle is one
        // read-modify-write of the cell's state where a drop (cancel, then
        // detach) is two or three.
        let task = s.task.take();
        // Dead before what it held is given back (a future dropped while
        // it waited on something foreign): given back now. A wake-up from
        // off the workers that comes later sees `DEAD` and gives its unit
        // back itself (see `wake_by_ref`).
        s.state.store(DEAD, SeqCst);
        // SeqCst against `wake_by_ref`'s `held` increment then `state`
        // load: one of the two sees the other, and a swap gives each unit
        // back once. A load, not a swap, on every exit.
        if s.held.load(SeqCst) != 0 {
            give_back(&s);
        }
        let (shard, index) = self.slot;
        if on_worker(&s.run) {
            // On a worker of this run: the slot goes back with the next
            // batch, its entry unshared by then (this handle dropped first).
            drop(s);
            defer_free(shard, index);
            if let Some(t) = task {
                t.detach();
            }
            return;
        }
        // The slot is freed with the shard locked and this handle dropped,
        // so that the next goroutine in it can reuse the entry. The census
        // outlives the handle through the thread's run (a worker's, no
        // reference count to touch) or, elsewhere, a clone.
        super::goroutine::with_thread_run(|r| match r {
            Some(run) if Arc::ptr_eq(run, &s.run) => free_slot(census_of(run), shard, index, s),
            _ => {
                let run = s.run.clone();
                free_slot(census_of(&run), shard, index, s);
            }
        });
        if let Some(t) = task {
            t.detach();
        }
    }
}

/// Puts slot `index` of shard `shard` back on its free list once its
/// goroutine's handle `s` on the entry is gone.
fn free_slot(census: &Census, shard: usize, index: usize, s: Arc<Sleeper>) {
    let mut sh = census.shards[shard].lock();
    // The slot keeps the entry (the run is kept by the caller).
    drop(s);
    release(&mut sh, index);
}

/// Slot `index` of shard `sh` (locked) goes back on its free list.
fn release(sh: &mut Shard, index: usize) {
    // Empty once the census is closed (the run ended).
    if let Some(slot) = sh.slots.get_mut(index) {
        // Unshared unless a stale waker clone holds it: reset what the
        // goroutine's worker wrote here, on that worker, not at the slot's
        // reuse on the spawning one. The executor's waker stays (it keeps
        // the dead task cell allocated) until the reuse, so that the cell
        // is freed where the next one is allocated.
        if let Some(e) = Arc::get_mut(slot) {
            e.reset();
            e.fresh = true;
        }
        sh.free.push(index);
    }
}

/// On a worker: slot `index` of shard `shard` of the worker's run, whose
/// goroutine has ended (state `DEAD`, its handle dropped),
/// joins this worker's batch of slots to give back; a full batch goes back
/// now. The worker's run (its thread's run) keeps the census alive.
#[inline]
fn defer_free(shard: usize, index: usize) {
    let full = FREED.with(|f| {
        let mut f = f.borrow_mut();
        f.push((shard as u64) << 32 | index as u64);
        f.len() >= FREE_BATCH
    });
    if full {
        super::goroutine::with_thread_run(|r| {
            if let Some(run) = r {
                free_batch(census_of(run));
            }
        });
    }
}

/// Gives this worker's batch of freed slots back to `census`'s free lists,
/// one lock per shard.
fn free_batch(census: &Census) {
    FREED.with(|f| {
        let mut f = f.borrow_mut();
        if f.is_empty() {
            return;
        }
        f.sort_unstable();
        for group in f.chunk_by(|a, b| a >> 32 == b >> 32) {
            let mut sh = census.shards[(group[0] >> 32) as usize].lock();
            for &e in group {
                release(&mut sh, (e & 0xffff_ffff) as usize);
            }
        }
        f.clear();
    });
}

// ---- The executor's waker, set once ----

/// A waker set once by the goroutine's first poll and read by every wake:
/// a `OnceLock` without its two read-modify-writes (a `Release` store
/// publishes it, an `Acquire` load finds it). Reset only through `&mut`,
/// when the slot is reused or freed.
struct ExecWaker {
    set: AtomicBool,
    waker: std::cell::UnsafeCell<std::mem::MaybeUninit<Waker>>,
}

// SAFETY: the waker (`Send + Sync`) is written once, through `set`, before
// the `Release` store that publishes it, and only read after an `Acquire`
// load saw it published; it is taken out only through `&mut self`.
unsafe impl Sync for ExecWaker {}
// SAFETY: it owns a `Waker`, which is `Send`.
unsafe impl Send for ExecWaker {}

impl ExecWaker {
    fn new() -> ExecWaker {
        ExecWaker {
            set: AtomicBool::new(false),
            waker: std::cell::UnsafeCell::new(std::mem::MaybeUninit::uninit()),
        }
    }

    /// The waker, once set.
    #[inline]
    fn get(&self) -> Option<&Waker> {
        if self.set.load(std::sync::atomic::Ordering::Acquire) {
            // SAFETY: published (the `Acquire` load saw the `Release` store
            // made after it was written), and never written again while
            // `&self` lives (see `set`).
            Some(unsafe { (*self.waker.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// Sets the waker.
    ///
    /// # Safety
    ///
    /// It is not set, and no other thread calls `set` on it concurrently:
    /// only the goroutine's own poll calls it, and polls of one goroutine
    /// never overlap.
    #[inline]
    unsafe fn set(&self, w: Waker) {
        // SAFETY: not set, so nobody reads it (`get` returns `None` until
        // the store below), and no other writer (the caller's contract).
        unsafe { (*self.waker.get()).write(w) };
        self.set.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Takes the waker out, if set.
    fn take(&mut self) -> Option<Waker> {
        if std::mem::replace(self.set.get_mut(), false) {
            // SAFETY: it was set (and is marked unset now, so it is read
            // out once).
            Some(unsafe { self.waker.get_mut().assume_init_read() })
        } else {
            None
        }
    }
}

impl Drop for ExecWaker {
    fn drop(&mut self) {
        drop(self.take());
    }
}

// ---- The task handle an entry keeps ----

/// An entry's `Task` handle, stored with a plain `Release` store where an
/// `AtomicCell<Option<Task>>` swaps (a `Task` needs dropping, so its
/// `store` drops the old value): the swap, a full barrier, made every
/// spawn wait for the new task cell's stores to leave the store buffer.
struct TaskSlot(AtomicCell<Option<std::mem::ManuallyDrop<Task<()>>>>);

impl TaskSlot {
    fn new() -> TaskSlot {
        TaskSlot(AtomicCell::new(None))
    }

    /// Stores `task`.
    ///
    /// # Safety
    ///
    /// The slot is empty (its last handle was taken): a handle stored over
    /// another would never be dropped.
    #[inline]
    unsafe fn put(&self, task: Task<()>) {
        self.0.store(Some(std::mem::ManuallyDrop::new(task)));
    }

    /// Takes the handle out, if any.
    #[inline]
    fn take(&self) -> Option<Task<()>> {
        self.0.take().map(std::mem::ManuallyDrop::into_inner)
    }
}

impl Drop for TaskSlot {
    fn drop(&mut self) {
        drop(self.take());
    }
}
