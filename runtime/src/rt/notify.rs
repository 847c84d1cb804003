//! The model under `Cond`: Go's `notifyList`.
//!
//! A waiter takes a ticket (`add`) *before* it unlocks its mutex, so a signal
//! sent after the unlock cannot be missed; it then parks on the ticket.
//! `notify_one` releases the oldest ticket, `notify_all` every ticket issued
//! so far. Tickets are entries of a [`WaitQueue`], so "was I notified?" is
//! one atomic load.
//!
//! Cancel safety: a waiter dropped before it was notified just leaves the
//! queue. One dropped after a `notify_one` reached it passes that signal on
//! to the next waiter, so a signal is never swallowed by a goroutine that
//! stopped waiting. A broadcast is not passed on: it already reached
//! everyone who was waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use super::waitq::{WaitQueue, Wakers};

pub(crate) struct NotifyList {
    queue: WaitQueue<()>,
    /// Tickets below this were covered by a broadcast. Only touched under
    /// the queue lock (an atomic only to be `Sync` without `unsafe`).
    broadcast: AtomicU64,
}

impl NotifyList {
    pub(crate) const fn new() -> Self {
        NotifyList {
            queue: WaitQueue::new(),
            broadcast: AtomicU64::new(0),
        }
    }

    /// Takes a ticket: from now on, a notification can reach this waiter.
    pub(crate) fn add(&self) -> u64 {
        self.queue.lock().push((), None)
    }

    pub(crate) fn poll_wait(&self, ticket: u64, cx: &mut Context<'_>) -> Poll<()> {
        self.queue.poll_released(ticket, cx)
    }

    /// Wakes the oldest waiter, if any.
    pub(crate) fn notify_one(&self) {
        let mut wake = Wakers::new();
        let mut q = self.queue.lock();
        q.release_front(&mut wake);
        drop(q);
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all(&self) {
        let mut wake = Wakers::new();
        let mut q = self.queue.lock();
        self.broadcast.store(q.next_id(), Ordering::Relaxed);
        q.release_all(&mut wake);
        drop(q);
    }

    /// The waiter holding `ticket` stopped waiting.
    pub(crate) fn cancel(&self, ticket: u64) {
        let mut wake = Wakers::new();
        let mut q = self.queue.lock();
        if q.remove(ticket).is_none() && ticket >= self.broadcast.load(Ordering::Relaxed) {
            // Notified by a signal it will never act on: pass it on.
            q.release_front(&mut wake);
        }
        drop(q);
    }
}
