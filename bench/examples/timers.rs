//! Timer resolution (no Go-style workload line): 200 x `sleep(1µs)`, 200 ticks
//! of `tick(10µs)`, 100 x `sleep(500µs)`. Go twin: `bench/go/timers`.
//!
//! ```sh
//! cargo run --release -p goro-bench --example timers
//! (cd bench/go && go run ./timers)
//! ```
use std::time::{Duration, Instant};
fn main() {
    goro::run(async {
        let s = Instant::now();
        for _ in 0..200 {
            goro::time::sleep(Duration::from_micros(1)).await;
        }
        let a = s.elapsed();
        let t = goro::time::tick(Duration::from_micros(10));
        let s = Instant::now();
        for _ in 0..200 {
            t.recv().await;
        }
        let b = s.elapsed();
        let s = Instant::now();
        for _ in 0..100 {
            goro::time::sleep(Duration::from_micros(500)).await;
        }
        let c = s.elapsed();
        println!("sleep1us_x200={a:?} tick10us_x200={b:?} sleep500us_x100={c:?} (late per 500us sleep {:?})", (c / 100).saturating_sub(Duration::from_micros(500)));
    });
}
