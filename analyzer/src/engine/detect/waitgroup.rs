//! WaitGroup misuse: a negative counter (observed: it panics), and an `add`
//! that takes the counter up from zero unordered with a `wait` (Go's "Add
//! called concurrently with Wait": the wait can return before the add).

use crate::event::{Event, Gid, Loc, ObjId, Op};
use crate::finding::FindingKind;
use crate::fxhash::FxHashMap as HashMap;

use super::super::findings::{site, site_at, Findings, Report};
use super::super::hb::{Epoch, Hb};
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
}

/// The adds and waits of each WaitGroup.
#[derive(Default)]
pub(crate) struct WaitGroupMisuse {
    wgs: HashMap<ObjId, WaitGroup>,
}

impl Detector for WaitGroupMisuse {
    #[inline(always)]
    fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
        match &ev.op {
            Op::WgAdd { wg, delta, counter } => {
                self.add(hb, *wg, ev.g, ev.loc, *delta, *counter, out)
            }
            Op::WgWait { wg, .. } => self.wait(hb, *wg, ev.g, ev.loc, out),
            _ => {}
        }
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
            out.report(
                hb,
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
        if delta > 0 && counter == delta {
            let e = hb.epoch(g, loc);
            let w = self.wgs.entry(wg).or_default();
            for wait in w.waits.iter().filter(|w| !hb.ordered(w, g)) {
                report_race(hb, &e, wait, out);
            }
            w.adds_from_zero.retain(|p| !hb.ordered(p, g));
            w.adds_from_zero.push(e);
        }
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
