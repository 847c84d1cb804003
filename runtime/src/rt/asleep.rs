//! Go's deadlock crash on the production executor: when every live
//! goroutine of a `goro::run` is parked on a goro primitive and no timer is
//! pending, nothing can ever wake them, and the run panics with
//! `all goroutines are asleep - deadlock!` and one line per goroutine (its
//! id, `go!` name, creation site and what it waits on).
//!
//! The census does not depend on the executor. Each goroutine of a
//! `goro::run` has a [`Sleeper`]: its state, and the waker its future is
//! polled with, which wraps the executor's waker once per goroutine. A poll
//! that returns `Pending` after a goro primitive parked (the `detect::block`
//! hooks note it in a thread-local, a couple of plain stores) puts the
//! goroutine to sleep; its waker firing wakes it. A poll that waits on
//! anything else (tokio I/O, a `time::sleep`, a foreign future) leaves it
//! awake, and so does a poll whose waker has more holders than the goro
//! primitives it parked on (something else may wake it).
//!
//! One atomic word per run counts `busy << 32 | asleep`: `busy` is the live
//! goroutines plus the pending timers (a timer will wake someone), `asleep`
//! the goroutines asleep. A goroutine's sleep, end and a timer's end each
//! update it with one read-modify-write whose result is the snapshot the
//! check reads: `busy == asleep` is the deadlock. A wake subtracts from
//! `asleep` *before* the goroutine's state leaves asleep, and a sleep adds
//! only after it entered it, so the count never exceeds the goroutines that
//! are really asleep: a wake in flight counts as awake, and no false crash
//! comes from a race.
//!
//! Not seen (as in Go, where all code runs in goroutines): code outside
//! goroutines that wakes them (a thread of your own, a task spawned on the
//! runtime directly), and combinators that give their children wakers of
//! their own (`FuturesUnordered`) around a goro wait beside a foreign one.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::Write as _;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Wake, Waker};

use futures_util::task::AtomicWaker;
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

fn take_note() -> Note {
    NOTE.with(|n| n.replace(NO_NOTE))
}

// ---- The run's census ----

const ASLEEP_ONE: u64 = 1;
const BUSY_ONE: u64 = 1 << 32;

/// Goroutines per registry shard lock: spawns on different workers rarely
/// meet on one.
const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    slots: Vec<Option<Arc<Sleeper>>>,
    free: Vec<usize>,
}

/// The deadlock census of one `goro::run`.
pub(crate) struct Census {
    /// `busy << 32 | asleep` (see the module docs).
    word: AtomicU64,
    /// Every tracked goroutine, for the report.
    shards: [Mutex<Shard>; SHARDS],
    /// Main returned (the program is over) or a deadlock was reported.
    over: AtomicBool,
}

impl Census {
    pub(crate) fn new() -> Census {
        Census {
            word: AtomicU64::new(0),
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
            over: AtomicBool::new(false),
        }
    }

    /// The program is over: no more deadlock checks.
    pub(crate) fn end(&self) {
        self.over.store(true, SeqCst);
    }
}

/// Checks the census word `w` just produced by an update of `run`'s census.
#[inline]
fn check(run: &RunState, w: u64) {
    let (busy, asleep) = (w >> 32, w & 0xffff_ffff);
    if busy == asleep && busy != 0 {
        deadlock(run);
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
        all.extend(s.lock().slots.iter().flatten().cloned());
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
            census_of(r).word.fetch_add(BUSY_ONE, SeqCst);
        }
        TimerPending(run)
    }
}

impl Drop for TimerPending {
    fn drop(&mut self) {
        if let Some(run) = self.0.take() {
            let w = census_of(&run)
                .word
                .fetch_sub(BUSY_ONE, SeqCst)
                .wrapping_sub(BUSY_ONE);
            check(&run, w);
        }
    }
}

fn census_of(run: &RunState) -> &Census {
    run.census().expect("tracked runs have a census")
}

// ---- One goroutine ----

const POLLING: u8 = 0;
const AWAKE: u8 = 1;
const ASLEEP: u8 = 2;
const DEAD: u8 = 3;

/// One goroutine's census entry; its `Arc` is the goroutine's waker.
pub(crate) struct Sleeper {
    state: AtomicU8,
    /// The executor's waker, registered at each poll.
    inner: AtomicWaker,
    run: Arc<RunState>,
    id: Gid,
    name: Option<Cow<'static, str>>,
    site: Site,
    /// The last goro wait: a `Waiting` and a `&'static Location`, written
    /// by the goroutine before it goes to sleep, read by the report.
    what: AtomicU8,
    at: AtomicPtr<Location<'static>>,
}

impl Sleeper {
    /// Moves the goroutine to state `to` (not `ASLEEP`), counting it awake
    /// before it leaves `ASLEEP` (see the module docs).
    fn leave(&self, to: u8) {
        let word = &census_of(&self.run).word;
        let mut s = self.state.load(SeqCst);
        loop {
            if s == ASLEEP {
                word.fetch_sub(ASLEEP_ONE, SeqCst);
            }
            match self.state.compare_exchange(s, to, SeqCst, SeqCst) {
                Ok(_) => return,
                Err(now) => {
                    if s == ASLEEP {
                        word.fetch_add(ASLEEP_ONE, SeqCst);
                    }
                    s = now;
                }
            }
        }
    }
}

impl Wake for Sleeper {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let word = &census_of(&self.run).word;
        let mut s = self.state.load(SeqCst);
        loop {
            match s {
                // A poll that starts after this wake sees its event.
                AWAKE | DEAD => break,
                POLLING => match self.state.compare_exchange(POLLING, AWAKE, SeqCst, SeqCst) {
                    Ok(_) => break,
                    Err(now) => s = now,
                },
                _ => {
                    // Counted awake before it is: see the module docs.
                    word.fetch_sub(ASLEEP_ONE, SeqCst);
                    match self.state.compare_exchange(ASLEEP, AWAKE, SeqCst, SeqCst) {
                        Ok(_) => break,
                        Err(now) => {
                            word.fetch_add(ASLEEP_ONE, SeqCst);
                            s = now;
                        }
                    }
                }
            }
        }
        self.inner.wake();
    }
}

/// A goroutine's handle on its census entry, owned by its `Goroutine`
/// wrapper: registers it at creation, takes it out when dropped.
pub(crate) struct Tracker {
    sleeper: Arc<Sleeper>,
    /// `sleeper` as a waker, made once.
    waker: Waker,
    slot: (usize, usize),
}

/// References to a `Sleeper` that are not waker clones held by someone
/// else: the tracker's own, its waker's and the registry's.
const OWN_REFS: usize = 3;

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
        let sleeper = Arc::new(Sleeper {
            state: AtomicU8::new(AWAKE),
            inner: AtomicWaker::new(),
            run: run.clone(),
            id,
            name,
            site,
            what: AtomicU8::new(0),
            at: AtomicPtr::new(ptr::null_mut()),
        });
        census.word.fetch_add(BUSY_ONE, SeqCst);
        let shard = id.get() as usize % SHARDS;
        let mut sh = census.shards[shard].lock();
        let index = match sh.free.pop() {
            Some(i) => {
                sh.slots[i] = Some(sleeper.clone());
                i
            }
            None => {
                sh.slots.push(Some(sleeper.clone()));
                sh.slots.len() - 1
            }
        };
        drop(sh);
        Some(Tracker {
            waker: Waker::from(sleeper.clone()),
            sleeper,
            slot: (shard, index),
        })
    }

    /// A poll begins with the executor's waker `executor`; returns the
    /// waker to poll the goroutine's future with.
    #[inline]
    pub(crate) fn begin(&self, executor: &Waker) -> &Waker {
        self.sleeper.inner.register(executor);
        // Usually after a wake (awake); an executor may also poll a
        // goroutine nobody woke, which must stop counting as asleep first.
        self.sleeper.leave(POLLING);
        take_note();
        &self.waker
    }

    /// The poll returned `Pending`: asleep if it parked only on goro
    /// primitives and was not woken meanwhile.
    #[inline]
    pub(crate) fn pending(&self) {
        let note = take_note();
        let s = &*self.sleeper;
        let holders = Arc::strong_count(&self.sleeper).saturating_sub(OWN_REFS);
        if note.what.is_none() || holders > note.parks as usize {
            // Waits on something goro does not see: awake.
            let _ = s.state.compare_exchange(POLLING, AWAKE, SeqCst, SeqCst);
            return;
        }
        s.what.store(note.what.map_or(0, |w| w as u8), SeqCst);
        s.at.store(note.at as *mut Location<'static>, SeqCst);
        if s.state
            .compare_exchange(POLLING, ASLEEP, SeqCst, SeqCst)
            .is_ok()
        {
            let w = census_of(&s.run)
                .word
                .fetch_add(ASLEEP_ONE, SeqCst)
                .wrapping_add(ASLEEP_ONE);
            check(&s.run, w);
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let s = &*self.sleeper;
        let census = census_of(&s.run);
        s.leave(DEAD);
        let (shard, index) = self.slot;
        let mut sh = census.shards[shard].lock();
        sh.slots[index] = None;
        sh.free.push(index);
        drop(sh);
        let w = census
            .word
            .fetch_sub(BUSY_ONE, SeqCst)
            .wrapping_sub(BUSY_ONE);
        check(&s.run, w);
    }
}
