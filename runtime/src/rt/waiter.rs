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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    /// Set when a channel notified a receive entry of this waiter (a value
    /// or the close arrived): the receive should be retried.
    notified: AtomicBool,
    waker: AtomicWaker,
}

impl Waiter {
    pub(crate) fn new(waker: &Waker) -> Arc<Self> {
        let w = Waiter {
            state: AtomicUsize::new(WAITING),
            notified: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        };
        w.waker.register(waker);
        super::detect::parked();
        Arc::new(w)
    }

    /// Claims the waiter for `case`. Only the first claim succeeds.
    pub(crate) fn try_claim(&self, case: usize, closed: bool) -> bool {
        let v = (case << 1) | closed as usize;
        self.state
            .compare_exchange(WAITING, v, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
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

    /// Marks a receive entry notified (the waker is woken separately).
    pub(crate) fn notify(&self) {
        self.notified.store(true, Ordering::Release);
    }

    /// Whether a receive entry was notified since the last call; re-registers
    /// the waker first so a notification racing with this poll is not missed.
    pub(crate) fn poll_notified(&self, waker: &Waker) -> bool {
        if self.notified.swap(false, Ordering::AcqRel) {
            return true;
        }
        self.waker.register(waker);
        if self.notified.swap(false, Ordering::AcqRel) {
            return true;
        }
        super::detect::parked();
        false
    }
}
