//! `goro::time`: the clock, `Instant`, sleep, after, tick and `Ticker`.

use std::collections::HashSet;

use goro::time::{self, Duration, Instant, Ticker};
use goro::TryRecvError;

/// Upper bound for "promptly" on a loaded 2-core CI machine.
const SOON: Duration = Duration::from_secs(2);
const MS: Duration = Duration::from_millis(1);

fn alive_tasks() -> usize {
    goro::__pending_timers()
}

/// Waits (briefly) until the runtime has at most `n` tasks.
async fn settle_tasks(n: usize) -> usize {
    let start = time::now();
    while alive_tasks() > n && time::since(start) < SOON {
        time::sleep(MS).await;
    }
    alive_tasks()
}

#[test]
fn instant_arithmetic() {
    // The clock works outside any runtime.
    let t = time::now();
    let d = Duration::from_millis(1500);
    assert_eq!((t + d) - t, d);
    assert_eq!((t + d) - d, t);
    assert_eq!(t - (t + d), Duration::ZERO, "Instant - Instant saturates");
    assert_eq!(t.duration_since(t + d), Duration::ZERO);
    assert_eq!((t + d).checked_duration_since(t), Some(d));
    assert_eq!(t.checked_duration_since(t + d), None);
    assert!(t.checked_add(Duration::MAX).is_none());
    assert!(t.checked_sub(Duration::MAX).is_none());
    // The clock reaches back before its first reading.
    let hour_ago = t - Duration::from_secs(3600);
    assert_eq!(t - hour_ago, Duration::from_secs(3600));
    assert_eq!(time::until(hour_ago), Duration::ZERO);

    let mut u = t;
    u += d;
    u -= Duration::from_millis(500);
    assert_eq!(u - t, Duration::from_secs(1));
    assert!(t < u && u > hour_ago);
    assert_eq!(t.max(u), u);

    let set: HashSet<Instant> = [t, t, u].into_iter().collect();
    assert_eq!(set.len(), 2);

    let later = time::now();
    assert!(later >= t, "the clock is monotonic");
    assert!(Instant::now() >= later);
    assert!(format!("{t:?}").starts_with("Instant(+"));
    assert!(format!("{hour_ago:?}").starts_with("Instant(-"));
}

#[test]
#[should_panic(expected = "overflow when adding duration to instant")]
fn instant_add_overflow_panics() {
    let _ = time::now() + Duration::MAX;
}

#[test]
#[should_panic(expected = "overflow when subtracting duration from instant")]
fn instant_sub_overflow_panics() {
    let _ = time::now() - Duration::MAX;
}

#[test]
fn sleep_waits_at_least_its_duration() {
    goro::run(async {
        let start = time::now();
        time::sleep(Duration::from_millis(30)).await;
        let took = time::since(start);
        assert!(took >= Duration::from_millis(30), "woke after {took:?}");
        assert!(took < SOON);
        assert!(start.elapsed() >= took);

        let deadline = time::now() + Duration::from_millis(10);
        let s = time::sleep_until(deadline);
        assert_eq!(s.deadline(), deadline);
        s.await;
        assert!(time::now() >= deadline);

        // Zero and past deadlines complete at once.
        time::sleep(Duration::ZERO).await;
        time::sleep_until(time::now() - Duration::from_secs(1)).await;
    });
}

#[test]
fn sleeping_goroutines_run_concurrently() {
    goro::run(async {
        let start = time::now();
        let hs: Vec<_> = (0..50)
            .map(|_| goro::spawn(time::sleep(Duration::from_millis(30))))
            .collect();
        for h in hs {
            h.await;
        }
        let took = time::since(start);
        assert!(took >= Duration::from_millis(30));
        assert!(
            took < Duration::from_millis(30 * 10),
            "sleeps serialized: {took:?}"
        );
    });
}

#[test]
fn after_delivers_the_time_once() {
    goro::run(async {
        let start = time::now();
        let ch = time::after(Duration::from_millis(20));
        assert_eq!(ch.cap(), 1);
        assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
        let t = ch.recv().await.expect("after never closes its channel");
        assert!(t - start >= Duration::from_millis(20), "fired early");
        assert!(t <= time::now());
        assert!(time::since(start) < SOON);
        time::sleep(Duration::from_millis(30)).await;
        assert_eq!(ch.try_recv(), Err(TryRecvError::Empty), "fired twice");
        assert!(!ch.is_closed());

        // Nobody receiving: the value waits in the buffer.
        let ch = time::after(MS);
        time::sleep(Duration::from_millis(20)).await;
        assert_eq!(ch.len(), 1);
    });
}

#[test]
fn after_as_a_select_timeout() {
    goro::run(async {
        let never = goro::chan::<u32>(0);
        let start = time::now();
        let r = goro::select! {
            recv(never) -> v => v,
            recv(time::after(Duration::from_millis(20))) -> t => {
                assert!(t.unwrap() - start >= Duration::from_millis(20));
                None
            }
        };
        assert_eq!(r, None);
        assert!(time::since(start) >= Duration::from_millis(20));

        // A ready case wins long before the timeout.
        let ready = goro::chan::<u32>(1);
        ready.send(7).await;
        let start = time::now();
        let r = goro::select! {
            recv(ready) -> v => v,
            recv(time::after(Duration::from_secs(5))) -> _ => None,
        };
        assert_eq!(r, Some(7));
        assert!(time::since(start) < SOON);

        // A timeout per loop iteration, as Go code writes it.
        let work = goro::chan::<u32>(0);
        let tx = work.clone();
        goro::go!(async move {
            for i in 0..3 {
                tx.send(i).await;
            }
        });
        let mut got = Vec::new();
        loop {
            goro::select! {
                recv(work) -> v => got.push(v.unwrap()),
                recv(time::after(Duration::from_millis(20))) -> _ => break,
            }
        }
        assert_eq!(got, vec![0, 1, 2]);
    });
}

#[test]
fn after_tasks_end_once_fired() {
    goro::run(async {
        let base = alive_tasks();
        let chans: Vec<_> = (0..100)
            .map(|_| time::after(Duration::from_millis(10)))
            .collect();
        assert_eq!(alive_tasks(), base + 100);
        assert_eq!(goro::num_goroutine(), 1, "timers are not goroutines");
        assert_eq!(
            settle_tasks(base).await,
            base,
            "after() tasks outlive firing"
        );
        // They fired even though nobody was receiving.
        assert!(chans.iter().all(|c| c.len() == 1));
    });
}

#[test]
fn tick_delivers_periodically() {
    goro::run(async {
        let period = Duration::from_millis(10);
        let start = time::now();
        let ticks = time::tick(period);
        let mut prev = start;
        for i in 1..=4u32 {
            let t = ticks.recv().await.unwrap();
            assert!(t > prev);
            assert!(t - start >= period * i, "tick {i} early: {:?}", t - start);
            prev = t;
        }
        assert!(time::since(start) < SOON);
    });
}

#[test]
fn tick_stops_once_its_channel_is_dropped() {
    goro::run(async {
        let base = alive_tasks();
        let ticks = time::tick(MS);
        assert_eq!(alive_tasks(), base + 1);
        ticks.recv().await;
        drop(ticks);
        assert_eq!(settle_tasks(base).await, base, "tick outlives its channel");
    });
}

#[test]
fn slow_receivers_miss_ticks() {
    goro::run(async {
        let ticker = Ticker::new(Duration::from_millis(5));
        assert_eq!(ticker.receiver().cap(), 1);
        time::sleep(Duration::from_millis(40)).await;
        // Eight periods passed; one tick is kept, the rest were dropped.
        assert_eq!(ticker.receiver().len(), 1);
        let stale = ticker.receiver().recv().await.unwrap();
        let fresh = ticker.receiver().recv().await.unwrap();
        assert!(fresh > stale);
    });
}

#[test]
fn ticker_ticks_stop_and_reset() {
    goro::run(async {
        let base = alive_tasks();
        let period = Duration::from_millis(10);
        let start = time::now();
        let ticker = Ticker::new(period);
        let t1 = ticker.receiver().recv().await.unwrap();
        let t2 = ticker.receiver().recv().await.unwrap();
        assert!(t1 - start >= period);
        assert!(t2 - start >= period * 2);

        // Stop discards a tick already sent and sends no more.
        time::sleep(period * 2).await;
        ticker.stop();
        ticker.stop(); // idempotent
        time::sleep(period * 3).await;
        assert_eq!(ticker.receiver().try_recv(), Err(TryRecvError::Empty));
        assert!(!ticker.receiver().is_closed(), "stop does not close");
        assert_eq!(
            settle_tasks(base).await,
            base,
            "stop leaves its task running"
        );

        // Reset restarts a stopped ticker with the new period.
        let at = time::now();
        ticker.reset(Duration::from_millis(20));
        let t = ticker.receiver().recv().await.unwrap();
        assert!(t - at >= Duration::from_millis(20));

        // Reset from a long period to a short one takes effect at once.
        ticker.reset(Duration::from_secs(3600));
        let at = time::now();
        ticker.reset(period);
        ticker.receiver().recv().await.unwrap();
        assert!(time::since(at) < SOON);
        assert_eq!(goro::num_goroutine(), 1, "tickers are not goroutines");
        drop(ticker);
        assert_eq!(
            settle_tasks(base).await,
            base,
            "a dropped ticker keeps ticking"
        );
    });
}

#[test]
fn dropping_a_ticker_stops_it() {
    goro::run(async {
        let ticker = Ticker::new(MS);
        let rx = ticker.receiver().clone();
        rx.recv().await.unwrap();
        drop(ticker);
        while rx.try_recv().is_ok() {}
        time::sleep(Duration::from_millis(20)).await;
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn ticker_in_a_select_loop() {
    goro::run(async {
        let ticker = Ticker::new(Duration::from_millis(5));
        let quit = goro::chan::<()>(0);
        let q = quit.clone();
        goro::go!(async move {
            time::sleep(Duration::from_millis(40)).await;
            q.close();
        });
        let mut ticks = 0;
        loop {
            goro::select! {
                recv(quit) -> _ => break,
                recv(ticker.receiver()) -> t => {
                    assert!(t.is_some());
                    ticks += 1;
                }
            }
        }
        assert!((1..=9).contains(&ticks), "{ticks} ticks in 40 ms at 5 ms");
    });
}

#[test]
fn timers_do_not_count_as_goroutines() {
    goro::run(async {
        let _a = time::after(Duration::from_millis(50));
        let _t = time::tick(Duration::from_millis(5));
        let ticker = Ticker::new(Duration::from_millis(5));
        let sleeper = time::sleep(Duration::from_millis(5));
        assert_eq!(goro::num_goroutine(), 1);
        sleeper.await;
        ticker.receiver().recv().await;
        assert_eq!(goro::num_goroutine(), 1);
    });
}

#[test]
#[should_panic(expected = "non-positive interval for Ticker::new")]
fn zero_period_ticker_panics() {
    goro::run(async {
        let _ = Ticker::new(Duration::ZERO);
    });
}

#[test]
#[should_panic(expected = "non-positive interval for tick")]
fn zero_period_tick_panics() {
    goro::run(async {
        let _ = time::tick(Duration::ZERO);
    });
}

#[test]
#[should_panic(expected = "needs a running runtime")]
fn timers_need_a_runtime() {
    let _ = time::after(MS);
}
