//! Channel misuse: a send on a closed channel and a double close (both
//! observed: they panic), and a send that nothing orders before a close (a
//! panic in another schedule). A close must be ordered after every send
//! that no later send is ordered after: the channel's send frontier.
//!
//! A panic that the goroutine recovers (Go's `recover()`: `goro::recover`,
//! `catch_unwind`) is handled, not a finding: an observed panic is held
//! until its goroutine either catches it ([`Op::Recovered`]) or lets it
//! reach the top ([`Op::Panic`], possibly in the goroutine that joined it).
//! What stays a finding whether or not anything recovers is a send that
//! nothing orders with the close of its channel: Go's race detector reports
//! that pair (the send reads the channel before it checks for the close,
//! the close writes it) in either order, recovered or not. So a recovered
//! send that the close does not happen before is reported as that race,
//! and the predicted finding of a send that came first stays, whatever
//! would recover it in the other order (goro could not tell in any case: a
//! `catch_unwind` is invisible until it catches). A recovered second close
//! is silent, as in Go, where it panics before touching the channel.

use crate::event::{Event, Gid, Loc, ObjId, Op};
use crate::finding::{FindingKind, Site};

use super::super::findings::{site, site_at, Findings, Report};
use super::super::hb::{Epoch, Hb};
use super::super::table::Table;
use super::super::EndState;
use super::held::HeldPanics;
use super::Detector;

/// What a send on a closed channel is.
pub(crate) const SEND_ON_CLOSED: &str =
    "A send after, or not ordered with, a close of its channel.";

/// What a double close is.
pub(crate) const DOUBLE_CLOSE: &str = "A channel closed twice, or by two unordered closes.";

#[derive(Default)]
struct Chan {
    /// Sends not yet known to be ordered before a later send: the frontier a
    /// close must be ordered after.
    send_frontier: Vec<Epoch>,
    /// The close, once there was one.
    closed_at: Option<Epoch>,
}

/// Sends and closes of each channel. Channel ids are dense in a schedule,
/// so a table keeps the lookup on every send cheap.
#[derive(Default)]
pub(crate) struct ChanMisuse {
    chans: Table<Chan, ObjId>,
    /// Each goroutine's observed panic, until it is caught or reaches the
    /// top.
    held: HeldPanics,
}

impl Detector for ChanMisuse {
    #[inline(always)]
    fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
        match &ev.op {
            Op::ChanSend { ch } | Op::ChanRendezvous { ch, .. } => self.send(hb, *ch, ev.g, ev.loc),
            Op::ChanClose { ch } => self.close(hb, *ch, ev.g, ev.loc, out),
            Op::SendOnClosed { ch } => self.send_on_closed(hb, *ch, ev.g, ev.loc),
            Op::CloseOfClosed { ch } => self.close_of_closed(hb, *ch, ev.g, ev.loc),
            _ => self.held.on_event(hb, ev, out),
        }
    }

    fn on_finish(&mut self, hb: &Hb, _end: &EndState, out: &mut Findings) {
        // Raised and never caught: a joinable goroutine's panic nobody
        // joined, or a parked sender that never ran again.
        self.held.finish(hb, out);
    }
}

impl ChanMisuse {
    #[inline]
    fn chan(&mut self, ch: ObjId) -> &mut Chan {
        self.chans.get_or_insert_with(ch, Chan::default)
    }

    /// A send by `g`: sends not ordered before it stay in the frontier.
    #[inline(always)]
    fn send(&mut self, hb: &Hb, ch: ObjId, g: Gid, loc: Loc) {
        let me = hb.goroutine(g);
        let e = me.map_or_else(|| hb.epoch(g, loc), |me| me.epoch(g, loc));
        let c = self.chan(ch);
        // One sender streaming on its channel: its last send is the whole
        // frontier, and program order puts it before this one.
        if let [only] = c.send_frontier.as_mut_slice() {
            if only.g == g {
                *only = e;
                return;
            }
        }
        c.send_frontier
            .retain(|p| !(p.g == g || me.is_some_and(|me| me.orders(g, p))));
        c.send_frontier.push(e);
    }

    fn close(&mut self, hb: &Hb, ch: ObjId, g: Gid, loc: Loc, out: &mut Findings) {
        let frontier = std::mem::take(&mut self.chan(ch).send_frontier);
        for s in &frontier {
            if hb.ordered(s, g) {
                continue;
            }
            let close = hb.epoch(g, loc);
            let why = "in another schedule the send comes second and panics";
            out.report(hb, unordered_send(hb, s, &close, why));
        }
        self.chan(ch).closed_at = Some(hb.epoch(g, loc));
    }

    /// The close of `ch`, if `g` is not ordered after it.
    fn unordered_close(&self, hb: &Hb, ch: ObjId, g: Gid) -> Option<&Epoch> {
        self.chans
            .get(&ch)
            .and_then(|c| c.closed_at.as_ref())
            .filter(|e| !hb.ordered(e, g))
    }

    fn send_on_closed(&mut self, hb: &Hb, ch: ObjId, g: Gid, loc: Loc) {
        let primary = site(hb, g, loc, "send");
        let related: Vec<Site> = self
            .chans
            .get(&ch)
            .and_then(|c| c.closed_at.as_ref())
            .iter()
            .map(|e| site_at(hb, e.g, e.loc, "close", &e.frames))
            .collect();
        let unordered = self.unordered_close(hb, ch, g).map(|c| {
            unordered_send(
                hb,
                &hb.epoch(g, loc),
                c,
                "the send panicked and was recovered",
            )
        });
        self.held.hold(
            g,
            "send on closed channel",
            unordered,
            Report {
                kind: FindingKind::SendOnClosed,
                observed: true,
                message: "send on closed channel".to_string(),
                primary,
                related,
                notes: vec!["the send panicked: a closed channel accepts no more values".into()],
                help: "close a channel only from its (last) sender, after every send; \
                       with several senders, close it once all of them are done (a WaitGroup)"
                    .into(),
            },
        );
    }

    fn close_of_closed(&mut self, hb: &Hb, ch: ObjId, g: Gid, loc: Loc) {
        let primary = site(hb, g, loc, "close");
        let related: Vec<Site> = self
            .chans
            .get(&ch)
            .and_then(|c| c.closed_at.as_ref())
            .iter()
            .map(|e| site_at(hb, e.g, e.loc, "first close", &e.frames))
            .collect();
        self.held.hold(
            g,
            "close of closed channel",
            // Go's second close panics before its race-detector write: a
            // recovered double close is silent there, ordered or not.
            None,
            Report {
                kind: FindingKind::DoubleClose,
                observed: true,
                message: "close of closed channel".to_string(),
                primary,
                related,
                notes: vec!["the second close panicked".into()],
                help: "make exactly one goroutine responsible for closing the channel \
                       (or guard the close with sync::Once)"
                    .into(),
            },
        );
    }
}

/// A send not ordered with the close of its channel (`why`: what happened
/// to it in this schedule).
fn unordered_send(hb: &Hb, send: &Epoch, close: &Epoch, why: &str) -> Report {
    Report {
        kind: FindingKind::SendOnClosed,
        observed: false,
        message: "send on a channel that may already be closed".to_string(),
        primary: site_at(hb, send.g, send.loc, "send", &send.frames),
        related: vec![site_at(hb, close.g, close.loc, "close", &close.frames)],
        notes: vec![format!(
            "nothing orders the send by goroutine {} and the close by goroutine {}: {why}",
            send.g, close.g
        )],
        help: "close the channel only after every sender is done (wait for them \
               with a WaitGroup, or let the only sender close it)"
            .into(),
    }
}
