//! The `mutex` workload of the benchmark suite: 8 goroutines each increment
//! one mutex-protected counter N/8 times; prints ns per increment. Also the
//! uncontended lock + unlock cost.
//!
//! `cargo run --release -p goro --example mutex_bench [N]` (N = 10,000,000).

use std::sync::Arc;
use std::time::Instant;

use goro::sync::{Mutex, WaitGroup};

const GOROUTINES: u64 = 8;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(10_000_000, |s| s.parse().expect("N"));
    let per = n / GOROUTINES;

    let (contended, total) = goro::run(async move {
        let m = Arc::new(Mutex::new(0u64));
        let wg = WaitGroup::new();
        let start = Instant::now();
        for _ in 0..GOROUTINES {
            wg.add(1);
            let (m, wg) = (m.clone(), wg.clone());
            goro::go!(async move {
                for _ in 0..per {
                    *m.lock().await += 1;
                }
                wg.done();
            });
        }
        wg.wait().await;
        let t = start.elapsed();
        let total = *m.lock().await;
        (t, total)
    });
    assert_eq!(total, per * GOROUTINES);
    let ops = per * GOROUTINES;
    println!(
        "mutex: n={ops} wall_s={:.3} ns_per_op={:.1}",
        contended.as_secs_f64(),
        contended.as_nanos() as f64 / ops as f64
    );

    let uncontended = goro::run(async move {
        let m = Mutex::new(0u64);
        let start = Instant::now();
        for _ in 0..ops {
            *m.lock().await += 1;
        }
        let t = start.elapsed();
        assert_eq!(*m.lock().await, ops);
        t
    });
    println!(
        "uncontended lock+unlock: n={ops} ns_per_op={:.1}",
        uncontended.as_nanos() as f64 / ops as f64
    );
}
