//! Loom model of the channel lock: the real `RawSpin`
//! (`runtime/src/rt/spin.rs`), compiled here as a module of this test
//! against the `prims` shim below, which gives loom's atomic, spin hint and
//! yield the names and the `const fn new` that the file imports from its
//! sibling `prims` module in the crate. No `--cfg loom` rebuild.
//!
//! Threads lock, update a `loom::cell::UnsafeCell` (loom fails the model if
//! two holders' accesses are not ordered by happens-before: mutual
//! exclusion and the unlock -> lock edge), and unlock; every thread must
//! get the lock (a spinning waiter yields to loom's scheduler, so a lock
//! never released would fail the model as a livelock). Two threads only:
//! with three, the spinning exceeds loom's branch budget.
//!
//! Both orderings are load-bearing: with the unlock's `Release` or the
//! lock's `Acquire` weakened to `Relaxed`, both models fail (concurrent
//! writes to the counter).

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

/// loom's primitives under the names `spin.rs` imports. `new` must be
/// `const` there (`RawMutex::INIT` is a constant) and loom's is not, so the
/// atomic is made on first use, inside the model.
mod prims {
    use std::sync::atomic::Ordering;
    use std::sync::OnceLock;

    pub(crate) struct AtomicUsize {
        init: usize,
        cell: OnceLock<loom::sync::atomic::AtomicUsize>,
    }

    impl AtomicUsize {
        pub(crate) const fn new(v: usize) -> Self {
            AtomicUsize {
                init: v,
                cell: OnceLock::new(),
            }
        }

        fn get(&self) -> &loom::sync::atomic::AtomicUsize {
            self.cell
                .get_or_init(|| loom::sync::atomic::AtomicUsize::new(self.init))
        }

        pub(crate) fn load(&self, o: Ordering) -> usize {
            self.get().load(o)
        }

        pub(crate) fn store(&self, v: usize, o: Ordering) {
            self.get().store(v, o)
        }

        pub(crate) fn compare_exchange(
            &self,
            current: usize,
            new: usize,
            success: Ordering,
            failure: Ordering,
        ) -> Result<usize, usize> {
            self.get().compare_exchange(current, new, success, failure)
        }
    }

    pub(crate) fn spin_loop() {
        loom::hint::spin_loop();
    }

    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }
}

#[path = "../src/rt/spin.rs"]
mod spin;

/// A counter that only the lock guards.
struct Shared {
    lock: spin::SpinMutex<()>,
    count: UnsafeCell<usize>,
}

// SAFETY: `count` is only touched while holding `lock`, which is what the
// model checks.
unsafe impl Sync for Shared {}

impl Shared {
    /// Makes the shared state on the model's first thread: the shim's
    /// atomic is created by its first use, which must not race.
    fn new() -> Arc<Shared> {
        let s = Arc::new(Shared {
            lock: spin::SpinMutex::new(()),
            count: UnsafeCell::new(0),
        });
        drop(s.lock.lock());
        s
    }

    /// Adds one under the lock and returns what it read.
    fn bump(&self) -> usize {
        let _g = self.lock.lock();
        self.count.with_mut(|c| {
            // SAFETY: we hold the lock (loom checks the accesses are
            // ordered).
            unsafe {
                *c += 1;
                *c
            }
        })
    }
}

/// Runs `threads` threads (the model's own among them) that each take the
/// lock `rounds` times; every increment is seen, none lost.
fn model(threads: usize, rounds: usize) {
    loom::model(move || {
        let s = Shared::new();
        let hs: Vec<_> = (1..threads)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || {
                    for _ in 0..rounds {
                        s.bump();
                    }
                })
            })
            .collect();
        for _ in 0..rounds {
            s.bump();
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(s.bump(), threads * rounds + 1);
    });
}

#[test]
fn two_threads_lock_twice_each_exclusively() {
    model(2, 2);
}

/// `try_lock` fails while the lock is held and succeeds once it is not.
#[test]
fn try_lock_sees_the_holder() {
    loom::model(|| {
        let s = Shared::new();
        let t = {
            let s = s.clone();
            thread::spawn(move || {
                if let Some(_g) = s.lock.try_lock() {
                    // SAFETY: held.
                    s.count.with_mut(|c| unsafe { *c += 1 });
                }
            })
        };
        s.bump();
        t.join().unwrap();
        let n = s.bump();
        assert!(n == 2 || n == 3, "{n}");
    });
}
