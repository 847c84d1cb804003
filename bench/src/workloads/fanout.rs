//! `fanout`: the fan-out/fan-in `process` of the Go concurrency guide. Ten
//! workers range over an unbuffered `jobs` channel and send `x * 2 + 1` into
//! `results` (capacity N); a feeder sends the N items and closes `jobs`; a
//! closer waits on the WaitGroup and closes `results`; main collects.
//! ns per item. Go twin: `bench/go/fanout.go`.
//!
//! goro-only knob: `GORO_BENCH_FANOUT_WORK=<k>` makes each worker do `k`
//! steps of dependent arithmetic per item before it sends the result (0,
//! the workload of `WORKLOADS.md`, by default), to see how the executor
//! spreads compute-bound workers over the cores (bench/README.md,
//! "Stealing only what waits").

use goro::sync::WaitGroup;

/// Worker count of the guide.
pub(crate) const WORKERS: u64 = 10;

/// Runs the workload; see the module docs.
pub async fn run(n: u64) {
    let work = work();
    let jobs = goro::chan::<u64>(0);
    let results = goro::chan::<u64>(n as usize);
    let wg = WaitGroup::new();
    for _ in 0..WORKERS {
        wg.add(1);
        let (jobs, results, wg) = (jobs.receiver(), results.sender(), wg.clone());
        goro::go!(async move {
            while let Some(x) = jobs.recv().await {
                busy(x, work);
                results.send(x * 2 + 1).await;
            }
            wg.done();
        });
    }
    let feed = jobs.sender();
    goro::go!(async move {
        for i in 0..n {
            feed.send(i).await;
        }
        feed.close();
    });
    let (closer_wg, closer_results) = (wg.clone(), results.sender());
    goro::go!(async move {
        closer_wg.wait().await;
        closer_results.close();
    });
    let out = collect(&results.receiver()).await;
    check(&out, n);
}

/// Main's fan-in loop: `for r := range results { out = append(out, r) }`.
pub(crate) async fn collect(results: &goro::Receiver<u64>) -> Vec<u64> {
    // Grown by push as the guide's `append` grows `out := []Result{}`.
    let mut out = Vec::new();
    while let Some(r) = results.recv().await {
        out.push(r);
    }
    out
}

/// Every item was processed exactly once (results arrive in any order).
pub(crate) fn check(out: &[u64], n: u64) {
    assert_eq!(out.len() as u64, n, "fanout: one result per item");
    let sum = out.iter().fold(0u64, |s, &r| s.wrapping_add(r));
    // sum of 2x + 1 over 0..n = 2 * triangle(n) + n
    let want = super::buffered::triangle(n).wrapping_mul(2).wrapping_add(n);
    assert_eq!(sum, want, "fanout: every result is x * 2 + 1");
}

/// The environment variable of the per-item busy work (see the module docs).
pub(crate) const WORK_VAR: &str = "GORO_BENCH_FANOUT_WORK";

/// `GORO_BENCH_FANOUT_WORK` as a step count: 0 when unset; `Err` names
/// the bad value.
pub(crate) fn parse_work() -> Result<u64, String> {
    match std::env::var_os(WORK_VAR) {
        None => Ok(0),
        Some(v) => v
            .to_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{WORK_VAR}={v:?}: expected a step count (an integer >= 0)")),
    }
}

/// The per-item work, checked by `main` before the run.
fn work() -> u64 {
    parse_work().unwrap_or(0)
}

/// `steps` of dependent arithmetic the optimizer cannot remove.
fn busy(x: u64, steps: u64) {
    let mut acc = x;
    for k in 0..steps {
        acc = std::hint::black_box(acc.wrapping_mul(31).wrapping_add(k));
    }
    std::hint::black_box(acc);
}
