//! What the scheduler knows of each goroutine beyond its future: one small
//! record per goroutine, indexed by its dense id.
//!
//! A program may start a million goroutines, all alive at once (a loop of
//! `go!` runs ahead of the goroutines it starts), so the record holds only
//! what every goroutine needs on every step: 56 bytes. What few goroutines
//! have or only some moments need lives beside it: names (only a trace
//! reads one) in a map, and what a goroutine parked on (the leak and
//! deadlock checks read it) in slots reused from one park to the next and
//! freed when the goroutine returns. A returned goroutine keeps its record
//! (ids stay dense) but lets go of its park. (Its waker's allocation stays
//! until the schedule ends, through the proof's weak handle: freeing it at
//! the return cost a spawn 2.5% more instructions in the allocator.)

use std::task::Waker;

use goro_analyzer::event::Loc;
use goro_analyzer::fxhash::FxHashMap as HashMap;

use super::proof;
use crate::rt::block::BlockInfo;

/// What the scheduler knows of one goroutine.
pub(super) struct Meta {
    /// Hash of its spawn path from main (stable under edits elsewhere).
    pub(super) path: u64,
    /// Goroutines it started (fewer than 2^32: `Exec::spawn` checks that
    /// every index fits in 32 bits).
    pub(super) children: u32,
    /// How many `rand_below` draws it made: the position in its own
    /// random stream.
    pub(super) draws: u64,
    /// Steps it took after main returned (see `Exec::grace_steps`).
    pub(super) steps_after_main: u32,
    /// What the proof that it can never be woken needs.
    pub(super) parking: proof::Parking,
    /// Its slot in [`Metas::parks`] ([`NO_PARK`]: it never parked).
    park: u32,
    /// Returned Pending without parking on anything goro knows: waiting on
    /// the outside world.
    pub(super) external: bool,
    pub(super) done: bool,
}

/// [`Meta::park`] of a goroutine that holds no slot.
const NO_PARK: u32 = u32::MAX;

/// What a goroutine parked on in its last poll, and where.
type Park = (BlockInfo, Loc);

/// Every goroutine's [`Meta`], and what lies beside them.
#[derive(Default)]
pub(super) struct Metas {
    meta: Vec<Meta>,
    /// What goroutines parked on; `Meta::park` indexes it. A slot is
    /// overwritten by its goroutine's next park (no allocation per park)
    /// and handed on when the goroutine returns.
    parks: Vec<Option<Park>>,
    /// Slots of `parks` that no goroutine holds.
    free: Vec<u32>,
    /// `go!` names, by goroutine index: few goroutines have one.
    names: HashMap<usize, String>,
}

impl Metas {
    /// Adds the record of the goroutine with the next index.
    #[inline]
    pub(super) fn push(&mut self, path: u64, name: Option<String>, parking: proof::Parking) {
        if let Some(name) = name {
            self.names.insert(self.meta.len(), name);
        }
        self.meta.push(Meta {
            path,
            children: 0,
            draws: 0,
            steps_after_main: 0,
            parking,
            park: NO_PARK,
            external: false,
            done: false,
        });
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.meta.len()
    }

    #[inline]
    pub(super) fn get(&self, i: usize) -> Option<&Meta> {
        self.meta.get(i)
    }

    #[inline]
    pub(super) fn get_mut(&mut self, i: usize) -> Option<&mut Meta> {
        self.meta.get_mut(i)
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, Meta> {
        self.meta.iter()
    }

    /// Goroutine `i`'s `go!` name.
    pub(super) fn name(&self, i: usize) -> Option<&str> {
        self.names.get(&i).map(String::as_str)
    }

    /// What goroutine `i` parked on in its last park, and where.
    #[inline]
    pub(super) fn park(&self, i: usize) -> Option<&Park> {
        let slot = self.meta.get(i)?.park;
        self.parks.get(slot as usize)?.as_ref()
    }

    /// Takes what goroutine `i` parked on (the end of a schedule reads it
    /// once).
    pub(super) fn take_park(&mut self, i: usize) -> Option<Park> {
        let slot = self.meta.get(i)?.park;
        self.parks.get_mut(slot as usize)?.take()
    }

    /// Goroutine `i` parked on `park`, with `waker` (see
    /// `proof::Parking::parked`): the goroutine's slot is overwritten in
    /// place, or it takes one.
    #[inline]
    pub(super) fn parked(&mut self, i: usize, waker: Option<&Waker>, park: Park) {
        let Some(m) = self.meta.get_mut(i) else {
            return;
        };
        m.parking.parked(waker);
        if let Some(slot) = self.parks.get_mut(m.park as usize) {
            *slot = Some(park);
            return;
        }
        m.park = match self.free.pop() {
            Some(s) => {
                self.parks[s as usize] = Some(park);
                s
            }
            None => {
                self.parks.push(Some(park));
                u32::try_from(self.parks.len() - 1).expect("fewer than 2^32 parked goroutines")
            }
        };
    }

    /// Goroutine `i` is about to be polled: what it parked on is stale
    /// (see `proof::Parking::polled`), and its record lets go of the
    /// operation's waiter, so that the operation, completing in this poll,
    /// can return it to the pool (`rt::waiter::recycle`) for its next park.
    #[inline]
    pub(super) fn polled(&mut self, i: usize) {
        let m = &mut self.meta[i];
        // Only a record from the last poll can still hold one: every poll
        // since let go of it.
        if m.parking.fresh() {
            if let Some(Some((info, _))) = self.parks.get_mut(m.park as usize) {
                info.release_waiter();
            }
        }
        m.parking.polled();
    }

    /// Goroutine `i` returned: nothing reads its park again.
    #[inline]
    pub(super) fn end(&mut self, i: usize) {
        let m = &mut self.meta[i];
        m.done = true;
        let slot = std::mem::replace(&mut m.park, NO_PARK);
        if let Some(p) = self.parks.get_mut(slot as usize) {
            *p = None;
            self.free.push(slot);
        }
    }
}

impl std::ops::Index<usize> for Metas {
    type Output = Meta;

    #[inline]
    fn index(&self, i: usize) -> &Meta {
        &self.meta[i]
    }
}

impl std::ops::IndexMut<usize> for Metas {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Meta {
        &mut self.meta[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use goro_analyzer::event::ObjId;

    use crate::rt::block::{ChanOps, ChanWait};
    use crate::rt::waiter::Waiter;

    /// Goroutine 0's record, parked on a receive under `waiter`.
    fn parked_on(waiter: &Arc<Waiter>) -> (Metas, Arc<crate::rt::sched::TaskWaker>) {
        let tw = Arc::new(crate::rt::sched::TaskWaker { idx: 0, serial: 1 });
        let fut: crate::rt::sched::BoxFuture = Box::pin(async {});
        let mut metas = Metas::default();
        metas.push(1, None, proof::Parking::new(&tw, &fut));
        let op = ChanWait {
            ch: ObjId(1),
            id: 1,
            counts: Arc::default(),
            send: false,
            handle: 0,
        };
        let info = BlockInfo::Chans {
            ops: ChanOps::One(op),
            select: false,
            waiter: Arc::downgrade(waiter),
        };
        metas.parked(0, None, (info, Loc::UNKNOWN));
        (metas, tw)
    }

    /// The operation that parked keeps its waiter for the pool: once its
    /// goroutine is polled again (the operation completes in that poll),
    /// the record refers to the waiter no more, so the waiter is unique
    /// and `rt::waiter::recycle` can take it back. What it waited for stays
    /// (the leak report reads it).
    #[test]
    fn a_polled_goroutines_record_lets_go_of_its_waiter() {
        let mut w = Waiter::solo();
        let (mut metas, _tw) = parked_on(&w);
        assert_eq!(Arc::weak_count(&w), 1, "the fresh record refers to it");
        assert!(Arc::get_mut(&mut w).is_none(), "so it cannot be reused");
        metas.polled(0);
        assert_eq!(Arc::weak_count(&w), 0);
        assert!(Arc::get_mut(&mut w).is_some(), "unique: back to the pool");
        assert!(matches!(metas.park(0), Some((BlockInfo::Chans { .. }, _))));
        // A second poll finds nothing more to let go of.
        metas.polled(0);
        assert!(metas.park(0).is_some());
    }

    /// A million goroutines keep a million of these.
    #[test]
    fn a_goroutine_record_is_56_bytes() {
        assert_eq!(std::mem::size_of::<Meta>(), 56);
    }

    /// And a million wakers: 8 bytes, a 32-byte allocation with the
    /// `Arc`'s counts (16 more would take glibc's next size, 48).
    #[test]
    fn a_waker_holds_8_bytes() {
        assert_eq!(std::mem::size_of::<crate::rt::sched::TaskWaker>(), 8);
    }
}
