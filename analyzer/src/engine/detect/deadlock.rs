//! Deadlocks: main can never proceed (judged on the state a schedule ends
//! in: every goroutine blocked, or main provably never woken while others
//! run), and partial deadlocks as they form, from lock waits (a cycle of
//! goroutines each waiting for a lock the next one holds). A schedule the
//! step limit cut short (a goroutine running forever) ends with the
//! goroutines the scheduler proved can never wake, if any, main among them
//! or not: a partial deadlock when main is not. Graph cycles come from
//! petgraph.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use crate::event::{Blocked, Event, Gid, Loc, ObjId, Op, Wait};
use crate::finding::FindingKind;

use super::super::findings::{name_suffix, site, Findings, Report};
use super::super::hb::Hb;
use super::super::EndState;
use super::blocked::{could_unblock, describe};
use super::Detector;

/// What a deadlock is.
pub(crate) const DESCRIPTION: &str =
    "Main can never proceed: every goroutine blocked with no timer pending, or main \
     provably never woken while others run.";

/// Lock waits, for partial deadlocks.
#[derive(Default)]
pub(crate) struct Deadlock {
    /// The lock each goroutine is waiting for.
    waiting: BTreeMap<Gid, (ObjId, Loc)>,
    /// Goroutines seen in a partial deadlock already.
    deadlocked: BTreeSet<Gid>,
}

impl Detector for Deadlock {
    // Its `on_event` ignores sends, receives and rendezvous.
    const SEES_TRANSFERS: bool = false;

    #[inline(always)]
    fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
        match &ev.op {
            Op::Lock { .. } | Op::RLock { .. } | Op::WLock { .. } => {
                self.waiting.remove(&ev.g);
            }
            Op::LockWait { obj } => self.lock_wait(hb, ev.g, *obj, ev.loc, out),
            _ => {}
        }
    }

    fn on_finish(&mut self, hb: &Hb, end: &EndState, out: &mut Findings) {
        if !end.main_done && !end.blocked.is_empty() {
            report_end(hb, end, out);
        }
    }
}

impl Deadlock {
    /// `g` waits for lock `obj` at `loc`: if the chain of holders waiting for
    /// locks leads back to `g`, those goroutines are deadlocked now, even if
    /// others still run.
    fn lock_wait(&mut self, hb: &Hb, g: Gid, obj: ObjId, loc: Loc, out: &mut Findings) {
        self.waiting.insert(g, (obj, loc));
        let mut chain: Vec<(Gid, ObjId, Loc, Gid, Loc)> = Vec::new();
        let (mut cur, mut want, mut want_at) = (g, obj, loc);
        for _ in 0..64 {
            let Some(&(holder, held_at)) = hb.lock_holders(want).iter().find(|(x, _)| *x != cur)
            else {
                return;
            };
            chain.push((cur, want, want_at, holder, held_at));
            if holder == g {
                break;
            }
            match self.waiting.get(&holder) {
                Some(&(next, next_at)) => (cur, want, want_at) = (holder, next, next_at),
                None => return,
            }
        }
        if chain.last().map(|c| c.3) != Some(g)
            || chain.iter().any(|c| self.deadlocked.contains(&c.0))
        {
            return;
        }
        for c in &chain {
            self.deadlocked.insert(c.0);
        }
        let primary = site(hb, g, loc, "lock");
        let mut related = Vec::new();
        let mut notes = Vec::new();
        for &(waiter, _, want_at, holder, held_at) in &chain {
            if waiter != g {
                related.push(site(hb, waiter, want_at, "lock"));
            }
            related.push(site(hb, holder, held_at, "locked here"));
            notes.push(format!(
                "goroutine {waiter}{} waits at {want_at} for a lock that goroutine {holder}{} \
                 took at {held_at}",
                name_suffix(hb, waiter),
                name_suffix(hb, holder)
            ));
        }
        notes.push(
            "these goroutines wait for each other in a cycle: none can ever proceed, \
             even while other goroutines still run (a partial deadlock)"
                .into(),
        );
        out.report(
            hb,
            Report {
                kind: FindingKind::Deadlock,
                observed: true,
                message: format!(
                    "deadlock: {} goroutines wait for each other's locks",
                    chain.len()
                ),
                primary,
                related,
                notes,
                help: "take the locks in one global order in every goroutine, or hold one lock \
                       at a time"
                    .into(),
            },
        );
    }
}

/// Main blocked and nothing can wake it.
fn report_end(hb: &Hb, end: &EndState, out: &mut Findings) {
    let blocked: BTreeMap<Gid, &Blocked> = end.blocked.iter().map(|b| (b.g, b)).collect();
    let mut graph: DiGraphMap<Gid, ()> = DiGraphMap::new();
    for b in &end.blocked {
        graph.add_node(b.g);
        for h in could_unblock(hb, b, end) {
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
        .get(&Gid::MAIN)
        .copied()
        .unwrap_or_else(|| end.blocked.iter().min_by_key(|b| b.g).expect("non-empty"));
    let (what, op) = describe(&first.wait);
    let primary = site(hb, first.g, first.loc, op);
    let mut related = Vec::new();
    let mut notes = Vec::new();
    for b in end.blocked.iter() {
        let (w, op) = describe(&b.wait);
        if b.g != first.g {
            related.push(site(hb, b.g, b.loc, op));
        }
        if let Wait::Lock { obj } = &b.wait {
            // Locked again by the goroutine that holds it: its own lock
            // site is where the deadlock began.
            if let Some(&(_, at)) = hb.lock_holders(*obj).iter().find(|(h, _)| *h == b.g) {
                related.push(site(hb, b.g, at, "locked here"));
                notes.push(format!(
                    "goroutine {}{} waits for a lock that it took itself at {at} and that \
                     nothing unlocked since: a mutex is not reentrant",
                    b.g,
                    name_suffix(hb, b.g)
                ));
            }
        }
        let waits_for = could_unblock(hb, b, end);
        let on = if waits_for.is_empty() {
            String::new()
        } else {
            format!(
                ", waiting for goroutine(s) {}",
                waits_for
                    .iter()
                    .map(|g| format!("{g}{}", name_suffix(hb, *g)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        notes.push(format!(
            "goroutine {}{} is blocked {w} at {}{on}",
            b.g,
            name_suffix(hb, b.g),
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
             pending that could (goro's own timers, a ticker's or a deadline's, only send on \
             their channels or cancel)"
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
            .map(|g| format!("{g}{}", name_suffix(hb, *g)))
            .collect();
        notes.push(format!(
            "goroutine(s) {} still run (or wait for timers past the grace period, the \
             outside world, or what goro cannot prove stuck), but none of them can ever \
             wake the blocked ones: each of those waits on channel operations whose every \
             handle that could complete them (a Timer or Ticker that could be reset \
             counts as one) is held by a blocked goroutine itself (handle counts and \
             handle ownership prove it), on a WaitGroup whose every handle is held by a \
             blocked goroutine's own wait (nothing can call done()), on a lock inside its \
             own goroutine, on a goroutine that never returns, or on nothing that can wake \
             it at all",
            running.join(", ")
        ));
        notes.push(
            "Go would not report this: its runtime sees a deadlock only once every \
             goroutine is asleep and no timer is pending"
                .into(),
        );
        if first.g == Gid::MAIN {
            format!(
                "deadlock: main can never proceed ({} goroutine(s) blocked forever, main \
                 {what}; {} other(s) still running)",
                end.blocked.len(),
                end.running.len()
            )
        } else {
            format!(
                "deadlock: goroutine {}{} can never proceed ({} goroutine(s) blocked \
                 forever, it {what}; {} other(s), main among them, still running)",
                first.g,
                name_suffix(hb, first.g),
                end.blocked.len(),
                end.running.len()
            )
        }
    };
    out.report(
        hb,
        Report {
            kind: FindingKind::Deadlock,
            observed: true,
            message,
            primary,
            related,
            notes,
            help: "make sure every blocking operation has a partner that will run: a receiver \
                   for every send, a done() for every add(), an unlock for every lock"
                .into(),
        },
    );
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
