//! The detector's identity of a goro primitive that is not a channel (a
//! `Mutex`, `RwLock`, `WaitGroup`, `Once`, `Cond`, `sync::Map`, `Timer`),
//! and of a `Shared` variable.
//!
//! An identity lives in the object, so it dies with it: an object freed and
//! a new one made at its address are two objects to the detector, with two
//! histories (an identity derived from the address made the new object
//! inherit the old one's WaitGroup adds and lock-order edges: false
//! alarms). It also moves with the object, so a `Mutex` moved into an `Arc`
//! after use keeps its history.
//!
//! The identity is a process-wide number drawn on the object's first
//! operation under the detector and never changed; the scheduler maps it to
//! a dense per-schedule [`ObjId`] in order of first use, as it does a
//! channel's, so traces and findings do not depend on allocation order.
//! Production never draws one: it pays one word per object and nothing per
//! operation beyond the hooks' thread-local check.

use std::sync::atomic::{AtomicU64, Ordering};

use goro_analyzer::event::{Addr, ObjId};

use super::detect;

/// Set on every drawn identity: keeps them apart from channels' ids (a
/// counter from 1), from the addresses `race::acquire`/`release` use (bit
/// 63 set) and, as locations, from every real address.
const TAG: u64 = 1 << 62;

/// An object's identity for the detector (0 until its first detected
/// operation).
#[derive(Default)]
pub(crate) struct Ident(AtomicU64);

impl Ident {
    /// An identity not yet drawn.
    pub(crate) const fn new() -> Self {
        Ident(AtomicU64::new(0))
    }

    /// The per-schedule id of the object this identity belongs to. Inlined
    /// so that production pays only the `active` check.
    #[inline]
    pub(crate) fn obj(&self) -> ObjId {
        if detect::active() {
            detect::obj(self.global())
        } else {
            ObjId(0)
        }
    }

    /// The location this identity names, for a variable whose accesses
    /// the detector tracks (a `Shared`): the drawn number, which no real
    /// address has (bit 62 set), so the variable keeps its history when
    /// moved and a new one at its old address starts clean. Inlined up to
    /// the draw: after the first access it is one load, on
    /// every detected access to a `Shared`.
    #[inline(always)]
    pub(crate) fn location(&self) -> Addr {
        match self.0.load(Ordering::Relaxed) {
            0 => Addr(self.global()),
            g => Addr(g),
        }
    }

    /// The location, if a detected access drew it: a variable dropped
    /// without one has no history to forget.
    pub(crate) fn drawn_location(&self) -> Option<Addr> {
        let g = self.0.load(Ordering::Relaxed);
        (g != 0).then_some(Addr(g))
    }

    /// The process-wide number, drawn on first use. Two schedules on two
    /// threads may race to draw it for a `static`: one number wins and both
    /// use it.
    fn global(&self) -> u64 {
        let g = self.0.load(Ordering::Relaxed);
        if g != 0 {
            return g;
        }
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let new = TAG | NEXT.fetch_add(1, Ordering::Relaxed);
        match self
            .0
            .compare_exchange(0, new, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => new,
            Err(won) => won,
        }
    }
}
