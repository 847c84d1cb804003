//! `spawn_park`: start N goroutines that each block receiving from one shared
//! unbuffered channel; once all have started (a WaitGroup counts starts),
//! close the channel and wait for all to exit. Peak RSS / N is the memory of
//! one parked goroutine. Go twin: `bench/go/spawn_park.go`.

use goro::sync::WaitGroup;

/// Runs the workload; see the module docs.
pub async fn run(n: u64) {
    let gate = goro::chan::<()>(0);
    let started = WaitGroup::new();
    let exited = WaitGroup::new();
    started.add(n as isize);
    exited.add(n as isize);
    for _ in 0..n {
        // A `Chan` clone is one pointer, like the Go closure's captured chan.
        let gate = gate.clone();
        let (started, exited) = (started.clone(), exited.clone());
        goro::go!(async move {
            started.done();
            // Parks until the close; nothing is ever sent.
            let v = gate.recv().await;
            assert!(v.is_none(), "spawn_park: nothing is sent on the gate");
            exited.done();
        });
    }
    started.wait().await;
    gate.close();
    exited.wait().await;
}
