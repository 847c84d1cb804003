//! Blocking bugs: goroutine leaks, deadlocks (whole-program and partial)
//! and lock-order inversions.
//!
//! Leaks and deadlocks are judged on the state a schedule ends in (the
//! runtime says what each goroutine left is blocked on); partial deadlocks as
//! they form, from lock waits; lock-order inversions from the lock-acquisition
//! graph, whether or not this schedule deadlocked. Graph cycles come from
//! petgraph.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use super::{Engine, Frames};
use crate::event::{Blocked, Gid, Loc, ObjId, Wait};
use crate::finding::{FindingKind, Site};
use crate::vv::VClock;

/// How a schedule ended, as the runtime saw it.
///
/// # Examples
///
/// ```
/// use goro_analyzer::engine::{EndState, Held};
/// use goro_analyzer::event::{Blocked, Loc, ObjId, Wait};
///
/// // Main waits to receive on channel 7, whose other handle goroutine 2
/// // (blocked too) still held.
/// let end = EndState {
///     main_done: false,
///     blocked: vec![Blocked { g: 1, wait: Wait::Recv { ch: ObjId(7), senders: 2 }, loc: Loc::UNKNOWN }],
///     held: Some(vec![Held { g: 2, ch: ObjId(7), send: true, recv: true }]),
///     running: Vec::new(),
/// };
/// assert!(!end.main_done);
/// ```
#[derive(Clone, Debug, Default)]
pub struct EndState {
    /// The main goroutine returned.
    pub main_done: bool,
    /// Every goroutine still blocked (nothing could run, no timer was due).
    pub blocked: Vec<Blocked>,
    /// The channel handles each goroutine left blocked still held, when the
    /// runtime knows them (it drops each goroutine in turn and sees which
    /// handles go with it): the goroutines that could complete another's
    /// channel operation. `None`: unknown; the goroutines that used a
    /// channel stand in for its holders.
    pub held: Option<Vec<Held>>,
    /// Goroutines that could still run (or wait for timers or the outside
    /// world) when the runtime proved the `blocked` ones, main among them,
    /// can never be woken: a deadlock Go would not report. Empty when
    /// nothing could run.
    pub running: Vec<Gid>,
}

/// A channel handle that a goroutine held when its schedule ended.
///
/// # Examples
///
/// ```
/// use goro_analyzer::engine::Held;
/// use goro_analyzer::event::ObjId;
///
/// // A `Receiver`: it can receive, not send or close.
/// let h = Held { g: 3, ch: ObjId(1), send: false, recv: true };
/// assert!(h.recv && !h.send);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Held {
    /// The goroutine.
    pub g: Gid,
    /// The channel.
    pub ch: ObjId,
    /// The handle can send and close (`Chan`, `Sender`).
    pub send: bool,
    /// The handle can receive (`Chan`, `Receiver`).
    pub recv: bool,
}

/// One way an edge `held → acquired` of the lock graph was made.
#[derive(Clone, Debug)]
pub(super) struct LockEdge {
    g: Gid,
    held_at: Loc,
    acquired_at: Loc,
    /// Whether the held lock and the acquired one were read locks of an
    /// RwLock: two read locks of one lock do not exclude each other.
    held_shared: bool,
    acquired_shared: bool,
    /// Other locks held at the time: a common one serializes two edges.
    gates: BTreeSet<ObjId>,
    /// The acquiring goroutine's epoch, and its clock from before it took
    /// the held lock: happens-before between edges must not come through
    /// the cycle's own locks (a schedule that did not deadlock orders them
    /// that way).
    clk: u32,
    clock: VClock,
    frames: Frames,
}

/// Lock bookkeeping for the blocking checks.
#[derive(Default)]
pub(super) struct Locks {
    /// Who holds each lock, and where they took it.
    holders: BTreeMap<ObjId, Vec<(Gid, Loc)>>,
    /// Locks each goroutine holds, in acquisition order, with its clock from
    /// just before it took each (what it knew without the lock's own edge)
    /// and whether it holds it shared (a read lock).
    held: BTreeMap<Gid, Vec<(ObjId, Loc, VClock, bool)>>,
    /// Write locks of each RwLock (a few, from different goroutines): a
    /// writer queued between two read locks makes the second one wait.
    writers: BTreeMap<ObjId, Vec<Writer>>,
    /// The lock each goroutine is waiting for.
    waiting: BTreeMap<Gid, (ObjId, Loc)>,
    /// The lock-acquisition graph: up to a few witnesses per edge.
    edges: BTreeMap<(ObjId, ObjId), Vec<LockEdge>>,
    /// Goroutines seen in a partial deadlock already.
    deadlocked: BTreeSet<Gid>,
}

/// A write lock of an RwLock, as a witness that a writer can queue between
/// two read locks.
#[derive(Clone, Debug)]
pub(super) struct Writer {
    g: Gid,
    at: Loc,
    /// Its epoch, and its clock from before it took the lock (as for
    /// [`LockEdge`]).
    clk: u32,
    clock: VClock,
}

const WITNESSES: usize = 4;

/// How many witness combinations a cycle may try before it is given up
/// (unreported): a bound on the search, never a guess.
const SEARCH_BUDGET: usize = 4096;

impl Engine {
    /// `g` acquired Mutex `obj` at `loc`: lock-order edges from every lock
    /// it holds. `pre` is `g`'s clock before the lock's own acquire edge.
    pub(super) fn lock_acquired(&mut self, g: Gid, obj: ObjId, loc: Loc, pre: VClock) {
        self.acquired(g, obj, loc, pre, false);
    }

    /// `g` took a read lock of RwLock `obj`: like [`Self::lock_acquired`],
    /// but shared.
    pub(super) fn read_lock_acquired(&mut self, g: Gid, obj: ObjId, loc: Loc, pre: VClock) {
        self.acquired(g, obj, loc, pre, true);
    }

    /// `g` took the write lock of RwLock `obj`: exclusive, and a writer that
    /// can come between two read locks of it.
    pub(super) fn write_lock_acquired(&mut self, g: Gid, obj: ObjId, loc: Loc, pre: VClock) {
        let clk = self.g(g).own;
        let w = self.locks.writers.entry(obj).or_default();
        if w.len() < WITNESSES && !w.iter().any(|x| x.g == g) {
            w.push(Writer {
                g,
                at: loc,
                clk,
                clock: pre.clone(),
            });
        }
        self.acquired(g, obj, loc, pre, false);
    }

    fn acquired(&mut self, g: Gid, obj: ObjId, loc: Loc, pre: VClock, shared: bool) {
        let clk = self.g(g).own;
        let frames = self.g(g).frames();
        let locks = &mut self.locks;
        locks.waiting.remove(&g);
        let held = locks.held.entry(g).or_default();
        let all: BTreeSet<ObjId> = held.iter().map(|(o, _, _, _)| *o).collect();
        for (a, held_at, held_pre, held_shared) in held.iter() {
            let (a, held_at) = (*a, *held_at);
            if a == obj {
                continue;
            }
            let w = locks.edges.entry((a, obj)).or_default();
            if w.len() < WITNESSES && !w.iter().any(|e| e.g == g) {
                let mut gates = all.clone();
                gates.remove(&a);
                w.push(LockEdge {
                    g,
                    held_at,
                    acquired_at: loc,
                    held_shared: *held_shared,
                    acquired_shared: shared,
                    gates,
                    clk,
                    clock: held_pre.clone(),
                    frames: frames.clone(),
                });
            }
        }
        held.push((obj, loc, pre, shared));
        locks.holders.entry(obj).or_default().push((g, loc));
    }

    /// `g` released lock `obj`.
    pub(super) fn lock_released(&mut self, g: Gid, obj: ObjId) {
        let locks = &mut self.locks;
        if let Some(h) = locks.held.get_mut(&g) {
            if let Some(i) = h.iter().rposition(|(o, _, _, _)| *o == obj) {
                h.remove(i);
            }
        }
        if let Some(h) = locks.holders.get_mut(&obj) {
            // A guard may be dropped by another goroutine than the locker.
            let i = h.iter().position(|(x, _)| *x == g).unwrap_or(0);
            if !h.is_empty() {
                h.remove(i);
            }
        }
    }

    /// `g` waits for lock `obj` at `loc`: if the chain of holders waiting for
    /// locks leads back to `g`, those goroutines are deadlocked now, even if
    /// others still run.
    pub(super) fn lock_wait(&mut self, g: Gid, obj: ObjId, loc: Loc) {
        self.locks.waiting.insert(g, (obj, loc));
        let mut chain: Vec<(Gid, ObjId, Loc, Gid, Loc)> = Vec::new();
        let (mut cur, mut want, mut want_at) = (g, obj, loc);
        for _ in 0..64 {
            let Some(&(holder, held_at)) = self
                .locks
                .holders
                .get(&want)
                .and_then(|h| h.iter().find(|(x, _)| *x != cur))
            else {
                return;
            };
            chain.push((cur, want, want_at, holder, held_at));
            if holder == g {
                break;
            }
            match self.locks.waiting.get(&holder) {
                Some(&(next, next_at)) => (cur, want, want_at) = (holder, next, next_at),
                None => return,
            }
        }
        if chain.last().map(|c| c.3) != Some(g)
            || chain.iter().any(|c| self.locks.deadlocked.contains(&c.0))
        {
            return;
        }
        for c in &chain {
            self.locks.deadlocked.insert(c.0);
        }
        let primary = self.site(g, loc, "lock");
        let mut related = Vec::new();
        let mut notes = Vec::new();
        for &(waiter, _, want_at, holder, held_at) in &chain {
            if waiter != g {
                related.push(self.site(waiter, want_at, "lock"));
            }
            related.push(self.site(holder, held_at, "locked here"));
            notes.push(format!(
                "goroutine {waiter}{} waits at {want_at} for a lock that goroutine {holder}{} \
                 took at {held_at}",
                self.name_suffix(waiter),
                self.name_suffix(holder)
            ));
        }
        notes.push(
            "these goroutines wait for each other in a cycle: none can ever proceed, \
             even while other goroutines still run (a partial deadlock)"
                .into(),
        );
        self.report(
            FindingKind::Deadlock,
            true,
            format!(
                "deadlock: {} goroutines wait for each other's locks",
                chain.len()
            ),
            primary,
            related,
            notes,
            "take the locks in one global order in every goroutine, or hold one lock at a time"
                .into(),
        );
    }

    pub(super) fn name_suffix(&self, g: Gid) -> String {
        self.gs
            .get(&g)
            .and_then(|x| x.name.as_deref())
            .map(|n| format!(" [{n}]"))
            .unwrap_or_default()
    }

    /// Reports the end of a schedule: leaks (main returned, others blocked
    /// forever), deadlocks (main blocked, nothing can run), and the
    /// lock-order inversions of the whole schedule.
    pub fn finish(&mut self, end: &EndState) {
        if end.main_done {
            for b in &end.blocked {
                self.report_leak(b, end);
            }
        } else if !end.blocked.is_empty() {
            self.report_deadlock(end);
        }
        self.report_lock_order();
    }

    fn describe(&self, w: &Wait) -> (String, &'static str) {
        match w {
            Wait::Recv { .. } => ("receiving from a channel".into(), "recv"),
            Wait::Send { .. } => ("sending on a channel".into(), "send"),
            Wait::Select { cases } => (
                format!("in a select over {} channel operation(s)", cases.len()),
                "select",
            ),
            Wait::Lock { .. } => ("locking a mutex".into(), "lock"),
            Wait::WaitGroup { counter, .. } => (
                format!("in WaitGroup.wait with the counter at {counter}"),
                "wait",
            ),
            Wait::Cond { .. } => ("in Cond.wait".into(), "cond wait"),
            Wait::Join { g } => (format!("joining goroutine {g}"), "join"),
            Wait::Sleep => ("sleeping past the end of the program".into(), "sleep"),
            Wait::Forever => ("waiting on something that never completes".into(), "wait"),
            Wait::Unknown => ("waiting on a future goro does not know".into(), "await"),
        }
    }

    /// Why nothing can wake a blocked goroutine, from handle counts and who
    /// is left: a proof where the counts give one.
    fn why_stuck(&self, b: &Blocked, end: &EndState) -> Vec<String> {
        let mut notes = Vec::new();
        let others_blocked = end.blocked.len().saturating_sub(1);
        match &b.wait {
            Wait::Recv { senders, .. } => {
                if *senders <= 1 {
                    notes.push(format!(
                        "it can never be woken: {} handle that can send on or close the channel \
                         remains{}",
                        senders,
                        if *senders == 1 {
                            " (its own), and no other goroutine holds one"
                        } else {
                            ""
                        }
                    ));
                } else {
                    notes.push(format!(
                        "it can never be woken: {senders} handles that can send on or close the \
                         channel remain, but every goroutine that could use them has returned or \
                         is blocked ({others_blocked} other goroutine(s) blocked) and no timer \
                         is pending"
                    ));
                }
            }
            Wait::Send { receivers, .. } => notes.push(format!(
                "it can never be woken: {receivers} handle(s) that can receive remain, and every \
                 goroutine that could use them has returned or is blocked; no timer is pending"
            )),
            Wait::Select { cases } => {
                for (ch, send, peers) in cases {
                    notes.push(format!(
                        "case {} on channel #{}: {peers} handle(s) on the other side remain",
                        if *send { "send" } else { "recv" },
                        ch.0
                    ));
                }
                notes.push(
                    "no case can ever become ready: every goroutine that could complete one has \
                     returned or is blocked, and no timer is pending"
                        .into(),
                );
            }
            Wait::Lock { obj } => match self.locks.holders.get(obj).and_then(|h| h.first()) {
                Some(&(h, at)) if !self.gs.contains_key(&h) || self.ended(h) => {
                    notes.push(format!(
                    "it can never be woken: the mutex was locked at {at} by goroutine {h}, which \
                     has exited without unlocking it"
                ))
                }
                Some(&(h, at)) => notes.push(format!(
                    "the mutex is held by goroutine {h}{} (locked at {at}), which is blocked too",
                    self.name_suffix(h)
                )),
                None => notes.push("the mutex is held and nothing will unlock it".into()),
            },
            Wait::WaitGroup { counter, .. } => notes.push(format!(
                "it can never be woken: {counter} done() call(s) are missing, and no goroutine \
                 that could make them is running"
            )),
            _ => notes
                .push("nothing can wake it: no goroutine can run and no timer is pending".into()),
        }
        notes
    }

    fn creation_site(&self, g: Gid) -> Option<Site> {
        let x = self.gs.get(&g)?;
        let at = x.created_at?;
        let parent = x.parent?;
        Some(self.site(parent, at, "go"))
    }

    fn report_leak(&mut self, b: &Blocked, end: &EndState) {
        let (what, op) = self.describe(&b.wait);
        let primary = self.site(b.g, b.loc, op);
        // Who created it, and where: the one related site.
        let related: Vec<Site> = self.creation_site(b.g).into_iter().collect();
        let mut notes = vec![format!(
            "goroutine {}{} is still blocked {what} when the program ends",
            b.g,
            self.name_suffix(b.g)
        )];
        notes.extend(self.why_stuck(b, end));
        self.report(
            FindingKind::GoroutineLeak,
            true,
            format!(
                "goroutine {}{} leaked: blocked forever {what}",
                b.g,
                self.name_suffix(b.g)
            ),
            primary,
            related,
            notes,
            "give every goroutine an exit path: select on ctx.done() (or a quit channel) beside \
             the operation, close the channel when the sender is done, or make the channel big \
             enough for every result"
                .into(),
        );
    }

    fn ended(&self, g: Gid) -> bool {
        self.ends.contains_key(&g)
    }

    /// Who could unblock `b`: lock holders, joined goroutines, the other
    /// side of channels (the goroutines holding a handle of the other
    /// direction, or, when the runtime did not say, those that used it),
    /// WaitGroup adders.
    fn could_unblock(&self, b: &Blocked, end: &EndState) -> Vec<Gid> {
        let chan_peers = |ch: &ObjId, send: bool| -> Vec<Gid> {
            if let Some(held) = &end.held {
                return held
                    .iter()
                    .filter(|h| h.ch == *ch && if send { h.recv } else { h.send })
                    .map(|h| h.g)
                    .collect();
            }
            self.chans
                .get(ch)
                .map(|c| {
                    if send {
                        c.receivers_seen.clone()
                    } else {
                        c.senders_seen.clone()
                    }
                })
                .unwrap_or_default()
        };
        let mut out = match &b.wait {
            Wait::Lock { obj } => self
                .locks
                .holders
                .get(obj)
                .map(|h| h.iter().map(|(g, _)| *g).collect())
                .unwrap_or_default(),
            Wait::Join { g } => vec![*g],
            Wait::Recv { ch, .. } => chan_peers(ch, false),
            Wait::Send { ch, .. } => chan_peers(ch, true),
            Wait::Select { cases } => cases
                .iter()
                .flat_map(|(ch, send, _)| chan_peers(ch, *send))
                .collect(),
            Wait::WaitGroup { wg, .. } => self
                .wgs
                .get(wg)
                .map(|w| w.adders.clone())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        out.retain(|&g| g != b.g);
        out.sort_unstable();
        out.dedup();
        out
    }

    fn report_deadlock(&mut self, end: &EndState) {
        let blocked: BTreeMap<Gid, &Blocked> = end.blocked.iter().map(|b| (b.g, b)).collect();
        let mut graph: DiGraphMap<Gid, ()> = DiGraphMap::new();
        for b in &end.blocked {
            graph.add_node(b.g);
            for h in self.could_unblock(b, end) {
                if blocked.contains_key(&h) {
                    graph.add_edge(b.g, h, ());
                }
            }
        }
        // A cycle, if there is one, is the heart of it: the shortest one
        // through the least goroutine of the first strongly connected
        // component, in the direction of its edges.
        let cycle: Vec<Gid> = tarjan_scc(&graph)
            .into_iter()
            .filter(|scc| scc.len() > 1)
            .min_by_key(|scc| scc.iter().min().copied())
            .and_then(|scc| shortest_cycle(&graph, &scc))
            .unwrap_or_default();
        let first = blocked
            .get(&1)
            .copied()
            .unwrap_or_else(|| end.blocked.iter().min_by_key(|b| b.g).expect("non-empty"));
        let (what, op) = self.describe(&first.wait);
        let primary = self.site(first.g, first.loc, op);
        let mut related = Vec::new();
        let mut notes = Vec::new();
        for b in end.blocked.iter() {
            let (w, op) = self.describe(&b.wait);
            if b.g != first.g {
                related.push(self.site(b.g, b.loc, op));
            }
            let waits_for = self.could_unblock(b, end);
            let on = if waits_for.is_empty() {
                String::new()
            } else {
                format!(
                    ", waiting for goroutine(s) {}",
                    waits_for
                        .iter()
                        .map(|g| format!("{g}{}", self.name_suffix(*g)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            notes.push(format!(
                "goroutine {}{} is blocked {w} at {}{on}",
                b.g,
                self.name_suffix(b.g),
                b.loc
            ));
        }
        if cycle.len() > 1 {
            notes.push(format!(
                "wait-for cycle: {} -> {}",
                cycle
                    .iter()
                    .map(|g| format!("goroutine {g}"))
                    .collect::<Vec<_>>()
                    .join(" -> "),
                cycle[0]
            ));
        } else if end.running.is_empty() {
            notes.push(
                "no goroutine that could unblock the others is left running, and no timer is \
                 pending"
                    .into(),
            );
        }
        let message = if end.running.is_empty() {
            format!(
                "all goroutines are asleep: deadlock ({} blocked, main {what})",
                end.blocked.len()
            )
        } else {
            let running: Vec<String> = end
                .running
                .iter()
                .map(|g| format!("{g}{}", self.name_suffix(*g)))
                .collect();
            notes.push(format!(
                "goroutine(s) {} still run (or wait for timers past the grace period, the \
                 outside world, or what goro cannot prove stuck), but none of them can ever \
                 wake the blocked ones: each of those waits on channel operations whose every \
                 handle that could complete them is held by a blocked goroutine itself \
                 (handle counts and handle ownership prove it), on a goroutine that never \
                 returns, or on nothing that can wake it at all",
                running.join(", ")
            ));
            notes.push(
                "Go would not report this: its runtime sees a deadlock only once every \
                 goroutine is asleep and no timer is pending"
                    .into(),
            );
            format!(
                "deadlock: main can never proceed ({} goroutine(s) blocked forever, main {what}; \
                 {} other(s) still running)",
                end.blocked.len(),
                end.running.len()
            )
        };
        self.report(
            FindingKind::Deadlock,
            true,
            message,
            primary,
            related,
            notes,
            "make sure every blocking operation has a partner that will run: a receiver for \
             every send, a done() for every add(), an unlock for every lock"
                .into(),
        );
    }

    /// Cycles of the lock-acquisition graph whose edges come from different
    /// goroutines, with no common lock held around them and no
    /// happens-before ordering between them: each such cycle can deadlock
    /// in some schedule.
    fn report_lock_order(&mut self) {
        let mut graph: DiGraphMap<ObjId, ()> = DiGraphMap::new();
        for &(a, b) in self.locks.edges.keys() {
            graph.add_edge(a, b, ());
        }
        let mut found = Vec::new();
        for scc in tarjan_scc(&graph) {
            if scc.len() < 2 {
                continue;
            }
            let scc: BTreeSet<ObjId> = scc.into_iter().collect();
            // Every 2-cycle in the component, then one longer cycle.
            for &a in &scc {
                for &b in &scc {
                    if a < b && graph.contains_edge(a, b) && graph.contains_edge(b, a) {
                        found.push(vec![a, b]);
                    }
                }
            }
            if found.is_empty() {
                if let Some(c) = simple_cycle(&graph, &scc) {
                    found.push(c);
                }
            }
        }
        for cycle in found {
            self.report_cycle(&cycle);
        }
    }

    fn report_cycle(&mut self, cycle: &[ObjId]) {
        // One witness per edge, from pairwise different goroutines, that
        // can all be blocked at once: no common lock held around two of
        // them, no happens-before between them, and at every lock of the
        // cycle a holder and a waiter that exclude each other.
        let n = cycle.len();
        let mut chosen: Vec<LockEdge> = Vec::new();
        let mut writers: Vec<Option<Writer>> = Vec::new();
        let mut budget = SEARCH_BUDGET;
        if !self.pick_witnesses(cycle, &mut chosen, &mut writers, &mut budget) {
            return;
        }
        let first = &chosen[0];
        let primary = self.site_at(first.g, first.acquired_at, "lock", &first.frames);
        let mut related = vec![self.site_at(first.g, first.held_at, "holding", &first.frames)];
        let mut notes = Vec::new();
        for (i, w) in chosen.iter().enumerate() {
            if i > 0 {
                related.push(self.site_at(w.g, w.held_at, "holding", &w.frames));
                related.push(self.site_at(w.g, w.acquired_at, "lock", &w.frames));
            }
            notes.push(format!(
                "goroutine {}{} locks lock #{} at {} while holding lock #{} (locked at {})",
                w.g,
                self.name_suffix(w.g),
                cycle[(i + 1) % n].0,
                w.acquired_at,
                cycle[i].0,
                w.held_at
            ));
        }
        for (i, w) in writers.iter().enumerate() {
            if let Some(w) = w {
                notes.push(format!(
                    "lock #{} is read-locked on both sides, which alone cannot block; but \
                     goroutine {}{} write-locks it at {}, and a writer waiting for the first \
                     reader makes the second one wait behind it",
                    cycle[i].0,
                    w.g,
                    self.name_suffix(w.g),
                    w.at
                ));
            }
        }
        notes.push(
            "nothing orders these acquisitions (no common lock held around them, no \
             happens-before edge): in some schedule each goroutine holds its first lock and \
             waits for the next forever"
                .into(),
        );
        self.report(
            FindingKind::LockOrderInversion,
            false,
            format!(
                "lock-order inversion: {} locks are taken in a cycle by {} goroutines",
                n, n
            ),
            primary,
            related,
            notes,
            "take the locks in the same order everywhere (or merge them into one lock)".into(),
        );
    }
}

impl Engine {
    /// Extends `chosen` (witnesses of the first `chosen.len()` edges of
    /// `cycle`) to the whole cycle by backtracking; then `writers[i]` is
    /// the writer that lock `cycle[i]` needs when it is read-locked on both
    /// sides. `false` when no choice works or the budget runs out.
    fn pick_witnesses(
        &self,
        cycle: &[ObjId],
        chosen: &mut Vec<LockEdge>,
        writers: &mut Vec<Option<Writer>>,
        budget: &mut usize,
    ) -> bool {
        let n = cycle.len();
        let i = chosen.len();
        if i == n {
            return self.pick_writers(cycle, chosen, writers);
        }
        let Some(ws) = self.locks.edges.get(&(cycle[i], cycle[(i + 1) % n])) else {
            return false;
        };
        for w in ws {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            let fits = chosen
                .iter()
                .all(|c| c.g != w.g && c.gates.is_disjoint(&w.gates) && !edges_ordered(c, w));
            if !fits {
                continue;
            }
            chosen.push(w.clone());
            if self.pick_witnesses(cycle, chosen, writers, budget) {
                return true;
            }
            chosen.pop();
        }
        false
    }

    /// For every lock of the cycle that its holder and its taker both
    /// read-lock (which alone cannot block: read locks share), a writer
    /// that can queue between them, since an RwLock makes new readers wait
    /// behind a waiting writer: a write lock by a goroutine outside the
    /// cycle, unordered with every edge of it, a different one per lock.
    /// `false` when some lock has none: the cycle cannot deadlock.
    fn pick_writers(
        &self,
        cycle: &[ObjId],
        chosen: &[LockEdge],
        writers: &mut Vec<Option<Writer>>,
    ) -> bool {
        let n = cycle.len();
        writers.clear();
        for i in 0..n {
            // Lock i is held by witness i and taken by the one before it.
            let (holder, taker) = (&chosen[i], &chosen[(i + n - 1) % n]);
            if !(holder.held_shared && taker.acquired_shared) {
                writers.push(None);
                continue;
            }
            let pick = self.locks.writers.get(&cycle[i]).and_then(|ws| {
                ws.iter()
                    .find(|w| {
                        chosen.iter().all(|c| c.g != w.g && !writer_ordered(w, c))
                            && writers.iter().flatten().all(|x| x.g != w.g)
                    })
                    .cloned()
            });
            match pick {
                Some(w) => writers.push(Some(w)),
                None => return false,
            }
        }
        true
    }
}

/// Whether happens-before orders two edges (not through the cycle's own
/// locks: each edge's clock is from before it took its held lock).
fn edges_ordered(x: &LockEdge, y: &LockEdge) -> bool {
    y.clock.get(idx(x.g)) >= x.clk || x.clock.get(idx(y.g)) >= y.clk
}

/// Whether happens-before orders a write lock and an edge.
fn writer_ordered(w: &Writer, x: &LockEdge) -> bool {
    w.clock.get(idx(x.g)) >= x.clk || x.clock.get(idx(w.g)) >= w.clk
}

fn idx(g: Gid) -> u32 {
    u32::try_from(g.saturating_sub(1)).unwrap_or(u32::MAX)
}

/// The shortest cycle through the least node of `scc` (a strongly
/// connected component of `graph`), following edge directions, starting
/// there.
fn shortest_cycle(graph: &DiGraphMap<Gid, ()>, scc: &[Gid]) -> Option<Vec<Gid>> {
    let start = *scc.iter().min()?;
    let inside: BTreeSet<Gid> = scc.iter().copied().collect();
    // Breadth first from `start`, remembering how each node was reached.
    let mut from: BTreeMap<Gid, Gid> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(cur) = queue.pop_front() {
        let mut next: Vec<Gid> = graph
            .neighbors(cur)
            .filter(|n| inside.contains(n))
            .collect();
        next.sort_unstable();
        for n in next {
            if n == start {
                let mut path = vec![cur];
                while let Some(&p) = from.get(path.last()?) {
                    path.push(p);
                }
                if *path.last()? != start {
                    path.push(start);
                }
                path.reverse();
                path.dedup();
                return Some(path);
            }
            if n != start && !from.contains_key(&n) {
                from.insert(n, cur);
                queue.push_back(n);
            }
        }
    }
    None
}

/// A simple cycle inside a strongly connected component.
fn simple_cycle(graph: &DiGraphMap<ObjId, ()>, scc: &BTreeSet<ObjId>) -> Option<Vec<ObjId>> {
    let start = *scc.iter().next()?;
    let mut path = vec![start];
    let mut seen = BTreeSet::from([start]);
    loop {
        let cur = *path.last()?;
        if graph.contains_edge(cur, start) && path.len() > 1 {
            return Some(path);
        }
        let next = graph
            .neighbors(cur)
            .filter(|n| scc.contains(n) && !seen.contains(n))
            .min()?;
        seen.insert(next);
        path.push(next);
    }
}
