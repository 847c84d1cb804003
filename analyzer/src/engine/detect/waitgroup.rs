//! WaitGroup misuse: a negative counter (observed: it panics), a `done` that
//! no `add` funds (predicted: the counter goes negative in another
//! schedule), and an `add` that takes the counter up from zero unordered
//! with a `wait` (Go's "Add called concurrently with Wait": the wait can
//! return before the add).
//!
//! Funding: a `done` (or a negative `add`) needs the adds that happen
//! before it to cover the dones that may run before it. Some schedule runs
//! everything that happened so far except the adds not ordered before the
//! `done` and what follows them (a cut of the execution): the dones in that
//! cut (those ordered before it, itself included, and those of goroutines
//! that never heard of a left-out add) against the adds ordered before it.
//! More dones than adds there, and the counter goes below zero in that
//! schedule, whatever order this one took. So `go!(async move { wg.done()
//! }); wg.add(1)` is misuse, and so are two unordered dones funded by one
//! add, while `wg.add(1); go!(..done..)`, `add(n)` then n goroutines, and a
//! WaitGroup reused after its `wait` are funded. The cut is a sound witness
//! (no false alarm), not the worst cut of all: a done whose goroutine heard
//! of a left-out add counts only if it is ordered before this one.
//!
//! A negative counter panics at the `done`; a panic the goroutine recovers
//! (Go's `recover()`: `goro::recover`, `catch_unwind`) is handled, not a
//! finding, as for the channel panics: the observed finding is held until
//! the goroutine catches the panic ([`Op::Recovered`]) or lets it reach the
//! top ([`Op::Panic`], possibly in the goroutine that joined it, or still
//! uncaught when the schedule ends). The predicted findings do not depend
//! on it.

use crate::event::{Event, Gid, Loc, ObjId, Op};
use crate::finding::FindingKind;
use crate::fxhash::FxHashMap as HashMap;

use super::super::findings::{site, site_at, Findings, Report};
use super::super::hb::{Epoch, Hb};
use super::super::EndState;
use super::held::HeldPanics;
use super::Detector;

/// What WaitGroup misuse is.
pub(crate) const DESCRIPTION: &str =
    "A negative WaitGroup counter, or add from zero not ordered with wait.";

/// A WaitGroup's history for the add/wait check.
#[derive(Default)]
struct WaitGroup {
    /// `add`s that took the counter up from zero, and `wait`s: an unordered
    /// pair is the misuse. Each keeps only what no later one is ordered
    /// after.
    adds_from_zero: Vec<Epoch>,
    waits: Vec<Epoch>,
    /// Every positive add, for the funding check.
    adds: Ledger,
    /// Every done (as a positive amount), in the order they happened, and
    /// their sum: a done costs a push, and only a done that the adds
    /// before it may not fund walks them.
    dones: Vec<Done>,
    dones_total: i64,
}

/// A done as the funding check needs it: who, when, how much. Not an
/// [`Epoch`]: no report names a done of the past (only the one being
/// judged), and a WaitGroup that a million goroutines leave keeps a
/// million of these.
struct Done {
    g: Gid,
    clk: u32,
    amount: i64,
}

/// Adds by goroutine, each goroutine's in program order with running
/// totals: what of it happens before a point is a prefix, found by binary
/// search, so a sum costs one search per adding goroutine (usually one).
#[derive(Default)]
struct Ledger {
    index: HashMap<Gid, usize>,
    by_g: Vec<Vec<(Epoch, i64)>>,
}

impl Ledger {
    fn push(&mut self, e: Epoch, amount: i64) {
        let next = self.by_g.len();
        let i = *self.index.entry(e.g).or_insert(next);
        if i == next {
            self.by_g.push(Vec::new());
        }
        let list = &mut self.by_g[i];
        let sum = list.last().map_or(0, |(_, s)| *s) + amount;
        list.push((e, sum));
    }

    /// The sum of the amounts that happen before `g`'s current point.
    fn before(&self, hb: &Hb, g: Gid) -> i64 {
        self.by_g
            .iter()
            .map(|list| {
                let n = list.partition_point(|(e, _)| hb.ordered(e, g));
                n.checked_sub(1).map_or(0, |i| list[i].1)
            })
            .sum()
    }

    /// Each goroutine's first entry that does not happen before `g`'s
    /// current point (the rest of its entries come after that one).
    fn first_unordered(&self, hb: &Hb, g: Gid) -> Vec<&Epoch> {
        self.by_g
            .iter()
            .filter_map(|list| {
                let n = list.partition_point(|(e, _)| hb.ordered(e, g));
                list.get(n).map(|(e, _)| e)
            })
            .collect()
    }
}

/// The sum of the amounts of `dones` in a cut of the execution that ends at
/// `g`'s current point and leaves out the adds `late` (those not ordered
/// before it) and all that follows them: the dones ordered before `g`, and
/// every done of a goroutine that has not heard of any of `late` (so none
/// of its dones follows one). Stops once above `cap`.
fn dones_in_cut(dones: &[Done], hb: &Hb, g: Gid, late: &[&Epoch], cap: i64) -> i64 {
    let mut sum = 0;
    for d in dones {
        if hb.ordered_clk(d.g, d.clk, g) || !late.iter().any(|a| hb.ordered(a, d.g)) {
            sum += d.amount;
            if sum > cap {
                break;
            }
        }
    }
    sum
}

/// The message of goro's (and Go's) negative-counter panic.
const NEGATIVE: &str = "negative WaitGroup counter";

/// The adds and waits of each WaitGroup.
#[derive(Default)]
pub(crate) struct WaitGroupMisuse {
    wgs: HashMap<ObjId, WaitGroup>,
    /// Each goroutine's negative-counter panic, until it is caught or
    /// reaches the top.
    held: HeldPanics,
}

impl Detector for WaitGroupMisuse {
    // Its `on_event` ignores sends, receives and rendezvous.
    const SEES_TRANSFERS: bool = false;

    #[inline(always)]
    fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
        match &ev.op {
            Op::WgAdd { wg, delta, counter } => {
                self.add(hb, *wg, ev.g, ev.loc, *delta, *counter, out)
            }
            Op::WgWait { wg, .. } => self.wait(hb, *wg, ev.g, ev.loc, out),
            _ => self.held.on_event(hb, ev, out),
        }
    }

    fn on_finish(&mut self, hb: &Hb, _end: &EndState, out: &mut Findings) {
        // Raised and never caught: a joinable goroutine's panic nobody
        // joined.
        self.held.finish(hb, out);
    }
}

impl WaitGroupMisuse {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        hb: &Hb,
        wg: ObjId,
        g: Gid,
        loc: Loc,
        delta: i64,
        counter: i64,
        out: &mut Findings,
    ) {
        if counter < 0 {
            let primary = site(hb, g, loc, if delta == -1 { "done" } else { "add" });
            // Reported if the panic is not recovered (see the module docs).
            self.held.hold(
                g,
                NEGATIVE,
                None,
                Report {
                    kind: FindingKind::WaitGroupMisuse,
                    observed: true,
                    message: "sync: negative WaitGroup counter".to_string(),
                    primary,
                    related: Vec::new(),
                    notes: vec![format!(
                        "the counter went to {counter}: more done() than add()"
                    )],
                    help: "call add(n) once per goroutine, before starting it, and done() \
                           exactly once in each"
                        .into(),
                },
            );
            return;
        }
        if delta < 0 {
            self.done(hb, wg, g, loc, -delta, out);
            return;
        }
        let w = self.wgs.entry(wg).or_default();
        w.adds.push(hb.epoch(g, loc), delta);
        if delta > 0 && counter == delta {
            let e = hb.epoch(g, loc);
            for wait in w.waits.iter().filter(|w| !hb.ordered(w, g)) {
                report_race(hb, &e, wait, out);
            }
            w.adds_from_zero.retain(|p| !hb.ordered(p, g));
            w.adds_from_zero.push(e);
        }
    }

    /// A `done` (or `add(-amount)`) by `g` that left the counter at zero or
    /// more: funded only if the adds ordered before it cover the dones
    /// ordered before it, itself included.
    fn done(&mut self, hb: &Hb, wg: ObjId, g: Gid, loc: Loc, amount: i64, out: &mut Findings) {
        let w = self.wgs.entry(wg).or_default();
        // Cheap first: the adds before it cover every done so far.
        let funded = w.adds.before(hb, g);
        let e = hb.epoch(g, loc);
        if funded < w.dones_total + amount {
            // Some schedule runs the dones of this cut and none of the adds
            // it leaves out: the counter is `funded` minus these dones.
            let late = w.adds.first_unordered(hb, g);
            if let Some(add) = late.first() {
                if funded < dones_in_cut(&w.dones, hb, g, &late, funded) + amount {
                    report_unfunded(hb, &e, amount, add, out);
                }
            }
        }
        w.dones.push(Done {
            g,
            clk: e.clk,
            amount,
        });
        w.dones_total += amount;
    }

    fn wait(&mut self, hb: &Hb, wg: ObjId, g: Gid, loc: Loc, out: &mut Findings) {
        let e = hb.epoch(g, loc);
        let w = self.wgs.entry(wg).or_default();
        for add in w.adds_from_zero.iter().filter(|a| !hb.ordered(a, g)) {
            report_race(hb, add, &e, out);
        }
        w.waits.retain(|p| !hb.ordered(p, g));
        w.waits.push(e);
    }
}

fn report_race(hb: &Hb, add: &Epoch, wait: &Epoch, out: &mut Findings) {
    let primary = site_at(hb, add.g, add.loc, "add", &add.frames);
    let related = vec![site_at(hb, wait.g, wait.loc, "wait", &wait.frames)];
    out.report(
        hb,
        Report {
            kind: FindingKind::WaitGroupMisuse,
            observed: false,
            message: "WaitGroup add called concurrently with wait".to_string(),
            primary,
            related,
            notes: vec![format!(
                "the add by goroutine {} takes the counter up from zero, and nothing orders it \
                 before the wait by goroutine {}: the wait can return before the add",
                add.g, wait.g
            )],
            help: "call add before starting the goroutine (`wg.add(1); go!(..)`), not inside it"
                .into(),
        },
    );
}

fn report_unfunded(hb: &Hb, done: &Epoch, amount: i64, add: &Epoch, out: &mut Findings) {
    let what = if amount == 1 { "done" } else { "add" };
    let primary = site_at(hb, done.g, done.loc, what, &done.frames);
    let related = vec![site_at(hb, add.g, add.loc, "add", &add.frames)];
    out.report(
        hb,
        Report {
            kind: FindingKind::WaitGroupMisuse,
            observed: false,
            message: format!("WaitGroup {what} not funded by an add that happens before it"),
            primary,
            related,
            notes: vec![format!(
                "nothing orders the add by goroutine {} before the {what} by goroutine {}: in \
                 another schedule the {what} runs first and the counter goes negative (Go \
                 panics with \"sync: negative WaitGroup counter\")",
                add.g, done.g
            )],
            help: "call add before starting the goroutine that calls done \
                   (`wg.add(1); go!(..)`), not after"
                .into(),
        },
    );
}

#[cfg(test)]
mod tests {
    use crate::event::{ObjId, Op};
    use crate::{Finding, FindingKind};

    /// Main's operations, one per line of `t.rs`.
    fn run(ops: Vec<Op>) -> Vec<Finding> {
        super::super::main_ops(ops).findings().to_vec()
    }

    fn ops(recovered: bool) -> Vec<Op> {
        let wg = ObjId(1);
        let mut ops = vec![
            Op::WgAdd {
                wg,
                delta: 1,
                counter: 1,
            },
            Op::WgAdd {
                wg,
                delta: -1,
                counter: 0,
            },
            // The second done: `sync: negative WaitGroup counter`.
            Op::WgAdd {
                wg,
                delta: -1,
                counter: -1,
            },
        ];
        if recovered {
            ops.push(Op::Recovered);
        } else {
            ops.push(Op::Panic {
                message: "sync: negative WaitGroup counter".into(),
            });
        }
        ops
    }

    #[test]
    fn a_negative_counter_that_panics_is_reported_at_its_done() {
        let found = run(ops(false));
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.kind, FindingKind::WaitGroupMisuse);
        assert!(f.observed);
        assert_eq!((f.primary.line, f.primary.op.as_str()), (3, "done"));
    }

    #[test]
    fn a_negative_counter_whose_panic_is_recovered_is_no_finding() {
        assert_eq!(run(ops(true)), vec![], "recovered: handled, as in Go");
        // Recovered, then raised again: it reaches the top after all.
        let mut again = ops(true);
        again.push(Op::Panic {
            message: "sync: negative WaitGroup counter".into(),
        });
        let found = run(again);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].kind, FindingKind::WaitGroupMisuse);
    }
}
