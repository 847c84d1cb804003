//! Integration tests of `goro::sync`, its atomics and `goro::Shared`, on the
//! production (multi-thread) runtime.
//!
//! Ordering-sensitive tests (FIFO hand-off, cancellation) queue their waiters
//! deterministically: a lock future is polled once by hand, which puts it in
//! the queue, before the next waiter is started.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use goro::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize};
use goro::sync::{Cond, Map, Mutex, MutexGuard, Once, RwLock, WaitGroup};
use goro::Shared;

/// Fails the test instead of hanging it.
async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(5), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: still blocked after 5s (deadlock or lost wake-up)"),
    }
}

/// Polls `f` once: `Pending` means it is now parked in its queue.
async fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *f).poll(cx))).await
}

/// Lets other goroutines run for a moment, for tests that check that
/// something does *not* happen.
async fn settle() {
    for _ in 0..10 {
        goro::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send::<MutexGuard<'static, Vec<i32>>>();
    assert_send::<goro::sync::RwLockReadGuard<'static, Vec<i32>>>();
    assert_send::<goro::sync::RwLockWriteGuard<'static, Vec<i32>>>();
    assert_send::<goro::sync::LockFuture<'static, Vec<i32>>>();
    assert_send::<goro::sync::CondWaitFuture<'static, 'static, Vec<i32>>>();
    assert_send::<goro::sync::WaitFuture<'static>>();
    assert_sync::<Mutex<Vec<i32>>>();
    assert_sync::<RwLock<Vec<i32>>>();
    assert_sync::<Cond>();
    assert_sync::<Once>();
    assert_sync::<Map<String, i32>>();
    assert_sync::<Shared<String>>();
    assert_send::<WaitGroup>();
    assert_sync::<WaitGroup>();
}

mod mutex {
    use super::*;

    #[test]
    fn eight_goroutines_increment_exactly() {
        let total = goro::run(async {
            let m = Arc::new(Mutex::new(0u64));
            let wg = WaitGroup::new();
            for _ in 0..8 {
                wg.add(1);
                let (m, wg) = (m.clone(), wg.clone());
                goro::go!(async move {
                    for _ in 0..10_000 {
                        *m.lock().await += 1;
                    }
                    wg.done();
                });
            }
            within("wait", wg.wait()).await;
            let v = *m.lock().await;
            v
        });
        assert_eq!(total, 80_000);
    }

    #[test]
    fn handoff_is_fifo() {
        let order = goro::run(async {
            let m = Arc::new(Mutex::new(Vec::new()));
            let held = m.lock().await;
            let queued = goro::chan(0);
            let wg = WaitGroup::new();
            for i in 0..6 {
                wg.add(1);
                let (m, tx, wg) = (m.clone(), queued.clone(), wg.clone());
                goro::go!(async move {
                    let mut f = m.lock();
                    assert!(poll_once(&mut f).await.is_pending(), "mutex is held");
                    tx.send(()).await;
                    f.await.push(i);
                    wg.done();
                });
                // Goroutine i is in the queue before i + 1 starts.
                queued.recv().await;
            }
            drop(held);
            within("waiters", wg.wait()).await;
            let v = m.lock().await.clone();
            v
        });
        assert_eq!(order, [0, 1, 2, 3, 4, 5]);
    }

    /// Normal mode (Go's): unlock wakes the longest waiter without giving it
    /// the lock, and a goroutine that asks first takes it.
    #[test]
    fn normal_mode_lets_a_newcomer_take_a_free_lock() {
        goro::run(async {
            let m = Mutex::new(Vec::new());
            let held = m.lock().await;
            let mut waiter = m.lock();
            assert!(poll_once(&mut waiter).await.is_pending(), "mutex is held");
            drop(held); // wakes `waiter`; the lock is free until it runs
            let mut barger = m
                .try_lock()
                .expect("normal mode: a newcomer may take a free lock ahead of a woken waiter");
            barger.push("barger");
            drop(barger);
            within("woken waiter", waiter).await.push("waiter");
            assert_eq!(*m.lock().await, ["barger", "waiter"]);
        });
    }

    /// Only the woken waiter competes; one that loses stays at the front, so
    /// parked waiters are still served in FIFO order among themselves.
    #[test]
    fn woken_waiter_that_loses_keeps_its_place_at_the_front() {
        goro::run(async {
            let m = Mutex::new(Vec::new());
            let held = m.lock().await;
            let mut first = m.lock();
            let mut second = m.lock();
            assert!(poll_once(&mut first).await.is_pending());
            assert!(poll_once(&mut second).await.is_pending());
            drop(held); // wakes `first`
            let barger = m.try_lock().expect("normal mode: the lock is free");
            assert!(
                poll_once(&mut first).await.is_pending(),
                "lost to the barger"
            );
            drop(barger); // wakes `first` again (or, if it starved, hands it over)
            assert!(
                poll_once(&mut second).await.is_pending(),
                "a waiter behind the front one was not woken and must not take the lock"
            );
            within("first", first).await.push("first");
            within("second", second).await.push("second");
            assert_eq!(*m.lock().await, ["first", "second"]);
        });
    }

    /// Starvation mode (Go's): a woken waiter that loses after waiting more
    /// than 1 ms makes every unlock hand the lock to the longest waiter, and
    /// newcomers queue; the mode ends with the last waiter.
    #[test]
    fn waiter_starved_for_over_1ms_gets_the_lock_next() {
        goro::run(async {
            let m = Mutex::new(Vec::new());
            let held = m.lock().await;
            let mut first = m.lock();
            let mut second = m.lock();
            assert!(poll_once(&mut first).await.is_pending());
            assert!(poll_once(&mut second).await.is_pending());
            // goro's clock is real time outside the detector.
            tokio::time::sleep(Duration::from_millis(5)).await;
            drop(held); // normal mode: wakes `first`, frees the lock
            let barger = m
                .try_lock()
                .expect("normal mode: a newcomer may take a free lock");
            // `first` runs, loses, and has waited over 1 ms: starvation mode.
            assert!(
                poll_once(&mut first).await.is_pending(),
                "lost to the barger"
            );
            drop(barger); // hands the lock to `first`
            assert!(
                m.try_lock().is_none(),
                "starvation mode: unlock handed the lock to the starved waiter"
            );
            let mut late = m.lock();
            assert!(
                poll_once(&mut late).await.is_pending(),
                "starvation mode: a newcomer queues"
            );
            let mut g = within("first", first).await;
            g.push("first");
            drop(g); // `first` waited long and others wait: hands to `second`
            assert!(
                m.try_lock().is_none(),
                "starvation mode: handed to `second`"
            );
            let mut g = within("second", second).await;
            g.push("second");
            drop(g); // hands to `late`, the last waiter: normal mode again
            assert!(m.try_lock().is_none(), "handed to `late`");
            within("late", late).await.push("late");
            let g = m.try_lock().expect("normal mode, unlocked, nobody waiting");
            assert_eq!(*g, ["first", "second", "late"]);
        });
    }

    #[test]
    fn dropped_future_handed_the_lock_in_starvation_mode_passes_it_on() {
        goro::run(async {
            let m = Mutex::new(0);
            let held = m.lock().await;
            let mut first = m.lock();
            let mut second = m.lock();
            assert!(poll_once(&mut first).await.is_pending());
            assert!(poll_once(&mut second).await.is_pending());
            tokio::time::sleep(Duration::from_millis(5)).await;
            drop(held);
            let barger = m.try_lock().expect("normal mode");
            assert!(poll_once(&mut first).await.is_pending()); // starvation mode
            drop(barger); // hands the lock to `first`...
            drop(first); // ...which gives up: it passes on to `second`
            assert!(m.try_lock().is_none(), "handed to `second`");
            *within("second", second).await += 1;
            assert_eq!(*m.try_lock().expect("unlocked"), 1);
        });
    }

    #[test]
    fn dropped_woken_waiter_wakes_the_next() {
        goro::run(async {
            let m = Arc::new(Mutex::new(0));
            let held = m.lock().await;
            let mut first = m.lock();
            assert!(poll_once(&mut first).await.is_pending());
            let queued = goro::chan(0);
            let second = {
                let (m, queued) = (m.clone(), queued.clone());
                goro::spawn(async move {
                    let mut f = m.lock();
                    assert!(poll_once(&mut f).await.is_pending());
                    queued.send(()).await;
                    *f.await += 1;
                })
            };
            queued.recv().await;
            drop(held); // wakes `first`, which never runs again
            drop(first); // so the wake-up goes to `second`
            within("second", second).await;
            assert_eq!(*m.try_lock().expect("unlocked"), 1);
        });
    }

    #[test]
    fn dropped_future_that_was_handed_the_lock_passes_it_on() {
        goro::run(async {
            let m = Arc::new(Mutex::new(0));
            let held = m.lock().await;
            let step = goro::chan::<()>(0);
            let a = {
                let (m, step) = (m.clone(), step.clone());
                goro::spawn(async move {
                    let mut f = m.lock();
                    assert!(poll_once(&mut f).await.is_pending());
                    step.send(()).await; // queued
                    step.recv().await; // main unlocked: the lock is ours
                    drop(f); // ...but we give up without taking it
                })
            };
            step.recv().await;
            // A second waiter queues behind the first.
            let b = {
                let m = m.clone();
                goro::spawn(async move {
                    *m.lock().await += 1;
                })
            };
            settle().await;
            drop(held); // hands off to the first waiter
            step.send(()).await;
            within("first waiter", a).await;
            within("second waiter", b).await;
            assert_eq!(*within("main relock", m.lock()).await, 1);
        });
    }

    #[test]
    fn dropped_queued_future_leaves_the_queue() {
        goro::run(async {
            let m = Mutex::new(0);
            let held = m.lock().await;
            let mut first = m.lock();
            let mut second = m.lock();
            assert!(poll_once(&mut first).await.is_pending());
            assert!(poll_once(&mut second).await.is_pending());
            drop(first); // still queued: just leaves
            drop(held);
            let mut g = within("second", second).await;
            *g += 1;
            drop(g);
            assert_eq!(*m.try_lock().expect("unlocked"), 1);
        });
    }

    #[test]
    fn cancellation_under_contention_never_leaks_the_lock() {
        let (count, acquired) = goro::run(async {
            let m = Arc::new(Mutex::new(0u64));
            let acquired = Arc::new(AtomicU64::new(0));
            let wg = WaitGroup::new();
            for id in 0..8u64 {
                wg.add(1);
                let (m, acquired, wg) = (m.clone(), acquired.clone(), wg.clone());
                goro::go!(async move {
                    for i in 0..500u64 {
                        let mut f = m.lock();
                        if (i + id) % 3 == 0 {
                            // Give up after one poll, maybe after a hand-off.
                            if let Poll::Ready(mut g) = poll_once(&mut f).await {
                                *g += 1;
                                acquired.add(1);
                            } else {
                                goro::yield_now().await;
                                drop(f);
                            }
                        } else {
                            *f.await += 1;
                            acquired.add(1);
                        }
                    }
                    wg.done();
                });
            }
            within("workers", wg.wait()).await;
            let count = *within("final lock", m.lock()).await;
            (count, acquired.load())
        });
        assert_eq!(count, acquired);
        assert!(acquired >= 8 * 333, "too few acquisitions: {acquired}");
    }

    #[test]
    fn timeout_on_lock_then_lock_again() {
        goro::run(async {
            let m = Mutex::new(1);
            let held = m.lock().await;
            let r = tokio::time::timeout(Duration::from_millis(10), m.lock()).await;
            assert!(r.is_err(), "lock succeeded while held");
            drop(held);
            assert_eq!(*within("relock", m.lock()).await, 1);
        });
    }

    #[test]
    fn guard_dropped_in_another_goroutine_unlocks() {
        static M: Mutex<i32> = Mutex::new(0);
        goro::run(async {
            let mut g = M.lock().await;
            *g = 7;
            let handoff = goro::chan::<MutexGuard<'static, i32>>(1);
            let rx = handoff.clone();
            let h = goro::spawn(async move {
                let g = rx.recv().await.expect("guard");
                assert_eq!(*g, 7);
                drop(g); // unlock from this goroutine
            });
            handoff.send(g).await;
            within("join", h).await;
            assert_eq!(*within("relock", M.lock()).await, 7);
        });
    }

    #[test]
    fn try_lock_get_mut_into_inner_debug() {
        let mut m = Mutex::new(vec![1]);
        {
            let mut g = m.try_lock().expect("unlocked");
            g.push(2);
            assert!(m.try_lock().is_none());
            assert_eq!(format!("{m:?}"), "Mutex { data: <locked>, .. }");
        }
        assert_eq!(format!("{m:?}"), "Mutex { data: [1, 2], .. }");
        m.get_mut().push(3);
        assert_eq!(m.into_inner(), [1, 2, 3]);
    }
}

mod rwlock {
    use super::*;

    #[test]
    fn readers_hold_the_lock_together() {
        goro::run(async {
            let l = Arc::new(RwLock::new(5));
            let r1 = l.read().await;
            let l2 = l.clone();
            let other = goro::spawn(async move { *l2.read().await });
            assert_eq!(within("second reader", other).await, 5);
            assert!(l.try_read().is_some());
            assert!(l.try_write().is_none());
            drop(r1);
            assert!(l.try_write().is_some());
        });
    }

    #[test]
    fn writer_excludes_readers_and_writers() {
        goro::run(async {
            let l = RwLock::new(0);
            let mut w = l.write().await;
            assert!(l.try_read().is_none());
            assert!(l.try_write().is_none());
            let mut r = l.read();
            assert!(poll_once(&mut r).await.is_pending());
            *w = 1;
            drop(w);
            assert_eq!(*within("reader", r).await, 1);
        });
    }

    #[test]
    fn waiting_writer_blocks_new_readers() {
        goro::run(async {
            let l = RwLock::new(Vec::new());
            let r1 = l.read().await;
            let mut w = l.write();
            assert!(poll_once(&mut w).await.is_pending());
            // Go: a blocked Lock call excludes new readers.
            assert!(l.try_read().is_none());
            let mut r2 = l.read();
            assert!(poll_once(&mut r2).await.is_pending());
            drop(r1);
            let mut wg = within("writer", w).await;
            assert!(
                poll_once(&mut r2).await.is_pending(),
                "reader ran with the writer"
            );
            wg.push("w");
            drop(wg);
            assert_eq!(*within("reader", r2).await, ["w"]);
        });
    }

    #[test]
    fn writer_unlock_admits_all_queued_readers() {
        goro::run(async {
            let l = RwLock::new(0);
            let w = l.write().await;
            let mut readers: Vec<_> = (0..4).map(|_| l.read()).collect();
            for r in &mut readers {
                assert!(poll_once(r).await.is_pending());
            }
            drop(w);
            let mut guards = Vec::new();
            for r in readers.iter_mut() {
                match poll_once(r).await {
                    Poll::Ready(g) => guards.push(g),
                    Poll::Pending => panic!("queued reader not admitted"),
                }
            }
            assert_eq!(guards.len(), 4);
        });
    }

    #[test]
    fn cancelled_writer_lets_readers_behind_it_in() {
        goro::run(async {
            let l = RwLock::new(0);
            let r1 = l.read().await;
            let mut w = l.write();
            assert!(poll_once(&mut w).await.is_pending());
            let mut r2 = l.read();
            assert!(poll_once(&mut r2).await.is_pending());
            drop(w);
            // r1 still holds the read lock; r2 shares it.
            assert!(poll_once(&mut r2).await.is_ready());
            drop(r1);
        });
    }

    #[test]
    fn dropped_writer_that_was_granted_releases() {
        goro::run(async {
            let l = RwLock::new(0);
            let r = l.read().await;
            let mut w = l.write();
            assert!(poll_once(&mut w).await.is_pending());
            drop(r); // grants the writer
            drop(w); // which gives up without taking it
            assert!(l.try_read().is_some());
            assert!(l.try_write().is_some());
        });
    }

    #[test]
    fn readers_never_see_a_half_write() {
        let (a, b) = goro::run(async {
            let l = Arc::new(RwLock::new((0u64, 0u64)));
            let wg = WaitGroup::new();
            for _ in 0..4 {
                wg.add(2);
                let (lw, lr, wg1, wg2) = (l.clone(), l.clone(), wg.clone(), wg.clone());
                goro::go!(async move {
                    for _ in 0..1_000 {
                        let mut g = lw.write().await;
                        g.0 += 1;
                        goro::yield_now().await; // hold it across a suspension
                        g.1 += 1;
                    }
                    wg1.done();
                });
                goro::go!(async move {
                    for _ in 0..1_000 {
                        let g = lr.read().await;
                        assert_eq!(g.0, g.1, "reader saw a half-done write");
                    }
                    wg2.done();
                });
            }
            within("workers", wg.wait()).await;
            let g = l.read().await;
            *g
        });
        assert_eq!((a, b), (4_000, 4_000));
    }

    #[test]
    fn get_mut_into_inner_debug() {
        let mut l = RwLock::new(1);
        *l.get_mut() += 1;
        assert_eq!(format!("{l:?}"), "RwLock { data: 2, .. }");
        let w = l.try_write().unwrap();
        assert_eq!(format!("{l:?}"), "RwLock { data: <locked>, .. }");
        drop(w);
        assert_eq!(l.into_inner(), 2);
    }
}

mod waitgroup {
    use super::*;

    #[test]
    fn waits_for_every_goroutine() {
        let n = goro::run(async {
            let wg = WaitGroup::new();
            let n = Arc::new(AtomicI32::new(0));
            for _ in 0..16 {
                wg.add(1);
                let (wg, n) = (wg.clone(), n.clone());
                goro::go!(async move {
                    goro::yield_now().await;
                    n.add(1);
                    wg.done();
                });
            }
            within("wait", wg.wait()).await;
            n.load()
        });
        assert_eq!(n, 16);
    }

    #[test]
    fn zero_counter_returns_at_once_and_the_group_is_reusable() {
        goro::run(async {
            let wg = WaitGroup::new();
            assert!(poll_once(&mut wg.wait()).await.is_ready());
            for round in 0..3 {
                wg.add(2);
                let mut w = wg.wait();
                assert!(poll_once(&mut w).await.is_pending(), "round {round}");
                wg.done();
                assert!(poll_once(&mut w).await.is_pending(), "round {round}");
                wg.done();
                within("wait", w).await;
            }
        });
    }

    #[test]
    fn releases_every_waiter() {
        goro::run(async {
            let wg = WaitGroup::new();
            wg.add(1);
            let released = WaitGroup::new();
            for _ in 0..4 {
                released.add(1);
                let (wg, released) = (wg.clone(), released.clone());
                goro::go!(async move {
                    wg.wait().await;
                    released.done();
                });
            }
            settle().await;
            wg.done();
            within("waiters", released.wait()).await;
        });
    }

    #[test]
    fn dropped_wait_does_not_disturb_others() {
        goro::run(async {
            let wg = WaitGroup::new();
            wg.add(1);
            let mut a = wg.wait();
            let mut b = wg.wait();
            assert!(poll_once(&mut a).await.is_pending());
            assert!(poll_once(&mut b).await.is_pending());
            drop(a);
            wg.done();
            within("b", b).await;
            // A dropped sole waiter clears the waiting state.
            wg.add(1);
            let mut c = wg.wait();
            assert!(poll_once(&mut c).await.is_pending());
            drop(c);
            wg.done();
            within("after", wg.wait()).await;
        });
    }

    #[test]
    #[should_panic(expected = "sync: negative WaitGroup counter")]
    fn done_below_zero_panics() {
        let wg = WaitGroup::new();
        wg.done();
    }

    #[test]
    #[should_panic(expected = "sync: negative WaitGroup counter")]
    fn add_below_zero_panics() {
        let wg = WaitGroup::new();
        wg.add(2);
        wg.add(-3);
    }

    #[test]
    fn joined_goroutine_resurfaces_the_exact_message() {
        let err = std::panic::catch_unwind(|| {
            goro::run(async {
                let wg = WaitGroup::new();
                goro::spawn(async move { wg.done() }).await;
            })
        })
        .expect_err("run should panic");
        let msg = err.downcast_ref::<String>().expect("String payload");
        assert_eq!(msg, "sync: negative WaitGroup counter");
    }

    #[test]
    fn goroutine_panic_report_names_the_done_call() {
        let err = std::panic::catch_unwind(|| {
            goro::run(async {
                let wg = WaitGroup::new();
                let (tx, rx) = (goro::chan::<()>(0), goro::chan::<()>(0));
                let w = wg.clone();
                goro::go!(async move {
                    w.done(); // LINE-MARK
                    tx.send(()).await;
                });
                rx.recv().await; // never: the goroutine's panic ends the run
            })
        })
        .expect_err("run should panic");
        let msg = err
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| err.downcast_ref::<&str>().unwrap_or(&"").to_string());
        let src = include_str!("sync.rs");
        let line = src
            .lines()
            .position(|l| l.contains("w.done(); // LINE-MARK"))
            .expect("marker")
            + 1;
        let at = format!("{}:{line}: sync: negative WaitGroup counter", file!());
        assert!(msg.contains(&at), "expected `{at}` in `{msg}`");
    }
}

mod cond {
    use super::*;

    #[test]
    fn signal_wakes_one_broadcast_wakes_the_rest() {
        goro::run(async {
            // (registered, woken)
            let state = Arc::new((Mutex::new((0, 0)), Cond::new()));
            for _ in 0..3 {
                let s = state.clone();
                goro::go!(async move {
                    let (mu, cond) = &*s;
                    let mut g = mu.lock().await;
                    g.0 += 1;
                    let mut g = cond.wait(g).await;
                    g.1 += 1;
                });
            }
            let (mu, cond) = &*state;
            // Once a waiter counted itself under the lock, it is registered:
            // wait() registers before it unlocks.
            within("registration", async {
                while mu.lock().await.0 < 3 {
                    goro::yield_now().await;
                }
            })
            .await;
            cond.signal();
            within("one wake-up", async {
                while mu.lock().await.1 < 1 {
                    goro::yield_now().await;
                }
            })
            .await;
            settle().await;
            assert_eq!(mu.lock().await.1, 1, "signal woke more than one");
            cond.broadcast();
            within("all wake-ups", async {
                while mu.lock().await.1 < 3 {
                    goro::yield_now().await;
                }
            })
            .await;
        });
    }

    #[test]
    fn wait_unlocks_at_the_call_and_relocks_on_wake() {
        goro::run(async {
            let (mu, cond) = (Mutex::new(0), Cond::new());
            let g = mu.lock().await;
            let mut w = cond.wait(g);
            // Unlocked by the call itself.
            *mu.try_lock().expect("wait() unlocked the mutex") = 1;
            assert!(poll_once(&mut w).await.is_pending());
            let other = mu.lock().await;
            cond.signal();
            // Notified, but the mutex is held: still waiting, for the lock.
            assert!(poll_once(&mut w).await.is_pending());
            drop(other);
            let g = within("relock", w).await;
            assert_eq!(*g, 1);
            assert!(
                mu.try_lock().is_none(),
                "the returned guard holds the mutex"
            );
        });
    }

    #[test]
    fn signal_before_wait_is_not_remembered() {
        goro::run(async {
            let (mu, cond) = (Mutex::new(()), Cond::new());
            cond.signal();
            let mut w = cond.wait(mu.lock().await);
            assert!(poll_once(&mut w).await.is_pending());
            cond.signal();
            drop(within("signalled", w).await);
        });
    }

    #[test]
    fn signals_go_to_the_longest_waiter() {
        goro::run(async {
            let (mu, cond) = (Mutex::new(()), Cond::new());
            let mut a = cond.wait(mu.lock().await);
            let mut b = cond.wait(mu.lock().await);
            assert!(poll_once(&mut a).await.is_pending());
            assert!(poll_once(&mut b).await.is_pending());
            cond.signal();
            assert!(poll_once(&mut b).await.is_pending());
            let g = within("a", &mut a).await;
            drop(g);
            cond.signal();
            drop(within("b", b).await);
        });
    }

    #[test]
    fn dropped_signalled_waiter_passes_the_signal_on() {
        goro::run(async {
            let (mu, cond) = (Mutex::new(()), Cond::new());
            let mut a = cond.wait(mu.lock().await);
            let mut b = cond.wait(mu.lock().await);
            assert!(poll_once(&mut a).await.is_pending());
            assert!(poll_once(&mut b).await.is_pending());
            cond.signal(); // reaches a...
            drop(a); // ...which stops waiting: b gets it
            drop(within("b", b).await);
        });
    }

    #[test]
    fn dropped_broadcast_waiter_does_not_wake_later_waiters() {
        goro::run(async {
            let (mu, cond) = (Mutex::new(()), Cond::new());
            let a = cond.wait(mu.lock().await);
            cond.broadcast();
            let mut late = cond.wait(mu.lock().await);
            drop(a);
            assert!(poll_once(&mut late).await.is_pending());
            settle().await;
            assert!(poll_once(&mut late).await.is_pending());
            cond.signal();
            drop(within("late", late).await);
        });
    }

    #[test]
    fn producer_consumer_queue() {
        let (consumed, sum) = goro::run(async {
            struct Q {
                items: Vec<u64>,
                closed: bool,
            }
            let q = Arc::new((
                Mutex::new(Q {
                    items: Vec::new(),
                    closed: false,
                }),
                Cond::new(),
            ));
            let total = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
            let wg = WaitGroup::new();
            for _ in 0..4 {
                wg.add(1);
                let (q, total, wg) = (q.clone(), total.clone(), wg.clone());
                goro::go!(async move {
                    let (mu, cond) = &*q;
                    loop {
                        let mut g = mu.lock().await;
                        while g.items.is_empty() && !g.closed {
                            g = cond.wait(g).await;
                        }
                        match g.items.pop() {
                            Some(v) => {
                                drop(g);
                                total.0.add(1);
                                total.1.add(v);
                            }
                            None => break, // closed and drained
                        }
                    }
                    wg.done();
                });
            }
            let (mu, cond) = &*q;
            for v in 1..=1_000 {
                mu.lock().await.items.push(v);
                cond.signal();
                if v % 100 == 0 {
                    goro::yield_now().await;
                }
            }
            mu.lock().await.closed = true;
            cond.broadcast();
            within("consumers", wg.wait()).await;
            (total.0.load(), total.1.load())
        });
        assert_eq!(consumed, 1_000);
        assert_eq!(sum, 500_500);
    }
}

mod once {
    use super::*;

    #[test]
    fn runs_once_under_contention_and_every_caller_sees_it() {
        static INIT: Once = Once::new();
        static CONFIG: Shared<Option<&str>> = Shared::new(None);
        let (runs, seen) = goro::run(async {
            let runs = Arc::new(AtomicI32::new(0));
            let seen = Arc::new(AtomicI32::new(0));
            let start = goro::chan::<()>(0);
            let wg = WaitGroup::new();
            for _ in 0..8 {
                wg.add(1);
                let (runs, seen, start, wg) =
                    (runs.clone(), seen.clone(), start.clone(), wg.clone());
                goro::go!(async move {
                    let _ = start.recv().await; // all start together
                    INIT.call_once(|| {
                        runs.add(1);
                        // Long enough that the others arrive while it runs.
                        std::thread::sleep(Duration::from_millis(20));
                        CONFIG.set(Some("ready"));
                    });
                    // The body happens before every return.
                    if CONFIG.get() == Some("ready") {
                        seen.add(1);
                    }
                    wg.done();
                });
            }
            start.close();
            within("callers", wg.wait()).await;
            (runs.load(), seen.load())
        });
        assert_eq!(runs, 1);
        assert_eq!(seen, 8);
        assert!(INIT.is_completed());
    }

    #[test]
    fn a_panicking_body_still_counts_as_done() {
        let once = Once::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            once.call_once(|| panic!("init failed"));
        }));
        assert!(r.is_err(), "the first caller sees the panic");
        assert!(once.is_completed());
        let mut ran = false;
        once.call_once(|| ran = true);
        assert!(!ran, "Go's Once does not run f again after a panic");
    }

    #[test]
    fn is_completed_and_debug() {
        let once = Once::new();
        assert!(!once.is_completed());
        assert_eq!(format!("{once:?}"), "Once { completed: false }");
        once.call_once(|| {});
        assert!(once.is_completed());
    }
}

mod map {
    use super::*;

    #[test]
    fn operations() {
        let m: Map<String, i32> = Map::new();
        assert_eq!(m.load("a"), None);
        m.store("a".into(), 1);
        assert_eq!(m.load("a"), Some(1));
        assert_eq!(m.load_or_store("a".into(), 9), (1, true));
        assert_eq!(m.load_or_store("b".into(), 2), (2, false));
        assert_eq!(m.swap("b".into(), 3), Some(2));
        assert_eq!(m.swap("c".into(), 4), None);
        assert!(!m.compare_and_swap("b", &2, 5));
        assert!(m.compare_and_swap("b", &3, 5));
        assert!(!m.compare_and_swap("zzz", &3, 5));
        assert_eq!(m.load("b"), Some(5));
        assert!(!m.compare_and_delete("b", &3));
        assert!(m.compare_and_delete("b", &5));
        assert_eq!(m.load("b"), None);
        assert_eq!(m.load_and_delete("c"), Some(4));
        assert_eq!(m.load_and_delete("c"), None);
        m.delete("a");
        m.delete("a");
        assert_eq!(m.load("a"), None);
        let mut n = 0;
        m.range(|_, _| {
            n += 1;
            true
        });
        assert_eq!(n, 0);
    }

    #[test]
    fn range_visits_all_stops_early_and_may_modify_the_map() {
        let m: Map<i32, i32> = (0..10).map(|i| (i, i)).collect();
        let mut sum = 0;
        m.range(|_, v| {
            sum += v;
            true
        });
        assert_eq!(sum, 45);
        let mut visited = 0;
        m.range(|_, _| {
            visited += 1;
            visited < 3
        });
        assert_eq!(visited, 3);
        // Go allows f to call any method of the map.
        m.range(|k, v| {
            m.store(k + 100, *v);
            m.delete(k);
            true
        });
        let mut keys = Vec::new();
        m.range(|k, _| {
            keys.push(*k);
            true
        });
        keys.sort();
        assert_eq!(keys, (100..110).collect::<Vec<_>>());
    }

    #[test]
    fn load_or_store_stores_exactly_once_per_key() {
        let (stored, agreed) = goro::run(async {
            let m = Arc::new(Map::new());
            let stored = Arc::new(AtomicUsize::new(0));
            let agreed = Arc::new(AtomicBool::new(true));
            let wg = WaitGroup::new();
            for id in 0..8u64 {
                wg.add(1);
                let (m, stored, agreed, wg) =
                    (m.clone(), stored.clone(), agreed.clone(), wg.clone());
                goro::go!(async move {
                    for key in 0..200u64 {
                        let (actual, loaded) = m.load_or_store(key, id);
                        if !loaded {
                            stored.add(1);
                            if actual != id {
                                agreed.store(false);
                            }
                        }
                        if m.load(&key) != Some(actual) {
                            agreed.store(false);
                        }
                        goro::yield_now().await;
                    }
                    wg.done();
                });
            }
            within("workers", wg.wait()).await;
            (stored.load(), agreed.load())
        });
        assert_eq!(stored, 200);
        assert!(agreed);
    }
}

mod atomic {
    use super::*;

    #[test]
    fn go_operation_set() {
        let a = AtomicI64::new(5);
        assert_eq!(a.add(-7), -2);
        assert_eq!(a.swap(10), -2);
        assert!(!a.compare_and_swap(9, 1));
        assert!(a.compare_and_swap(10, 1));
        a.store(3);
        assert_eq!(a.load(), 3);

        let u = AtomicU32::new(1);
        assert_eq!(
            u.add(2u32.wrapping_neg()),
            u32::MAX,
            "unsigned add wraps like Go"
        );
        assert_eq!(u.add(1), 0);
        let i = AtomicI32::new(i32::MAX);
        assert_eq!(i.add(1), i32::MIN);
        let z = AtomicUsize::new(0);
        assert_eq!(z.add(3), 3);
        let w = AtomicU64::default();
        assert_eq!(w.load(), 0);
        assert_eq!(format!("{:?}", AtomicI32::from(4)), "4");

        let b = AtomicBool::new(false);
        assert!(!b.swap(true));
        assert!(b.compare_and_swap(true, false));
        assert!(!b.compare_and_swap(true, false));
        b.store(true);
        assert!(b.load());
    }

    #[test]
    fn concurrent_adds_are_exact_and_one_cas_wins() {
        let (sum, winners) = goro::run(async {
            let sum = Arc::new(AtomicU64::new(0));
            let slot = Arc::new(AtomicI32::new(-1));
            let winners = Arc::new(AtomicI32::new(0));
            let wg = WaitGroup::new();
            for id in 0..8 {
                wg.add(1);
                let (sum, slot, winners, wg) =
                    (sum.clone(), slot.clone(), winners.clone(), wg.clone());
                goro::go!(async move {
                    if slot.compare_and_swap(-1, id) {
                        winners.add(1);
                    }
                    for _ in 0..10_000 {
                        sum.add(1);
                    }
                    wg.done();
                });
            }
            within("workers", wg.wait()).await;
            (sum.load(), winners.load())
        });
        assert_eq!(sum, 80_000);
        assert_eq!(winners, 1);
    }

    #[test]
    fn atomics_publish_plain_writes() {
        // A store-release/load-acquire pair orders a `Shared` write, as Go's
        // atomics do.
        goro::run(async {
            let data = Arc::new(Shared::new(0));
            let flag = Arc::new(AtomicBool::new(false));
            let (d, f) = (data.clone(), flag.clone());
            goro::go!(async move {
                d.set(42);
                f.store(true);
            });
            within("flag", async {
                while !flag.load() {
                    goro::yield_now().await;
                }
            })
            .await;
            assert_eq!(data.get(), 42);
        });
    }
}

mod shared {
    use super::*;

    #[test]
    fn get_set_with_round_trip() {
        static GLOBAL: Shared<i64> = Shared::new(1);
        GLOBAL.set(GLOBAL.get() + 1);
        assert_eq!(GLOBAL.get(), 2);

        let mut s = Shared::new(String::from("a"));
        s.set("b".into());
        assert_eq!(s.get(), "b");
        assert_eq!(s.with(|v| v.len()), 1);
        s.with_mut(|v| v.push('c'));
        assert_eq!(s.get(), "bc");
        s.get_mut().push('d');
        assert_eq!(format!("{s:?}"), "Shared(\"bcd\")");
        assert_eq!(s.into_inner(), "bcd");
    }

    #[test]
    fn updates_ordered_by_a_mutex_are_exact() {
        let (a, b) = goro::run(async {
            let mu = Arc::new(Mutex::new(()));
            let x = Arc::new(Shared::new(0u64));
            let y = Arc::new(Shared::new(0u64));
            let wg = WaitGroup::new();
            for _ in 0..8 {
                wg.add(1);
                let (mu, x, y, wg) = (mu.clone(), x.clone(), y.clone(), wg.clone());
                goro::go!(async move {
                    for _ in 0..10_000 {
                        let _g = mu.lock().await;
                        x.with_mut(|v| *v += 1);
                        y.set(y.get() + 1);
                    }
                    wg.done();
                });
            }
            within("workers", wg.wait()).await;
            (x.get(), y.get())
        });
        assert_eq!((a, b), (80_000, 80_000));
    }

    #[test]
    fn values_are_never_torn() {
        // Racy but memory-safe: every read sees some whole value written.
        goro::run(async {
            let s = Arc::new(Shared::new(vec![0u8; 64]));
            let wg = WaitGroup::new();
            for id in 0..4u8 {
                wg.add(1);
                let (s, wg) = (s.clone(), wg.clone());
                goro::go!(async move {
                    for _ in 0..2_000 {
                        s.set(vec![id; 64]);
                        let v = s.get();
                        assert!(v.iter().all(|&b| b == v[0]), "torn value");
                    }
                    wg.done();
                });
            }
            within("workers", wg.wait()).await;
        });
    }
}
