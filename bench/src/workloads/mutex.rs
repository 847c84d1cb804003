//! `mutex`: 8 goroutines each increment one mutex-protected counter N/8
//! times. ns per increment. Go twin: `bench/go/mutex.go`.

use std::sync::Arc;

use goro::sync::{Mutex, WaitGroup};

/// Goroutine count of `bench/WORKLOADS.md`.
pub(crate) const GOROUTINES: u64 = 8;

/// Runs the workload; see the module docs.
pub async fn run(n: u64) {
    let counter = Arc::new(Mutex::new(0u64));
    let wg = WaitGroup::new();
    wg.add(GOROUTINES as isize);
    for g in 0..GOROUTINES {
        let (counter, wg) = (counter.clone(), wg.clone());
        goro::go!(async move {
            for _ in 0..super::share(n, GOROUTINES, g) {
                *counter.lock().await += 1;
            }
            wg.done();
        });
    }
    wg.wait().await;
    assert_eq!(*counter.lock().await, n, "mutex: no increment is lost");
}
