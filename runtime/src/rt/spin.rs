//! The channel lock: a test-and-test-and-set spin lock for critical
//! sections of tens of instructions that never block.
//!
//! Why not `parking_lot::Mutex`: its unlock is a compare-and-swap (it must
//! see whether a waiter parked), so every channel operation paid two
//! read-modify-writes on the lock word; this one unlocks with a plain
//! `Release` store. Measured on the bench workloads (bench/README.md,
//! "Third pass"): `buffered` and `fanout_ctx` about a quarter less wall
//! time, `select` ~15%, `pingpong` and `fanout` within noise.
//!
//! What it gives up is parking: a waiter spins (`spin_loop`) for a while,
//! then yields its thread until the lock is free. That is only sound for
//! locks held briefly and never across anything that can block: the
//! channel holds its lock to move a value and a queue entry, and wakes,
//! drops values and reports after releasing it (`rt::chan`'s `Deferred`).
//! No fairness either: under contention the next holder is whoever wins
//! the compare-and-swap, as with Go's runtime lock.
//!
//! Its atomics and hints come from `prims`, so that
//! `runtime/tests/loom_spin.rs` checks this file under loom.

use std::sync::atomic::Ordering;

use parking_lot::lock_api::RawMutex as _;

use super::prims::{spin_loop, yield_now, AtomicUsize};

/// A mutex over [`RawSpin`]: `lock()` returns a guard, as
/// `parking_lot::Mutex` does.
pub(crate) type SpinMutex<T> = parking_lot::lock_api::Mutex<RawSpin, T>;

/// How many times a waiter spins before it starts yielding its thread: a
/// few microseconds, longer than any critical section it waits out unless
/// the holder was preempted.
const SPINS: u32 = 100;

/// The lock word: 0 free, 1 held.
pub(crate) struct RawSpin {
    locked: AtomicUsize,
}

// SAFETY: `lock`/`try_lock` succeed only by moving the word from 0 to 1
// with `Acquire`, and only the holder stores 0 back, with `Release`: one
// holder at a time, and each holder's writes happen before the next one's
// reads (checked under loom by `runtime/tests/loom_spin.rs`).
unsafe impl parking_lot::lock_api::RawMutex for RawSpin {
    #[allow(clippy::declare_interior_mutable_const)] // a fresh lock per use
    const INIT: RawSpin = RawSpin {
        locked: AtomicUsize::new(0),
    };

    // Held only within one operation, never across an await: the guard
    // may move between threads with its future (`send_guard` elsewhere).
    type GuardMarker = parking_lot::lock_api::GuardSend;

    #[inline]
    fn lock(&self) {
        if !self.try_lock() {
            self.lock_contended();
        }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        self.locked
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.locked.store(0, Ordering::Release);
    }
}

impl RawSpin {
    /// Waits for the holder: reads the word (a shared copy of its line,
    /// not a read-modify-write per turn) until it is free, then tries
    /// again.
    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        let mut spins = 0;
        loop {
            while self.locked.load(Ordering::Relaxed) != 0 {
                if spins < SPINS {
                    spins += 1;
                    spin_loop();
                } else {
                    // The holder is probably not running: let it.
                    yield_now();
                }
            }
            if self.try_lock() {
                return;
            }
        }
    }
}
