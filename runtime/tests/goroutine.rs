//! Goroutines: `run`, `go!`, `spawn` / `JoinHandle`, Go's panic semantics,
//! `num_goroutine` and `yield_now`.

mod common;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use common::{guarded, panic_message, poll_once, run_panic_report, wait_until, GoPanic};
use futures_util::FutureExt;

#[test]
fn run_returns_main_output() {
    assert_eq!(goro::run(async { 6 * 7 }), 42);
    let owned: Vec<String> = goro::run(async { vec!["main".to_string()] });
    assert_eq!(owned, ["main"]);
}

#[test]
fn runs_are_independent_programs() {
    // Each run is a new program: goroutine ids restart after main (1).
    for _ in 0..2 {
        let id = goro::run(async {
            let h = goro::spawn(async {});
            let id = h.id();
            h.await;
            id
        });
        assert_eq!(id, 2);
    }
}

#[test]
fn go_runs_anonymous_and_named_goroutines() {
    let mut got = goro::run(async {
        let ch = goro::chan(0);
        let tx = ch.clone();
        goro::go!(async move { tx.send("anonymous").await });
        let tx = ch.clone();
        goro::go!("named", async move { tx.send("static name").await });
        let tx = ch.clone();
        let name = format!("worker-{}", 7);
        goro::go!(name, async move { tx.send("owned name").await });
        // A goroutine's output is dropped: any output type is accepted.
        goro::go!(async { 5 });
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(ch.recv().await.expect("channel is never closed"));
        }
        got
    });
    got.sort_unstable();
    assert_eq!(got, ["anonymous", "owned name", "static name"]);
}

#[test]
fn spawn_join_yields_output() {
    goro::run(async {
        let a = goro::spawn(async { String::from("forty-two") });
        let b = goro::spawn(async {
            goro::yield_now().await;
            vec![1, 2, 3]
        });
        assert!(a.id() > 1 && b.id() > 1 && a.id() != b.id());
        assert_eq!(b.await, [1, 2, 3]);
        assert_eq!(a.await, "forty-two");
    });
}

#[test]
fn join_waits_for_a_blocked_goroutine() {
    goro::run(async {
        let gate = goro::chan::<u32>(0);
        let rx = gate.clone();
        let h = goro::spawn(async move { rx.recv().await.map(|v| v * 2) });
        // The goroutine cannot finish before it gets a value.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!h.is_finished());
        gate.send(21).await;
        assert_eq!(h.await, Some(42));
    });
}

#[test]
fn is_finished_turns_true_and_join_still_yields() {
    goro::run(async {
        let h = goro::spawn(async { 9 });
        wait_until("the goroutine finished", || h.is_finished()).await;
        assert_eq!(h.await, 9);
    });
}

#[test]
fn join_handle_can_be_awaited_in_another_goroutine() {
    let v = goro::run(async {
        let inner = goro::spawn(async { 5 });
        let outer = goro::spawn(async move { inner.await + 1 });
        outer.await
    });
    assert_eq!(v, 6);
}

#[test]
fn joined_panic_resurfaces_at_the_join() {
    let out = goro::run(async {
        let h = goro::spawn(async {
            if true {
                panic!("joined boom");
            }
            1
        });
        let err = AssertUnwindSafe(h)
            .catch_unwind()
            .await
            .expect_err("the goroutine's panic must resurface at the join");
        assert_eq!(panic_message(&*err), "joined boom");
        // A joined panic is handled: the program goes on and run returns.
        "survived"
    });
    assert_eq!(out, "survived");
}

#[test]
fn joined_panic_keeps_its_payload() {
    #[derive(Debug, PartialEq)]
    struct Custom(u32);
    goro::run(async {
        let h = goro::spawn(async { std::panic::panic_any(Custom(7)) });
        let err = AssertUnwindSafe(h).catch_unwind().await.unwrap_err();
        assert_eq!(err.downcast_ref::<Custom>(), Some(&Custom(7)));
    });
}

#[test]
fn joined_panic_caught_in_another_goroutine() {
    let msg = goro::run(async {
        let joiner = goro::spawn(async {
            let h = goro::spawn(async {
                goro::yield_now().await;
                if true {
                    panic!("deep");
                }
            });
            AssertUnwindSafe(h)
                .catch_unwind()
                .await
                .map_err(|p| panic_message(&*p))
        });
        joiner.await
    });
    assert_eq!(msg, Err("deep".to_string()));
}

/// Asserts `r` is Go's crash line for goroutine `id` at a panic of this file
/// whose message is `"{prefix}{line}"` (the test's `panic!` prints its own
/// `line!()`, so the line reported must be the panic's line).
fn assert_reported_here(r: &GoPanic, id: u64, name: Option<&str>, prefix: &str) {
    assert_eq!(r.id, id, "{r:?}");
    assert_eq!(r.name.as_deref(), name, "{r:?}");
    assert_eq!(r.file, file!(), "{r:?}");
    assert_eq!(r.message, format!("{prefix}{}", r.line), "{r:?}");
}

#[test]
fn unjoined_named_panic_ends_run_with_go_crash_line() {
    let main_torn_down = Arc::new(AtomicBool::new(false));
    let flag = main_torn_down.clone();
    let r = run_panic_report(move || {
        goro::run(async move {
            struct SetOnDrop(Arc<AtomicBool>);
            impl Drop for SetOnDrop {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::SeqCst);
                }
            }
            let _torn_down = SetOnDrop(flag);
            goro::go!("worker", async { panic!("boom at {}", line!()) });
            // Main blocks forever: the crash must stop it, not wait for it.
            let never = goro::chan::<()>(0);
            never.recv().await;
        });
    });
    assert_reported_here(&r, 2, Some("worker"), "boom at ");
    assert!(
        main_torn_down.load(Ordering::SeqCst),
        "run panicked before tearing the main goroutine down"
    );
}

#[test]
fn unjoined_anonymous_panic_has_no_name() {
    let r = run_panic_report(|| {
        goro::run(async {
            goro::go!(async {});
            goro::go!(async {
                goro::yield_now().await;
                panic!("anon at {}", line!())
            });
            std::future::pending::<()>().await;
        });
    });
    assert_reported_here(&r, 3, None, "anon at ");
}

#[test]
fn only_the_first_unjoined_panic_is_reported() {
    let r = run_panic_report(|| {
        goro::run(async {
            let first = goro::chan::<()>(0);
            let tx = first.clone();
            goro::go!("first", async move {
                tx.close();
                panic!("first at {}", line!())
            });
            // The second panics only once the first has exited (its panic
            // is recorded before its count drops), if run lets it live that
            // long: "first" is the one that ends the program.
            goro::go!("second", async move {
                first.recv().await;
                wait_until("first exited", || goro::num_goroutine() <= 2).await;
                panic!("second at {}", line!())
            });
            std::future::pending::<()>().await;
        });
    });
    assert_reported_here(&r, 2, Some("first"), "first at ");
}

#[test]
fn unjoined_panic_stops_a_busy_main() {
    let r = run_panic_report(|| {
        goro::run(async {
            goro::go!("worker", async {
                goro::yield_now().await;
                panic!("busy at {}", line!())
            });
            // Main never blocks, it only yields: run must still stop it.
            loop {
                goro::yield_now().await;
            }
        });
    });
    assert_reported_here(&r, 2, Some("worker"), "busy at ");
}

#[test]
fn run_returns_when_main_returns_dropping_the_rest() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let out = guarded(move || {
        goro::run(async move {
            struct SetOnDrop(Arc<AtomicBool>);
            impl Drop for SetOnDrop {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::SeqCst);
                }
            }
            let started = goro::chan::<()>(0);
            let tx = started.clone();
            goro::go!("blocked", async move {
                let _guard = SetOnDrop(flag);
                tx.send(()).await;
                std::future::pending::<()>().await;
            });
            started.recv().await;
            "main done"
        })
    })
    .expect("run must return main's output");
    assert_eq!(out, "main done");
    assert!(
        dropped.load(Ordering::SeqCst),
        "a goroutine left running when main returned was not dropped"
    );
}

#[test]
fn dropped_join_handle_then_panic_ends_run() {
    let r = run_panic_report(|| {
        goro::run(async {
            let gate = goro::chan::<()>(0);
            let rx = gate.clone();
            let h = goro::spawn(async move {
                rx.recv().await;
                panic!("detached at {}", line!())
            });
            drop(h);
            gate.send(()).await;
            std::future::pending::<()>().await;
        });
    });
    assert_reported_here(&r, 2, None, "detached at ");
}

#[test]
fn panic_then_dropped_join_handle_ends_run() {
    let r = run_panic_report(|| {
        goro::run(async {
            let h = goro::spawn(async {
                if true {
                    panic!("unjoined at {}", line!());
                }
            });
            wait_until("the goroutine panicked", || h.is_finished()).await;
            // Nobody will join it now: the program crashes.
            drop(h);
            std::future::pending::<()>().await;
        });
    });
    assert_reported_here(&r, 2, None, "unjoined at ");
}

#[test]
fn handle_held_but_never_joined_crashes_at_main_return() {
    let r = run_panic_report(|| {
        let _ = goro::run(async {
            let h = goro::spawn(async {
                if true {
                    panic!("never joined at {}", line!());
                }
            });
            wait_until("the goroutine panicked", || h.is_finished()).await;
            // Main returns holding `h`: nobody ever joined the panic.
            h.id()
        });
    });
    assert_reported_here(&r, 2, None, "never joined at ");
}

#[test]
fn main_panic_propagates_unchanged() {
    #[derive(Debug, PartialEq)]
    struct MainPayload(&'static str);
    let err = guarded(|| goro::run(async { std::panic::panic_any(MainPayload("main")) }))
        .expect_err("main's panic must propagate out of run");
    assert_eq!(
        err.downcast_ref::<MainPayload>(),
        Some(&MainPayload("main"))
    );
}

#[test]
fn run_inside_run_panics_clearly() {
    let msg = goro::run(async {
        let err = catch_unwind(|| goro::run(async { 1 })).expect_err("nested run must panic");
        panic_message(&*err)
    });
    assert!(
        msg.contains("goro::run") && msg.contains("inside"),
        "unclear message: {msg}"
    );
}

#[test]
fn run_inside_a_goroutine_other_than_main_panics_clearly() {
    let msg = goro::run(async {
        let h = goro::spawn(async { goro::run(async { 1 }) });
        let err = AssertUnwindSafe(h).catch_unwind().await.unwrap_err();
        panic_message(&*err)
    });
    assert!(msg.contains("goro::run") && msg.contains("inside"), "{msg}");
}

#[test]
fn run_inside_tokio_runtime_panics_clearly() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { goro::run(async { 1 }) })
    }))
    .expect_err("run inside a tokio runtime must panic");
    let msg = panic_message(&*err);
    assert!(msg.contains("goro::run") && msg.contains("inside"), "{msg}");
}

#[test]
fn goroutines_outside_run_panic_clearly() {
    fn go() {
        goro::go!(async {});
    }
    fn spawn() {
        drop(goro::spawn(async {}));
    }
    fn count() {
        let _ = goro::num_goroutine();
    }
    let cases: [(&str, fn()); 3] = [("go!", go), ("spawn", spawn), ("num_goroutine", count)];
    for (what, f) in cases {
        let err = catch_unwind(f).expect_err(what);
        let msg = panic_message(&*err);
        assert!(msg.contains("goro::run"), "{what}: {msg}");
    }
}

#[test]
fn num_goroutine_counts_main_and_parked_goroutines() {
    goro::run(async {
        assert_eq!(goro::num_goroutine(), 1, "main alone");
        let gate = goro::chan::<()>(0);
        let parked = goro::chan::<()>(10);
        for _ in 0..10 {
            let gate = gate.clone();
            let parked = parked.clone();
            goro::go!(async move {
                parked.send(()).await;
                gate.recv().await;
            });
        }
        for _ in 0..10 {
            parked.recv().await;
        }
        // All ten are blocked in `gate.recv()` (or about to be): counted.
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(goro::num_goroutine(), 11);
        let joinable = goro::spawn(std::future::pending::<()>());
        assert_eq!(goro::num_goroutine(), 12);
        drop(joinable);
        // Detaching does not end a goroutine.
        assert_eq!(goro::num_goroutine(), 12);
        gate.close();
        wait_until("the ten goroutines exited", || goro::num_goroutine() == 2).await;
    });
}

#[test]
fn num_goroutine_drops_after_exit_and_panic() {
    goro::run(async {
        let hs: Vec<_> = (0..5).map(|i| goro::spawn(async move { i })).collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await;
        }
        assert_eq!(sum, 10);
        let p = goro::spawn(async {
            if true {
                panic!("counted until it ends");
            }
        });
        assert!(AssertUnwindSafe(p).catch_unwind().await.is_err());
        wait_until("joined goroutines exited", || goro::num_goroutine() == 1).await;
    });
}

#[test]
fn goroutine_ids_are_unique_when_both_workers_spawn() {
    // Workers take ids from the run's counter in batches (Go's goidcache):
    // spawns on both workers interleave their batches, but never share an
    // id, and one goroutine's spawns in one poll get increasing ids.
    const PARENTS: usize = 200;
    const CHILDREN: usize = 20;
    let ids = goro::run(async {
        let parents: Vec<_> = (0..PARENTS)
            .map(|_| {
                goro::spawn(async {
                    let kids: Vec<_> = (0..CHILDREN).map(|_| goro::spawn(async {})).collect();
                    let ids: Vec<u64> = kids.iter().map(|h| h.id()).collect();
                    for h in kids {
                        h.await;
                    }
                    ids
                })
            })
            .collect();
        let mut all: Vec<u64> = parents.iter().map(|h| h.id()).collect();
        for h in parents {
            let kids = h.await;
            assert!(kids.windows(2).all(|w| w[0] < w[1]), "{kids:?}");
            all.extend(kids);
        }
        all
    });
    assert_eq!(ids.len(), PARENTS * (CHILDREN + 1));
    let unique: std::collections::HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a goroutine id was given twice");
    assert!(ids.iter().all(|&id| id > 1), "id 1 is main's");
}

#[test]
fn a_goroutines_future_is_dropped_when_it_ends() {
    // Its task cell is kept until its census slot is reused (it is freed
    // by the next spawn there), but what the future owns goes at its end.
    goro::run(async {
        let owned = Arc::new(());
        let wg = goro::sync::WaitGroup::new();
        wg.add(1);
        goro::go!(clone(owned, wg), async move {
            let _owned = owned;
            wg.done();
        });
        wg.wait().await;
        wait_until("the goroutine's future was dropped", || {
            Arc::strong_count(&owned) == 1
        })
        .await;
        // No spawn has reused the slot: the goroutine is gone all the same.
        assert_eq!(goro::num_goroutine(), 1);
    });
}

#[test]
fn yield_now_suspends_once() {
    goro::run(async {
        let mut y = Box::pin(goro::yield_now());
        // Polled by hand inside the runtime: the first poll must give way.
        let first = std::future::poll_fn(|cx| Poll::Ready(y.as_mut().poll(cx))).await;
        assert!(first.is_pending(), "yield_now did not yield");
        y.await;
    });
    // Outside a runtime too (a goroutine may be polled by anything).
    let mut y = Box::pin(goro::yield_now());
    assert!(poll_once(&mut y).is_pending());
}

#[test]
fn yield_now_lets_a_spinning_goroutine_share_its_worker() {
    goro::run(async {
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        // A goroutine spawned from a worker can sit in that worker's
        // non-stealable slot: main's spin only makes progress if yield_now
        // really hands the worker over.
        goro::go!(async move { set.store(true, Ordering::SeqCst) });
        let deadline = std::time::Instant::now() + common::HANG;
        while !flag.load(Ordering::SeqCst) {
            assert!(std::time::Instant::now() < deadline, "spinner starved");
            goro::yield_now().await;
        }
    });
}

#[test]
fn many_goroutines_all_run() {
    let n = goro::run(async {
        let count = Arc::new(AtomicUsize::new(0));
        let done = goro::chan::<()>(0);
        for _ in 0..1000 {
            let count = count.clone();
            let done = done.clone();
            goro::go!(async move {
                goro::yield_now().await;
                count.fetch_add(1, Ordering::SeqCst);
                done.send(()).await;
            });
        }
        for _ in 0..1000 {
            done.recv().await;
        }
        count.load(Ordering::SeqCst)
    });
    assert_eq!(n, 1000);
}

/// A goroutine that dies of a panic it joined from another goroutine is an
/// unjoined panic itself: the crash line must carry the original message
/// (and a real location), not "<unknown>".
#[test]
fn panic_rethrown_by_join_in_unjoined_goroutine_reports_original() {
    let r = run_panic_report(|| {
        goro::run(async {
            goro::go!("joiner", async {
                let h = goro::spawn(async {
                    if true {
                        panic!("inner at {}", line!());
                    }
                });
                h.await;
            });
            std::future::pending::<()>().await;
        });
    });
    assert_eq!(r.id, 2, "{r:?}");
    assert_eq!(r.name.as_deref(), Some("joiner"), "{r:?}");
    assert_eq!(r.file, file!(), "{r:?}");
    assert!(r.message.starts_with("inner at "), "{r:?}");
}

/// A panic caught earlier on the same thread must not be mistaken for the
/// panic that kills a goroutine later.
#[test]
fn caught_panic_does_not_leak_into_a_later_crash_line() {
    let r = run_panic_report(|| {
        goro::run(async {
            goro::go!("joiner", async {
                let h = goro::spawn(async {
                    if true {
                        panic!("the real one");
                    }
                });
                wait_until("the inner goroutine panicked", || h.is_finished()).await;
                let caught = catch_unwind(|| panic!("caught and handled"));
                assert!(caught.is_err());
                // Same poll, same thread: the join rethrows "the real one".
                h.await;
            });
            std::future::pending::<()>().await;
        });
    });
    assert_eq!(r.name.as_deref(), Some("joiner"), "{r:?}");
    assert_eq!(r.message, "the real one", "{r:?}");
}
