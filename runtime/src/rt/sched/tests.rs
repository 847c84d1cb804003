//! The scheduler's step path against itself: a step taken at a scheduling
//! point ([`super::step_here`]) gives the schedules that yielding gives.

use std::sync::Arc;

use crate::race::{explore, Config, Report};

use super::CHOOSE_IN_PLACE;

/// Main and two echo goroutines over unbuffered channels; the echoes race
/// on a counter as they start (what they do in the loop is ordered through
/// main).
async fn echoes() {
    let ping = crate::chan::<u64>(0);
    let pong = crate::chan::<u64>(0);
    let x = Arc::new(crate::Shared::new(0u64));
    for _ in 0..2 {
        let (rx, tx, x) = (ping.receiver(), pong.sender(), x.clone());
        crate::go!(async move {
            x.set(x.get() + 1);
            while let Some(v) = rx.recv().await {
                tx.send(v + 1).await;
            }
        });
    }
    for i in 0..12 {
        ping.send(i).await;
        pong.recv().await;
    }
    ping.close();
}

/// Three producers behind a mutex, two buffered channels, a consumer's
/// `select!` (draws), a `yield_now`, and a goroutine left blocked (a leak).
async fn mixed() {
    let a = crate::chan::<u32>(2);
    let b = crate::chan::<u32>(1);
    let m = Arc::new(crate::sync::Mutex::new(0u32));
    for k in 0..3u32 {
        let (a, b, m) = (a.clone(), b.clone(), m.clone());
        crate::go!(async move {
            for i in 0..4u32 {
                *m.lock().await += 1;
                crate::yield_now().await;
                if (i + k) % 2 == 0 {
                    a.send(i).await;
                } else {
                    b.send(i).await;
                }
            }
        });
    }
    for _ in 0..12 {
        crate::select! {
            recv(a) -> _v => {},
            recv(b) -> _v => {},
        }
    }
    let stuck = crate::chan::<u32>(0);
    crate::go!(async move {
        stuck.recv().await;
    });
}

/// A goroutine panics while the others still run.
async fn panics() {
    let c = crate::chan::<u32>(1);
    let tx = c.clone();
    crate::go!(async move {
        for i in 0..5 {
            tx.send(i).await;
        }
        panic!("boom");
    });
    for _ in 0..8 {
        c.recv().await;
    }
}

/// Runs `program` under `schedules` schedules of each strategy, steps
/// chosen in place (`true`) or by yielding.
fn run<Fut: std::future::Future + 'static>(
    in_place: bool,
    program: fn() -> Fut,
) -> Vec<(u32, Report)> {
    CHOOSE_IN_PLACE.with(|c| c.set(in_place));
    let out = ["random", "pct", "portfolio"]
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let config = Config::default()
                .schedules(25)
                .seed(11 + i as u64)
                .strategy(s.parse().expect("a strategy"))
                .env(false);
            (i as u32, explore(config, program))
        })
        .collect();
    CHOOSE_IN_PLACE.with(|c| c.set(true));
    out
}

fn same_schedules<Fut: std::future::Future + 'static>(program: fn() -> Fut) -> usize {
    let (placed, yielded) = (run(true, program), run(false, program));
    let mut findings = 0;
    for ((s, a), (_, b)) in placed.iter().zip(&yielded) {
        assert_eq!(a.trace_hashes(), b.trace_hashes(), "strategy {s}");
        assert_eq!(
            format!("{:?}", a.findings()),
            format!("{:?}", b.findings()),
            "strategy {s}"
        );
        findings += a.findings().len();
    }
    findings
}

#[test]
fn steps_chosen_in_place_schedule_as_yielding_does() {
    assert!(same_schedules(echoes) > 0, "the echoes' race is found");
    assert!(same_schedules(mixed) > 0, "the leak is found");
    assert!(same_schedules(panics) > 0, "the panic is found");
}
