//! The analysis engine: a happens-before core and the detectors that judge
//! each event against it.
//!
//! Feed it [`Event`]s in execution order with [`Engine::apply`], then the
//! state the schedule ended in with [`Engine::finish`]; read
//! [`Engine::findings`]. Each event goes first to the detectors (`detect/`,
//! one file per rule: race, leak, deadlock, lock order, channel misuse, lost
//! cancel, WaitGroup misuse, panic), which judge it from the state it
//! started in, and then to the core (`hb.rs`: vector clocks, Go's memory
//! model, what orders what), which applies its edges. Detectors read the
//! core and never change it; they report into one sink (`findings.rs`),
//! which names the goroutines of every finding and keeps one finding per
//! [`FindingKey`](crate::finding::FindingKey).

pub(crate) mod detect;
mod end;
mod findings;
mod hb;
mod shadow;
mod table;

pub use end::{EndState, Held};

use crate::event::{Addr, Event, Gid, Loc};
use crate::finding::Finding;

use detect::Detectors;
use findings::Findings;
use hb::Hb;

/// The analysis of one execution (one schedule).
///
/// # Examples
///
/// ```
/// use goro_analyzer::event::{Addr, Event, Gid, Loc, Op};
/// use goro_analyzer::{Engine, FindingKind};
///
/// let at = |line| Loc { file: "src/main.rs", line, column: 5 };
/// let (main, child) = (Gid::MAIN, Gid::new(2).unwrap());
/// let mut e = Engine::new(7, 0);
/// let x = Addr(1);
/// e.apply(&Event { g: main, op: Op::Spawn { child, name: None }, loc: at(1) });
/// e.apply(&Event { g: child, op: Op::Write { addr: x, what: "Shared<i64>" }, loc: at(2) });
/// e.apply(&Event { g: main, op: Op::Write { addr: x, what: "Shared<i64>" }, loc: at(3) });
/// assert_eq!(e.findings().len(), 1);
/// assert_eq!(e.findings()[0].kind, FindingKind::DataRace);
/// ```
pub struct Engine {
    hb: Hb,
    detectors: Detectors,
    findings: Findings,
}

impl Engine {
    /// An engine for the schedule with this seed and index (both recorded in
    /// every finding).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = goro_analyzer::Engine::new(7, 0);
    /// assert!(e.findings().is_empty());
    /// ```
    pub fn new(seed: u64, schedule: u32) -> Self {
        Engine {
            hb: Hb::default(),
            detectors: Detectors::default(),
            findings: Findings::new(seed, schedule),
        }
    }

    /// The findings so far, in the order they were found.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = goro_analyzer::Engine::new(7, 0);
    /// assert!(e.findings().is_empty());
    /// ```
    pub fn findings(&self) -> &[Finding] {
        self.findings.as_slice()
    }

    /// Takes the findings out.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = goro_analyzer::Engine::new(7, 0);
    /// assert!(e.into_findings().is_empty());
    /// ```
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings.into_vec()
    }

    /// Applies one event: the detectors judge it, then its edges are added.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::event::{Event, Gid, Loc, ObjId, Op};
    ///
    /// let mut e = goro_analyzer::Engine::new(7, 0);
    /// e.apply(&Event { g: Gid::MAIN, op: Op::ChanMake { ch: ObjId(1), cap: 1 }, loc: Loc::UNKNOWN });
    /// assert!(e.findings().is_empty());
    /// ```
    pub fn apply(&mut self, ev: &Event) {
        self.hb.before(ev);
        self.detectors.on_event(&self.hb, ev, &mut self.findings);
        self.hb.apply(ev);
    }

    /// Applies the plain access of [`Engine::access`] if it is a repeat
    /// within goroutine `g`'s epoch: since its last write of `addr` no
    /// event was applied, and it is a read or a write at that write's site.
    /// Returns `false`, having changed nothing, for any other access, which
    /// [`Engine::access`] then applies. The check alone, small enough to
    /// inline where an access is reported, with the rest behind a call.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::event::{Addr, Gid, Loc};
    ///
    /// let at = Loc { file: "src/main.rs", line: 3, column: 5 };
    /// let mut e = goro_analyzer::Engine::new(7, 0);
    /// assert!(!e.same_epoch(Gid::MAIN, Addr(1), true, at));
    /// e.access(Gid::MAIN, Addr(1), true, "Shared<i64>", at);
    /// assert!(e.same_epoch(Gid::MAIN, Addr(1), false, at));
    /// assert!(e.same_epoch(Gid::MAIN, Addr(1), true, at));
    /// ```
    #[inline(always)]
    pub fn same_epoch(&mut self, g: Gid, addr: Addr, write: bool, loc: Loc) -> bool {
        self.detectors.same_epoch(g, addr, write, loc)
    }

    /// Applies a plain read (`write == false`) or write of `addr` by
    /// goroutine `g` at `loc`: the same as [`Engine::apply`] of an
    /// [`Op::Read`](crate::event::Op::Read) or
    /// [`Op::Write`](crate::event::Op::Write) event, without building the
    /// event or dispatching it. A plain access concerns the race detector
    /// alone and orders nothing, and it is the most frequent event of all
    /// (a loop over a shared counter makes two per iteration).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::event::{Addr, Event, Gid, Loc, Op};
    /// use goro_analyzer::{Engine, FindingKind};
    ///
    /// let at = |line| Loc { file: "src/main.rs", line, column: 5 };
    /// let (main, child) = (Gid::MAIN, Gid::new(2).unwrap());
    /// let mut e = Engine::new(7, 0);
    /// e.apply(&Event { g: main, op: Op::Spawn { child, name: None }, loc: at(1) });
    /// e.access(child, Addr(1), true, "Shared<i64>", at(2));
    /// e.access(main, Addr(1), false, "Shared<i64>", at(3));
    /// assert_eq!(e.findings()[0].kind, FindingKind::DataRace);
    /// ```
    #[inline]
    pub fn access(&mut self, g: Gid, addr: Addr, write: bool, what: &'static str, loc: Loc) {
        // A repeat within the goroutine's epoch (no event since its last
        // write here): the race detector takes it without the goroutine's
        // lookup.
        if self.same_epoch(g, addr, write, loc) {
            return;
        }
        // `apply` makes the goroutine known after the check; making it
        // first changes nothing the check reads (an unknown goroutine is at
        // its first epoch and knows no one).
        let e = self.hb.known_epoch(g, loc);
        self.detectors
            .plain_access(&self.hb, e, addr, write, what, &mut self.findings);
    }

    /// Applies an event made while goroutine `ev.g` was dropped at the end
    /// of the schedule (its future torn down, the handles it held dropped
    /// with it). It orders nothing; the detectors decide what it means (a
    /// CancelFunc that went with a goroutine blocked forever is a lost
    /// cancel, judged by [`Engine::finish`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::engine::EndState;
    /// use goro_analyzer::event::{Blocked, Event, Gid, Loc, Op, Wait};
    /// use goro_analyzer::FindingKind;
    ///
    /// let g2 = Gid::new(2).unwrap();
    /// let mut e = goro_analyzer::Engine::new(7, 0);
    /// let lost = Op::LostCancel {
    ///     created: Loc::UNKNOWN,
    ///     creator: Some(g2),
    ///     func: "with_cancel",
    ///     timer_pending: false,
    ///     children: 0,
    ///     at_teardown: false,
    /// };
    /// e.apply_teardown(&Event { g: g2, op: lost, loc: Loc::UNKNOWN });
    /// // Goroutine 2 was blocked forever when main returned.
    /// let blocked = vec![Blocked { g: g2, wait: Wait::Forever, loc: Loc::UNKNOWN }];
    /// e.finish(&EndState { main_done: true, blocked, held: None, running: Vec::new() });
    /// assert!(e.findings().iter().any(|f| f.kind == FindingKind::LostCancel));
    /// ```
    pub fn apply_teardown(&mut self, ev: &Event) {
        self.detectors.on_teardown(&self.hb, ev);
    }

    /// Reports the end of a schedule: leaks (main returned, others blocked
    /// forever), deadlocks (main blocked, nothing can run), the lock-order
    /// inversions of the whole schedule, and the lost cancels of goroutines
    /// blocked forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::engine::EndState;
    ///
    /// let mut e = goro_analyzer::Engine::new(7, 0);
    /// e.finish(&EndState { main_done: true, ..EndState::default() });
    /// assert!(e.findings().is_empty());
    /// ```
    pub fn finish(&mut self, end: &EndState) {
        self.detectors.on_finish(&self.hb, end, &mut self.findings);
    }
}

#[cfg(test)]
mod tests;
