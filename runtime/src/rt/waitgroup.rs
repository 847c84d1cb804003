//! The model under `WaitGroup`: a counter and the goroutines waiting for it
//! to reach zero.
//!
//! One atomic word holds `counter << 1 | WAITERS`. `add` is a single
//! fetch-add; only the `add` that brings the counter to zero while `WAITERS`
//! is set takes the queue lock, to release every waiter at once. `wait` with
//! a zero counter is a single load.

use std::panic::Location;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};

use goro_analyzer::event::ObjId;

use super::detect;
use super::ident::Ident;
use super::panic::panic_at;
pub(crate) use super::waitq::Parked;
use super::waitq::{WaitQueue, Wakers};

const WAITERS: i64 = 1;

pub(crate) const NEGATIVE: &str = "sync: negative WaitGroup counter";
const OVERFLOW: &str = "sync: WaitGroup counter overflow";

pub(crate) struct WaitGroupState {
    /// `counter << 1 | WAITERS`; `WAITERS` changes only under the queue lock.
    state: AtomicI64,
    queue: WaitQueue<()>,
    id: Ident,
}

impl WaitGroupState {
    pub(crate) const fn new() -> Self {
        WaitGroupState {
            state: AtomicI64::new(0),
            queue: WaitQueue::new(),
            id: Ident::new(),
        }
    }

    /// The detector's id of this WaitGroup.
    #[inline]
    pub(crate) fn obj(&self) -> ObjId {
        self.id.obj()
    }

    pub(crate) fn counter(&self) -> i64 {
        self.state.load(Ordering::Acquire) >> 1
    }

    /// Adds `delta` to the counter; at zero, releases every waiter. Panics
    /// at `loc` if the counter goes negative.
    pub(crate) fn add(&self, delta: isize, loc: &'static Location<'static>) {
        let Some(d) = i64::try_from(delta).ok().and_then(|d| d.checked_mul(2)) else {
            panic_at(loc, OVERFLOW)
        };
        // AcqRel: every `done` happens before the `wait` that the last one
        // releases (the fetch-adds form one release sequence).
        let prev = self.state.fetch_add(d, Ordering::AcqRel);
        let Some(counter) = (prev >> 1).checked_add(d >> 1) else {
            panic_at(loc, OVERFLOW)
        };
        detect::wg_add(self.obj(), d >> 1, counter, loc);
        if counter < 0 {
            panic_at(loc, NEGATIVE);
        }
        if counter == 0 && prev & WAITERS != 0 {
            self.release_waiters();
        }
    }

    fn release_waiters(&self) {
        let mut wake = Wakers::new();
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s >> 1 != 0 || s & WAITERS == 0 {
                // Re-added before we got here (the waiters wait for the new
                // round), or another `add` released them already.
                return;
            }
            match self
                .state
                .compare_exchange(s, s & !WAITERS, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        q.release_all(&mut wake);
        drop(q);
    }

    /// Waits for the counter to be zero. `parked` carries the queue entry
    /// across polls; a caller dropped while it is `Some` must call
    /// [`Self::cancel`].
    pub(crate) fn poll_wait(&self, parked: &mut Option<Parked>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(r) = self.queue.poll_parked(parked, cx) {
            if r.is_pending() {
                detect::parked();
            }
            return r;
        }
        if self.counter() == 0 {
            return Poll::Ready(());
        }
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s >> 1 == 0 {
                return Poll::Ready(());
            }
            if s & WAITERS != 0 {
                break;
            }
            match self
                .state
                .compare_exchange(s, s | WAITERS, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        *parked = Some(q.park((), cx));
        detect::parked();
        Poll::Pending
    }

    /// A parked `wait` is dropped.
    pub(crate) fn cancel(&self, parked: Parked) {
        let mut q = self.queue.lock();
        if q.remove(parked.id()).is_some() && q.is_empty() {
            self.state.fetch_and(!WAITERS, Ordering::AcqRel);
        }
    }
}
