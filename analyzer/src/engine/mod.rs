//! The happens-before engine: Go's memory model over vector clocks, FastTrack
//! shadows for tracked locations, and the checks built on them.
//!
//! Feed it [`Event`]s in execution order with [`Engine::apply`]; read
//! [`Engine::findings`]. Edges (DESIGN.md, "Happens-before"): spawn → child
//! start; child end → join; the k-th send → the k-th receive completes; the
//! k-th receive → the (k+C)-th send completes (C = 0: rendezvous both ways);
//! close → a receive that observes it; unlock → next lock (RwLock: write
//! unlock → reads, read unlocks → write lock); `done` → `wait` returns;
//! `Once` body → every return; atomics synchronize like Go's `sync/atomic`;
//! `release(x)` → `acquire(x)`.
//!
//! A goroutine's clock is kept as a shared base clock plus its own entry and
//! its parent's entry at the spawn, so a million goroutines that never
//! synchronize with each other cost a million pointers, not a million
//! clocks; a release joins the base and then sets those two entries in the
//! target, which is usually the only owner of its nodes.

mod blocking;
mod shadow;
mod table;

pub use blocking::{EndState, Held};

use crate::fxhash::{FxHashMap as HashMap, FxHashSet as HashSet};

use std::sync::Arc;

use crate::event::{Addr, Event, FrameLoc, Gid, Loc, ObjId, Op};
use crate::finding::{Finding, FindingKey, FindingKind, Frame, GoroutineInfo, Site, SCHEMA};
use crate::vv::VClock;

use shadow::{Access, Race, Shadow};

/// A shadow call chain, shared by every access made under it.
pub(crate) type Frames = Option<Arc<[FrameLoc]>>;

/// Per-goroutine state.
struct G {
    /// What this goroutine has seen of others (its own entry may lag `own`;
    /// its parent's entry may lag `inherit`).
    base: VClock,
    /// Its own logical time: the epoch of its current accesses.
    own: u32,
    /// The parent's `(index, epoch)` at the spawn when `base` does not hold
    /// it yet: folding it in would copy a path of the parent's clock per
    /// child.
    inherit: Option<(u32, u32)>,
    name: Option<String>,
    parent: Option<Gid>,
    created_at: Option<Loc>,
    /// Set when goro itself made this goroutine panic (send on closed, ...)
    /// and already reported why: the generic panic is not reported again.
    goro_panic: Option<&'static str>,
    /// Its shadow call chain, innermost last, and a shared snapshot of it.
    frames: Vec<FrameLoc>,
    snapshot: Frames,
}

impl G {
    fn new(
        base: VClock,
        name: Option<String>,
        parent: Option<Gid>,
        created_at: Option<Loc>,
    ) -> Self {
        G {
            base,
            own: 1,
            inherit: None,
            name,
            parent,
            created_at,
            goro_panic: None,
            frames: Vec::new(),
            snapshot: None,
        }
    }

    /// A goroutine first seen in an event rather than at its spawn.
    fn unknown() -> Self {
        G::new(VClock::new(), None, None, None)
    }

    /// Whether this goroutine has seen goroutine index `idx` at `clk`.
    fn knows(&self, idx: u32, clk: u32) -> bool {
        self.base.get(idx) >= clk || matches!(self.inherit, Some((i, v)) if i == idx && v >= clk)
    }

    /// `base ⊔= source`.
    fn acquire(&mut self, source: &VClock) {
        self.base.join(source);
        self.forget_absorbed_inherit();
    }

    /// Drops `inherit` once `base` holds it.
    fn forget_absorbed_inherit(&mut self) {
        if self.inherit.is_some_and(|(i, v)| self.base.get(i) >= v) {
            self.inherit = None;
        }
    }

    /// Moves this goroutine's clock into `target` (`target ⊔= C_g`, its
    /// inherited entry folded in) and starts its next epoch. Its base is
    /// left empty: the caller gives it what it acquired. Moving the base
    /// out first means `target`'s nodes are `target`'s alone when the
    /// entries are set, so an exchange repeated over the same clocks
    /// copies no nodes.
    // Inlined: it is the body of every channel operation.
    #[inline(always)]
    fn exchange_into(&mut self, idx: u32, target: &mut VClock) {
        let base = std::mem::take(&mut self.base);
        target.join(&base);
        drop(base);
        for (j, v) in self.inherit.take().into_iter().chain([(idx, self.own)]) {
            target.raise(j, v);
        }
        self.own += 1;
    }

    /// `target ⊔= C_g` without building `C_g`: the base, then the two
    /// entries kept beside it, set in `target` (whose nodes are usually its
    /// own, so nothing is copied). `idx` is this goroutine's clock index.
    fn join_into(&self, idx: u32, target: &mut VClock) {
        target.join(&self.base);
        for (i, v) in self.inherit.into_iter().chain([(idx, self.own)]) {
            target.raise(i, v);
        }
    }

    /// Whether `e` (of goroutine `e.g`) happens before this goroutine's
    /// current point; `me` is this goroutine's id.
    fn orders(&self, me: Gid, e: &Epoch) -> bool {
        e.g == me || self.knows(clock_index(e.g), e.clk)
    }

    fn epoch(&mut self, g: Gid, loc: Loc) -> Epoch {
        Epoch {
            g,
            clk: self.own,
            loc,
            frames: self.frames(),
        }
    }

    /// Folds `inherit` into `base` (a path copy when `base` is shared).
    fn fold_inherit(&mut self) {
        if let Some((i, v)) = self.inherit.take() {
            self.base.raise(i, v);
        }
    }

    fn frames(&mut self) -> Frames {
        if self.snapshot.is_none() && !self.frames.is_empty() {
            self.snapshot = Some(self.frames.as_slice().into());
        }
        self.snapshot.clone()
    }
}

/// A prior operation that a later one must be ordered after.
#[derive(Clone, Debug)]
struct Epoch {
    g: Gid,
    clk: u32,
    loc: Loc,
    frames: Frames,
}

#[derive(Default)]
struct Chan {
    cap: usize,
    sends: u64,
    recvs: u64,
    /// Go's per-slot clocks of a buffered channel (slot = k mod cap).
    slots: Vec<VClock>,
    closed: Option<(VClock, Epoch)>,
    /// Sends not yet known to be ordered before a later send: the frontier a
    /// close must be ordered after.
    send_frontier: Vec<Epoch>,
    /// Goroutines that sent or closed / received here (the first few): who
    /// could unblock a goroutine stuck on this channel.
    senders_seen: Vec<Gid>,
    receivers_seen: Vec<Gid>,
}

/// How many goroutines a channel or WaitGroup remembers for explanations.
const SEEN: usize = 16;

/// A send by `me` (goroutine `g`): sends not ordered before it stay in the
/// frontier a close must be ordered after.
#[inline(always)]
fn note_send(c: &mut Chan, me: &mut G, g: Gid, loc: Loc) {
    let e = me.epoch(g, loc);
    c.send_frontier.retain(|p| !me.orders(g, p));
    c.send_frontier.push(e);
}

fn note_seen(v: &mut Vec<Gid>, g: Gid) {
    if v.len() < SEEN && !v.contains(&g) {
        v.push(g);
    }
}

#[derive(Default)]
struct RwClocks {
    /// Released by write unlocks; acquired by every lock.
    w: VClock,
    /// Joined by read unlocks; acquired by write locks.
    r: VClock,
}

/// A WaitGroup's history for the add/wait check. Its clock (`done` →
/// `wait` returns) is an ordinary object clock: `done` releases it and the
/// runtime reports a returning `wait` as an `Acquire`.
#[derive(Default)]
struct WaitGroup {
    /// `add`s that took the counter up from zero, and `wait`s: an unordered
    /// pair is Go's "Add called concurrently with Wait".
    adds_from_zero: Vec<Epoch>,
    waits: Vec<Epoch>,
    /// Goroutines that called `add` or `done` (the first few).
    adders: Vec<Gid>,
}

/// The happens-before engine of one execution (one schedule).
///
/// # Examples
///
/// ```
/// use goro_analyzer::event::{Addr, Event, Loc, Op};
/// use goro_analyzer::{Engine, FindingKind};
///
/// let at = |line| Loc { file: "src/main.rs", line, column: 5 };
/// let mut e = Engine::new(7, 0);
/// let x = Addr(1);
/// e.apply(&Event { g: 1, op: Op::Spawn { child: 2, name: None }, loc: at(1) });
/// e.apply(&Event { g: 2, op: Op::Write { addr: x, what: "Shared<i64>" }, loc: at(2) });
/// e.apply(&Event { g: 1, op: Op::Write { addr: x, what: "Shared<i64>" }, loc: at(3) });
/// assert_eq!(e.findings().len(), 1);
/// assert_eq!(e.findings()[0].kind, FindingKind::DataRace);
/// ```
pub struct Engine {
    gs: table::Table<G>,
    /// Goroutines that ended, with their last epoch.
    ends: table::Table<u32>,
    objs: HashMap<ObjId, VClock>,
    rws: HashMap<ObjId, RwClocks>,
    wgs: HashMap<ObjId, WaitGroup>,
    chans: HashMap<ObjId, Chan>,
    shadows: HashMap<Addr, Shadow>,
    atomics: HashMap<Addr, VClock>,
    locks: blocking::Locks,
    findings: Vec<Finding>,
    seen: HashSet<FindingKey>,
    seed: u64,
    schedule: u32,
}

impl Engine {
    /// An engine for the schedule with this seed and index (both recorded in
    /// every finding).
    pub fn new(seed: u64, schedule: u32) -> Self {
        Engine {
            gs: table::Table::default(),
            ends: table::Table::default(),
            objs: HashMap::default(),
            rws: HashMap::default(),
            wgs: HashMap::default(),
            chans: HashMap::default(),
            shadows: HashMap::default(),
            atomics: HashMap::default(),
            locks: blocking::Locks::default(),
            findings: Vec::new(),
            seen: HashSet::default(),
            seed,
            schedule,
        }
    }

    /// The findings so far, in the order they were found.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Takes the findings out.
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }

    fn g(&mut self, g: Gid) -> &mut G {
        self.gs.get_or_insert_with(g, G::unknown)
    }

    /// `g`'s full clock (base with its own and inherited entries).
    fn clock(&mut self, g: Gid) -> VClock {
        let gs = self.g(g);
        gs.fold_inherit();
        let own = gs.own;
        let idx = clock_index(g);
        if gs.base.get(idx) != own {
            gs.base.set(idx, own);
        }
        gs.base.clone()
    }

    /// `obj ⊔= C_g`, then `g` moves to a new epoch.
    fn release_into(&mut self, g: Gid, target: &mut VClock) {
        self.join_clock_of(g, target);
        self.g(g).own += 1;
    }

    /// `target ⊔= C_g`.
    fn join_clock_of(&mut self, g: Gid, target: &mut VClock) {
        self.g(g).join_into(clock_index(g), target);
    }

    fn acquire_from(&mut self, g: Gid, source: &VClock) {
        self.g(g).acquire(source);
    }

    /// Whether `e` happens before `g`'s current point.
    fn ordered(&self, e: &Epoch, g: Gid) -> bool {
        if e.g == g {
            return true;
        }
        match self.gs.get(&g) {
            Some(gs) => gs.orders(g, e),
            None => false,
        }
    }

    fn epoch(&mut self, g: Gid, loc: Loc) -> Epoch {
        self.g(g).epoch(g, loc)
    }

    /// Applies one event.
    pub fn apply(&mut self, ev: &Event) {
        let g = ev.g;
        let loc = ev.loc;
        match &ev.op {
            Op::Spawn { child, name } => {
                // The child starts from the parent's base, sharing it; only
                // the parent's own entry is new to it. A parent that has an
                // inherited entry of its own folds it in once.
                let p = self.g(g);
                p.fold_inherit();
                let base = p.base.clone();
                let inherit = Some((clock_index(g), p.own));
                p.own += 1;
                let mut c = G::new(base, name.clone(), Some(g), Some(loc));
                c.inherit = inherit;
                self.gs.insert(*child, c);
            }
            Op::End => {
                // Its clock stays in `gs` (nothing changes it any more); a
                // join reads it from there.
                let own = self.g(g).own;
                self.ends.insert(g, own);
            }
            Op::Join { child } => {
                if self.ends.contains_key(child) {
                    let mut base = std::mem::take(&mut self.g(g).base);
                    self.join_clock_of(*child, &mut base);
                    let gs = self.g(g);
                    gs.base = base;
                    gs.forget_absorbed_inherit();
                }
            }
            Op::ChanMake { ch, cap } => {
                self.chans.insert(
                    *ch,
                    Chan {
                        cap: *cap,
                        ..Chan::default()
                    },
                );
            }
            Op::ChanSend { ch } => self.chan_op(*ch, g, loc, true),
            Op::ChanRecv { ch } => self.chan_op(*ch, g, loc, false),
            Op::ChanRendezvous { ch, receiver, .. } => {
                let c = self.chans.entry(*ch).or_default();
                note_seen(&mut c.senders_seen, g);
                note_seen(&mut c.receivers_seen, *receiver);
                let me = self.gs.get_or_insert_with(g, G::unknown);
                note_send(c, me, g, loc);
                // Both sides end with C_s ⊔ C_r; when the two shared the
                // result of their last rendezvous (a ping-pong), nothing is
                // copied.
                let mut both = VClock::new();
                for who in [g, *receiver] {
                    self.g(who).exchange_into(clock_index(who), &mut both);
                }
                self.g(g).base = both.clone();
                self.g(*receiver).base = both;
            }
            Op::ChanClose { ch } => {
                note_seen(&mut self.chans.entry(*ch).or_default().senders_seen, g);
                self.close(*ch, g, loc)
            }
            Op::ChanRecvClosed { ch } => {
                if let Some((c, _)) = self.chans.get(ch).and_then(|c| c.closed.clone()) {
                    self.acquire_from(g, &c);
                }
            }
            Op::SendOnClosed { ch } => {
                self.g(g).goro_panic = Some("send on closed channel");
                let close = self
                    .chans
                    .get(ch)
                    .and_then(|c| c.closed.as_ref().map(|x| x.1.clone()));
                let primary = self.site(g, loc, "send");
                let related: Vec<Site> = close
                    .iter()
                    .map(|e| self.site_at(e.g, e.loc, "close", &e.frames))
                    .collect();
                self.report(
                    FindingKind::SendOnClosed,
                    true,
                    "send on closed channel".to_string(),
                    primary,
                    related,
                    vec!["the send panicked: a closed channel accepts no more values".into()],
                    "close a channel only from its (last) sender, after every send; \
                     with several senders, close it once all of them are done (a WaitGroup)"
                        .into(),
                );
            }
            Op::CloseOfClosed { ch } => {
                self.g(g).goro_panic = Some("close of closed channel");
                let first = self
                    .chans
                    .get(ch)
                    .and_then(|c| c.closed.as_ref().map(|x| x.1.clone()));
                let primary = self.site(g, loc, "close");
                let related: Vec<Site> = first
                    .iter()
                    .map(|e| self.site_at(e.g, e.loc, "first close", &e.frames))
                    .collect();
                self.report(
                    FindingKind::DoubleClose,
                    true,
                    "close of closed channel".to_string(),
                    primary,
                    related,
                    vec!["the second close panicked".into()],
                    "make exactly one goroutine responsible for closing the channel \
                     (or guard the close with sync::Once)"
                        .into(),
                );
            }
            Op::Acquire { obj } => {
                if let Some(c) = self.objs.get(obj).cloned() {
                    self.acquire_from(g, &c);
                }
            }
            Op::Release { obj } => {
                let mut c = self.objs.remove(obj).unwrap_or_default();
                self.release_into(g, &mut c);
                self.objs.insert(*obj, c);
            }
            Op::RLock { obj } => {
                let pre = self.clock(g);
                let w = self.rws.entry(*obj).or_default().w.clone();
                self.acquire_from(g, &w);
                self.read_lock_acquired(g, *obj, loc, pre);
            }
            Op::RUnlock { obj } => {
                self.lock_released(g, *obj);
                let mut r = std::mem::take(&mut self.rws.entry(*obj).or_default().r);
                self.release_into(g, &mut r);
                self.rws.entry(*obj).or_default().r = r;
            }
            Op::WLock { obj } => {
                let pre = self.clock(g);
                let rw = self.rws.entry(*obj).or_default();
                let (w, r) = (rw.w.clone(), rw.r.clone());
                self.acquire_from(g, &w);
                self.acquire_from(g, &r);
                self.write_lock_acquired(g, *obj, loc, pre);
            }
            Op::WUnlock { obj } => {
                self.lock_released(g, *obj);
                let mut w = std::mem::take(&mut self.rws.entry(*obj).or_default().w);
                self.release_into(g, &mut w);
                self.rws.entry(*obj).or_default().w = w;
            }
            Op::WgAdd { wg, delta, counter } => self.wg_add(*wg, g, loc, *delta, *counter),
            Op::WgWait { wg, .. } => self.wg_wait(*wg, g, loc),
            Op::Read { addr, what } => self.access(g, *addr, loc, false, false, what),
            Op::Write { addr, what } => self.access(g, *addr, loc, true, false, what),
            Op::Atomic { addr, write, what } => {
                // Sequentially consistent: every atomic op on a location both
                // acquires and releases it.
                let mut c = self.atomics.remove(addr).unwrap_or_default();
                self.acquire_from(g, &c);
                self.access(g, *addr, loc, *write, true, what);
                self.release_into(g, &mut c);
                self.atomics.insert(*addr, c);
            }
            Op::Free { addr } => {
                self.shadows.remove(addr);
                self.atomics.remove(addr);
            }
            Op::Lock { obj } => {
                let pre = self.clock(g);
                if let Some(c) = self.objs.get(obj).cloned() {
                    self.acquire_from(g, &c);
                }
                self.lock_acquired(g, *obj, loc, pre);
            }
            Op::Unlock { obj } => {
                self.lock_released(g, *obj);
                let mut c = self.objs.remove(obj).unwrap_or_default();
                self.release_into(g, &mut c);
                self.objs.insert(*obj, c);
            }
            Op::LockWait { obj } => self.lock_wait(g, *obj, loc),
            Op::LostCancel {
                created,
                creator,
                func,
                timer_pending,
                children,
                at_teardown,
            } => {
                // Made by its creator, perhaps far from where it went.
                let primary = if *creator == 0 || *creator == g {
                    self.site(g, *created, func)
                } else {
                    self.site_at(*creator, *created, func, &None)
                };
                let who = format!("goroutine {g}{}", self.name_suffix(g));
                let mut related = Vec::new();
                let mut notes = Vec::new();
                if *at_teardown {
                    notes.push(format!(
                        "{who} still held every CancelFunc clone returned by {func} when it \
                         was left blocked forever: they went with it, never called, and the \
                         context stays alive until its parent is cancelled"
                    ));
                } else {
                    notes.push(format!(
                        "every CancelFunc clone returned by {func} was dropped by {who} without \
                         cancel(): the context stays alive until its parent is cancelled"
                    ));
                    if loc == Loc::UNKNOWN {
                        notes.push(
                            "where it was dropped is unknown: no frame of the drop's stack \
                             trace outside goro and the standard library resolved to a file \
                             and line (build with debug info, e.g. `debug = 1`, to see it)"
                                .into(),
                        );
                    } else {
                        related.push(self.site(g, loc, "drop"));
                        notes.push(format!(
                            "dropped here: the last CancelFunc clone went out of use at {loc}"
                        ));
                    }
                }
                if *timer_pending {
                    notes
                        .push("its timer was still pending when the CancelFunc was dropped".into());
                }
                if *children > 0 {
                    notes.push(format!(
                        "{children} child context(s) were still registered under it"
                    ));
                }
                self.report(
                    FindingKind::LostCancel,
                    true,
                    format!("the cancel function returned by {func} is never called"),
                    primary,
                    related,
                    notes,
                    "call cancel() on every path once the work is done: keep the CancelFunc and \
                     call `cancel.cancel()` before returning (Go's `defer cancel()`)"
                        .into(),
                );
            }
            Op::FrameEnter { function } => {
                let gs = self.g(g);
                gs.frames.push(FrameLoc { function, loc });
                gs.snapshot = None;
            }
            Op::FrameExit => {
                let gs = self.g(g);
                gs.frames.pop();
                gs.snapshot = None;
            }
            Op::Panic { message } => {
                // The panic goro raised itself was reported as what it
                // means; a later, different panic (after a recovery) is not.
                let expected = self.g(g).goro_panic.take();
                if expected.is_some_and(|m| message.contains(m)) {
                    return;
                }
                let primary = self.site(g, loc, "panic");
                self.report(
                    FindingKind::Panic,
                    true,
                    format!("goroutine {g} panicked: {message}"),
                    primary,
                    Vec::new(),
                    Vec::new(),
                    "a panic in a goroutine ends a Go program; handle the error or recover \
                     where the goroutine is joined"
                        .into(),
                );
            }
        }
    }

    /// A send or receive completing on a buffered channel (or one side of
    /// an unbuffered one): the k-th op acquires and releases slot k mod C
    /// (Go's capacity rule). The hottest path of the engine, so it looks the
    /// goroutine and the channel up once each.
    fn chan_op(&mut self, ch: ObjId, g: Gid, loc: Loc, send: bool) {
        let me = self.gs.get_or_insert_with(g, G::unknown);
        let c = self.chans.entry(ch).or_default();
        if send {
            note_seen(&mut c.senders_seen, g);
            note_send(c, me, g, loc);
        } else {
            note_seen(&mut c.receivers_seen, g);
        }
        let k = if send { &mut c.sends } else { &mut c.recvs };
        let i = (*k % c.cap.max(1) as u64) as usize;
        *k += 1;
        if c.slots.len() <= i {
            c.slots.resize_with(i + 1, VClock::new);
        }
        // Acquire and release at once: slot ⊔= C_g, then the goroutine takes
        // the result as its base (a goroutine streaming over a channel
        // copies no clock nodes).
        let slot = &mut c.slots[i];
        me.exchange_into(clock_index(g), slot);
        me.base = slot.clone();
    }

    fn close(&mut self, ch: ObjId, g: Gid, loc: Loc) {
        let frontier = std::mem::take(&mut self.chans.entry(ch).or_default().send_frontier);
        for s in &frontier {
            if self.ordered(s, g) {
                continue;
            }
            let primary = self.site_at(s.g, s.loc, "send", &s.frames);
            let related = vec![self.site(g, loc, "close")];
            let notes = vec![format!(
                "nothing orders the send by goroutine {} before the close by goroutine {}: \
                 in another schedule the send comes second and panics",
                s.g, g
            )];
            self.report(
                FindingKind::SendOnClosed,
                false,
                "send on a channel that may already be closed".to_string(),
                primary,
                related,
                notes,
                "close the channel only after every sender is done (wait for them with a \
                 WaitGroup, or let the only sender close it)"
                    .into(),
            );
        }
        let e = self.epoch(g, loc);
        let mut c = VClock::new();
        self.release_into(g, &mut c);
        self.chans.entry(ch).or_default().closed = Some((c, e));
    }

    fn wg_add(&mut self, wg: ObjId, g: Gid, loc: Loc, delta: i64, counter: i64) {
        note_seen(&mut self.wgs.entry(wg).or_default().adders, g);
        if counter < 0 {
            self.g(g).goro_panic = Some("negative WaitGroup counter");
            let primary = self.site(g, loc, if delta == -1 { "done" } else { "add" });
            self.report(
                FindingKind::WaitgroupMisuse,
                true,
                "sync: negative WaitGroup counter".to_string(),
                primary,
                Vec::new(),
                vec![format!(
                    "the counter went to {counter}: more done() than add()"
                )],
                "call add(n) once per goroutine, before starting it, and done() exactly once \
                 in each"
                    .into(),
            );
            return;
        }
        if delta < 0 {
            let mut c = self.objs.remove(&wg).unwrap_or_default();
            self.release_into(g, &mut c);
            self.objs.insert(wg, c);
            return;
        }
        if delta > 0 && counter == delta {
            let e = self.epoch(g, loc);
            let waits = self.wgs.entry(wg).or_default().waits.clone();
            let unordered: Vec<Epoch> = waits.into_iter().filter(|w| !self.ordered(w, g)).collect();
            for w in &unordered {
                self.report_wg_race(&e, w);
            }
            let mut adds = std::mem::take(&mut self.wgs.entry(wg).or_default().adds_from_zero);
            adds.retain(|p| !self.ordered(p, g));
            adds.push(e);
            self.wgs.entry(wg).or_default().adds_from_zero = adds;
        }
    }

    fn wg_wait(&mut self, wg: ObjId, g: Gid, loc: Loc) {
        let e = self.epoch(g, loc);
        let adds = self.wgs.entry(wg).or_default().adds_from_zero.clone();
        let unordered: Vec<Epoch> = adds.into_iter().filter(|a| !self.ordered(a, g)).collect();
        for a in &unordered {
            self.report_wg_race(a, &e);
        }
        let mut waits = std::mem::take(&mut self.wgs.entry(wg).or_default().waits);
        waits.retain(|p| !self.ordered(p, g));
        waits.push(e);
        self.wgs.entry(wg).or_default().waits = waits;
    }

    fn report_wg_race(&mut self, add: &Epoch, wait: &Epoch) {
        let primary = self.site_at(add.g, add.loc, "add", &add.frames);
        let related = vec![self.site_at(wait.g, wait.loc, "wait", &wait.frames)];
        self.report(
            FindingKind::WaitgroupMisuse,
            false,
            "WaitGroup add called concurrently with wait".to_string(),
            primary,
            related,
            vec![format!(
                "the add by goroutine {} takes the counter up from zero, and nothing orders it \
                 before the wait by goroutine {}: the wait can return before the add",
                add.g, wait.g
            )],
            "call add before starting the goroutine (`wg.add(1); go!(..)`), not inside it".into(),
        );
    }

    fn access(&mut self, g: Gid, addr: Addr, loc: Loc, write: bool, atomic: bool, what: &str) {
        let frames = self.g(g).frames();
        let cur = Access {
            g,
            clk: self.gs[&g].own,
            loc,
            write,
            atomic,
            frames,
        };
        let gs = &self.gs[&g];
        let ordered = |p: &Access| p.g == g || gs.knows(clock_index(p.g), p.clk);
        let mut races: Vec<Race> = Vec::new();
        self.shadows
            .entry(addr)
            .or_default()
            .access(cur, ordered, &mut races);
        for r in races {
            self.report_race(r, what);
        }
    }

    fn report_race(&mut self, r: Race, what: &str) {
        let what = &short_type_name(what);
        let op = |a: &Access| match (a.write, a.atomic) {
            (true, false) => "write",
            (false, false) => "read",
            (true, true) => "atomic write",
            (false, true) => "atomic read",
        };
        let primary = self.site_at(r.cur.g, r.cur.loc, op(&r.cur), &r.cur.frames);
        let related = vec![self.site_at(r.prev.g, r.prev.loc, op(&r.prev), &r.prev.frames)];
        let notes = vec![format!(
            "no happens-before edge orders them: after its {} goroutine {} did nothing \
             (channel operation, lock, WaitGroup, atomic) that goroutine {} waited for before \
             its {}",
            op(&r.prev),
            r.prev.g,
            r.cur.g,
            op(&r.cur)
        )];
        self.report(
            FindingKind::DataRace,
            false,
            format!(
                "data race on {what}: {} by goroutine {} and {} by goroutine {}",
                op(&r.cur),
                r.cur.g,
                op(&r.prev),
                r.prev.g
            ),
            primary,
            related,
            notes,
            format!(
                "protect the {what} with a goro::sync::Mutex, make it an atomic, or hand it \
                 over through a channel"
            ),
        );
    }

    /// A site of `g`'s current operation, with its current call chain.
    fn site(&self, g: Gid, loc: Loc, op: &str) -> Site {
        let frames: Frames = self
            .gs
            .get(&g)
            .filter(|x| !x.frames.is_empty())
            .map(|x| x.frames.as_slice().into());
        self.site_at(g, loc, op, &frames)
    }

    /// A site of an operation recorded earlier with its call chain.
    fn site_at(&self, g: Gid, loc: Loc, op: &str, frames: &Frames) -> Site {
        Site {
            file: loc.file.to_string(),
            line: loc.line,
            column: loc.column,
            goroutine: g,
            goroutine_name: self.gs.get(&g).and_then(|x| x.name.clone()),
            op: op.to_string(),
            frames: frames
                .iter()
                .flat_map(|f| f.iter())
                .map(|f| Frame {
                    function: f.function.to_string(),
                    file: f.loc.file.to_string(),
                    line: f.loc.line,
                    column: f.loc.column,
                })
                .collect(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        kind: FindingKind,
        observed: bool,
        message: String,
        primary: Site,
        related: Vec<Site>,
        mut notes: Vec<String>,
        help: String,
    ) {
        let mut ids: Vec<Gid> = std::iter::once(&primary)
            .chain(related.iter())
            .map(|s| s.goroutine)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let goroutines: Vec<GoroutineInfo> = ids.iter().map(|&id| self.info(id)).collect();
        for gi in &goroutines {
            let name = gi
                .name
                .as_deref()
                .map(|n| format!(" [{n}]"))
                .unwrap_or_default();
            match &gi.created_at {
                Some(at) => notes.push(format!(
                    "goroutine {}{name} was created at {at} by goroutine {}",
                    gi.id,
                    gi.parent.unwrap_or(0)
                )),
                None => notes.push(format!("goroutine {}{name} is the main goroutine", gi.id)),
            }
        }
        let f = Finding {
            schema: SCHEMA.to_string(),
            kind,
            observed,
            message,
            primary,
            related,
            goroutines,
            notes,
            help,
            seed: self.seed,
            schedule: self.schedule,
            test: None,
            expected: false,
            shrink: None,
        };
        if self.seen.insert(f.key()) {
            self.findings.push(f);
        }
    }

    fn info(&self, id: Gid) -> GoroutineInfo {
        match self.gs.get(&id) {
            Some(g) => GoroutineInfo {
                id,
                name: g.name.clone(),
                parent: g.parent,
                created_at: g.created_at.map(|l| l.to_string()),
            },
            None => GoroutineInfo {
                id,
                name: None,
                parent: None,
                created_at: None,
            },
        }
    }
}

/// `goro::shared::Shared<alloc::string::String>` as users write it:
/// `Shared<String>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for ch in full.chars() {
        if ch.is_alphanumeric() || ch == '_' || ch == ':' {
            segment.push(ch);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(&segment));
            segment.clear();
            out.push(ch);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(&segment));
    out
}

/// Goroutine ids start at 1; clock indices at 0.
fn clock_index(g: Gid) -> u32 {
    u32::try_from(g.saturating_sub(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod name_tests {
    #[test]
    fn short_type_names() {
        assert_eq!(
            super::short_type_name("goro::shared::Shared<alloc::string::String>"),
            "Shared<String>"
        );
        assert_eq!(super::short_type_name("u64"), "u64");
        assert_eq!(
            super::short_type_name(
                "std::collections::HashMap<u8, (i32, core::option::Option<u8>)>"
            ),
            "HashMap<u8, (i32, Option<u8>)>"
        );
    }
}
