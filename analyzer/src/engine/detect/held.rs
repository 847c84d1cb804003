//! A finding that a goroutine's panic carries, held until the panic's fate
//! is known: shared by the detectors whose misuse panics (a send on a
//! closed channel, a double close, a negative WaitGroup counter).
//!
//! A panic the program recovers is handled, not a finding (Go's `recover`).
//! So the finding waits: [`Op::Recovered`] marks it caught (its goroutine
//! went on); an [`Op::Panic`] carrying its message is the panic reaching the
//! top (reported); a different panic means this one was recovered first.
//! A joinable goroutine's uncaught panic moves to the goroutine that joins
//! it (the join rethrows it), and one nobody joined is reported at the end.

use crate::event::{Event, Gid, Op};
use crate::fxhash::FxHashMap as HashMap;

use super::super::findings::{Findings, Report};
use super::super::hb::Hb;

struct Held {
    /// The finding, if the panic is not recovered.
    report: Report,
    /// The panic message goro raised (an [`Op::Panic`] carrying it is this
    /// panic reaching the top).
    message: &'static str,
    /// The finding even if it is recovered (reported at the recovery).
    recovered: Option<Report>,
    /// Caught by the goroutine ([`Op::Recovered`]): it went on. A caught
    /// panic raised again (`PanicPayload::resume`) still reaches the top.
    caught: bool,
}

/// Each goroutine's held panic finding (see the module docs).
#[derive(Default)]
pub(super) struct HeldPanics {
    held: HashMap<Gid, Held>,
}

impl HeldPanics {
    /// Holds `g`'s observed panic `report` until `g` catches it or lets it
    /// reach the top; `recovered` is reported if it is caught.
    pub(super) fn hold(
        &mut self,
        g: Gid,
        message: &'static str,
        recovered: Option<Report>,
        report: Report,
    ) {
        self.held.insert(
            g,
            Held {
                report,
                message,
                recovered,
                caught: false,
            },
        );
    }

    /// Follows a panic's fate through the events that decide it.
    #[inline(always)]
    pub(super) fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
        match &ev.op {
            Op::Recovered => {
                if let Some(h) = self.held.get_mut(&ev.g) {
                    if let Some(r) = h.recovered.take() {
                        out.report(hb, r);
                    }
                    h.caught = true;
                }
            }
            Op::Panic { message } => {
                if let Some(h) = self.held.remove(&ev.g) {
                    // A different panic means this one was recovered.
                    if message.contains(h.message) {
                        out.report(hb, h.report);
                    }
                }
            }
            // A caught panic is over at the goroutine's end; an uncaught one
            // waits for the join that rethrows it (or the run's crash report).
            Op::End if self.held.get(&ev.g).is_some_and(|h| h.caught) => {
                self.held.remove(&ev.g);
            }
            Op::Join { child } => {
                if let Some(h) = self.held.remove(child).filter(|h| !h.caught) {
                    self.held.insert(ev.g, h);
                }
            }
            _ => {}
        }
    }

    /// At the end of a schedule: the panics raised and never caught (a
    /// joinable goroutine's panic nobody joined), in goroutine order.
    pub(super) fn finish(&mut self, hb: &Hb, out: &mut Findings) {
        let mut left: Vec<(Gid, Held)> = self.held.drain().filter(|(_, h)| !h.caught).collect();
        left.sort_by_key(|(g, _)| *g);
        for (_, h) in left {
            out.report(hb, h.report);
        }
    }
}
