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

use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};

use async_task::Runnable;

/// A slot holding at most one goroutine (a [`Runnable`], by its raw
/// pointer).
pub(super) struct RunNext(AtomicPtr<()>);

impl RunNext {
    /// An empty slot.
    pub(super) fn new() -> RunNext {
        RunNext(AtomicPtr::new(ptr::null_mut()))
    }

    /// Takes the goroutine in the slot, if any (from any thread).
    #[inline]
    pub(super) fn take(&self) -> Option<Runnable> {
        // Acquire: the taker runs what the putter's release published.
        let p = self.0.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: a non-null pointer in the slot came from
        // `Runnable::into_raw` (in `put_own`), and the exchange gave it to
        // this caller alone: it is turned back into a `Runnable` once.
        NonNull::new(p).map(|p| unsafe { Runnable::from_raw(p) })
    }

    /// Puts `r` in the slot; returns the goroutine it displaces.
    ///
    /// Only the worker that owns the slot may call this: the store into an
    /// empty slot relies on nobody else filling it meanwhile (a second
    /// putter could overwrite a goroutine, which would then never run).
    #[inline]
    pub(super) fn put_own(&self, r: Runnable) -> Option<Runnable> {
        let p = Runnable::into_raw(r).as_ptr();
        // Relaxed: nothing is read through a null pointer, and a slot
        // seen empty stays empty until this store (takers only empty it).
        if self.0.load(Ordering::Relaxed).is_null() {
            // Release: publishes the goroutine to whoever takes it.
            self.0.store(p, Ordering::Release);
            return None;
        }
        let old = self.0.swap(p, Ordering::AcqRel);
        // SAFETY: as in `take`: the exchange handed this caller the
        // pointer that `put_own` made with `into_raw`, once.
        NonNull::new(old).map(|p| unsafe { Runnable::from_raw(p) })
    }
}

impl Drop for RunNext {
    fn drop(&mut self) {
        // A goroutine left in the slot is dropped with it, as an
        // `AtomicCell<Option<Runnable>>` did.
        drop(self.take());
    }
}
