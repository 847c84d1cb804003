//! Channel misuse: a send on a closed channel and a double close (both
//! observed: they panic), and a send that nothing orders before a close (a
//! panic in another schedule). A close must be ordered after every send
//! that no later send is ordered after: the channel's send frontier.

use crate::event::{Event, Gid, Loc, ObjId, Op};
use crate::finding::{FindingKind, Site};

use super::super::findings::{site, site_at, Findings, Report};
use super::super::hb::{Epoch, Hb};
use super::super::table::Table;
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
}

impl Detector for ChanMisuse {
    #[inline(always)]
    fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
        match &ev.op {
            Op::ChanSend { ch } | Op::ChanRendezvous { ch, .. } => self.send(hb, *ch, ev.g, ev.loc),
            Op::ChanClose { ch } => self.close(hb, *ch, ev.g, ev.loc, out),
            Op::SendOnClosed { ch } => self.send_on_closed(hb, *ch, ev.g, ev.loc, out),
            Op::CloseOfClosed { ch } => self.close_of_closed(hb, *ch, ev.g, ev.loc, out),
            _ => {}
        }
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
            let primary = site_at(hb, s.g, s.loc, "send", &s.frames);
            let related = vec![site(hb, g, loc, "close")];
            let notes = vec![format!(
                "nothing orders the send by goroutine {} before the close by goroutine {}: \
                 in another schedule the send comes second and panics",
                s.g, g
            )];
            out.report(
                hb,
                Report {
                    kind: FindingKind::SendOnClosed,
                    observed: false,
                    message: "send on a channel that may already be closed".to_string(),
                    primary,
                    related,
                    notes,
                    help: "close the channel only after every sender is done (wait for them \
                           with a WaitGroup, or let the only sender close it)"
                        .into(),
                },
            );
        }
        self.chan(ch).closed_at = Some(hb.epoch(g, loc));
    }

    fn send_on_closed(&mut self, hb: &Hb, ch: ObjId, g: Gid, loc: Loc, out: &mut Findings) {
        let primary = site(hb, g, loc, "send");
        let related: Vec<Site> = self
            .chans
            .get(&ch)
            .and_then(|c| c.closed_at.as_ref())
            .iter()
            .map(|e| site_at(hb, e.g, e.loc, "close", &e.frames))
            .collect();
        out.report(
            hb,
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

    fn close_of_closed(&mut self, hb: &Hb, ch: ObjId, g: Gid, loc: Loc, out: &mut Findings) {
        let primary = site(hb, g, loc, "close");
        let related: Vec<Site> = self
            .chans
            .get(&ch)
            .and_then(|c| c.closed_at.as_ref())
            .iter()
            .map(|e| site_at(hb, e.g, e.loc, "first close", &e.frames))
            .collect();
        out.report(
            hb,
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
