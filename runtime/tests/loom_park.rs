//! A loom model of the production executor's park/wake protocol
//! (`runtime/src/rt/exec/`: `Shared::wakep`, `Local::park`,
//! `Local::unidle`, `Parker`), step for step with the same orderings and
//! fences, on loom's types. The run queues are modelled by a locked
//! `Vec` (crossbeam's deques are not loom-aware; only their push-then-look
//! order matters here).
//!
//! The property: work pushed while every worker is spinning out or going
//! idle is always taken: loom fails the model if every thread ends up
//! blocked (a lost wake-up) or a worker never gets the work.

use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wake {
    Shutdown,
    Spinner,
}

struct Parker {
    state: Mutex<Option<Wake>>,
    cv: Condvar,
}

impl Parker {
    fn new() -> Self {
        Parker {
            state: Mutex::new(None),
            cv: Condvar::new(),
        }
    }
    fn park(&self) -> Wake {
        let mut st = self.state.lock().unwrap();
        loop {
            if let Some(w) = st.take() {
                return w;
            }
            st = self.cv.wait(st).unwrap();
        }
    }
    fn try_take(&self) -> Option<Wake> {
        self.state.lock().unwrap().take()
    }
    fn unpark(&self, how: Wake) {
        let mut st = self.state.lock().unwrap();
        if *st != Some(Wake::Spinner) {
            *st = Some(how);
        }
        drop(st);
        self.cv.notify_one();
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
        match self.s.parkers[self.index].park() {
            Wake::Spinner => self.spinning = true,
            Wake::Shutdown => {}
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
