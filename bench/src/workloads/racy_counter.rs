//! `racy_counter`: 8 goroutines each do an unsynchronized read-modify-write
//! of one `Shared<i64>` N/8 times. Lost updates are expected (that is the
//! race); under detection the race must be reported once. ns per increment.
//! Go twin: `bench/go/racy_counter.go`.

use std::sync::Arc;

use goro::sync::WaitGroup;
use goro::Shared;

use super::mutex::GOROUTINES;

/// Runs the workload; see the module docs.
pub async fn run(n: u64) {
    let counter = Arc::new(Shared::new(0i64));
    let wg = WaitGroup::new();
    wg.add(GOROUTINES as isize);
    for g in 0..GOROUTINES {
        let (counter, wg) = (counter.clone(), wg.clone());
        goro::go!(async move {
            // The variable's address, taken once, as Go's closure holds it.
            // Through the `Arc` at each access, the loop would reload the
            // `Arc` from the goroutine's state after every store: rustc
            // cannot tell that state from the counter (a future's `&mut
            // self` is not `noalias`), so the compiled loop, not `Shared`,
            // would double the time (bench/README.md, "racy_counter: the
            // loop rustc compiles").
            let counter = &*counter;
            for _ in 0..super::share(n, GOROUTINES, g) {
                // Go's `counter++` on a plain variable: a racy read, then a
                // racy write.
                counter.set(counter.get() + 1);
            }
            wg.done();
        });
    }
    wg.wait().await;
    // Lost updates are the point; only a counter above N would be a bug.
    let got = counter.get();
    assert!(
        (1..=n as i64).contains(&got),
        "racy_counter: {got} not in 1..={n}"
    );
}
