//! Goroutine leaks: main returned while other goroutines were still
//! there when the schedule ended, as goleak's `VerifyNone` would find them.
//! Either blocked forever (nothing could run any more: the runtime says
//! what each waits for), or still running when the grace period after main
//! ran out (a loop that sleeps or ticks with no way to stop): one verdict,
//! a leak, naming what the goroutine was doing.

use crate::event::{Blocked, Event, Loc, Wait};
use crate::finding::{FindingKind, Site};

use super::super::findings::{name_suffix, site, Findings, Report};
use super::super::hb::Hb;
use super::super::EndState;
use super::blocked::{creation_site, describe, why_stuck};
use super::Detector;

/// What a goroutine leak is.
pub(crate) const DESCRIPTION: &str =
    "A goroutine still blocked, or still running, when its program ends.";

/// Judges the end state only.
#[derive(Default)]
pub(crate) struct Leak;

impl Detector for Leak {
    // Its `on_event` ignores sends, receives and rendezvous.
    const SEES_TRANSFERS: bool = false;

    #[inline(always)]
    fn on_event(&mut self, _hb: &Hb, _ev: &Event, _out: &mut Findings) {}

    fn on_finish(&mut self, hb: &Hb, end: &EndState, out: &mut Findings) {
        if end.main_done {
            for b in &end.blocked {
                if end.running.contains(&b.g) {
                    report_running(hb, b, out);
                } else {
                    report(hb, b, end, out);
                }
            }
        }
    }
}

fn report(hb: &Hb, b: &Blocked, end: &EndState, out: &mut Findings) {
    let (what, op) = describe(&b.wait);
    let primary = site(hb, b.g, b.loc, op);
    // Who created it, and where: the one related site.
    let related: Vec<Site> = creation_site(hb, b.g).into_iter().collect();
    let mut notes = vec![format!(
        "goroutine {}{} is still blocked {what} when the program ends",
        b.g,
        name_suffix(hb, b.g)
    )];
    if end.running.is_empty() {
        notes.extend(why_stuck(hb, b, end));
    } else {
        // Not a proof: the goroutines still running might have woken it.
        notes.push(format!(
            "it stayed blocked for the whole grace period after main returned, while {} \
             other goroutine(s) still ran",
            end.running.len()
        ));
    }
    out.report(
        hb,
        Report {
            kind: FindingKind::GoroutineLeak,
            observed: true,
            message: if end.running.is_empty() {
                format!(
                    "goroutine {}{} leaked: blocked forever {what}",
                    b.g,
                    name_suffix(hb, b.g)
                )
            } else {
                format!(
                    "goroutine {}{} leaked: still blocked {what} when the grace period after \
                     main ran out",
                    b.g,
                    name_suffix(hb, b.g)
                )
            },
            primary,
            related,
            notes,
            help: "give every goroutine an exit path: select on ctx.done() (or a quit channel) \
                   beside the operation, close the channel when the sender is done, or make the \
                   channel big enough for every result"
                .into(),
        },
    );
}

/// A goroutine still running when the grace period after main ran out:
/// ready to run, sleeping, or waiting for a live timer (a loop on a sleep
/// or a ticker with no way to stop).
fn report_running(hb: &Hb, b: &Blocked, out: &mut Findings) {
    let doing = match &b.wait {
        Wait::Sleep => "sleeping".to_string(),
        Wait::Tick { .. } => "ticking (waiting for its timer's next tick)".to_string(),
        Wait::Unknown if b.loc == Loc::UNKNOWN => "running".to_string(),
        // Parked with a live timer among its cases.
        w @ Wait::Select { .. } => format!("waiting for a timer {}", describe(w).0),
        // Ready to run: what it last waited for.
        w => format!("running, last {}", describe(w).0),
    };
    let op = match &b.wait {
        Wait::Unknown if b.loc == Loc::UNKNOWN => "run",
        w => describe(w).1,
    };
    let primary = site(hb, b.g, b.loc, op);
    let related: Vec<Site> = creation_site(hb, b.g).into_iter().collect();
    let who = format!("goroutine {}{}", b.g, name_suffix(hb, b.g));
    out.report(
        hb,
        Report {
            kind: FindingKind::GoroutineLeak,
            observed: true,
            message: format!("{who} leaked: still {doing} after main returned"),
            primary,
            related,
            notes: vec![
                format!(
                    "{who} was still {doing} when the grace period after main returned ran \
                     out (virtual time, or its share of the step limit): nothing stops it, so \
                     it would run for as long as the process does"
                ),
                "a Go program would drop it when main returns; goleak reports it as leaked".into(),
            ],
            help: "give the loop an exit: select on ctx.done() (or a quit channel) beside its \
                   sleep or tick, close the channel (or cancel) before main returns, and stop \
                   a Ticker once it is no longer needed"
                .into(),
        },
    );
}
