//! `spawn`: start N goroutines that each call `wg.done()`; wait for all.
//! ns per goroutine. Go twin: `bench/go/spawn.go`.

use goro::sync::WaitGroup;

/// Runs the workload; see the module docs.
pub async fn run(n: u64) {
    let wg = WaitGroup::new();
    // One `add(n)` up front, as the Go twin's `wg.Add(n)`: the cost measured
    // is spawning, not N contended counter increments.
    wg.add(n as isize);
    for _ in 0..n {
        let wg = wg.clone();
        goro::go!(async move {
            wg.done();
        });
    }
    wg.wait().await;
}
