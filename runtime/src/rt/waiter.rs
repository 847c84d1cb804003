//! The parked side of a blocking operation: one per blocked `send`, `recv` or
//! `select!`. Sends are completed by a claim; receives are only notified and
//! retry (see `rt::chan`).
//!
//! A waiter is shared by every queue entry one blocked operation registered
//! (one per `select!` case). Whoever completes it first claims it with a single
//! compare-and-swap that records which case committed and whether the channel
//! was closed; every other party that later finds one of its stale entries sees
//! the failed claim and discards the entry. This is what lets a `select!` send
//! case commit only if it is chosen, without locking several channels at once
//! (Go locks them all in address order; the claim makes that unnecessary).
//!
//! Who wakes the parked task: a `select!`'s waiter holds its waker (any of
//! its channels may wake it); a plain `send` or `recv` parks one entry, and
//! that entry holds the waker instead (`rt::chan`'s `Wakee`), which saves
//! the `AtomicWaker`'s read-modify-writes on every park and wake. A plain
//! `send` or `recv` has no waiter at all in production: its entry leaving
//! the queue is its completion or notification (under the detector it
//! keeps one for the proof that reads it: a send's is completed by a
//! store, a receive's never notified).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;

use futures_util::task::AtomicWaker;

const WAITING: usize = usize::MAX;

/// How a claimed waiter was completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Index of the case that committed (always 0 for a plain send/recv).
    pub(crate) case: usize,
    /// The case's channel was closed rather than completed with a value.
    pub(crate) closed: bool,
}

#[doc(hidden)]
pub struct Waiter {
    state: AtomicUsize,
    /// One bit per case whose receive entry a channel notified (a value was
    /// reserved for it, or the close arrived): those receives are retried.
    notified: AtomicU64,
    /// A notification handed over an unbuffered channel's value, which the
    /// operation must take (see [`Waiter::is_waiting`]).
    handed: AtomicBool,
    waker: AtomicWaker,
}

thread_local! {
    /// Waiters of finished channel operations, reused by the next park on
    /// this thread: a parked `select!` (or, under the detector, a parked
    /// `send` or `recv`) allocates only when it is empty (see [`recycle`]). Under the detector too: a goroutine's
    /// parking record lets go of its waiter when it is next polled
    /// (`BlockInfo::release_waiter`), so a finished operation's waiter is
    /// unique again and a ping-pong parks without allocating.
    static POOL: RefCell<Vec<Arc<Waiter>>> = const { RefCell::new(Vec::new()) };
}

/// Waiters kept per thread: enough for the operations one worker has in
/// flight at a time, little memory.
const POOL_MAX: usize = 32;

/// Returns a finished operation's waiter to this thread's pool, if nothing
/// else holds it (a stale queue entry's clone keeps it out). Its old waker
/// is dropped now.
pub(crate) fn recycle(mut w: Arc<Waiter>) {
    let Some(m) = Arc::get_mut(&mut w) else {
        return;
    };
    // Reset here, where it is known unique: `take` then needs no check.
    m.waker = AtomicWaker::new();
    *m.state.get_mut() = WAITING;
    *m.notified.get_mut() = 0;
    *m.handed.get_mut() = false;
    let _ = POOL.try_with(move |p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_MAX {
            p.push(w);
        }
    });
}

impl Waiter {
    /// A waiter for a `select!`, holding `waker`.
    pub(crate) fn new(waker: &Waker) -> Arc<Self> {
        let w = Waiter::take();
        w.waker.register(waker);
        super::detect::parked();
        w
    }

    /// A waiter for a plain `send` or `recv` under the detector (the proof
    /// reads it; production parks them without one): its one queue entry
    /// holds the waker (see `rt::chan`), so none is registered here.
    pub(crate) fn solo() -> Arc<Self> {
        let w = Waiter::take();
        super::detect::parked();
        w
    }

    /// A reset waiter from this thread's pool, or a new one.
    fn take() -> Arc<Self> {
        let pooled = POOL.try_with(|p| p.borrow_mut().pop()).ok().flatten();
        // Pooled waiters were reset by `recycle`, when they were unique;
        // nothing can clone one in the (thread-local) pool.
        pooled.unwrap_or_else(|| Arc::new(Waiter::fresh()))
    }

    fn fresh() -> Waiter {
        Waiter {
            state: AtomicUsize::new(WAITING),
            notified: AtomicU64::new(0),
            handed: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    /// Claims the waiter for `case`. Only the first claim succeeds, and only
    /// while no value was handed to it (see [`Waiter::is_waiting`]).
    pub(crate) fn try_claim(&self, case: usize, closed: bool) -> bool {
        if self.handed.load(Ordering::Acquire) {
            return false;
        }
        let v = (case << 1) | closed as usize;
        self.state
            .compare_exchange(WAITING, v, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Completes a plain `send`'s waiter for its one case: a store, not a
    /// claim, since removing its only entry under the channel lock already
    /// decided who completes it.
    pub(crate) fn complete(&self, closed: bool) {
        self.state.store(closed as usize, Ordering::Release);
    }

    /// Whether a partner may still complete this operation: not claimed,
    /// and not handed a value. A select handed an unbuffered channel's value
    /// is spoken for, as a Go select is once one partner has dequeued it:
    /// it takes that value, so no other partner may claim its sends or hand
    /// it a second value (either would leave the first value in the
    /// channel, delivered to nobody, for anyone to take: even the select's
    /// own goroutine, its own value). A buffered channel's notification
    /// does not bind it: the value it gives up just stays buffered.
    ///
    /// Exact for entries of one channel (notify and claim both happen under
    /// its lock); across channels a claim and a hand-off can still cross in
    /// production, and the select then passes its reservation on.
    pub(crate) fn is_waiting(&self) -> bool {
        !self.handed.load(Ordering::Acquire) && self.outcome().is_none()
    }

    pub(crate) fn outcome(&self) -> Option<Outcome> {
        match self.state.load(Ordering::Acquire) {
            WAITING => None,
            v => Some(Outcome {
                case: v >> 1,
                closed: v & 1 == 1,
            }),
        }
    }

    /// Re-registers the waker, then re-reads the outcome so that a claim that
    /// raced with the registration is not missed.
    pub(crate) fn poll_outcome(&self, waker: &Waker) -> Option<Outcome> {
        if let Some(o) = self.outcome() {
            return Some(o);
        }
        self.waker.register(waker);
        let o = self.outcome();
        if o.is_none() {
            super::detect::parked();
        }
        o
    }

    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    /// Marks the receive entry of `case` notified, `handed` an unbuffered
    /// channel's value (the waker is woken separately).
    pub(crate) fn notify(&self, case: usize, handed: bool) {
        if handed {
            self.handed.store(true, Ordering::Release);
        }
        self.notified.fetch_or(1 << case, Ordering::AcqRel);
    }

    /// The cases notified and not yet seen, as a bit mask, without waiting.
    pub(crate) fn take_notified(&self) -> u64 {
        // A load first: most polls find nothing, and a read is cheaper than
        // a read-modify-write of a line the notifier may own.
        if self.notified.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let m = self.notified.swap(0, Ordering::AcqRel);
        // `handed` is set just before the bits it goes with: clear it only
        // with them, never while a notification is half given.
        if m != 0 {
            self.handed.store(false, Ordering::Release);
        }
        m
    }

    /// Whether a case was notified, without taking the notification (a
    /// select withdraws its entries first, staying spoken for meanwhile);
    /// re-registers the waker first so that a notification racing with this
    /// poll is not missed.
    pub(crate) fn poll_is_notified(&self, waker: &Waker) -> bool {
        if self.notified.load(Ordering::Acquire) != 0 {
            return true;
        }
        self.waker.register(waker);
        let notified = self.notified.load(Ordering::Acquire) != 0;
        if !notified {
            super::detect::parked();
        }
        notified
    }
}

#[cfg(test)]
mod pool_tests {
    use super::*;

    #[test]
    fn a_unique_waiter_is_reused_reset_and_a_shared_one_is_not() {
        let waker = Waker::noop();
        let w = Waiter::new(waker);
        assert!(w.try_claim(1, true));
        w.notify(0, true);
        let first = Arc::as_ptr(&w);
        recycle(w);
        let again = Waiter::new(waker);
        assert_eq!(Arc::as_ptr(&again), first, "the pooled waiter is reused");
        assert!(again.outcome().is_none() && again.is_waiting(), "and reset");
        assert_eq!(again.take_notified(), 0);
        let held = again.clone();
        recycle(again);
        let fresh = Waiter::new(waker);
        assert_ne!(
            Arc::as_ptr(&fresh),
            Arc::as_ptr(&held),
            "a waiter someone still holds is never reused"
        );
    }
}
