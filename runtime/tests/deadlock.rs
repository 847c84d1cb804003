//! Go's end of program and Go's deadlock crash on the production executor:
//! goroutines still running when main returns are dropped (their later
//! panics do not fail `run`), and a run whose goroutines are all asleep on
//! goro primitives, with no timer pending, panics with
//! `all goroutines are asleep - deadlock!` and one line per goroutine.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{guarded, panic_message};
use goro::sync::{Mutex, WaitGroup};

/// Runs `f` (a `goro::run` that must deadlock) and returns its panic message.
fn deadlock_report(f: impl FnOnce() + Send + 'static) -> String {
    let payload = guarded(f).expect_err("goro::run returned instead of crashing");
    let msg = panic_message(&*payload);
    assert!(
        msg.starts_with("all goroutines are asleep - deadlock!\n"),
        "not Go's deadlock crash: {msg:?}"
    );
    msg
}

/// `file:line:` of a line of this file.
fn at(line: u32) -> String {
    format!("{}:{line}:", file!())
}

#[test]
fn a_panic_after_main_returned_does_not_fail_run() {
    let out = guarded(|| {
        goro::run(async {
            let woken = goro::chan::<()>(1);
            goro::go!("late", clone(woken), async move {
                woken.recv().await;
                // Main's goroutine is gone once only this one is left: the
                // program is over, as in Go, and this panic is dropped.
                while goro::num_goroutine() > 1 {
                    std::thread::yield_now();
                }
                panic!("after main returned");
            });
            // Wakes `late` just before main returns.
            woken.send(()).await;
            7
        })
    });
    assert_eq!(out.expect("a panic after main returned failed run"), 7);
}

#[test]
fn a_panic_before_main_returned_still_fails_run() {
    let payload = guarded(|| {
        goro::run(async {
            let h = goro::spawn(async {});
            goro::go!("early", async { panic!("before main returned") });
            h.await;
            // Main waits (outside goro) for the crash, which ends it.
            std::future::pending::<()>().await;
        })
    })
    .expect_err("run returned");
    assert!(panic_message(&*payload).contains("before main returned"));
}

static RANGE_RECV: AtomicU32 = AtomicU32::new(0);

#[test]
fn range_over_a_channel_nobody_closes_crashes() {
    let run_line = line!() + 2;
    let msg = deadlock_report(|| {
        goro::run(async {
            let ch = goro::chan::<i32>(0);
            goro::go!("producer", clone(ch), async move {
                for i in 0..3 {
                    ch.send(i).await;
                }
                // Returns without closing `ch`.
            });
            RANGE_RECV.store(line!() + 1, Ordering::Relaxed);
            while let Some(v) = ch.recv().await {
                let _ = v;
            }
        });
    });
    let recv = RANGE_RECV.load(Ordering::Relaxed);
    let main_line = format!("goroutine 1 [main], started at {}", at(run_line));
    assert!(msg.contains(&main_line), "{msg}");
    assert!(
        msg.contains(&format!("receiving from a channel at {}", at(recv))),
        "{msg}"
    );
    // The producer ended: only live goroutines are listed.
    assert!(!msg.contains("producer"), "{msg}");
    assert_eq!(
        msg.lines().filter(|l| l.starts_with("goroutine")).count(),
        1
    );
}

static LOCKS: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];

#[test]
fn a_mutex_deadlock_crashes_naming_both_sides() {
    let msg = deadlock_report(|| {
        goro::run(async {
            let a = Arc::new(Mutex::new(0));
            let b = Arc::new(Mutex::new(0));
            let holding = WaitGroup::new();
            holding.add(2);
            let done = WaitGroup::new();
            done.add(2);
            LOCKS[0].store(line!() + 1, Ordering::Relaxed);
            goro::go!("left", clone(a, b, holding, done), async move {
                let _a = a.lock().await;
                holding.done();
                holding.wait().await;
                LOCKS[1].store(line!() + 1, Ordering::Relaxed);
                let _b = b.lock().await;
                done.done();
            });
            LOCKS[2].store(line!() + 1, Ordering::Relaxed);
            goro::go!("right", clone(a, b, holding, done), async move {
                let _b = b.lock().await;
                holding.done();
                holding.wait().await;
                LOCKS[3].store(line!() + 1, Ordering::Relaxed);
                let _a = a.lock().await;
                done.done();
            });
            done.wait().await;
        });
    });
    let [go_left, left_lock, go_right, right_lock] =
        LOCKS.each_ref().map(|l| l.load(Ordering::Relaxed));
    let line_of = |g: &str| {
        msg.lines()
            .find(|l| l.starts_with(g))
            .unwrap_or_else(|| panic!("no line for {g}: {msg}"))
    };
    for (g, go, lock) in [
        ("goroutine 2 [left]", go_left, left_lock),
        ("goroutine 3 [right]", go_right, right_lock),
    ] {
        let line = line_of(g);
        assert!(line.contains(&format!("started at {}", at(go))), "{line}");
        assert!(
            line.contains(&format!("locking a Mutex at {}", at(lock))),
            "{line}"
        );
    }
    assert!(msg.contains("goroutine 1 [main]"), "{msg}");
    assert!(msg.contains("waiting on a WaitGroup at"), "{msg}");
}

static WG_WAIT: AtomicU32 = AtomicU32::new(0);

#[test]
fn a_waitgroup_never_done_crashes() {
    let msg = deadlock_report(|| {
        goro::run(async {
            let wg = WaitGroup::new();
            wg.add(2);
            goro::go!("worker", clone(wg), async move { wg.done() });
            WG_WAIT.store(line!() + 1, Ordering::Relaxed);
            wg.wait().await;
        });
    });
    let wait = WG_WAIT.load(Ordering::Relaxed);
    assert!(
        msg.contains(&format!("waiting on a WaitGroup at {}", at(wait))),
        "{msg}"
    );
}

static JOIN: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];

#[test]
fn a_join_of_a_stuck_goroutine_crashes() {
    let msg = deadlock_report(|| {
        goro::run(async {
            let never = goro::chan::<u8>(0);
            JOIN[0].store(line!() + 1, Ordering::Relaxed);
            let h = goro::spawn(async move {
                JOIN[1].store(line!() + 1, Ordering::Relaxed);
                never.recv().await
            });
            h.await;
        });
    });
    let [spawned, recv] = JOIN.each_ref().map(|l| l.load(Ordering::Relaxed));
    assert!(
        msg.contains(&format!("joining the goroutine started at {}", at(spawned))),
        "{msg}"
    );
    let child = msg
        .lines()
        .find(|l| l.starts_with("goroutine 2,"))
        .unwrap_or_else(|| panic!("no line for goroutine 2: {msg}"));
    assert!(
        child.contains(&format!("started at {}", at(spawned))),
        "{child}"
    );
    assert!(
        child.contains(&format!("receiving from a channel at {}", at(recv))),
        "{child}"
    );
}

static AFTER_STORM: AtomicU32 = AtomicU32::new(0);

#[test]
fn after_a_spawn_storm_the_report_names_only_the_stuck_goroutines() {
    // Census entries of finished goroutines are kept and reused: the report
    // must list neither the dead nor an old name or site in a reused entry.
    let msg = deadlock_report(|| {
        goro::run(async {
            let wg = WaitGroup::new();
            for i in 0..5_000 {
                wg.add(1);
                goro::go!(format!("storm-{i}"), clone(wg), async move {
                    goro::yield_now().await;
                    wg.done();
                });
            }
            wg.wait().await;
            let never = goro::chan::<u8>(0);
            AFTER_STORM.store(line!() + 1, Ordering::Relaxed);
            goro::go!("stuck", clone(never), async move {
                never.recv().await;
            });
            let done = goro::chan::<u8>(0);
            done.recv().await;
        });
    });
    assert!(!msg.contains("storm-"), "{msg}");
    let spawned = AFTER_STORM.load(Ordering::Relaxed);
    let stuck = msg
        .lines()
        .find(|l| l.contains("[stuck]"))
        .unwrap_or_else(|| panic!("no line for the stuck goroutine: {msg}"));
    assert!(
        stuck.contains(&format!("started at {}", at(spawned))),
        "{stuck}"
    );
    // `stuck` and main, nobody else.
    assert_eq!(
        msg.lines().filter(|l| l.starts_with("goroutine")).count(),
        2,
        "{msg}"
    );
}

#[test]
fn a_program_waiting_for_a_timer_is_not_deadlocked() {
    let out = guarded(|| {
        goro::run(async {
            let never = goro::chan::<u8>(0);
            goro::go!("stuck", clone(never), async move { never.recv().await });
            // Main parks in a select on a channel and a timer: the timer is
            // pending, so nobody is stuck for good.
            goro::select! {
                recv(never) -> _ => "value",
                recv(goro::time::after(Duration::from_millis(20))) -> _ => "timeout",
            }
        })
    });
    assert_eq!(out.expect("false deadlock crash"), "timeout");
}

#[test]
fn a_program_sleeping_is_not_deadlocked() {
    let out = guarded(|| {
        goro::run(async {
            let never = goro::chan::<u8>(0);
            goro::go!("stuck", clone(never), async move { never.recv().await });
            goro::time::sleep(Duration::from_millis(20)).await;
            1
        })
    });
    assert_eq!(out.expect("false deadlock crash"), 1);
}

#[test]
fn a_goro_wait_beside_a_foreign_one_is_not_asleep() {
    let out = guarded(|| {
        goro::run(async {
            let never = goro::chan::<u8>(0);
            goro::go!("stuck", clone(never), async move { never.recv().await });
            // One poll parks on a goro channel and on a tokio timer: the
            // timer holds the goroutine's waker too, so it is not asleep.
            tokio::select! {
                _ = never.recv() => "value",
                _ = tokio::time::sleep(Duration::from_millis(20)) => "timeout",
            }
        })
    });
    assert_eq!(out.expect("false deadlock crash"), "timeout");
}

#[test]
fn a_program_waiting_on_tokio_io_is_not_deadlocked() {
    let out = guarded(|| {
        goro::run(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let go = goro::chan::<u8>(0);
            let waiter = goro::spawn({
                let go = go.clone();
                async move { go.recv().await }
            });
            // The connection comes later, from outside the program: until
            // then main waits on tokio I/O and the other goroutine is asleep.
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                std::net::TcpStream::connect(addr).unwrap()
            });
            let (_conn, _) = listener.accept().await.unwrap();
            go.send(5).await;
            waiter.await
        })
    });
    assert_eq!(out.expect("false deadlock crash"), Some(5));
}

#[test]
fn a_long_chain_of_hand_offs_is_not_a_deadlock() {
    // A ring of goroutines passing a token, and pairs ping-ponging: at
    // almost every instant all but one goroutine are asleep, and each
    // hand-off wakes the next one while the waker goes to sleep.
    const RING: usize = 16;
    const ROUNDS: u64 = 1_000;
    let out = guarded(|| {
        goro::run(async {
            let links: Vec<_> = (0..RING).map(|_| goro::chan::<u64>(0)).collect();
            let wg = WaitGroup::new();
            for i in 1..RING {
                let (rx, tx) = (links[i].clone(), links[(i + 1) % RING].clone());
                wg.add(1);
                goro::go!(clone(wg), async move {
                    while let Some(v) = rx.recv().await {
                        tx.send(v + 1).await;
                    }
                    wg.done();
                });
            }
            for p in 0..4 {
                let (ping, pong) = (goro::chan::<u64>(0), goro::chan::<u64>(0));
                wg.add(2);
                goro::go!(format!("ping{p}"), clone(wg, ping, pong), async move {
                    for i in 0..ROUNDS {
                        ping.send(i).await;
                        assert_eq!(pong.recv().await, Some(i));
                    }
                    ping.close();
                    wg.done();
                });
                goro::go!(format!("pong{p}"), clone(wg, ping, pong), async move {
                    while let Some(v) = ping.recv().await {
                        pong.send(v).await;
                    }
                    wg.done();
                });
            }
            let mut token = 0;
            for _ in 0..ROUNDS {
                links[1].send(token).await;
                token = links[0].recv().await.unwrap();
            }
            for l in &links {
                l.close();
            }
            wg.wait().await;
            token
        })
    });
    assert_eq!(
        out.expect("false deadlock crash"),
        ROUNDS * (RING as u64 - 1)
    );
}

#[test]
fn locks_and_conds_under_contention_are_not_a_deadlock() {
    // Producers and consumers of a bounded queue guarded by a Mutex and two
    // Conds, and readers and writers of a RwLock: goroutines sleep and
    // wake on every primitive, often all but one at a time.
    use goro::sync::{Cond, RwLock};
    use std::collections::VecDeque;
    const ITEMS: u64 = 1_000;
    const CAP: usize = 2;
    let out = guarded(|| {
        goro::run(async {
            let q = Arc::new((Mutex::new(VecDeque::new()), Cond::new(), Cond::new()));
            let table = Arc::new(RwLock::new(0u64));
            let wg = WaitGroup::new();
            for _ in 0..3 {
                wg.add(1);
                goro::go!("producer", clone(q, wg, table), async move {
                    let (mu, not_full, not_empty) = &*q;
                    for i in 0..ITEMS {
                        let mut g = mu.lock().await;
                        while g.len() == CAP {
                            g = not_full.wait(g).await;
                        }
                        g.push_back(i);
                        not_empty.signal();
                        drop(g);
                        *table.write().await += 1;
                    }
                    wg.done();
                });
            }
            let consumed = Arc::new(goro::sync::atomic::AtomicU64::new(0));
            for _ in 0..2 {
                wg.add(1);
                goro::go!("consumer", clone(q, wg, table, consumed), async move {
                    let (mu, not_full, not_empty) = &*q;
                    loop {
                        let mut g = mu.lock().await;
                        while g.is_empty() {
                            g = not_empty.wait(g).await;
                        }
                        let v = g.pop_front().unwrap();
                        not_full.signal();
                        drop(g);
                        let _ = *table.read().await;
                        if v == u64::MAX {
                            break;
                        }
                        consumed.add(1);
                    }
                    wg.done();
                });
            }
            // Stop the consumers once every item is in: one sentinel each.
            while *table.read().await < 3 * ITEMS {
                goro::yield_now().await;
            }
            for _ in 0..2 {
                let (mu, not_full, not_empty) = &*q;
                let mut g = mu.lock().await;
                while g.len() == CAP {
                    g = not_full.wait(g).await;
                }
                g.push_back(u64::MAX);
                not_empty.broadcast();
            }
            wg.wait().await;
            consumed.load()
        })
    });
    assert_eq!(out.expect("false deadlock crash"), 3 * ITEMS);
}

// Each worker keeps its share of the census count (spawns, exits, sleeps)
// and adds it to the shared word before it parks: a deadlock reached on
// any worker is still found, and goroutines that sleep on one worker and
// are woken from another never make a false one.

#[test]
fn a_deadlock_among_goroutines_parked_on_every_worker_is_found() {
    const N: usize = 300;
    let msg = deadlock_report(|| {
        goro::run(async {
            let gate = goro::chan::<()>(0);
            let started = WaitGroup::new();
            for _ in 0..N {
                started.add(1);
                goro::go!("parked", clone(gate, started), async move {
                    started.done();
                    gate.recv().await;
                });
            }
            started.wait().await;
            // Nobody closes `gate`: main's wait is the last sleep.
            gate.recv().await;
        });
    });
    assert_eq!(
        msg.lines().filter(|l| l.contains("[parked]")).count(),
        N,
        "{msg}"
    );
}

/// The lines of the two timer tests' receives (set as they run).
static TIMER_RECV: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];

#[test]
fn a_deadlock_left_when_the_last_timer_fires_is_found() {
    // The timer is pending while main parks: no crash until it has fired
    // (and its function's goroutine ended), then main is stuck for good.
    let msg = deadlock_report(|| {
        goro::run(async {
            let never = goro::chan::<u8>(0);
            let _t = goro::time::after_func(Duration::from_millis(20), || async {});
            TIMER_RECV[0].store(line!() + 1, Ordering::Relaxed);
            never.recv().await;
        });
    });
    let recv = TIMER_RECV[0].load(Ordering::Relaxed);
    assert!(
        msg.contains(&format!("receiving from a channel at {}", at(recv))),
        "{msg}"
    );
}

#[test]
fn a_deadlock_left_when_another_thread_stops_the_last_timer_is_found() {
    // Every worker is parked when the timer stops, on a thread of the
    // user's: one must wake up to see that nothing can wake main now.
    let msg = deadlock_report(|| {
        goro::run(async {
            let never = goro::chan::<u8>(0);
            let t = goro::time::Timer::new(Duration::from_secs(3600));
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                assert!(t.stop());
            });
            TIMER_RECV[1].store(line!() + 1, Ordering::Relaxed);
            never.recv().await;
        });
    });
    let recv = TIMER_RECV[1].load(Ordering::Relaxed);
    assert!(
        msg.contains(&format!("receiving from a channel at {}", at(recv))),
        "{msg}"
    );
}

#[test]
fn a_deadlock_reached_when_the_last_goroutines_exit_is_found() {
    // The last goroutines' exits leave main alone, parked: the worker that
    // ran them parks last and finds it.
    let msg = deadlock_report(|| {
        goro::run(async {
            let results = goro::chan::<usize>(1_000);
            for i in 0..1_000 {
                goro::go!(clone(results), async move { results.send(i).await });
            }
            for _ in 0..1_000 {
                results.recv().await;
            }
            // Nobody sends again, nobody closes.
            results.recv().await;
        });
    });
    assert_eq!(
        msg.lines().filter(|l| l.starts_with("goroutine")).count(),
        1,
        "{msg}"
    );
}

#[test]
fn goroutines_woken_from_another_worker_are_not_a_deadlock() {
    // Rounds of: start goroutines that sleep on a gate (on both workers),
    // open the gate (their wakes come from main's worker), wait for all.
    // Every round ends with main the only goroutine awake for a moment.
    const ROUNDS: usize = 30;
    const N: usize = 400;
    let out = guarded(|| {
        goro::run(async {
            let mut total = 0;
            for _ in 0..ROUNDS {
                let gate = goro::chan::<()>(0);
                let (started, exited) = (WaitGroup::new(), WaitGroup::new());
                let count = Arc::new(AtomicU32::new(0));
                for _ in 0..N {
                    started.add(1);
                    exited.add(1);
                    goro::go!(clone(gate, started, exited, count), async move {
                        started.done();
                        assert!(gate.recv().await.is_none());
                        count.fetch_add(1, Ordering::Relaxed);
                        exited.done();
                    });
                }
                started.wait().await;
                gate.close();
                exited.wait().await;
                total += count.load(Ordering::Relaxed);
            }
            total
        })
    });
    assert_eq!(out.expect("false deadlock crash"), (ROUNDS * N) as u32);
}

#[test]
fn a_main_that_never_parks_is_not_a_deadlock() {
    // Main is spawned from `run`'s own thread, not a worker: until a worker
    // takes it from the shared queue, both workers may park with it queued
    // there, and the last one's look may miss it. It holds the census's
    // count until it runs (a false crash here was 1 run in ~50 under load
    // without that).
    let out = guarded(|| {
        for i in 0..1000 {
            assert_eq!(goro::run(async move { i }), i);
        }
    });
    out.expect("false deadlock crash");
}
