//! The production executor's per-poll and per-wake path, made cheaper for
//! `pingpong` (bench/README.md, "The per-poll and per-wake path"): what it
//! must still do. A put into an empty `runnext` slot is a plain store, a
//! displaced or yielded goroutine goes to the queue out of line, and a
//! stale panic record is dropped only when a flag says there is one.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{guarded, run_panic_report};
use goro::sync::WaitGroup;

/// Closing a channel that many parked goroutines wait on wakes them all in
/// one poll: each wake displaces the previous one from `runnext` into the
/// queue. None may be lost (a lost one would leave `wait` asleep forever,
/// which the deadlock crash reports).
#[test]
fn every_goroutine_woken_in_one_poll_runs() {
    const N: usize = 200;
    let ran = guarded(|| {
        goro::run(async {
            let gate = goro::chan::<()>(0);
            let wg = WaitGroup::new();
            let ran = Arc::new(AtomicUsize::new(0));
            for _ in 0..N {
                wg.add(1);
                goro::go!(clone(gate, wg, ran), async move {
                    assert_eq!(gate.recv().await, None);
                    ran.fetch_add(1, Ordering::SeqCst);
                    wg.done();
                });
            }
            // The goroutines are queued ahead of main: they park on `gate`
            // before main is back.
            for _ in 0..4 {
                goro::yield_now().await;
            }
            gate.close();
            wg.wait().await;
            ran.load(Ordering::SeqCst)
        })
    })
    .expect("the run ends");
    assert_eq!(ran, N);
}

/// Two goroutines that wake each other through `runnext` while two others
/// yield all along (a yield goes to the back of the queue, not `runnext`):
/// every one of them finishes.
#[test]
fn yields_and_runnext_hand_offs_interleave() {
    const ROUNDS: u64 = 10_000;
    let (v, yields) = guarded(|| {
        goro::run(async {
            let ping = goro::chan::<u64>(0);
            let pong = goro::chan::<u64>(0);
            let wg = WaitGroup::new();
            let yields = Arc::new(AtomicUsize::new(0));
            for _ in 0..2 {
                wg.add(1);
                goro::go!(clone(wg, yields), async move {
                    for _ in 0..1_000 {
                        goro::yield_now().await;
                        yields.fetch_add(1, Ordering::SeqCst);
                    }
                    wg.done();
                });
            }
            let (rx, tx) = (ping.receiver(), pong.sender());
            goro::go!(async move {
                while let Some(v) = rx.recv().await {
                    tx.send(v + 1).await;
                }
            });
            let mut v = 0;
            for _ in 0..ROUNDS {
                ping.send(v).await;
                v = pong.recv().await.expect("pong stays open");
            }
            ping.close();
            wg.wait().await;
            (v, yields.load(Ordering::SeqCst))
        })
    })
    .expect("the run ends");
    assert_eq!(v, ROUNDS);
    assert_eq!(yields, 2_000);
}

/// Over and over: main wakes two goroutines in one poll (the second wake
/// displaces the first from `runnext` into the queue, with an exchange,
/// while takers may be at the slot), then never returns from that poll
/// until both have run. Each must be taken by another worker (the queue's
/// by a thief, `runnext`'s by a thief of a stuck worker's slot or by the
/// monitor) while this worker keeps putting into and taking from its own
/// slot round after round: a lost or doubled goroutine hangs or crashes.
#[test]
fn woken_goroutines_are_taken_from_a_stuck_worker_round_after_round() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return;
    }
    const ROUNDS: usize = 50;
    let ran = guarded(|| {
        goro::run(async {
            let ran = Arc::new(AtomicUsize::new(0));
            for round in 0..ROUNDS {
                let gate = goro::chan::<()>(0);
                for _ in 0..2 {
                    goro::go!(clone(gate, ran), async move {
                        assert_eq!(gate.recv().await, None);
                        ran.fetch_add(1, Ordering::SeqCst);
                    });
                }
                // Both park on `gate` before main is back.
                for _ in 0..3 {
                    goro::yield_now().await;
                }
                gate.close();
                let want = 2 * (round + 1);
                // A hang guard, not a speed bound.
                let start = Instant::now();
                while ran.load(Ordering::SeqCst) < want {
                    assert!(start.elapsed() < Duration::from_secs(20), "starved");
                    std::hint::spin_loop();
                }
            }
            ran.load(Ordering::SeqCst)
        })
    })
    .expect("the run ends");
    assert_eq!(ran, 2 * ROUNDS);
}

/// A panic caught inside one poll leaves a record of its site; a later
/// poll's panic resumed without the panic hook (`resume_unwind`) must not
/// be reported at that stale site.
#[test]
fn a_panic_caught_in_an_earlier_poll_does_not_lend_its_site() {
    let r = run_panic_report(|| {
        goro::run(async {
            goro::go!("resumer", async {
                // The record is per thread: resume on the thread that
                // caught (a yield may move the goroutine to the other
                // worker).
                loop {
                    let caught = std::panic::catch_unwind(|| panic!("caught"));
                    assert!(caught.is_err());
                    let here = std::thread::current().id();
                    goro::yield_now().await;
                    if std::thread::current().id() == here {
                        std::panic::resume_unwind(Box::new("resumed".to_string()));
                    }
                }
            });
            std::future::pending::<()>().await;
        });
    });
    assert_eq!(r.name.as_deref(), Some("resumer"), "{r:?}");
    assert_eq!(r.message, "resumed", "{r:?}");
    assert_ne!(
        r.file,
        file!(),
        "reported at the caught panic's site: {r:?}"
    );
}
