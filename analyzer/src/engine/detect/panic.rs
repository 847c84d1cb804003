//! Goroutine panics: a panic in any goroutine ends a Go program. The panics
//! goro raises itself (send on closed channel, close of closed channel, a
//! negative WaitGroup counter) were reported as what they mean, by the
//! detectors of those rules, and are not reported again as panics. A
//! panic caught by its goroutine ([`Op::Recovered`], Go's `recover()`) ends
//! nothing and is no finding; one rethrown by a join is the joined
//! goroutine's panic, reaching the joiner's top.

use crate::event::{Event, Gid, Op};
use crate::finding::FindingKind;
use crate::fxhash::FxHashMap as HashMap;

use super::super::findings::{site, Findings, Report};
use super::super::hb::Hb;
use super::Detector;

/// What a panic is.
pub(crate) const DESCRIPTION: &str = "A goroutine panicked.";

/// The panic goro raised in each goroutine, if any, and whether the
/// goroutine caught it.
#[derive(Default)]
pub(crate) struct Panic {
    expected: HashMap<Gid, (&'static str, bool)>,
}

impl Detector for Panic {
    // Its `on_event` ignores sends, receives and rendezvous.
    const SEES_TRANSFERS: bool = false;

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
                if !expected.is_some_and(|(m, _)| message.contains(m)) {
                    report(hb, ev.g, ev, message, out);
                }
                return;
            }
            Op::Recovered => {
                if let Some((_, caught)) = self.expected.get_mut(&ev.g) {
                    *caught = true;
                }
                return;
            }
            Op::End => {
                if self.expected.get(&ev.g).is_some_and(|(_, caught)| *caught) {
                    self.expected.remove(&ev.g);
                }
                return;
            }
            Op::Join { child } => {
                // The join rethrows the child's uncaught panic.
                if let Some(e) = self.expected.remove(child).filter(|(_, c)| !c) {
                    self.expected.insert(ev.g, e);
                }
                return;
            }
            _ => return,
        };
        self.expected.insert(ev.g, (raised, false));
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
    use crate::event::{ObjId, Op};
    use crate::{Engine, FindingKind};

    fn engine(ops: Vec<Op>) -> Engine {
        super::super::main_ops(ops)
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
