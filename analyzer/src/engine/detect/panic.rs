//! Goroutine panics: a panic in any goroutine ends a Go program. The panics
//! goro raises itself (send on closed channel, close of closed channel, a
//! negative WaitGroup counter) were reported as what they mean, by the
//! detectors of those rules, and are not reported again as panics.

use crate::event::{Event, Gid, Op};
use crate::finding::FindingKind;
use crate::fxhash::FxHashMap as HashMap;

use super::super::findings::{site, Findings, Report};
use super::super::hb::Hb;
use super::Detector;

/// What a panic is.
pub(crate) const DESCRIPTION: &str = "A goroutine panicked.";

/// The panic goro is about to raise in each goroutine, if any.
#[derive(Default)]
pub(crate) struct Panic {
    expected: HashMap<Gid, &'static str>,
}

impl Detector for Panic {
    #[inline(always)]
    fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
        let raised = match &ev.op {
            Op::SendOnClosed { .. } => "send on closed channel",
            Op::CloseOfClosed { .. } => "close of closed channel",
            Op::WgAdd { counter, .. } if *counter < 0 => "negative WaitGroup counter",
            Op::Panic { message } => {
                // The panic goro raised itself was reported as what it
                // means; a later, different panic (after a recovery) is not.
                let expected = self.expected.remove(&ev.g);
                if !expected.is_some_and(|m| message.contains(m)) {
                    report(hb, ev.g, ev, message, out);
                }
                return;
            }
            _ => return,
        };
        self.expected.insert(ev.g, raised);
    }
}

fn report(hb: &Hb, g: Gid, ev: &Event, message: &str, out: &mut Findings) {
    out.report(
        hb,
        Report {
            kind: FindingKind::Panic,
            observed: true,
            message: format!("goroutine {g} panicked: {message}"),
            primary: site(hb, g, ev.loc, "panic"),
            related: Vec::new(),
            notes: Vec::new(),
            help: "a panic in a goroutine ends a Go program; handle the error or recover \
                   where the goroutine is joined"
                .into(),
        },
    );
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, Gid, Loc, ObjId, Op};
    use crate::{Engine, FindingKind};

    fn engine(ops: Vec<Op>) -> Engine {
        let mut e = Engine::new(1, 0);
        for (i, op) in ops.into_iter().enumerate() {
            let loc = Loc {
                file: "t.rs",
                line: i as u32 + 1,
                column: 1,
            };
            e.apply(&Event {
                g: Gid::MAIN,
                op,
                loc,
            });
        }
        e
    }

    fn run(ops: Vec<Op>) -> Vec<FindingKind> {
        engine(ops).findings().iter().map(|f| f.kind).collect()
    }

    fn panic(message: &str) -> Op {
        Op::Panic {
            message: message.into(),
        }
    }

    #[test]
    fn a_plain_panic_is_reported_once() {
        let e = engine(vec![panic("boom")]);
        assert_eq!(e.findings().len(), 1);
        assert_eq!(e.findings()[0].kind, FindingKind::Panic);
        assert!(e.findings()[0].message.contains("boom"));
    }

    #[test]
    fn the_panic_goro_raised_is_not_reported_again_but_a_later_one_is() {
        let ch = ObjId(1);
        let ops = vec![
            Op::ChanClose { ch },
            Op::CloseOfClosed { ch },
            panic("close of closed channel"),
        ];
        assert_eq!(run(ops.clone()), vec![FindingKind::DoubleClose]);
        // Recovered, then another panic: goro raised only the first.
        let mut more = ops;
        more.push(panic("close of closed channel"));
        assert_eq!(
            run(more),
            vec![FindingKind::DoubleClose, FindingKind::Panic]
        );
    }
}
