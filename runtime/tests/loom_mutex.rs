//! Loom models of `goro::sync::Mutex`'s lock-free protocol: the real
//! `MutexSem` (`runtime/src/rt/semaphore.rs`) and its real wait queue
//! (`runtime/src/rt/waitq.rs`), compiled here as modules of this test
//! against the `prims` shim below, which gives loom's atomics and mutex the
//! names, signatures and `const fn new` that those files import from their
//! sibling `prims` module in the crate. No `--cfg loom` rebuild.
//!
//! Threads lock with `loom::future::block_on` (a parked lock really
//! blocks its loom thread until its waker is woken), count in a
//! `loom::cell::UnsafeCell` (loom fails the model if two holders' accesses
//! are not ordered by happens-before: mutual exclusion and the unlock ->
//! lock edge), and unlock. loom fails the model on a lost wake-up (every
//! thread blocked) and on any assertion.
//!
//! What is not the real code: the clock (each model fixes every wait as
//! shorter or longer than the 1 ms starvation threshold, so that one
//! explores normal mode and the other starvation mode with its hand-offs),
//! and spinning (off: `exec::can_spin` says no, as on one core).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

/// loom's primitives under the names and signatures `semaphore.rs` and
/// `waitq.rs` import. `new` must be `const` there (`Mutex::new` is), and
/// loom's are not, so each object is made on first use, inside the model
/// (`Shared::new` makes sure that is on the model's first thread).
mod prims {
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::Ordering;
    use std::sync::OnceLock;

    macro_rules! atomic {
        ($name:ident, $int:ty) => {
            pub(crate) struct $name {
                init: $int,
                cell: OnceLock<loom::sync::atomic::$name>,
            }

            #[allow(dead_code)]
            impl $name {
                pub(crate) const fn new(v: $int) -> Self {
                    $name {
                        init: v,
                        cell: OnceLock::new(),
                    }
                }

                fn get(&self) -> &loom::sync::atomic::$name {
                    self.cell
                        .get_or_init(|| loom::sync::atomic::$name::new(self.init))
                }

                pub(crate) fn load(&self, o: Ordering) -> $int {
                    self.get().load(o)
                }

                pub(crate) fn store(&self, v: $int, o: Ordering) {
                    self.get().store(v, o)
                }

                pub(crate) fn fetch_add(&self, v: $int, o: Ordering) -> $int {
                    self.get().fetch_add(v, o)
                }

                pub(crate) fn fetch_sub(&self, v: $int, o: Ordering) -> $int {
                    self.get().fetch_sub(v, o)
                }

                pub(crate) fn fetch_and(&self, v: $int, o: Ordering) -> $int {
                    self.get().fetch_and(v, o)
                }

                pub(crate) fn compare_exchange(
                    &self,
                    current: $int,
                    new: $int,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$int, $int> {
                    self.get().compare_exchange(current, new, success, failure)
                }

                pub(crate) fn compare_exchange_weak(
                    &self,
                    current: $int,
                    new: $int,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$int, $int> {
                    self.get()
                        .compare_exchange_weak(current, new, success, failure)
                }
            }
        };
    }

    atomic!(AtomicUsize, usize);
    atomic!(AtomicU64, u64);

    /// parking_lot's shape: no poisoning.
    pub(crate) struct Mutex<T> {
        init: std::cell::Cell<Option<T>>,
        cell: OnceLock<loom::sync::Mutex<T>>,
    }

    // SAFETY: `init` is only taken inside `get_or_init`, which runs once,
    // under the `OnceLock`'s own synchronization.
    unsafe impl<T: Send> Sync for Mutex<T> {}

    impl<T> Mutex<T> {
        pub(crate) const fn new(v: T) -> Self {
            Mutex {
                init: std::cell::Cell::new(Some(v)),
                cell: OnceLock::new(),
            }
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            let m = self
                .cell
                .get_or_init(|| loom::sync::Mutex::new(self.init.take().unwrap()));
            MutexGuard(m.lock().unwrap())
        }
    }

    pub(crate) struct MutexGuard<'a, T>(loom::sync::MutexGuard<'a, T>);

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            &self.0
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            &mut self.0
        }
    }
}

/// The executor's answer: never spin (a spin loop only multiplies loom's
/// interleavings; parking is the path under test).
mod exec {
    pub(crate) fn can_spin() -> bool {
        false
    }
}

/// The clock `semaphore.rs` reads: every wait lasts what the test set,
/// shorter or longer than the 1 ms starvation threshold, for the whole
/// model (loom runs a model's threads on the test's own thread).
mod clock {
    use std::cell::Cell;
    use std::time::Duration;

    thread_local! {
        static WAITED: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    }

    pub(crate) fn set_waited(d: Duration) {
        WAITED.with(|w| w.set(d));
    }

    pub(crate) fn waited() -> Duration {
        WAITED.with(|w| w.get())
    }

    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Instant;

    impl Instant {
        pub(crate) fn duration_since(&self, _earlier: Instant) -> Duration {
            waited()
        }
    }

    pub(crate) fn now() -> Instant {
        Instant
    }
}

/// The real wait queue.
#[allow(dead_code)]
#[path = "../src/rt/waitq.rs"]
mod waitq;

/// The real semaphores (`Semaphore`, unused here, comes along).
#[allow(dead_code)]
#[path = "../src/rt/semaphore.rs"]
mod semaphore;

use semaphore::{MutexSem, MutexWaiter};

/// `Mutex::lock`'s future, reduced to the semaphore: cancels when dropped
/// parked.
struct Lock<'a> {
    sem: &'a MutexSem,
    waiter: Option<MutexWaiter>,
}

impl Future for Lock<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // `spin` on: the executor's `can_spin` (above) still says no.
        this.sem.poll_lock(&mut this.waiter, true, cx)
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.waiter.take() {
            self.sem.cancel(w);
        }
    }
}

/// A mutex and the count it protects.
struct Shared {
    sem: MutexSem,
    count: UnsafeCell<u32>,
}

impl Shared {
    /// The critical section: loom checks that it is ordered after the
    /// previous holder's.
    fn increment(&self) {
        // SAFETY: loom checks this access against every other one to the
        // cell and fails the model if they race; that is the test.
        self.count.with_mut(|c| unsafe { *c += 1 });
    }

    fn lock_increment_unlock(&self) {
        loom::future::block_on(Lock {
            sem: &self.sem,
            waiter: None,
        });
        self.increment();
        self.sem.unlock();
    }

    /// Polls a lock once and gives up if it must wait: `true` if it got
    /// the lock (and incremented and unlocked).
    fn lock_once_or_give_up(&self) -> bool {
        let mut lock = Lock {
            sem: &self.sem,
            waiter: None,
        };
        let got = loom::future::block_on(std::future::poll_fn(|cx| {
            Poll::Ready(Pin::new(&mut lock).poll(cx).is_ready())
        }));
        drop(lock);
        if got {
            self.increment();
            self.sem.unlock();
        }
        got
    }

    /// Locks, but gives up if a poll after a wake-up still has to wait (a
    /// woken waiter that lost, perhaps switching to starvation mode, and
    /// then cancels): `true` if it got the lock (and incremented and
    /// unlocked).
    fn lock_or_give_up_once_woken(&self) -> bool {
        let mut lock = Lock {
            sem: &self.sem,
            waiter: None,
        };
        let mut polls = 0;
        let got = loom::future::block_on(std::future::poll_fn(|cx| {
            polls += 1;
            match Pin::new(&mut lock).poll(cx) {
                Poll::Ready(()) => Poll::Ready(true),
                Poll::Pending if polls > 1 => Poll::Ready(false),
                Poll::Pending => Poll::Pending,
            }
        }));
        drop(lock);
        if got {
            self.increment();
            self.sem.unlock();
        }
        got
    }

    /// A new mutex whose loom objects exist: the shim makes them on first
    /// use, and loom wants them made before other threads touch them, so
    /// this thread walks every path that touches one (lock, park behind
    /// itself, poll again, give up, unlock), leaving the mutex as new.
    fn new() -> Arc<Self> {
        let s = Arc::new(Shared {
            sem: MutexSem::new(),
            count: UnsafeCell::new(0),
        });
        assert!(s.sem.try_lock());
        let mut lock = Lock {
            sem: &s.sem,
            waiter: None,
        };
        loom::future::block_on(std::future::poll_fn(|cx| {
            assert!(Pin::new(&mut lock).poll(cx).is_pending());
            assert!(Pin::new(&mut lock).poll(cx).is_pending());
            Poll::Ready(())
        }));
        drop(lock);
        s.sem.unlock();
        s
    }

    fn count(&self) -> u32 {
        // SAFETY: as in `increment`.
        self.count.with(|c| unsafe { *c })
    }
}

/// Runs `f` under loom with every wait lasting `waited`, exploring
/// schedules with up to `preemptions` preemptions.
fn check(waited: Duration, preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    clock::set_waited(waited);
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(preemptions);
    b.check(move || {
        assert_eq!(clock::waited(), waited, "the model runs on another thread");
        f()
    });
}

/// Two threads and main lock, increment and unlock.
fn three_lockers(waited: Duration) {
    check(waited, 2, || {
        let s = Shared::new();
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || s.lock_increment_unlock())
            })
            .collect();
        s.lock_increment_unlock();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(s.count(), 3);
        assert!(s.sem.try_lock(), "the mutex is left locked");
    });
}

/// One thread gives up its lock after one poll (possibly after being
/// woken, or handed the lock) while two others lock: the lock must not
/// leak nor a wake-up be lost.
fn a_locker_gives_up(waited: Duration) {
    check(waited, 2, || {
        let s = Shared::new();
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || s.lock_increment_unlock())
            })
            .collect();
        let got = s.lock_once_or_give_up();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(s.count(), 2 + u32::from(got));
        assert!(s.sem.try_lock(), "the mutex is left locked");
    });
}

/// Waits shorter than the threshold: normal mode throughout.
const NORMAL: Duration = Duration::ZERO;
/// Waits longer: a woken waiter that loses switches to starvation mode.
const STARVED: Duration = Duration::from_millis(2);

/// Main locks twice while another thread waits, is woken, loses to main's
/// second lock, and gives up: in starvation mode main's unlock is then
/// on its way to a hand-off when the queue empties.
fn a_woken_loser_gives_up(waited: Duration) {
    // Three preemptions: main while it holds the lock (twice, so that the
    // other thread parks, then loses) and between main's unlock and its
    // hand-off.
    check(waited, 3, || {
        let s = Shared::new();
        let h = {
            let s = s.clone();
            thread::spawn(move || s.lock_or_give_up_once_woken())
        };
        s.lock_increment_unlock();
        s.lock_increment_unlock();
        let got = h.join().unwrap();
        assert_eq!(s.count(), 2 + u32::from(got));
        assert!(s.sem.try_lock(), "the mutex is left locked");
    });
}

#[test]
fn normal_mode_a_woken_loser_gives_up() {
    a_woken_loser_gives_up(NORMAL);
}

#[test]
fn starvation_mode_a_woken_loser_gives_up() {
    a_woken_loser_gives_up(STARVED);
}

#[test]
fn normal_mode_three_lockers() {
    three_lockers(NORMAL);
}

#[test]
fn starvation_mode_three_lockers() {
    three_lockers(STARVED);
}

#[test]
fn normal_mode_a_locker_gives_up() {
    a_locker_gives_up(NORMAL);
}

#[test]
fn starvation_mode_a_locker_gives_up() {
    a_locker_gives_up(STARVED);
}
