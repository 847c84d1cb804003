//! The production timer heap: one min-heap of deadlines (nanoseconds on the
//! clock of `rt::clock`) for the whole run, checked by workers between
//! goroutines and by the worker that parks with a timeout for the earliest
//! deadline (see `worker.rs`). Go keeps one heap per P; one heap under a
//! mutex is simpler, and on a few cores its lock is rarely contended.
//!
//! Stopping a timer marks it cancelled; the heap drops it when it reaches
//! the top, or sooner when cancelled entries make up half of it (a loop of
//! `select!` with a one-minute timeout that always wins early must not grow
//! the heap without bound).

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;

use futures_util::task::AtomicWaker;
use parking_lot::Mutex;

/// "No timer pending" in [`Timers::next`].
pub(super) const NONE: u64 = u64::MAX;

/// What a `sleep` shares with the heap.
pub(crate) struct SleepState {
    fired: AtomicBool,
    cancelled: AtomicBool,
    waker: AtomicWaker,
}

impl SleepState {
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }
}

/// What a callback timer (`Timer::at`, `Timer::every`) shares with the heap.
pub(crate) struct CallState {
    cancelled: AtomicBool,
    f: Mutex<Option<Box<dyn FnMut() -> bool + Send>>>,
}

enum Action {
    Wake(Arc<SleepState>),
    Call(Arc<CallState>, Option<u64>),
}

impl Action {
    fn cancelled(&self) -> bool {
        match self {
            Action::Wake(s) => s.cancelled.load(Ordering::Relaxed),
            Action::Call(c, _) => c.cancelled.load(Ordering::Relaxed),
        }
    }
}

struct Entry {
    at: u64,
    seq: u64,
    action: Action,
}

// `BinaryHeap` is a max-heap: the earliest (at, seq) must compare greatest.
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}

struct Heap {
    entries: BinaryHeap<Entry>,
    seq: u64,
}

/// The run's timers.
pub(super) struct Timers {
    heap: Mutex<Heap>,
    /// The earliest deadline, or [`NONE`]: read without the lock by every
    /// worker between goroutines.
    next: AtomicU64,
    /// Entries stopped but still in the heap (an estimate: it triggers the
    /// clean-up, nothing else).
    cancelled: AtomicUsize,
}

impl Timers {
    pub(super) fn new() -> Self {
        Timers {
            heap: Mutex::new(Heap {
                entries: BinaryHeap::new(),
                seq: 0,
            }),
            next: AtomicU64::new(NONE),
            cancelled: AtomicUsize::new(0),
        }
    }

    /// The earliest deadline, or [`NONE`].
    pub(super) fn next(&self) -> u64 {
        self.next.load(Ordering::SeqCst)
    }

    /// Adds a timer; `true` if it is now the earliest (the caller must make
    /// sure a worker notices).
    fn insert(&self, at: u64, action: Action) -> bool {
        let mut h = self.heap.lock();
        let cancelled = self.cancelled.load(Ordering::Relaxed);
        if cancelled > 64 && cancelled * 2 > h.entries.len() {
            h.entries.retain(|e| !e.action.cancelled());
            self.cancelled.store(0, Ordering::Relaxed);
        }
        h.seq += 1;
        let seq = h.seq;
        h.entries.push(Entry { at, seq, action });
        let earliest = at < self.next.load(Ordering::Relaxed);
        if earliest {
            self.next.store(at, Ordering::SeqCst);
        }
        earliest
    }

    /// A sleep until `at`: its shared state, and whether it is the earliest.
    pub(super) fn sleep(&self, at: u64) -> (Arc<SleepState>, bool) {
        let s = Arc::new(SleepState {
            fired: AtomicBool::new(false),
            cancelled: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        let earliest = self.insert(at, Action::Wake(s.clone()));
        (s, earliest)
    }

    /// `f` at `at`, then every `period` while it returns `true`.
    pub(super) fn call(
        &self,
        at: u64,
        period: Option<u64>,
        f: Box<dyn FnMut() -> bool + Send>,
    ) -> (Arc<CallState>, bool) {
        let c = Arc::new(CallState {
            cancelled: AtomicBool::new(false),
            f: Mutex::new(Some(f)),
        });
        let earliest = self.insert(at, Action::Call(c.clone(), period));
        (c, earliest)
    }

    /// A sleep was dropped before it fired.
    pub(super) fn cancel_sleep(&self, s: &SleepState) {
        if !s.cancelled.swap(true, Ordering::Relaxed) && !s.fired() {
            self.cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A callback timer was stopped. Its closure is dropped now, not when
    /// its entry leaves the heap: it may own a channel someone waits on.
    pub(super) fn cancel_call(&self, c: &CallState) {
        if !c.cancelled.swap(true, Ordering::Relaxed) {
            self.cancelled.fetch_add(1, Ordering::Relaxed);
            let f = c.f.lock().take();
            drop(f);
        }
    }

    /// Fires every timer due at `now`; `true` if any fired. Inlined, and
    /// one atomic load when no timer is pending: every worker calls it
    /// before every poll, and a call that only returned, with its register
    /// saves, was ~20 instructions per poll.
    #[inline(always)]
    pub(super) fn fire_due(&self, now: impl Fn() -> u64) -> bool {
        if self.next.load(Ordering::Acquire) == NONE {
            return false;
        }
        self.fire_pending(now)
    }

    /// [`fire_due`](Timers::fire_due) with a timer pending: reads the
    /// clock, and fires what is due.
    #[inline(never)]
    fn fire_pending(&self, now: impl Fn() -> u64) -> bool {
        let next = self.next.load(Ordering::Acquire);
        let mut t = now();
        if next > t {
            return false;
        }
        let mut any = false;
        loop {
            let e = {
                let mut h = self.heap.lock();
                match h.entries.peek() {
                    Some(e) if e.at <= t => {}
                    other => {
                        let n = other.map_or(NONE, |e| e.at);
                        self.next.store(n, Ordering::SeqCst);
                        return any;
                    }
                }
                h.entries.pop().expect("peeked")
            };
            any = true;
            match e.action {
                Action::Wake(s) => {
                    if !s.cancelled.load(Ordering::Relaxed) {
                        s.fired.store(true, Ordering::Release);
                        s.waker.wake();
                    }
                }
                Action::Call(c, period) => {
                    if c.cancelled.load(Ordering::Relaxed) {
                        continue;
                    }
                    // Run outside the lock: the callback may stop its own
                    // timer (a context's deadline cancels the context).
                    let Some(mut f) = c.f.lock().take() else {
                        continue;
                    };
                    // A callback is goro's own (a channel send, a context
                    // cancel); a panic in it must not kill the worker.
                    let again = catch_unwind(AssertUnwindSafe(&mut f)).unwrap_or(false);
                    match period {
                        Some(p) if again && !c.cancelled.load(Ordering::Relaxed) => {
                            *c.f.lock() = Some(f);
                            t = now();
                            // Firings too late to make are skipped, not
                            // bunched up, as Go's tickers do.
                            let missed = t.saturating_sub(e.at) / p;
                            let at = e.at.saturating_add(p.saturating_mul(missed + 1));
                            self.insert(at, Action::Call(c, period));
                        }
                        _ => drop(f),
                    }
                }
            }
        }
    }

    /// Timers neither fired nor stopped.
    pub(super) fn pending(&self) -> usize {
        let h = self.heap.lock();
        h.entries.iter().filter(|e| !e.action.cancelled()).count()
    }

    /// Drops every pending timer (the run is over).
    pub(super) fn clear(&self) {
        let entries = std::mem::take(&mut self.heap.lock().entries);
        self.next.store(NONE, Ordering::SeqCst);
        drop(entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts the closures alive.
    struct Alive(Arc<AtomicUsize>);
    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_stopped_timer_drops_its_callback_and_leaves_the_heap() {
        let t = Timers::new();
        let alive = Arc::new(AtomicUsize::new(0));
        let mut calls = Vec::new();
        for i in 0..200u64 {
            alive.fetch_add(1, Ordering::SeqCst);
            let guard = Alive(alive.clone());
            let (c, _) = t.call(
                1_000_000_000_000 + i,
                None,
                Box::new(move || {
                    let _ = &guard;
                    false
                }),
            );
            calls.push(c);
        }
        for c in &calls {
            t.cancel_call(c);
        }
        assert_eq!(alive.load(Ordering::SeqCst), 0, "closures outlive cancel");
        // The next insertion sweeps the cancelled entries out.
        let _ = t.sleep(5);
        assert_eq!(t.heap.lock().entries.len(), 1);
    }

    #[test]
    fn timers_fire_in_deadline_order_and_only_when_due() {
        let t = Timers::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        for at in [30u64, 10, 20] {
            let o = order.clone();
            let _ = t.call(
                at,
                None,
                Box::new(move || {
                    o.lock().push(at);
                    false
                }),
            );
        }
        assert!(!t.fire_due(|| 5));
        assert_eq!(t.next(), 10);
        assert!(t.fire_due(|| 25));
        assert_eq!(*order.lock(), [10, 20]);
        assert_eq!(t.next(), 30);
        assert!(t.fire_due(|| 30));
        assert_eq!(t.next(), NONE);
    }

    #[test]
    fn a_periodic_timer_skips_missed_ticks() {
        let t = Timers::new();
        let n = Arc::new(AtomicUsize::new(0));
        let k = n.clone();
        let _ = t.call(
            100,
            Some(10),
            Box::new(move || {
                k.fetch_add(1, Ordering::SeqCst);
                true
            }),
        );
        // Late by 35 ticks: fires once, next at the first tick after now.
        assert!(t.fire_due(|| 455));
        assert_eq!(n.load(Ordering::SeqCst), 1);
        assert_eq!(t.next(), 460);
    }
}
