//! `fanout_ctx`: `fanout` with the guide's cancellation. The feeder sends
//! each item in a `select!` against `ctx.done()` of a cancel context derived
//! from `context::background()`, which is never cancelled while it runs.
//! ns per item. Go twin: `bench/go/fanout_ctx.go`.

use goro::context;
use goro::sync::WaitGroup;

use super::fanout::{check, collect, WORKERS};

/// Runs the workload; see the module docs.
pub async fn run(n: u64) {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let jobs = goro::chan::<u64>(0);
    let results = goro::chan::<u64>(n as usize);
    let wg = WaitGroup::new();
    for _ in 0..WORKERS {
        wg.add(1);
        let (jobs, results, wg) = (jobs.receiver(), results.sender(), wg.clone());
        goro::go!(async move {
            while let Some(x) = jobs.recv().await {
                results.send(x * 2 + 1).await;
            }
            wg.done();
        });
    }
    let feed = jobs.sender();
    goro::go!(async move {
        for i in 0..n {
            // `ctx.done()` per iteration, as the guide's `case <-ctx.Done()`
            // evaluates it on every entry to the select.
            goro::select! {
                send(feed, i) => {},
                recv(ctx.done()) -> _ => break,
            }
        }
        feed.close();
    });
    let (closer_wg, closer_results) = (wg.clone(), results.sender());
    goro::go!(async move {
        closer_wg.wait().await;
        closer_results.close();
    });
    let out = collect(&results.receiver()).await;
    // The guide's `defer cancel()`: released once the work is collected.
    cancel.cancel();
    check(&out, n);
}
