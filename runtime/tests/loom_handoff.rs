//! Loom models of an unbuffered channel's hand-off cell: the real
//! `runtime/src/rt/handoff.rs`, compiled here as a module of this test
//! against the `prims` shim below (loom's atomic and `UnsafeCell` under the
//! names, signatures and `const fn new` the file imports from its sibling
//! `prims` module in the crate), as `loom_mutex.rs` does for the mutex.
//!
//! The channel lock is a loom mutex here: binders and thieves hold it, the
//! bound receiver's take does not. loom fails a model on a data race on the
//! value (its `UnsafeCell` checks every access against happens-before) and
//! on any assertion; each model checks that every value put is taken
//! exactly once (by its receiver, a thief, or the cell's drop).

use std::sync::atomic::{AtomicUsize, Ordering};

use loom::sync::{Arc, Mutex};
use loom::thread;

/// loom's primitives under the names `handoff.rs` imports, made on first
/// use (loom's `new` is not `const`).
mod prims {
    use std::sync::atomic::Ordering;
    use std::sync::OnceLock;

    pub(crate) struct AtomicU64 {
        init: u64,
        cell: OnceLock<loom::sync::atomic::AtomicU64>,
    }

    impl AtomicU64 {
        pub(crate) const fn new(v: u64) -> Self {
            AtomicU64 {
                init: v,
                cell: OnceLock::new(),
            }
        }

        fn get(&self) -> &loom::sync::atomic::AtomicU64 {
            self.cell
                .get_or_init(|| loom::sync::atomic::AtomicU64::new(self.init))
        }

        pub(crate) fn load(&self, o: Ordering) -> u64 {
            self.get().load(o)
        }

        pub(crate) fn store(&self, v: u64, o: Ordering) {
            self.get().store(v, o)
        }

        pub(crate) fn compare_exchange(
            &self,
            current: u64,
            new: u64,
            success: Ordering,
            failure: Ordering,
        ) -> Result<u64, u64> {
            self.get().compare_exchange(current, new, success, failure)
        }
    }

    pub(crate) struct UnsafeCell<T> {
        init: std::cell::Cell<Option<T>>,
        cell: OnceLock<loom::cell::UnsafeCell<T>>,
    }

    // SAFETY: `init` is only taken inside `get_or_init`, which runs once,
    // under the `OnceLock`'s own synchronization; the cell's accesses are
    // loom's to check.
    unsafe impl<T: Send> Sync for UnsafeCell<T> {}

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(v: T) -> Self {
            UnsafeCell {
                init: std::cell::Cell::new(Some(v)),
                cell: OnceLock::new(),
            }
        }

        fn get(&self) -> &loom::cell::UnsafeCell<T> {
            self.cell
                .get_or_init(|| loom::cell::UnsafeCell::new(self.init.take().unwrap()))
        }

        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            self.get().with(f)
        }

        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            self.get().with_mut(f)
        }
    }
}

#[allow(dead_code)]
#[path = "../src/rt/handoff.rs"]
mod handoff;

use handoff::Handoff;

/// A value that counts its drops, to see each one taken exactly once.
struct Val(u32, std::sync::Arc<AtomicUsize>);

impl Drop for Val {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

/// The cell and the channel lock its binders and thieves hold.
struct Chan {
    lock: Mutex<()>,
    cell: Handoff<Val>,
}

fn chan() -> Arc<Chan> {
    let c = Arc::new(Chan {
        lock: Mutex::new(()),
        cell: Handoff::new(),
    });
    // Make the loom objects on the model's first thread.
    assert!(c.cell.is_empty());
    c
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

/// A sender binds on one thread while the bound receiver, woken early,
/// tries to take on another and a thief (a notified receive, under the
/// lock) steals on a third: the value is read only after it was written,
/// by exactly one of them.
#[test]
fn a_bind_a_take_and_a_steal() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let c = chan();
        let s = {
            let (c, drops) = (c.clone(), drops.clone());
            thread::spawn(move || {
                let _g = c.lock.lock().unwrap();
                c.cell.put(7, Val(1, drops));
            })
        };
        let r = {
            let c = c.clone();
            thread::spawn(move || c.cell.take(7).map(|v| v.0))
        };
        let stolen = {
            let _g = c.lock.lock().unwrap();
            c.cell.steal().map(|v| v.0)
        };
        s.join().unwrap();
        let taken = r.join().unwrap();
        assert!(
            taken.is_none() || stolen.is_none(),
            "taken {taken:?} and stolen {stolen:?}: one value, twice"
        );
        // Whatever neither got is still bound.
        let left = c.cell.steal().map(|v| v.0);
        let n = [taken, stolen, left].iter().flatten().count();
        assert_eq!(n, 1, "the value went to exactly one");
        assert!(c.cell.is_empty());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// The receiver takes lock-free while a sender, under the lock, binds the
/// next value as soon as the cell is empty (or steals the old one back, as
/// a withdrawal would): no value is written while being read, lost, or
/// taken twice, and the receiver never takes a value bound to another
/// entry.
#[test]
fn a_take_races_the_next_bind() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let c = chan();
        {
            let _g = c.lock.lock().unwrap();
            c.cell.put(0, Val(1, drops.clone()));
        }
        let r = {
            let c = c.clone();
            thread::spawn(move || {
                let a = c.cell.take(0).map(|v| v.0);
                // Entry 0's second look never finds entry 1's value.
                let b = c.cell.take(0).map(|v| v.0);
                (a, b)
            })
        };
        let s = {
            let (c, drops) = (c.clone(), drops.clone());
            thread::spawn(move || {
                let _g = c.lock.lock().unwrap();
                if c.cell.is_empty() {
                    c.cell.put(1, Val(2, drops));
                    (true, None)
                } else {
                    (false, c.cell.steal().map(|v| v.0))
                }
            })
        };
        let (a, b) = r.join().unwrap();
        let (bound2, back) = s.join().unwrap();
        assert_eq!(b, None, "a receive took a value bound to another");
        let mut got: Vec<u32> = [a, back].into_iter().flatten().collect();
        if bound2 {
            let _g = c.lock.lock().unwrap();
            got.extend(c.cell.take(1).map(|v| v.0));
        }
        got.sort_unstable();
        let want: &[u32] = if bound2 { &[1, 2] } else { &[1] };
        assert_eq!(got, want, "every value taken exactly once");
        assert_eq!(drops.load(Ordering::SeqCst), want.len());
    });
}

/// A value nobody took is dropped with the cell, once.
#[test]
fn a_bound_value_goes_away_with_the_cell() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let c = chan();
        c.cell.put(3, Val(1, drops.clone()));
        let t = {
            let c = c.clone();
            thread::spawn(move || drop(c))
        };
        drop(c);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}
