//! Data races: two accesses to one location, at least one a write (and not
//! both atomic), that no happens-before edge orders. FastTrack shadows
//! ([`Shadow`]) keep each location's last write and its read frontier.
//!
//! The shadows sit in a dense table: a map from location to slot, and the
//! last location accessed with its slot, so a run of accesses to one
//! variable (a loop over a counter) skips the map. Freeing a location
//! empties its slot and forgets the cached one, so a new location at the
//! same address starts with no history.

use crate::event::{Addr, Event, Gid, Loc, Op};
use crate::finding::FindingKind;
use crate::fxhash::FxHashMap as HashMap;

use super::super::findings::{site_at, Findings, Report};
use super::super::hb::{clock_index, Epoch, Hb};
use super::super::shadow::{Access, Race as RacingPair, Shadow};
use super::Detector;

/// What a data race is.
pub(crate) const DESCRIPTION: &str =
    "Two accesses to one location, at least one a write, not ordered by happens-before.";

/// The shadows of the tracked locations.
#[derive(Default)]
pub(crate) struct Race {
    /// The slot in `slots` of each tracked location.
    index: HashMap<Addr, u32>,
    slots: Vec<Shadow>,
    /// Slots emptied by a `Free`, for the next new location.
    vacant: Vec<u32>,
    /// The location last accessed and its slot.
    last: Option<(Addr, u32)>,
}

impl Detector for Race {
    #[inline(always)]
    fn on_event(&mut self, hb: &Hb, ev: &Event, out: &mut Findings) {
        match &ev.op {
            Op::Read { addr, what } => {
                self.access(hb, ev.g, *addr, ev.loc, false, false, what, out)
            }
            Op::Write { addr, what } => {
                self.access(hb, ev.g, *addr, ev.loc, true, false, what, out)
            }
            Op::Atomic { addr, write, what } => {
                self.access(hb, ev.g, *addr, ev.loc, *write, true, what, out)
            }
            Op::Free { addr } => self.free(*addr),
            _ => {}
        }
    }
}

impl Race {
    /// A plain read or write ([`Engine::access`](crate::Engine::access)) at
    /// epoch `e` of its goroutine: what [`Detector::on_event`] does for an
    /// `Op::Read` or `Op::Write`, on the detector's hottest path. The
    /// goroutine is known to `hb`.
    #[inline(always)]
    pub(crate) fn plain(
        &mut self,
        hb: &Hb,
        e: Epoch,
        addr: Addr,
        write: bool,
        what: &str,
        out: &mut Findings,
    ) {
        let slot = self.slot(addr);
        let shadow = &mut self.slots[slot];
        if shadow.only(e.g) {
            // Nothing to check: no other goroutine's access is recorded.
            shadow.record_own(Access {
                g: e.g,
                clk: e.clk,
                loc: e.loc,
                write,
                atomic: false,
                frames: e.frames,
            });
            return;
        }
        self.access(hb, e.g, addr, e.loc, write, false, what, out);
    }

    /// The slot of `addr`'s shadow, made on its first access.
    #[inline]
    fn slot(&mut self, addr: Addr) -> usize {
        if let Some((a, i)) = self.last {
            if a == addr {
                return i as usize;
            }
        }
        let i = match self.index.get(&addr) {
            Some(&i) => i,
            None => {
                let i = match self.vacant.pop() {
                    Some(i) => i,
                    None => {
                        self.slots.push(Shadow::default());
                        u32::try_from(self.slots.len() - 1).expect("under 2^32 live locations")
                    }
                };
                self.index.insert(addr, i);
                i
            }
        };
        self.last = Some((addr, i));
        i as usize
    }

    /// Forgets `addr`'s history: a later location at the same address is
    /// another variable.
    fn free(&mut self, addr: Addr) {
        if let Some(i) = self.index.remove(&addr) {
            self.slots[i as usize] = Shadow::default();
            self.vacant.push(i);
        }
        if self.last.is_some_and(|(a, _)| a == addr) {
            self.last = None;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn access(
        &mut self,
        hb: &Hb,
        g: Gid,
        addr: Addr,
        loc: Loc,
        write: bool,
        atomic: bool,
        what: &str,
        out: &mut Findings,
    ) {
        // One lookup of the goroutine serves its epoch and its clock.
        let gs = hb.goroutine(g);
        let e = match gs {
            Some(x) => x.epoch(g, loc),
            None => hb.epoch(g, loc),
        };
        let cur = Access {
            g,
            clk: e.clk,
            loc,
            write,
            atomic,
            frames: e.frames,
        };
        let ordered =
            |p: &Access| p.g == g || gs.is_some_and(|gs| gs.knows(clock_index(p.g), p.clk));
        let mut races: Vec<RacingPair> = Vec::new();
        let slot = self.slot(addr);
        self.slots[slot].access(cur, ordered, &mut races);
        if !races.is_empty() {
            report_all(hb, races, what, out);
        }
    }
}

#[cold]
fn report_all(hb: &Hb, races: Vec<RacingPair>, what: &str, out: &mut Findings) {
    for r in races {
        report(hb, r, what, out);
    }
}

fn report(hb: &Hb, r: RacingPair, what: &str, out: &mut Findings) {
    let what = &short_type_name(what);
    let op = |a: &Access| match (a.write, a.atomic) {
        (true, false) => "write",
        (false, false) => "read",
        (true, true) => "atomic write",
        (false, true) => "atomic read",
    };
    let primary = site_at(hb, r.cur.g, r.cur.loc, op(&r.cur), &r.cur.frames);
    let related = vec![site_at(
        hb,
        r.prev.g,
        r.prev.loc,
        op(&r.prev),
        &r.prev.frames,
    )];
    let notes = vec![format!(
        "no happens-before edge orders them: after its {} goroutine {} did nothing \
         (channel operation, lock, WaitGroup, atomic) that goroutine {} waited for before \
         its {}",
        op(&r.prev),
        r.prev.g,
        r.cur.g,
        op(&r.cur)
    )];
    out.report(
        hb,
        Report {
            kind: FindingKind::DataRace,
            observed: false,
            message: format!(
                "data race on {what}: {} by goroutine {} and {} by goroutine {}",
                op(&r.cur),
                r.cur.g,
                op(&r.prev),
                r.prev.g
            ),
            primary,
            related,
            notes,
            help: format!(
                "protect the {what} with a goro::sync::Mutex, make it an atomic, or hand it \
                 over through a channel"
            ),
        },
    );
}

/// `goro::shared::Shared<alloc::string::String>` as users write it:
/// `Shared<String>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for ch in full.chars() {
        if ch.is_alphanumeric() || ch == '_' || ch == ':' {
            segment.push(ch);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(&segment));
            segment.clear();
            out.push(ch);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(&segment));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_type_names() {
        assert_eq!(
            super::short_type_name("goro::shared::Shared<alloc::string::String>"),
            "Shared<String>"
        );
        assert_eq!(super::short_type_name("u64"), "u64");
        assert_eq!(
            super::short_type_name(
                "std::collections::HashMap<u8, (i32, core::option::Option<u8>)>"
            ),
            "HashMap<u8, (i32, Option<u8>)>"
        );
    }
}
