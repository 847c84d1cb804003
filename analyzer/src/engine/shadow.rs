//! FastTrack shadow state of one tracked location.
//!
//! The last write is one epoch; reads are one epoch while they are totally
//! ordered and grow to a small frontier (one entry per goroutine whose read
//! no later access is ordered after) only when reads are concurrent. A check
//! is O(1) in the common case: FastTrack (Flanagan & Freund, PLDI 2009).

use super::hb::Frames;
use crate::event::{Gid, Loc};

/// One access, at its goroutine's epoch.
#[derive(Clone, Debug)]
pub(super) struct Access {
    pub(super) g: Gid,
    pub(super) clk: u32,
    pub(super) loc: Loc,
    pub(super) write: bool,
    pub(super) atomic: bool,
    /// The goroutine's shadow call chain at the access.
    pub(super) frames: Frames,
}

/// A racing pair: the current access and the earlier one it is unordered with.
#[derive(Clone, Debug)]
pub(super) struct Race {
    pub(super) cur: Access,
    pub(super) prev: Access,
}

#[derive(Default)]
pub(super) struct Shadow {
    write: Option<Access>,
    reads: Vec<Access>,
}

/// Atomics never race with each other, only with plain accesses.
fn conflicts(a: &Access, b: &Access) -> bool {
    (a.write || b.write) && !(a.atomic && b.atomic)
}

impl Shadow {
    /// Records `cur`; pushes every earlier access it races with onto `races`.
    /// `ordered(p)` tells whether `p` happens before `cur`.
    // Inlined: the common case is a few compares and stores.
    #[inline(always)]
    pub(super) fn access(
        &mut self,
        cur: Access,
        ordered: impl Fn(&Access) -> bool,
        races: &mut Vec<Race>,
    ) {
        if self.only(cur.g) {
            self.record_own(cur);
            return;
        }
        self.check(cur, ordered, races);
    }

    /// Whether every access recorded is goroutine `g`'s: program order then
    /// puts each before `g`'s next one, which cannot race with them (the
    /// common case, a goroutine working on its own data).
    #[inline(always)]
    pub(super) fn only(&self, g: Gid) -> bool {
        self.write.as_ref().is_none_or(|w| w.g == g) && self.reads.iter().all(|r| r.g == g)
    }

    /// Records `cur` when [`Shadow::only`] holds for its goroutine: it
    /// subsumes every access recorded.
    #[inline(always)]
    pub(super) fn record_own(&mut self, cur: Access) {
        if cur.write {
            self.reads.clear();
            self.write = Some(cur);
        } else if let [only] = self.reads.as_mut_slice() {
            *only = cur;
        } else {
            self.reads.clear();
            self.reads.push(cur);
        }
    }

    /// [`Shadow::access`] when another goroutine's access is recorded.
    #[inline(never)]
    pub(super) fn check(
        &mut self,
        cur: Access,
        ordered: impl Fn(&Access) -> bool,
        races: &mut Vec<Race>,
    ) {
        if let Some(w) = &self.write {
            if conflicts(w, &cur) && !ordered(w) {
                races.push(Race {
                    cur: cur.clone(),
                    prev: w.clone(),
                });
            }
        }
        if cur.write {
            for r in &self.reads {
                if conflicts(r, &cur) && !ordered(r) {
                    races.push(Race {
                        cur: cur.clone(),
                        prev: r.clone(),
                    });
                }
            }
            self.reads.clear();
            self.write = Some(cur);
        } else {
            // Reads ordered before this one are subsumed by it.
            self.reads.retain(|r| !ordered(r));
            self.reads.push(cur);
        }
    }
}
