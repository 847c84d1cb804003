// Ported from Go: Copyright 2009 The Go Authors, under the BSD-style
// licence in tests/LICENSE-GO.

//! Go's race-detector tests of `sync/atomic`, ported from
//! `src/runtime/race/testdata/atomic_test.go` (golang/go). See
//! `support` for the conventions.
//!
//! Go can also access an atomically used variable plainly (`_ = a`,
//! `a = 1`); Rust cannot, so those plain accesses are the
//! `goro::race::{read, write}` annotations that stand for them.

use std::sync::Arc;

use crate::support::{no_race, race, var};
use goro::sync::atomic::{AtomicI32, AtomicI64, AtomicU64, AtomicUsize};

// TestNoRaceAtomicAddInt64 (atomic_test.go)
#[test]
fn no_race_atomic_add_int64() {
    no_race(|| async {
        let x1 = var(0i8);
        let x2 = var(0i8);
        let s = Arc::new(AtomicI64::new(0));
        let ch = goro::chan::<bool>(2);
        {
            let (x1, x2, s, ch) = (x1.clone(), x2.clone(), s.clone(), ch.clone());
            goro::go!(async move {
                x1.set(1);
                if s.add(1) == 2 {
                    x2.set(1);
                }
                ch.send(true).await;
            });
        }
        {
            let (x1, x2, s, ch) = (x1.clone(), x2.clone(), s.clone(), ch.clone());
            goro::go!(async move {
                x2.set(1);
                if s.add(1) == 2 {
                    x1.set(1);
                }
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceAtomicAddInt64 (atomic_test.go)
#[test]
fn race_atomic_add_int64() {
    race(|| async {
        let x1 = var(0i8);
        let x2 = var(0i8);
        let s = Arc::new(AtomicI64::new(0));
        let ch = goro::chan::<bool>(2);
        {
            let (x1, x2, s, ch) = (x1.clone(), x2.clone(), s.clone(), ch.clone());
            goro::go!(async move {
                x1.set(1);
                if s.add(1) == 1 {
                    x2.set(1);
                }
                ch.send(true).await;
            });
        }
        {
            let (x1, x2, s, ch) = (x1.clone(), x2.clone(), s.clone(), ch.clone());
            goro::go!(async move {
                x2.set(1);
                if s.add(1) == 1 {
                    x1.set(1);
                }
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceAtomicAddInt32 (atomic_test.go)
#[test]
fn no_race_atomic_add_int32() {
    no_race(|| async {
        let x1 = var(0i8);
        let x2 = var(0i8);
        let s = Arc::new(AtomicI32::new(0));
        let ch = goro::chan::<bool>(2);
        {
            let (x1, x2, s, ch) = (x1.clone(), x2.clone(), s.clone(), ch.clone());
            goro::go!(async move {
                x1.set(1);
                if s.add(1) == 2 {
                    x2.set(1);
                }
                ch.send(true).await;
            });
        }
        {
            let (x1, x2, s, ch) = (x1.clone(), x2.clone(), s.clone(), ch.clone());
            goro::go!(async move {
                x2.set(1);
                if s.add(1) == 2 {
                    x1.set(1);
                }
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceAtomicLoadAddInt32 (atomic_test.go)
#[test]
fn no_race_atomic_load_add_int32() {
    no_race(|| async {
        let x = var(0i64);
        let s = Arc::new(AtomicI32::new(0));
        {
            let (x, s) = (x.clone(), s.clone());
            goro::go!(async move {
                x.set(2);
                s.add(1);
            });
        }
        while s.load() != 1 {
            goro::yield_now().await;
        }
        x.set(1);
    });
}

// TestNoRaceAtomicLoadStoreInt32 (atomic_test.go)
#[test]
fn no_race_atomic_load_store_int32() {
    no_race(|| async {
        let x = var(0i64);
        let s = Arc::new(AtomicI32::new(0));
        {
            let (x, s) = (x.clone(), s.clone());
            goro::go!(async move {
                x.set(2);
                s.store(1);
            });
        }
        while s.load() != 1 {
            goro::yield_now().await;
        }
        x.set(1);
    });
}

// TestNoRaceAtomicStoreCASInt32 (atomic_test.go)
#[test]
fn no_race_atomic_store_cas_int32() {
    no_race(|| async {
        let x = var(0i64);
        let s = Arc::new(AtomicI32::new(0));
        {
            let (x, s) = (x.clone(), s.clone());
            goro::go!(async move {
                x.set(2);
                s.store(1);
            });
        }
        while !s.compare_and_swap(1, 0) {
            goro::yield_now().await;
        }
        x.set(1);
    });
}

// TestNoRaceAtomicCASLoadInt32 (atomic_test.go)
#[test]
fn no_race_atomic_cas_load_int32() {
    no_race(|| async {
        let x = var(0i64);
        let s = Arc::new(AtomicI32::new(0));
        {
            let (x, s) = (x.clone(), s.clone());
            goro::go!(async move {
                x.set(2);
                if !s.compare_and_swap(0, 1) {
                    panic!("");
                }
            });
        }
        while s.load() != 1 {
            goro::yield_now().await;
        }
        x.set(1);
    });
}

// TestNoRaceAtomicCASCASInt32 (atomic_test.go)
#[test]
fn no_race_atomic_cascas_int32() {
    no_race(|| async {
        let x = var(0i64);
        let s = Arc::new(AtomicI32::new(0));
        {
            let (x, s) = (x.clone(), s.clone());
            goro::go!(async move {
                x.set(2);
                if !s.compare_and_swap(0, 1) {
                    panic!("");
                }
            });
        }
        while !s.compare_and_swap(1, 0) {
            goro::yield_now().await;
        }
        x.set(1);
    });
}

// TestNoRaceAtomicCASCASInt32_2 (atomic_test.go)
#[test]
fn no_race_atomic_cascas_int32_2() {
    no_race(|| async {
        let x1 = var(0i8);
        let x2 = var(0i8);
        let s = Arc::new(AtomicI32::new(0));
        let ch = goro::chan::<bool>(2);
        {
            let (x1, x2, s, ch) = (x1.clone(), x2.clone(), s.clone(), ch.clone());
            goro::go!(async move {
                x1.set(1);
                if !s.compare_and_swap(0, 1) {
                    x2.set(1);
                }
                ch.send(true).await;
            });
        }
        {
            let (x1, x2, s, ch) = (x1.clone(), x2.clone(), s.clone(), ch.clone());
            goro::go!(async move {
                x2.set(1);
                if !s.compare_and_swap(0, 1) {
                    x1.set(1);
                }
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceAtomicLoadInt64 (atomic_test.go)
#[test]
fn no_race_atomic_load_int64() {
    no_race(|| async {
        let x = var(0i32);
        let s = Arc::new(AtomicI64::new(0));
        {
            let (x, s) = (x.clone(), s.clone());
            goro::go!(async move {
                x.set(2);
                s.add(1);
            });
        }
        while s.load() != 1 {
            goro::yield_now().await;
        }
        x.set(1);
    });
}

// TestNoRaceAtomicCASCASUInt64 (atomic_test.go)
#[test]
fn no_race_atomic_cascas_uint64() {
    no_race(|| async {
        let x = var(0i64);
        let s = Arc::new(AtomicU64::new(0));
        {
            let (x, s) = (x.clone(), s.clone());
            goro::go!(async move {
                x.set(2);
                if !s.compare_and_swap(0, 1) {
                    panic!("");
                }
            });
        }
        while !s.compare_and_swap(1, 0) {
            goro::yield_now().await;
        }
        x.set(1);
    });
}

// TestNoRaceAtomicLoadStorePointer (atomic_test.go): Go's unsafe.Pointer is
// an address, here in an AtomicUsize.
#[test]
fn no_race_atomic_load_store_pointer() {
    no_race(|| async {
        let x = var(0i64);
        let s = Arc::new(AtomicUsize::new(0));
        let y = Arc::new(2);
        let p = Arc::as_ptr(&y) as usize;
        {
            let (x, s) = (x.clone(), s.clone());
            goro::go!(async move {
                x.set(2);
                s.store(p);
            });
        }
        while s.load() != p {
            goro::yield_now().await;
        }
        x.set(1);
    });
}

// TestNoRaceAtomicStoreCASUint64 (atomic_test.go)
#[test]
fn no_race_atomic_store_cas_uint64() {
    no_race(|| async {
        let x = var(0i64);
        let s = Arc::new(AtomicU64::new(0));
        {
            let (x, s) = (x.clone(), s.clone());
            goro::go!(async move {
                x.set(2);
                s.store(1);
            });
        }
        while !s.compare_and_swap(1, 0) {
            goro::yield_now().await;
        }
        x.set(1);
    });
}

// TestRaceAtomicStoreLoad (atomic_test.go)
#[test]
fn race_atomic_store_load() {
    race(|| async {
        let c = goro::chan::<bool>(0);
        let a = Arc::new(AtomicU64::new(0));
        {
            let (c, a) = (c.clone(), a.clone());
            goro::go!(async move {
                a.store(1);
                c.send(true).await;
            });
        }
        goro::race::read(&*a); // _ = a
        c.recv().await;
    });
}

// TestRaceAtomicLoadStore (atomic_test.go)
#[test]
fn race_atomic_load_store() {
    race(|| async {
        let c = goro::chan::<bool>(0);
        let a = Arc::new(AtomicU64::new(0));
        {
            let (c, a) = (c.clone(), a.clone());
            goro::go!(async move {
                let _ = a.load();
                c.send(true).await;
            });
        }
        goro::race::write(&*a); // a = 1
        c.recv().await;
    });
}

// TestRaceAtomicAddLoad (atomic_test.go)
#[test]
fn race_atomic_add_load() {
    race(|| async {
        let c = goro::chan::<bool>(0);
        let a = Arc::new(AtomicU64::new(0));
        {
            let (c, a) = (c.clone(), a.clone());
            goro::go!(async move {
                a.add(1);
                c.send(true).await;
            });
        }
        goro::race::read(&*a); // _ = a
        c.recv().await;
    });
}

// TestRaceAtomicAddStore (atomic_test.go)
#[test]
fn race_atomic_add_store() {
    race(|| async {
        let c = goro::chan::<bool>(0);
        let a = Arc::new(AtomicU64::new(0));
        {
            let (c, a) = (c.clone(), a.clone());
            goro::go!(async move {
                a.add(1);
                c.send(true).await;
            });
        }
        goro::race::write(&*a); // a = 42
        c.recv().await;
    });
}
