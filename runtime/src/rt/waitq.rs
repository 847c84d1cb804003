//! A FIFO of parked goroutines that is released strictly from the front: the
//! wait queue under every sync primitive (semaphore, `Cond`, `WaitGroup`).
//!
//! Entries get increasing ids as they are pushed, and are only ever released
//! by popping the front (or all of them), so the released entries are always
//! exactly the ids below one watermark. A parked future therefore learns that
//! it was released with a single atomic load of that watermark, without a
//! node of its own: parking allocates nothing once the queue's buffer has
//! grown, and releasing is a pop and a store.
//!
//! The front entry can also be woken without being released (`wake_front`):
//! a `Mutex` waiter woken that way competes for the lock and, if it loses,
//! stays parked at the front.
//!
//! The queue lives under its owner's lock (`WaitQueue::lock`), so the owner
//! can update its own state and the queue in one critical section. Wakers are
//! collected while locked and woken after the lock is dropped.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

// loom's in `tests/loom_mutex.rs`, which compiles this file.
use super::prims::{AtomicU64, Mutex, MutexGuard};

struct Entry<P> {
    id: u64,
    /// `None` until the parked future is first polled (a `Cond` waiter is
    /// queued by `wait` itself, before it has a context).
    waker: Option<Waker>,
    payload: P,
}

struct List<P> {
    entries: VecDeque<Entry<P>>,
    next_id: u64,
}

/// The queue and its release watermark.
pub(crate) struct WaitQueue<P> {
    /// Every id below this has been released. Written under the lock (with
    /// `Release`, after the releaser's writes), read without it.
    released: AtomicU64,
    list: Mutex<List<P>>,
}

impl<P> WaitQueue<P> {
    pub(crate) const fn new() -> Self {
        WaitQueue {
            released: AtomicU64::new(0),
            list: Mutex::new(List {
                entries: VecDeque::new(),
                next_id: 0,
            }),
        }
    }

    /// Whether entry `id` has been released (lock-free).
    pub(crate) fn is_released(&self, id: u64) -> bool {
        self.released.load(Ordering::Acquire) > id
    }

    pub(crate) fn lock(&self) -> Locked<'_, P> {
        Locked {
            list: self.list.lock(),
            released: &self.released,
        }
    }

    /// Polls parked entry `id`: ready once released; otherwise makes sure the
    /// entry will wake `cx`'s waker.
    pub(crate) fn poll_released(&self, id: u64, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_released(id) {
            return Poll::Ready(());
        }
        let mut q = self.lock();
        // Re-checked under the lock: a release between the load above and
        // the lock would otherwise wake the old waker only.
        if self.is_released(id) {
            return Poll::Ready(());
        }
        q.set_waker(id, cx.waker());
        Poll::Pending
    }
}

impl<P> WaitQueue<P> {
    /// The poll of a future that parked here in an earlier poll (`parked`
    /// is `Some`): ready once its entry is released, and `parked` is then
    /// cleared. `None` if it has not parked.
    pub(crate) fn poll_parked(
        &self,
        parked: &mut Option<Parked>,
        cx: &mut Context<'_>,
    ) -> Option<Poll<()>> {
        let id = parked.as_ref()?.0;
        let r = self.poll_released(id, cx);
        if r.is_ready() {
            *parked = None;
        }
        Some(r)
    }
}

/// A future's entry in a [`WaitQueue`], carried across its polls (as an
/// `Option<Parked>`, `None` while not parked): a future dropped while
/// parked must leave the queue (`Locked::remove(parked.id())`).
#[derive(Debug)]
pub(crate) struct Parked(u64);

impl Parked {
    /// The entry's id in its queue.
    pub(crate) fn id(&self) -> u64 {
        self.0
    }
}

/// The locked queue.
pub(crate) struct Locked<'a, P> {
    list: MutexGuard<'a, List<P>>,
    released: &'a AtomicU64,
}

impl<P> Locked<'_, P> {
    pub(crate) fn is_empty(&self) -> bool {
        self.list.entries.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.list.entries.len()
    }

    /// The id of the first entry.
    pub(crate) fn front_id(&self) -> Option<u64> {
        self.list.entries.front().map(|e| e.id)
    }

    /// The id the next `push` will get: every id below it has been issued.
    pub(crate) fn next_id(&self) -> u64 {
        self.list.next_id
    }

    /// The payload of the first entry.
    pub(crate) fn front(&self) -> Option<&P> {
        self.list.entries.front().map(|e| &e.payload)
    }

    /// Queues an entry at the back and returns its id.
    pub(crate) fn push(&mut self, payload: P, waker: Option<Waker>) -> u64 {
        let id = self.list.next_id;
        self.list.next_id += 1;
        self.list.entries.push_back(Entry { id, waker, payload });
        id
    }

    /// Parks `cx`'s goroutine at the back, with `payload`.
    pub(crate) fn park(&mut self, payload: P, cx: &Context<'_>) -> Parked {
        Parked(self.push(payload, Some(cx.waker().clone())))
    }

    /// Releases the first entry; its waker goes into `wake`.
    pub(crate) fn release_front(&mut self, wake: &mut Wakers) -> Option<P> {
        let e = self.list.entries.pop_front()?;
        self.released.store(e.id + 1, Ordering::Release);
        wake.push(e.waker);
        Some(e.payload)
    }

    /// Wakes the first entry without releasing it: it stays queued, with its
    /// waker (to be woken again, or released, later).
    pub(crate) fn wake_front(&mut self, wake: &mut Wakers) {
        if let Some(e) = self.list.entries.front() {
            wake.push(e.waker.clone());
        }
    }

    /// Releases every entry.
    pub(crate) fn release_all(&mut self, wake: &mut Wakers) {
        if let Some(last) = self.list.entries.back() {
            self.released.store(last.id + 1, Ordering::Release);
        }
        for e in self.list.entries.drain(..) {
            wake.push(e.waker);
        }
    }

    /// Removes entry `id` if it is still queued. `Some(true)` if it was the
    /// first entry, `None` if it is not queued (it was released).
    pub(crate) fn remove(&mut self, id: u64) -> Option<bool> {
        let pos = self.position(id)?;
        self.list.entries.remove(pos);
        Some(pos == 0)
    }

    fn position(&self, id: u64) -> Option<usize> {
        // Ids increase from front to back.
        self.list.entries.binary_search_by_key(&id, |e| e.id).ok()
    }

    /// Makes queued entry `id` wake `waker` (nothing if it is not queued).
    pub(crate) fn set_waker(&mut self, id: u64, waker: &Waker) {
        let Some(pos) = self.position(id) else {
            return;
        };
        let slot = &mut self.list.entries[pos].waker;
        match slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

/// Wakers collected under a lock, woken when dropped (after the lock).
/// The first one is kept inline so that a single hand-off allocates nothing.
#[derive(Default)]
pub(crate) struct Wakers {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Wakers {
    pub(crate) fn new() -> Self {
        Wakers::default()
    }

    fn push(&mut self, w: Option<Waker>) {
        let Some(w) = w else { return };
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.rest.push(w);
        }
    }
}

impl Drop for Wakers {
    fn drop(&mut self) {
        if let Some(w) = self.first.take() {
            w.wake();
        }
        for w in self.rest.drain(..) {
            w.wake();
        }
    }
}
