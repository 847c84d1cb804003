//! The detectors: one file per rule, each reading the happens-before core
//! ([`Hb`]) and reporting into [`Findings`].
//!
//! Every event goes to every detector in the order of [`detectors!`] below,
//! *before* the core applies the event's edges: a detector judges an
//! operation from the state it started in (a send is checked against what
//! its goroutine knew before it sent). The one exception is an atomic
//! operation, whose acquire comes first ([`Hb::before`]): the access it makes
//! is ordered after what it read. At the end of a schedule every detector
//! sees the end state, in the same order. Dispatch is static (a fixed list of
//! fields), and a detector that ignores an event costs one `match`; one that
//! ignores every channel value transfer says so
//! ([`Detector::SEES_TRANSFERS`]) and costs nothing for them.
//!
//! Detectors never change the core and never see each other: what two of
//! them need (who holds a lock, who used a channel) is in the core.
//!
//! # Adding a detector
//!
//! 1. Write `engine/detect/NAME.rs`: a `#[derive(Default)]` struct holding
//!    its state, `impl Detector` for it (`on_event`, plus `on_finish` if it
//!    judges the end state, `on_teardown` if it judges what goes with a
//!    goroutine dropped at the end), a `pub(crate) const DESCRIPTION` (one
//!    line saying what the kind is), and the message, notes and help text
//!    inside the rule that reports them. Build sites with
//!    [`site`](super::findings::site) /
//!    [`site_at`](super::findings::site_at), report with
//!    [`Findings::report`], and put its unit tests (a hand-written buggy
//!    trace and its fixed twin, through `Engine::apply`) in the same file.
//! 2. Register it: `pub(crate) mod NAME;` and one line `NAME: NAME::Type,`
//!    in the `detectors!` list below. Its place in the list matters only
//!    for the order of the findings made at the end of a schedule, and the
//!    first (race) is the only one shown plain reads and writes.
//! 3. Name its kind. A new kind is a `FindingKind` variant in `finding.rs`
//!    (the enum, `ALL`, `as_str`); either way, `FindingKind::description`
//!    gets `NAME` in its `use` list and the arm `Kind => NAME::DESCRIPTION`.
//!    The renderers need nothing more.
//! 4. Add a fixture pair, `fixtures/src/NAME.rs` (the buggy program and its
//!    fixed twin, the sites marked `// <<name>>`; `pub mod NAME;` in
//!    `fixtures/src/lib.rs`), and its test `fixtures/tests/findings/NAME.rs`
//!    (`mod NAME;` in that directory's `main.rs`), asserting the kind and
//!    sites for the bug and nothing for the fix.
//!
//! If the rule needs a fact of the execution that the core does not keep,
//! add it to [`Hb`] with a read-only accessor, rather than reading it from
//! another detector.

mod blocked;
pub(crate) mod chan_misuse;
pub(crate) mod deadlock;
mod held;
pub(crate) mod leak;
pub(crate) mod lock_order;
pub(crate) mod lost_cancel;
pub(crate) mod panic;
pub(crate) mod race;
pub(crate) mod waitgroup;

/// Test support: an engine that applied `ops` as main's, one per line of
/// `t.rs` (line 1 first), for the detectors' unit tests.
#[cfg(test)]
pub(crate) fn main_ops(ops: Vec<crate::event::Op>) -> crate::Engine {
    use crate::event::{Event, Gid, Loc};
    let mut e = crate::Engine::new(1, 0);
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

use crate::event::{Addr, Event, Gid, Loc, Op};

use super::findings::Findings;
use super::hb::{Epoch, Hb};
use super::EndState;

/// One rule over the happens-before core.
pub(crate) trait Detector {
    /// Whether it judges a channel's value transfers (`ChanSend`,
    /// `ChanRecv`, `ChanRendezvous`), the most frequent events after plain
    /// accesses. A detector whose `on_event` ignores all three says `false`
    /// and is not called for them; the default is to be called.
    const SEES_TRANSFERS: bool = true;

    /// Judges `ev` before the core applies its edges.
    fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings);

    /// An operation of goroutine `ev.g` made while it was dropped at the
    /// end of the schedule (a CancelFunc that went with it): it orders
    /// nothing, and most rules ignore it.
    fn on_teardown(&mut self, _hb: &Hb, _ev: &Event) {}

    /// Judges the state the schedule ended in.
    fn on_finish(&mut self, _hb: &Hb, _end: &EndState, _out: &mut Findings) {}
}

/// Declares the detectors, in the order they see events and the end.
macro_rules! detectors {
    ($first:ident: $first_ty:ty, $($field:ident: $ty:ty,)*) => {
        #[derive(Default)]
        pub(crate) struct Detectors {
            $first: $first_ty,
            $($field: $ty,)*
        }

        impl Detectors {
            #[inline(always)]
            pub(crate) fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
                self.$first.on_event(hb, ev, out);
                // A plain access concerns the race detector (first) alone:
                // the others would each match it and do nothing, on the
                // detector's hottest path.
                match ev.op {
                    Op::Read { .. } | Op::Write { .. } => {}
                    // A value transfer: only the detectors that judge
                    // transfers (the test is a constant per detector).
                    Op::ChanSend { .. } | Op::ChanRecv { .. } | Op::ChanRendezvous { .. } => {
                        $(if <$ty as Detector>::SEES_TRANSFERS {
                            self.$field.on_event(hb, ev, out);
                        })*
                    }
                    _ => {
                        $(self.$field.on_event(hb, ev, out);)*
                    }
                }
            }

            /// A plain access that continues the race detector's
            /// same-epoch run: taken, nothing else to do.
            #[inline(always)]
            pub(crate) fn same_epoch(&mut self, g: Gid, addr: Addr, write: bool, loc: Loc) -> bool {
                self.$first.same_epoch(g, addr, write, loc)
            }

            /// A plain access: the race detector (first) alone.
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            pub(crate) fn plain_access(
                &mut self,
                hb: &Hb,
                e: Epoch,
                addr: Addr,
                write: bool,
                what: &'static str,
                out: &mut Findings,
            ) {
                self.$first.plain(hb, e, addr, write, what, out);
            }

            pub(crate) fn on_teardown(&mut self, hb: &Hb, ev: &Event) {
                self.$first.on_teardown(hb, ev);
                $(self.$field.on_teardown(hb, ev);)*
            }

            pub(crate) fn on_finish(&mut self, hb: &Hb, end: &EndState, out: &mut Findings) {
                self.$first.on_finish(hb, end, out);
                $(self.$field.on_finish(hb, end, out);)*
            }
        }
    };
}

// The race detector first: it alone sees plain reads and writes.
detectors! {
    race: race::Race,
    chan_misuse: chan_misuse::ChanMisuse,
    waitgroup: waitgroup::WaitGroupMisuse,
    leak: leak::Leak,
    deadlock: deadlock::Deadlock,
    lock_order: lock_order::LockOrder,
    lost_cancel: lost_cancel::LostCancel,
    panic: panic::Panic,
}
