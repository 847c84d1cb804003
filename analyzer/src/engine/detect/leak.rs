//! Goroutine leaks: main returned while other goroutines were still
//! blocked, forever (the runtime says what each waits for when the
//! schedule ends).

use crate::event::{Blocked, Event};
use crate::finding::{FindingKind, Site};

use super::super::findings::{name_suffix, site, Findings, Report};
use super::super::hb::Hb;
use super::super::EndState;
use super::blocked::{creation_site, describe, why_stuck};
use super::Detector;

/// What a goroutine leak is.
pub(crate) const DESCRIPTION: &str = "A goroutine still blocked when its program ends.";

/// Judges the end state only.
#[derive(Default)]
pub(crate) struct Leak;

impl Detector for Leak {
    #[inline(always)]
    fn on_event(&mut self, _hb: &Hb, _ev: &Event, _out: &mut Findings) {}

    fn on_finish(&mut self, hb: &Hb, end: &EndState, out: &mut Findings) {
        if end.main_done {
            for b in &end.blocked {
                report(hb, b, end, out);
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
    notes.extend(why_stuck(hb, b, end));
    out.report(
        hb,
        Report {
            kind: FindingKind::GoroutineLeak,
            observed: true,
            message: format!(
                "goroutine {}{} leaked: blocked forever {what}",
                b.g,
                name_suffix(hb, b.g)
            ),
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
