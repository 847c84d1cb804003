//! Lock-order inversions: cycles of the lock-acquisition graph whose edges
//! come from different goroutines, with no common lock held around them and
//! no happens-before ordering between them: each can deadlock in some
//! schedule, whether or not this one did. Judged at the end of a schedule,
//! on the whole graph.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use crate::event::{Event, Gid, Loc, ObjId, Op};
use crate::finding::FindingKind;
use crate::vv::VClock;

use super::super::findings::{name_suffix, site_at, Findings, Report};
use super::super::hb::{clock_index, ClockParts, Frames, Hb};
use super::super::table::Table;
use super::super::EndState;
use super::Detector;

/// What a lock-order inversion is.
pub(crate) const DESCRIPTION: &str =
    "Locks acquired in opposite orders by goroutines no common lock orders.";

/// One way an edge `held → acquired` of the lock graph was made.
#[derive(Clone, Debug)]
struct LockEdge {
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

/// A write lock of an RwLock, as a witness that a writer can queue between
/// two read locks.
#[derive(Clone, Debug)]
struct Writer {
    g: Gid,
    at: Loc,
    /// Its epoch, and its clock from before it took the lock (as for
    /// [`LockEdge`]).
    clk: u32,
    clock: VClock,
}

/// A lock a goroutine holds.
struct HeldLock {
    obj: ObjId,
    at: Loc,
    /// The goroutine's clock from just before it took the lock (what it
    /// knew without the lock's own edge), kept in parts: folded into one
    /// clock only for an edge, when a second lock is taken while this one
    /// is held (most locks never see one).
    pre: ClockParts,
    /// Whether it holds it shared (a read lock).
    shared: bool,
}

const WITNESSES: usize = 4;

/// How many witness combinations a cycle may try before it is given up
/// (unreported): a bound on the search, never a guess.
const SEARCH_BUDGET: usize = 4096;

/// The lock-acquisition graph.
#[derive(Default)]
pub(crate) struct LockOrder {
    /// Locks each goroutine holds, in acquisition order.
    held: Table<Vec<HeldLock>>,
    /// Write locks of each RwLock (a few, from different goroutines): a
    /// writer queued between two read locks makes the second one wait.
    writers: BTreeMap<ObjId, Vec<Writer>>,
    /// Up to a few witnesses per edge.
    edges: BTreeMap<(ObjId, ObjId), Vec<LockEdge>>,
}

impl Detector for LockOrder {
    // Its `on_event` ignores sends, receives and rendezvous.
    const SEES_TRANSFERS: bool = false;

    #[inline(always)]
    fn on_event(&mut self, hb: &Hb, ev: &Event, _out: &mut Findings) {
        match &ev.op {
            Op::Lock { obj } => self.acquired(hb, ev.g, *obj, ev.loc, false),
            Op::RLock { obj } => self.acquired(hb, ev.g, *obj, ev.loc, true),
            Op::WLock { obj } => {
                // Exclusive, and a writer that can come between two read
                // locks of it.
                let (g, clk) = (ev.g, hb.epoch(ev.g, ev.loc).clk);
                let w = self.writers.entry(*obj).or_default();
                if w.len() < WITNESSES && !w.iter().any(|x| x.g == g) {
                    w.push(Writer {
                        g,
                        at: ev.loc,
                        clk,
                        clock: hb.clock(g),
                    });
                }
                self.acquired(hb, g, *obj, ev.loc, false);
            }
            Op::Unlock { obj } | Op::RUnlock { obj } | Op::WUnlock { obj } => {
                let h = self.held.get_or_insert_with(ev.g, Vec::new);
                if let Some(i) = h.iter().rposition(|x| x.obj == *obj) {
                    h.remove(i);
                }
            }
            _ => {}
        }
    }

    fn on_finish(&mut self, hb: &Hb, _end: &EndState, out: &mut Findings) {
        self.report_cycles(hb, out);
    }
}

impl LockOrder {
    /// `g` acquired `obj` at `loc` (`shared`: a read lock): edges from every
    /// lock it holds, with its clock from before the lock's own acquire
    /// edge (the core applies it after this).
    fn acquired(&mut self, hb: &Hb, g: Gid, obj: ObjId, loc: Loc, shared: bool) {
        let pre = hb.clock_parts(g);
        let held = self.held.get_or_insert_with(g, Vec::new);
        if !held.is_empty() {
            let e = hb.epoch(g, loc);
            let (clk, frames) = (e.clk, e.frames);
            let all: BTreeSet<ObjId> = held.iter().map(|h| h.obj).collect();
            for h in held.iter() {
                let (a, held_at) = (h.obj, h.at);
                if a == obj {
                    continue;
                }
                let w = self.edges.entry((a, obj)).or_default();
                if w.len() < WITNESSES && !w.iter().any(|e| e.g == g) {
                    let mut gates = all.clone();
                    gates.remove(&a);
                    w.push(LockEdge {
                        g,
                        held_at,
                        acquired_at: loc,
                        held_shared: h.shared,
                        acquired_shared: shared,
                        gates,
                        clk,
                        clock: h.pre.fold(),
                        frames: frames.clone(),
                    });
                }
            }
        }
        held.push(HeldLock {
            obj,
            at: loc,
            pre,
            shared,
        });
    }

    /// Every 2-cycle of each strongly connected component, or else one
    /// longer cycle of it.
    fn report_cycles(&self, hb: &Hb, out: &mut Findings) {
        let mut graph: DiGraphMap<ObjId, ()> = DiGraphMap::new();
        for &(a, b) in self.edges.keys() {
            graph.add_edge(a, b, ());
        }
        let mut found = Vec::new();
        for scc in tarjan_scc(&graph) {
            if scc.len() < 2 {
                continue;
            }
            let scc: BTreeSet<ObjId> = scc.into_iter().collect();
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
            self.report_cycle(hb, &cycle, out);
        }
    }

    fn report_cycle(&self, hb: &Hb, cycle: &[ObjId], out: &mut Findings) {
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
        let primary = site_at(hb, first.g, first.acquired_at, "lock", &first.frames);
        let mut related = vec![site_at(
            hb,
            first.g,
            first.held_at,
            "holding",
            &first.frames,
        )];
        let mut notes = Vec::new();
        for (i, w) in chosen.iter().enumerate() {
            if i > 0 {
                related.push(site_at(hb, w.g, w.held_at, "holding", &w.frames));
                related.push(site_at(hb, w.g, w.acquired_at, "lock", &w.frames));
            }
            notes.push(format!(
                "goroutine {}{} locks lock #{} at {} while holding lock #{} (locked at {})",
                w.g,
                name_suffix(hb, w.g),
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
                    name_suffix(hb, w.g),
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
        out.report(
            hb,
            Report {
                kind: FindingKind::LockOrderInversion,
                observed: false,
                message: format!(
                    "lock-order inversion: {} locks are taken in a cycle by {} goroutines",
                    n, n
                ),
                primary,
                related,
                notes,
                help: "take the locks in the same order everywhere (or merge them into one lock)"
                    .into(),
            },
        );
    }

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
        let Some(ws) = self.edges.get(&(cycle[i], cycle[(i + 1) % n])) else {
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
            let pick = self.writers.get(&cycle[i]).and_then(|ws| {
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
    y.clock.get(clock_index(x.g)) >= x.clk || x.clock.get(clock_index(y.g)) >= y.clk
}

/// Whether happens-before orders a write lock and an edge.
fn writer_ordered(w: &Writer, x: &LockEdge) -> bool {
    w.clock.get(clock_index(x.g)) >= x.clk || x.clock.get(clock_index(w.g)) >= w.clk
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
