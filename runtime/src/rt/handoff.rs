//! The hand-off cell of an unbuffered channel: Go's copy of a value into
//! the parked receiver's `sudog`, without the receiver locking the channel
//! again to collect it.
//!
//! A send that finds a plain `recv` parked (and nothing older in flight)
//! *binds* its value to that receive's queue entry: it writes the value
//! here, under the channel lock, and publishes the entry's id. The woken
//! receiver takes it with one compare-and-swap, lock-free.
//!
//! Cancel safety is the channel's (`rt::chan`): values leave in the order
//! they entered. The bound value is always the oldest one in flight (a send
//! binds only when the cell is empty and no other value is in flight), and
//! no younger value may leave while it is bound, since a bound receive that
//! is dropped steals its own value back to the head of the channel. So
//! every receive that takes a value under the lock takes the bound value
//! first: it *steals* it, and the receive it was bound to falls back on a
//! reservation: the thief's own (a notified receive), or the value the
//! thief would have taken, put in flight for it (a receive that had no
//! reservation: a free value, or a parked sender's). Only one value is ever
//! bound per channel.
//!
//! The protocol, on one word (`state`):
//! - `EMPTY`: no value. Only a binder (holding the channel lock) writes the
//!   value, then stores the entry's id + 1 (`Release`).
//! - id + 1: bound. The receiver (lock-free) and thieves (holding the lock)
//!   race to move it to `BUSY` by compare-and-swap (`Acquire`); the winner
//!   alone reads the value, then stores `EMPTY` (`Release`), after which a
//!   binder may write again.
//! - `BUSY`: a winner is reading: to everyone else, the value is taken.
//!
//! Binders and thieves all hold the channel lock, so a thief's state cannot
//! change between its load and its compare-and-swap except by the bound
//! receiver's own take. `runtime/tests/loom_handoff.rs` checks this file
//! under loom.

use std::mem::MaybeUninit;
use std::sync::atomic::Ordering;

use super::prims::{AtomicU64, UnsafeCell};

const EMPTY: u64 = 0;
const BUSY: u64 = u64::MAX;

pub(crate) struct Handoff<T> {
    /// `EMPTY`, `BUSY`, or the id + 1 of the receive entry the value is
    /// bound to.
    state: AtomicU64,
    /// Initialised exactly while `state` is an id (or `BUSY`, being read).
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value moves between threads (a sender writes it, a receiver
// reads it), so `T: Send` is required and enough: the protocol above lets
// exactly one thread touch it at a time, with release/acquire edges
// between them, and no `&T` is ever shared.
unsafe impl<T: Send> Send for Handoff<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for Handoff<T> {}

impl<T> Handoff<T> {
    pub(crate) const fn new() -> Self {
        Handoff {
            state: AtomicU64::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Whether a value may be bound now. Call under the channel lock.
    pub(crate) fn is_empty(&self) -> bool {
        self.state.load(Ordering::Acquire) == EMPTY
    }

    /// Binds `v` to receive entry `id`. Call under the channel lock, after
    /// [`Handoff::is_empty`] said yes (only lock holders bind, so it still
    /// holds).
    pub(crate) fn put(&self, id: u64, v: T) {
        debug_assert!(self.is_empty() && id + 1 != BUSY);
        // SAFETY: `EMPTY` means nobody reads or writes the value: the last
        // reader stored `EMPTY` after its read (we acquired that), and
        // only lock holders write.
        self.value.with_mut(|p| unsafe { (*p).write(v) });
        self.state.store(id + 1, Ordering::Release);
    }

    /// Takes the value bound to receive entry `id`, if it still is (the
    /// receiver's own take, lock-free; or its withdrawal, under the lock).
    pub(crate) fn take(&self, id: u64) -> Option<T> {
        // A load first: a receive woken without a bound value (the common
        // case under the detector, which never binds) pays no
        // read-modify-write.
        if self.state.load(Ordering::Relaxed) != id + 1 {
            return None;
        }
        self.take_from(id + 1)
    }

    /// Takes the bound value, whoever it is bound to. Call under the
    /// channel lock.
    pub(crate) fn steal(&self) -> Option<T> {
        match self.state.load(Ordering::Acquire) {
            EMPTY | BUSY => None,
            s => self.take_from(s),
        }
    }

    fn take_from(&self, s: u64) -> Option<T> {
        self.state
            .compare_exchange(s, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        // SAFETY: winning the swap from a bound state makes this the only
        // reader of the value `put` wrote before its `Release` store of
        // `s`, which we acquired; nothing writes it until `EMPTY` below.
        let v = self.value.with(|p| unsafe { (*p).assume_init_read() });
        self.state.store(EMPTY, Ordering::Release);
        Some(v)
    }
}

impl<T> Drop for Handoff<T> {
    fn drop(&mut self) {
        // A value bound to a receive that never took it (the channel is
        // going away with it).
        drop(self.steal());
    }
}
