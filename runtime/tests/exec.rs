//! goro's production executor: tokio I/O inside goroutines, timer
//! accuracy (with generous bounds: speed is measured in `bench/`), a spawn
//! storm and a ping-pong soak across workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goro::race::{explore, Config};
use goro::sync::WaitGroup;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server goroutine on 127.0.0.1 and a client goroutine: the
/// client's bytes come back.
async fn tcp_echo() -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    goro::go!("echo-server", async move {
        let (mut conn, _) = listener.accept().await.expect("accept");
        let mut buf = [0u8; 64];
        loop {
            let n = conn.read(&mut buf).await.expect("server read");
            if n == 0 {
                break;
            }
            conn.write_all(&buf[..n]).await.expect("server write");
        }
    });
    let client = goro::spawn(async move {
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        conn.write_all(b"hello, goro").await.expect("client write");
        let mut back = vec![0u8; 11];
        conn.read_exact(&mut back).await.expect("client read");
        back
    });
    client.await
}

#[test]
fn tokio_tcp_echo_inside_run() {
    let back = goro::run(tcp_echo());
    assert_eq!(back, b"hello, goro");
}

#[test]
fn tokio_tcp_echo_inside_explore() {
    let report = explore(
        Config::default().schedules(3).seed(7).env(false),
        || async {
            assert_eq!(tcp_echo().await, b"hello, goro");
        },
    );
    assert!(
        report.findings().is_empty(),
        "no finding expected: {:?}",
        report.findings()
    );
}

#[test]
fn tokio_time_works_inside_goroutines() {
    goro::run(async {
        let start = Instant::now();
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(start.elapsed() >= Duration::from_millis(2));
    });
}

#[test]
fn microsecond_sleeps_are_not_rounded_to_milliseconds() {
    // tokio's timers round up to 1 ms: 200 sleeps took 222 ms there. The
    // bound is generous (a loaded CI machine); bench/ measures the speed.
    let took = goro::run(async {
        let start = Instant::now();
        for _ in 0..200 {
            goro::time::sleep(Duration::from_micros(1)).await;
        }
        start.elapsed()
    });
    assert!(
        took < Duration::from_millis(200),
        "200 x sleep(1µs) took {took:?}"
    );
}

#[test]
fn sleeps_never_end_early() {
    goro::run(async {
        for us in [50u64, 300, 2_000] {
            let d = Duration::from_micros(us);
            let start = Instant::now();
            goro::time::sleep(d).await;
            assert!(start.elapsed() >= d, "sleep({d:?}) ended early");
        }
    });
}

#[test]
fn spawn_storm_of_100k_goroutines() {
    let n = 100_000u64;
    let sum = goro::run(async move {
        let total = Arc::new(AtomicU64::new(0));
        let wg = WaitGroup::new();
        wg.add(n as isize);
        for i in 0..n {
            goro::go!(clone(wg, total), async move {
                total.fetch_add(i, Ordering::Relaxed);
                if i % 7 == 0 {
                    goro::yield_now().await;
                }
                wg.done();
            });
        }
        wg.wait().await;
        total.load(Ordering::Relaxed)
    });
    assert_eq!(sum, n * (n - 1) / 2);
}

#[test]
fn spawn_storm_from_several_goroutines_each_joined() {
    // Eight spawners start 12,500 goroutines each at once and join every
    // one: every output arrives exactly once, through the registries'
    // reused slots (the census entries and task slots of finished
    // goroutines are taken by the next ones).
    const SPAWNERS: u64 = 8;
    const EACH: u64 = 12_500;
    let (sum, count) = goro::run(async {
        let spawners: Vec<_> = (0..SPAWNERS)
            .map(|s| {
                goro::spawn(async move {
                    let handles: Vec<_> = (0..EACH)
                        .map(|i| {
                            let v = s * EACH + i;
                            goro::spawn(async move {
                                if v % 5 == 0 {
                                    goro::yield_now().await;
                                }
                                v
                            })
                        })
                        .collect();
                    let mut sum = 0;
                    let mut count = 0;
                    for h in handles {
                        sum += h.await;
                        count += 1;
                    }
                    (sum, count)
                })
            })
            .collect();
        let mut total = (0, 0);
        for h in spawners {
            let (s, c) = h.await;
            total.0 += s;
            total.1 += c;
        }
        total
    });
    let n = SPAWNERS * EACH;
    assert_eq!(count, n);
    assert_eq!(sum, n * (n - 1) / 2);
}

#[test]
fn ping_pong_soak_across_workers() {
    // Pairs of goroutines bounce a counter; every pair must finish with
    // the exact count (no lost or doubled wake-up).
    const PAIRS: u64 = 8;
    const ROUNDS: u64 = 20_000;
    let total = goro::run(async {
        let results = goro::chan::<u64>(PAIRS as usize);
        for _ in 0..PAIRS {
            let ping = goro::chan::<u64>(0);
            let pong = goro::chan::<u64>(0);
            goro::go!(clone(ping, pong), async move {
                while let Some(v) = ping.recv().await {
                    pong.send(v + 1).await;
                }
            });
            goro::go!(clone(results), async move {
                let mut v = 0;
                for _ in 0..ROUNDS {
                    ping.send(v).await;
                    v = pong.recv().await.expect("pong open");
                }
                ping.close();
                results.send(v).await;
            });
        }
        let mut total = 0;
        for _ in 0..PAIRS {
            total += results.recv().await.expect("a result");
        }
        total
    });
    assert_eq!(total, PAIRS * ROUNDS);
}

#[test]
fn a_goroutine_in_a_long_poll_does_not_hold_back_the_one_it_woke() {
    // The woken goroutine sits in the busy worker's `runnext`; another
    // worker must take it (the monitor wakes one), or the busy one spins
    // forever.
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return;
    }
    goro::run(async {
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ch = goro::chan::<()>(0);
        goro::go!(clone(ch, flag), async move {
            ch.recv().await;
            flag.store(true, Ordering::SeqCst);
        });
        // Long enough for the other workers to park: nobody spins when the
        // receiver is woken into this worker's `runnext`.
        goro::time::sleep(Duration::from_millis(10)).await;
        ch.send(()).await;
        let start = Instant::now();
        while !flag.load(Ordering::SeqCst) {
            assert!(start.elapsed() < Duration::from_secs(20), "starved");
            std::hint::spin_loop();
        }
    });
}

#[test]
fn goroutines_queued_behind_a_long_poll_are_taken_by_another_worker() {
    // Main spawns onto its own worker's queue and then never returns from
    // its poll: a thief must judge that queue as waiting (its worker runs
    // nothing) and take the goroutines, or main spins forever.
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return;
    }
    goro::run(async {
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..4 {
            let done = done.clone();
            goro::go!(async move {
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        let start = Instant::now();
        while done.load(Ordering::SeqCst) < 4 {
            assert!(start.elapsed() < Duration::from_secs(20), "starved");
            std::hint::spin_loop();
        }
    });
}

/// The message of a caught panic.
fn message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

const NESTED: &str = "goro::run called from inside a running runtime";

#[test]
fn run_inside_a_goroutine_still_panics() {
    let r = std::panic::catch_unwind(|| {
        goro::run(async {
            goro::run(async {});
        })
    });
    let msg = message(r.expect_err("nested run must panic"));
    assert!(msg.contains(NESTED), "{msg}");
}

#[test]
fn run_inside_a_tokio_runtime_still_panics() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let r = rt.block_on(async { std::panic::catch_unwind(|| goro::run(async {})) });
    let msg = message(r.expect_err("run inside tokio must panic"));
    assert!(msg.contains(NESTED), "{msg}");
}

/// A goroutine's waker kept past the end of its run, by code outside any
/// goroutine, and woken and dropped afterwards (from this thread and from
/// another): the executor outlives its task cells (it is freed with the
/// last one), so the wake finds the run over and the goroutine is not run.
/// Run under valgrind's memcheck too (bench/README.md, "Spawn and
/// fan-out"), which sees a use of the freed executor.
#[test]
fn a_waker_kept_past_the_run_is_woken_and_dropped_safely() {
    use std::sync::Mutex;
    use std::task::{Poll, Waker};
    static KEPT: Mutex<Vec<Waker>> = Mutex::new(Vec::new());
    static POLLS: AtomicU64 = AtomicU64::new(0);
    goro::run(async {
        let wg = WaitGroup::new();
        for _ in 0..50 {
            wg.add(1);
            let wg = wg.clone();
            goro::go!(async move {
                let mut first = true;
                std::future::poll_fn(|cx| {
                    POLLS.fetch_add(1, Ordering::SeqCst);
                    if first {
                        first = false;
                        KEPT.lock().unwrap().push(cx.waker().clone());
                        wg.done();
                    }
                    Poll::<()>::Pending
                })
                .await;
            });
        }
        wg.wait().await;
    });
    let polls = POLLS.load(Ordering::SeqCst);
    let mut kept = std::mem::take(&mut *KEPT.lock().unwrap());
    assert_eq!(kept.len(), 50);
    let half = kept.split_off(25);
    for w in &kept {
        w.wake_by_ref();
    }
    drop(kept);
    std::thread::spawn(move || {
        for w in half {
            w.wake();
        }
    })
    .join()
    .unwrap();
    assert_eq!(POLLS.load(Ordering::SeqCst), polls, "the run is over");
}

/// A goroutine's first poll hands its waker to another thread, which
/// wakes it while that poll may still be running, or just after: no wake
/// is lost (a lost one hangs this test).
#[test]
fn a_wake_from_another_thread_during_the_first_poll_is_not_lost() {
    use std::sync::mpsc;
    use std::task::{Poll, Waker};
    let n = 2_000u64;
    let polls = goro::run(async move {
        let (tx, rx) = mpsc::channel::<Waker>();
        let waker_thread = std::thread::spawn(move || {
            for w in rx {
                w.wake();
            }
        });
        let polls = Arc::new(AtomicU64::new(0));
        let wg = WaitGroup::new();
        wg.add(n as isize);
        for i in 0..n {
            let (tx, polls, wg) = (tx.clone(), polls.clone(), wg.clone());
            goro::go!(async move {
                let mut first = true;
                // `move`: the sender goes with the future, before `done`.
                std::future::poll_fn(move |cx| {
                    polls.fetch_add(1, Ordering::Relaxed);
                    if !first {
                        return Poll::Ready(());
                    }
                    first = false;
                    tx.send(cx.waker().clone()).expect("the waker thread runs");
                    // Some polls return at once, some after the other
                    // thread has woken them.
                    for _ in 0..(i % 4) * 200 {
                        std::hint::spin_loop();
                    }
                    Poll::Pending
                })
                .await;
                wg.done();
            });
        }
        wg.wait().await;
        drop(tx);
        waker_thread.join().expect("the waker thread");
        polls.load(Ordering::Relaxed)
    });
    assert!(polls >= 2 * n, "every goroutine was polled again: {polls}");
}
