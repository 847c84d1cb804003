//! A worker's `runnext` slot: the goroutine it runs next (Go's
//! `p.runnext`).
//!
//! Only the slot's own worker puts a goroutine in ([`RunNext::put_own`]);
//! anyone takes one out ([`RunNext::take`]): the worker itself, a thief
//! that finds the worker stuck in one poll, the monitor thread, the end of
//! the run. So a put into an empty slot is a plain release store, not an
//! exchange: the slot can become non-empty only by its owner's hand, and a
//! taker's exchange of an empty slot writes what was there. `pingpong`
//! puts into an empty slot at every wake; the exchange this saves was one
//! of the round trip's locked instructions. A put into a full slot still
//! exchanges, because a thief may take the goroutine it displaces.

//!
//! Checked by a soak test under contention (below; also run under Miri,
//! whose weak-memory emulation and data-race detector see the store and
//! the exchanges), not by loom: loom 0.7 lets a plain store land between
//! the read and the write of a concurrent exchange (loom issue 254), so
//! every model of this slot fails on executions no real machine has (a
//! minimal reproducer: one thread swaps, another stores then loads; loom
//! reports the swap and the load both reading the initial value).
//! Checked to fail on seeded bugs, by hand, then reverted: a store into a
//! full slot instead of the exchange (the soak test: items lost); the
//! store into an empty slot `Relaxed` instead of `Release` (Miri: a data
//! race on the item, between its owner's write and the taker's read).

use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use async_task::Runnable;

use super::prims::{AtomicPtr, Ordering};

/// What a slot holds: an owned value that travels as a raw pointer.
pub(super) trait Raw: Sized {
    /// Gives up the value as a pointer.
    fn into_raw(self) -> NonNull<()>;

    /// The value back.
    ///
    /// # Safety
    ///
    /// `p` came from `into_raw` of this type, and is turned back once.
    unsafe fn from_raw(p: NonNull<()>) -> Self;
}

impl Raw for Runnable {
    #[inline]
    fn into_raw(self) -> NonNull<()> {
        Runnable::into_raw(self)
    }

    #[inline]
    unsafe fn from_raw(p: NonNull<()>) -> Self {
        // SAFETY: the caller's contract: `p` is a `Runnable`'s, once.
        unsafe { Runnable::from_raw(p) }
    }
}

/// A slot holding at most one goroutine (a [`Runnable`], by its raw
/// pointer).
pub(super) struct RunNext<T: Raw = Runnable>(AtomicPtr<()>, PhantomData<T>);

impl<T: Raw> RunNext<T> {
    /// An empty slot.
    pub(super) fn new() -> Self {
        RunNext(AtomicPtr::new(ptr::null_mut()), PhantomData)
    }

    /// Takes the goroutine in the slot, if any (from any thread).
    #[inline]
    pub(super) fn take(&self) -> Option<T> {
        // Acquire: the taker runs what the putter's release published.
        let p = self.0.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: a non-null pointer in the slot came from `into_raw` (in
        // `put_own`), and the exchange gave it to this caller alone: it is
        // turned back once.
        NonNull::new(p).map(|p| unsafe { T::from_raw(p) })
    }

    /// Puts `r` in the slot; returns the goroutine it displaces.
    ///
    /// Only the worker that owns the slot may call this: the store into an
    /// empty slot relies on nobody else filling it meanwhile (a second
    /// putter could overwrite a goroutine, which would then never run).
    #[inline]
    pub(super) fn put_own(&self, r: T) -> Option<T> {
        let p = r.into_raw().as_ptr();
        // Relaxed: only this worker stores a non-null pointer here, so a
        // null read is not stale (read-write coherence: this thread's own
        // last store, or a taker's later null); nothing is read through it.
        if self.0.load(Ordering::Relaxed).is_null() {
            // Release: publishes the goroutine to whoever takes it.
            self.0.store(p, Ordering::Release);
            return None;
        }
        let old = self.0.swap(p, Ordering::AcqRel);
        // SAFETY: as in `take`: the exchange handed this caller the
        // pointer that `put_own` made with `into_raw`, once.
        NonNull::new(old).map(|p| unsafe { T::from_raw(p) })
    }
}

impl<T: Raw> Drop for RunNext<T> {
    fn drop(&mut self) {
        // A goroutine left in the slot is dropped with it, as an
        // `AtomicCell<Option<Runnable>>` did.
        drop(self.take());
    }
}

#[cfg(test)]
mod tests {
    use std::ptr::NonNull;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::{Raw, RunNext};

    /// A model goroutine: its number, behind a pointer, written before the
    /// put and read after the take (Miri's race detector checks that the
    /// put publishes it).
    struct Item(Box<usize>);

    impl Raw for Item {
        fn into_raw(self) -> NonNull<()> {
            NonNull::from(Box::leak(self.0)).cast()
        }

        unsafe fn from_raw(p: NonNull<()>) -> Self {
            // SAFETY: `p` came from `into_raw`'s `Box::leak`, once.
            Item(unsafe { Box::from_raw(p.cast::<usize>().as_ptr()) })
        }
    }

    /// The owner puts 1..=N while two thieves take as fast as they can:
    /// every number comes out exactly once (taken, displaced back to the
    /// owner, or left in the slot at the end).
    #[test]
    fn every_goroutine_comes_out_once_under_contention() {
        const N: usize = if cfg!(miri) { 300 } else { 200_000 };
        let slot = Arc::new(RunNext::<Item>::new());
        let stop = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (slot, stop) = (slot.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while !stop.load(Ordering::Acquire) {
                        if let Some(i) = slot.take() {
                            got.push(*i.0);
                        }
                    }
                    got
                })
            })
            .collect();
        let mut seen: Vec<usize> = (1..=N)
            .filter_map(|n| slot.put_own(Item(Box::new(n))).map(|i| *i.0))
            .collect();
        stop.store(true, Ordering::Release);
        for t in thieves {
            seen.extend(t.join().unwrap());
        }
        seen.extend(slot.take().map(|i| *i.0));
        seen.sort_unstable();
        assert_eq!(seen.len(), N, "lost or duplicated");
        assert!(seen.iter().copied().eq(1..=N), "lost or duplicated");
    }

    /// A goroutine left in the slot is dropped with it.
    #[test]
    fn a_goroutine_left_in_the_slot_is_dropped_with_it() {
        let slot = RunNext::<Item>::new();
        assert!(slot.put_own(Item(Box::new(1))).is_none());
        assert_eq!(slot.put_own(Item(Box::new(2))).map(|i| *i.0), Some(1));
        // Dropped here; Miri reports the box as leaked if it is not.
        drop(slot);
    }
}
