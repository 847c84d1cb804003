// Ported from Go: Copyright 2009 The Go Authors, under the BSD-style
// licence in tests/LICENSE-GO.

//! Go's race-detector tests of `sync.Mutex`, `sync.RWMutex` and
//! `sync.Cond`, ported from `src/runtime/race/testdata/mutex_test.go`,
//! `rwmutex_test.go` and `sync_test.go` (golang/go). See `support`
//! for the conventions.

use std::sync::Arc;

use crate::support::{no_race, ns, race, var};
use goro::sync::{Cond, Mutex, RwLock};
use goro::{Chan, Shared};

/// A mutex that Go code unlocks from another goroutine than the one that
/// locked it: the guard moves to that goroutine, so the mutex must outlive
/// both. Leaked: a few bytes per schedule.
fn leaked_mutex() -> &'static Mutex<()> {
    Box::leak(Box::new(Mutex::new(())))
}

// TestNoRaceMutex (mutex_test.go)
#[test]
fn no_race_mutex() {
    no_race(|| async {
        let mu = Arc::new(Mutex::new(()));
        let x = var(0i16);
        let ch = goro::chan::<bool>(2);
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let _unlock = mu.lock().await; // mu.Lock(); defer mu.Unlock()
                x.set(1);
                ch.send(true).await;
            });
        }
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let g = mu.lock().await;
                x.set(2);
                drop(g);
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceMutex (mutex_test.go)
#[test]
fn race_mutex() {
    race(|| async {
        let mu = Arc::new(Mutex::new(()));
        let x = var(0i16);
        let ch = goro::chan::<bool>(2);
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                x.set(1);
                let _unlock = mu.lock().await;
                ch.send(true).await;
            });
        }
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                x.set(2);
                let g = mu.lock().await;
                drop(g);
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceMutex2 (mutex_test.go)
#[test]
fn race_mutex2() {
    race(|| async {
        let mu1 = Arc::new(Mutex::new(()));
        let mu2 = Arc::new(Mutex::new(()));
        let x = var(0i8);
        let ch = goro::chan::<bool>(2);
        {
            let (mu1, x, ch) = (mu1.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let _unlock = mu1.lock().await;
                x.set(1);
                ch.send(true).await;
            });
        }
        {
            let (mu2, x, ch) = (mu2.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let g = mu2.lock().await;
                x.set(2);
                drop(g);
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceMutexPureHappensBefore (mutex_test.go)
#[test]
fn no_race_mutex_pure_happens_before() {
    no_race(|| async {
        let mu = Arc::new(Mutex::new(()));
        let x = var(0i16);
        let ch = goro::chan::<bool>(2);
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                x.set(1);
                drop(mu.lock().await);
                ch.send(true).await;
            });
        }
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                goro::time::after(ns(100_000)).recv().await;
                drop(mu.lock().await);
                x.set(1);
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceMutexSemaphore (mutex_test.go)
#[test]
fn no_race_mutex_semaphore() {
    no_race(|| async {
        let mu = leaked_mutex();
        let ch = goro::chan::<bool>(2);
        let x = var(0);
        let g = mu.lock().await;
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(1);
                drop(g); // mu.Unlock()
                ch.send(true).await;
            });
        }
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                let g = mu.lock().await;
                x.set(2);
                drop(g);
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceMutexExampleFromHtml (mutex_test.go), from doc/go_mem.html
#[test]
fn no_race_mutex_example_from_html() {
    no_race(|| async {
        let l = leaked_mutex();
        let a = var(String::new());
        let g = l.lock().await;
        {
            let a = a.clone();
            goro::go!(async move {
                a.set("hello, world".to_string());
                drop(g); // l.Unlock()
            });
        }
        let _g = l.lock().await;
        let _ = a.get();
    });
}

// TestRaceMutexRWMutex (rwmutex_test.go)
#[test]
fn race_mutex_rw_mutex() {
    race(|| async {
        let mu1 = Arc::new(Mutex::new(()));
        let mu2 = Arc::new(RwLock::new(()));
        let x = var(0i16);
        let ch = goro::chan::<bool>(2);
        {
            let (mu1, x, ch) = (mu1.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let _unlock = mu1.lock().await;
                x.set(1);
                ch.send(true).await;
            });
        }
        {
            let (mu2, x, ch) = (mu2.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let g = mu2.write().await;
                x.set(2);
                drop(g);
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceRWMutex (rwmutex_test.go)
#[test]
fn no_race_rw_mutex() {
    no_race(|| async {
        let mu = Arc::new(RwLock::new(()));
        let x = var(0i64);
        let y = var(1i64);
        let ch = goro::chan::<bool>(2);
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let _unlock = mu.write().await;
                x.set(2);
                ch.send(true).await;
            });
        }
        {
            let (mu, x, y, ch) = (mu.clone(), x.clone(), y.clone(), ch.clone());
            goro::go!(async move {
                let g = mu.read().await;
                y.set(x.get());
                drop(g);
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceRWMutexMultipleReaders (rwmutex_test.go)
#[test]
fn race_rw_mutex_multiple_readers() {
    race(|| async {
        let mu = Arc::new(RwLock::new(()));
        let x = var(0i64);
        let y = var(1i64);
        let ch = goro::chan::<bool>(4);
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let _unlock = mu.write().await;
                x.set(2);
                ch.send(true).await;
            });
        }
        // Use three readers so that no matter what order they're scheduled
        // in, two will be on the same side of the write lock above.
        for k in 1..=3 {
            let (mu, x, y, ch) = (mu.clone(), x.clone(), y.clone(), ch.clone());
            goro::go!(async move {
                let g = mu.read().await;
                y.set(x.get() + k);
                drop(g);
                ch.send(true).await;
            });
        }
        for _ in 0..4 {
            ch.recv().await;
        }
        let _ = y.get();
    });
}

// TestNoRaceRWMutexMultipleReaders (rwmutex_test.go)
#[test]
fn no_race_rw_mutex_multiple_readers() {
    no_race(|| async {
        let mu = Arc::new(RwLock::new(()));
        let x = var(0i64);
        let ch = goro::chan::<bool>(4);
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let _unlock = mu.write().await;
                x.set(2);
                ch.send(true).await;
            });
        }
        for k in 1..=3 {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let g = mu.read().await;
                let y = x.get() + k;
                let _ = y;
                drop(g);
                ch.send(true).await;
            });
        }
        for _ in 0..4 {
            ch.recv().await;
        }
    });
}

// TestNoRaceRWMutexTransitive (rwmutex_test.go)
#[test]
fn no_race_rw_mutex_transitive() {
    no_race(|| async {
        let mu = Arc::new(RwLock::new(()));
        let x = var(0i64);
        let ch = goro::chan::<bool>(2);
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                let g = mu.read().await;
                let _ = x.get();
                drop(g);
                ch.send(true).await;
            });
        }
        {
            let (mu, x, ch) = (mu.clone(), x.clone(), ch.clone());
            goro::go!(async move {
                goro::time::sleep(ns(10_000_000)).await;
                let g = mu.read().await;
                let _ = x.get();
                drop(g);
                ch.send(true).await;
            });
        }
        goro::time::sleep(ns(20_000_000)).await;
        let g = mu.write().await;
        x.set(42);
        drop(g);
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceCond (sync_test.go)
#[test]
fn no_race_cond() {
    no_race(|| async {
        let x = var(0);
        let condition = var(0);
        let mc = Arc::new((Mutex::new(()), Cond::new()));
        {
            let (x, condition, mc) = (x.clone(), condition.clone(), mc.clone());
            goro::go!(async move {
                let (mu, cond) = &*mc;
                x.set(1);
                let g = mu.lock().await;
                condition.set(1);
                cond.signal();
                drop(g);
            });
        }
        let (mu, cond) = &*mc;
        let mut g = mu.lock().await;
        while condition.get() != 1 {
            g = cond.wait(g).await;
        }
        drop(g);
        x.set(2);
    });
}

// TestRaceCond (sync_test.go)
#[test]
fn race_cond() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        let mc = Arc::new((Mutex::new(()), Cond::new()));
        let x = var(0);
        let condition = var(0);
        {
            let (done, mc, x, condition) = (done.clone(), mc.clone(), x.clone(), condition.clone());
            goro::go!(async move {
                let (mu, cond) = &*mc;
                goro::time::sleep(ns(10_000_000)).await; // Enter cond.Wait loop
                x.set(1);
                let g = mu.lock().await;
                condition.set(1);
                cond.signal();
                drop(g);
                goro::time::sleep(ns(10_000_000)).await; // Exit cond.Wait loop
                let g = mu.lock().await;
                x.set(3);
                drop(g);
                done.send(true).await;
            });
        }
        let (mu, cond) = &*mc;
        let mut g = mu.lock().await;
        while condition.get() != 1 {
            g = cond.wait(g).await;
        }
        drop(g);
        x.set(2);
        done.recv().await;
    });
}

/// `f` of TestRaceAnnounceThreads.
async fn announce_f(x: Arc<Shared<i32>>, all_done: Chan<bool>) {
    x.set(1);
    goro::go!(announce_g(x.clone(), all_done.clone()));
    {
        let (x, all_done) = (x.clone(), all_done.clone());
        goro::go!(async move {
            x.set(1);
            all_done.send(true).await;
        });
    }
    x.set(2);
    all_done.send(true).await;
}

/// `g` of TestRaceAnnounceThreads.
async fn announce_g(x: Arc<Shared<i32>>, all_done: Chan<bool>) {
    for _ in 0..2 {
        {
            let (x, all_done) = (x.clone(), all_done.clone());
            goro::go!(async move {
                x.set(1);
                all_done.send(true).await;
            });
        }
        all_done.send(true).await;
    }
}

/// `h` of TestRaceAnnounceThreads.
async fn announce_h(x: Arc<Shared<i32>>, all_done: Chan<bool>) {
    x.set(1);
    x.set(2);
    goro::go!(announce_f(x.clone(), all_done.clone()));
    all_done.send(true).await;
}

// TestRaceAnnounceThreads (sync_test.go)
#[test]
fn race_announce_threads() {
    race(|| async {
        const N: usize = 7;
        let all_done = goro::chan::<bool>(N);
        let x = var(0);
        goro::go!(announce_h(x.clone(), all_done.clone()));
        for _ in 0..N {
            all_done.recv().await;
        }
    });
}

// TestRaceGoroutineCreationStack (sync_test.go)
#[test]
fn race_goroutine_creation_stack() {
    race(|| async {
        let x = var(0);
        let ch = goro::chan::<bool>(1);
        let f1 = {
            let (x, ch) = (x.clone(), ch.clone());
            async move {
                x.set(1);
                ch.send(true).await;
            }
        };
        let f2 = async move { goro::go!(f1) };
        let f3 = async move { goro::go!(f2) };
        let f4 = async move { goro::go!(f3) };
        goro::go!(f4);
        x.set(2);
        ch.recv().await;
    });
}
