//! The guide's fan-out/fan-in `process(ctx, items)`: ten workers range over
//! `jobs`, a feeder sends items in a select against `ctx.done()`, a closer
//! waits on the WaitGroup and closes `results`, and the caller collects.
//!
//! Prints `processed 100 items, sum 10000, err None`; then, with a context
//! cancelled up front, the feeder stops at the first select that picks
//! `ctx.done()` (a select chooses at random among ready cases, so a few items
//! may still get through, as in Go), and `err` is `Some(Canceled)`.
//!
//! Run with `cargo run -p goro --example fanout`.

use goro::context::{self, Context};
use goro::sync::WaitGroup;

type Item = u64;
type Output = u64;

#[derive(Debug)]
struct WorkError;

async fn work(_ctx: &Context, item: Item) -> Result<Output, WorkError> {
    Ok(item * 2 + 1)
}

async fn process(ctx: &Context, items: Vec<Item>) -> (Vec<Output>, Option<context::Error>) {
    let jobs = goro::chan::<Item>(0);
    let results = goro::chan::<Output>(items.len());

    // Fan out: start N workers.
    let wg = WaitGroup::new();
    for _ in 0..10 {
        wg.add(1);
        let (ctx, jobs, results, wg) = (ctx.clone(), jobs.receiver(), results.sender(), wg.clone());
        goro::go!("worker", async move {
            while let Some(item) = jobs.recv().await {
                let Ok(r) = work(&ctx, item).await else {
                    continue;
                };
                results.send(r).await;
            }
            wg.done();
        });
    }

    // Feed jobs.
    {
        let (ctx, jobs) = (ctx.clone(), jobs.sender());
        goro::go!("feeder", async move {
            for item in items {
                goro::select! {
                    send(jobs, item) => {},
                    recv(ctx.done()) -> _ => break,
                }
            }
            jobs.close(); // Go's `defer close(jobs)`
        });
    }

    // Wait, then close results.
    {
        let (wg, results) = (wg.clone(), results.sender());
        goro::go!("closer", async move {
            wg.wait().await;
            results.close();
        });
    }

    let mut out = Vec::new();
    while let Some(r) = results.recv().await {
        out.push(r);
    }
    (out, ctx.err())
}

fn main() {
    goro::run(async {
        let ctx = context::background();
        let (out, err) = process(&ctx, (0..100).collect()).await;
        println!(
            "processed {} items, sum {}, err {:?}",
            out.len(),
            out.iter().sum::<u64>(),
            err
        );

        let (ctx, cancel) = context::with_cancel(&ctx);
        cancel.cancel();
        let (out, err) = process(&ctx, (0..100).collect()).await;
        println!(
            "processed {} items, sum {}, err {:?}",
            out.len(),
            out.iter().sum::<u64>(),
            err
        );
    });
}
