//! Lost cancels: a context's `CancelFunc` dropped without being called
//! (Go vet's lostcancel, observed at run time). A CancelFunc that goes with
//! a goroutine dropped at the end of a schedule is that goroutine's lost
//! cancel only if it was blocked forever: one that merely had not finished
//! yet (a panic or the step limit ended the schedule) might still have
//! called it.

use crate::event::{Event, Loc, Op};
use crate::finding::FindingKind;

use super::super::findings::{name_suffix, site, site_at, Findings, Report};
use super::super::hb::Hb;
use super::super::EndState;
use super::Detector;

/// What a lost cancel is.
pub(crate) const DESCRIPTION: &str = "A context CancelFunc dropped without being called.";

/// CancelFuncs that went with goroutines dropped at the end, until the end
/// state says which of them were blocked forever.
#[derive(Default)]
pub(crate) struct LostCancel {
    at_teardown: Vec<Event>,
}

impl Detector for LostCancel {
    // Its `on_event` ignores sends, receives and rendezvous.
    const SEES_TRANSFERS: bool = false;

    #[inline(always)]
    fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
        if let Op::LostCancel { .. } = ev.op {
            report(hb, ev, out);
        }
    }

    fn on_teardown(&mut self, _hb: &Hb, ev: &Event) {
        if let Op::LostCancel { .. } = ev.op {
            let mut ev = ev.clone();
            if let Op::LostCancel { at_teardown, .. } = &mut ev.op {
                *at_teardown = true;
            }
            self.at_teardown.push(ev);
        }
    }

    fn on_finish(&mut self, hb: &Hb, end: &EndState, out: &mut Findings) {
        // A goroutine blocked forever never calls the CancelFuncs it holds.
        for ev in std::mem::take(&mut self.at_teardown) {
            if end.blocked.iter().any(|b| b.g == ev.g) {
                report(hb, &ev, out);
            }
        }
    }
}

fn report(hb: &Hb, ev: &Event, out: &mut Findings) {
    let Op::LostCancel {
        created,
        creator,
        func,
        timer_pending,
        children,
        at_teardown,
    } = &ev.op
    else {
        return;
    };
    let (g, loc) = (ev.g, ev.loc);
    // Made by its creator, perhaps far from where it went.
    let primary = match *creator {
        Some(c) if c != g => site_at(hb, c, *created, func, &None),
        _ => site(hb, g, *created, func),
    };
    let who = format!("goroutine {g}{}", name_suffix(hb, g));
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
            related.push(site(hb, g, loc, "drop"));
            notes.push(format!(
                "dropped here: the last CancelFunc clone went out of use at {loc}"
            ));
        }
    }
    if *timer_pending {
        notes.push("its timer was still pending when the CancelFunc was dropped".into());
    }
    if *children > 0 {
        notes.push(format!(
            "{children} child context(s) were still registered under it"
        ));
    }
    out.report(
        hb,
        Report {
            kind: FindingKind::LostCancel,
            observed: true,
            message: format!("the cancel function returned by {func} is never called"),
            primary,
            related,
            notes,
            help: "call cancel() on every path once the work is done: keep the CancelFunc and \
                   call `cancel.cancel()` before returning (Go's `defer cancel()`)"
                .into(),
        },
    );
}
