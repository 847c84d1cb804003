//! A loom model of the production executor's park/wake protocol
//! (`runtime/src/rt/exec/`), on loom's types.
//!
//! - `Parker` and `Wake` are the real code: `park.rs` is compiled here, as
//!   a module of this test, against the `prims` shim below, which gives
//!   loom's `Mutex` and `Condvar` the parking_lot names and signatures that
//!   `park.rs` imports from its sibling `prims` module in the crate.
//! - `Shared::wakep`, `Local::park` and `Local::unidle` (in `mod.rs` and
//!   `worker.rs`) are still a copy, step for step with the same orderings
//!   and fences: they are methods of the executor's `Shared`/`Local`, which
//!   hold crossbeam deques and timers that loom cannot run. The run queues
//!   are a locked `Vec` (only their push-then-look order matters here);
//!   timers and the timed park (loom has no time) are left out.
//!
//! The property: work pushed while every worker is spinning out or going
//! idle is always taken: loom fails the model if every thread ends up
//! blocked (a lost wake-up) or a worker never gets the work.

use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// The real parker. Its timed park and `Plain`/`Timeout` wakes serve the
/// timers, which this model leaves out.
#[allow(dead_code)]
#[path = "../src/rt/exec/park.rs"]
mod park;

use park::{Parker, Wake};

/// loom's primitives under the names and signatures `park.rs` imports
/// (parking_lot's: `lock` without poisoning, `Condvar::wait` on `&mut`
/// guard).
mod prims {
    use std::ops::{Deref, DerefMut};

    pub(crate) use std::time::Instant;

    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap()))
        }
    }

    /// `None` only inside `Condvar::wait`, which moves loom's guard out
    /// and back.
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            self.0.as_ref().unwrap()
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().unwrap()
        }
    }

    pub(crate) struct Condvar(loom::sync::Condvar);

    pub(crate) struct WaitTimeoutResult;

    impl WaitTimeoutResult {
        /// loom has no time: a timed wait never times out.
        pub(crate) fn timed_out(&self) -> bool {
            false
        }
    }

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let g = guard.0.take().unwrap();
            guard.0 = Some(self.0.wait(g).unwrap());
        }

        pub(crate) fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _deadline: Instant,
        ) -> WaitTimeoutResult {
            self.wait(guard);
            WaitTimeoutResult
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }
    }
}

struct Shared {
    queue: Mutex<Vec<u32>>,
    idle: Mutex<Vec<usize>>,
    nidle: AtomicUsize,
    nspinning: AtomicUsize,
    parkers: Vec<Parker>,
    done: AtomicBool,
    taken: AtomicUsize,
}

impl Shared {
    fn wakep(&self) {
        fence(SeqCst);
        if self.nspinning.load(SeqCst) != 0 || self.nidle.load(SeqCst) == 0 {
            return;
        }
        if self
            .nspinning
            .compare_exchange(0, 1, SeqCst, SeqCst)
            .is_err()
        {
            return;
        }
        let w = {
            let mut idle = self.idle.lock().unwrap();
            let w = idle.pop();
            self.nidle.store(idle.len(), SeqCst);
            w
        };
        match w {
            Some(i) => self.parkers[i].unpark(Wake::Spinner),
            None => {
                self.nspinning.fetch_sub(1, SeqCst);
            }
        }
    }

    fn shutdown(&self) {
        self.done.store(true, SeqCst);
        for p in &self.parkers {
            p.unpark(Wake::Shutdown);
        }
    }
}

struct Worker {
    s: Arc<Shared>,
    index: usize,
    spinning: bool,
}

impl Worker {
    fn run(mut self, items: usize) {
        loop {
            if self.s.done.load(SeqCst) {
                return;
            }
            let got = self.s.queue.lock().unwrap().pop();
            if got.is_some() {
                if self.spinning {
                    self.spinning = false;
                    self.s.nspinning.fetch_sub(1, SeqCst);
                }
                if self.s.taken.fetch_add(1, SeqCst) + 1 == items {
                    self.s.shutdown();
                }
                continue;
            }
            if self.spinning {
                // The spin found nothing.
                self.spinning = false;
                self.s.nspinning.fetch_sub(1, SeqCst);
            }
            self.park();
        }
    }

    fn park(&mut self) {
        {
            let mut idle = self.s.idle.lock().unwrap();
            idle.push(self.index);
            self.s.nidle.store(idle.len(), SeqCst);
        }
        fence(SeqCst);
        if self.s.done.load(SeqCst) || !self.s.queue.lock().unwrap().is_empty() {
            self.unidle();
            return;
        }
        match self.s.parkers[self.index].park(None) {
            Wake::Spinner => self.spinning = true,
            Wake::Shutdown => {}
            Wake::Plain | Wake::Timeout => unreachable!("no timers here"),
        }
    }

    fn unidle(&mut self) {
        {
            let mut idle = self.s.idle.lock().unwrap();
            if let Some(pos) = idle.iter().position(|&i| i == self.index) {
                idle.swap_remove(pos);
                self.s.nidle.store(idle.len(), SeqCst);
                return;
            }
        }
        loop {
            match self.s.parkers[self.index].try_take() {
                Some(Wake::Spinner) => {
                    self.spinning = true;
                    return;
                }
                Some(_) => return,
                None => thread::yield_now(),
            }
        }
    }
}

/// `workers` workers (the first starts as the spinning one, about to give
/// up) and one producer pushing `items` items, each followed by `wakep`.
fn model(workers: usize, items: usize) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(move || {
        let s = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            idle: Mutex::new(Vec::new()),
            nidle: AtomicUsize::new(0),
            nspinning: AtomicUsize::new(1),
            parkers: (0..workers).map(|_| Parker::new()).collect(),
            done: AtomicBool::new(false),
            taken: AtomicUsize::new(0),
        });
        let handles: Vec<_> = (0..workers)
            .map(|index| {
                let w = Worker {
                    s: s.clone(),
                    index,
                    spinning: index == 0,
                };
                thread::spawn(move || w.run(items))
            })
            .collect();
        for i in 0..items {
            s.queue.lock().unwrap().push(i as u32);
            s.wakep();
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(s.taken.load(SeqCst), items);
    });
}

#[test]
fn one_worker_never_misses_a_push() {
    model(1, 2);
}

#[test]
fn two_workers_never_miss_a_push() {
    model(2, 1);
}

#[test]
fn two_workers_never_miss_two_pushes() {
    model(2, 2);
}
