//! `select`: one goroutine (main) loops N times over a select with two
//! always-ready buffered channels, refilled each iteration, and a default
//! case. ns per select. Go twin: `bench/go/select.go`.

/// Runs the workload; see the module docs.
pub async fn run(n: u64) {
    let a = goro::chan::<u64>(1);
    let b = goro::chan::<u64>(1);
    a.send(0).await;
    b.send(0).await;
    let mut defaults = 0u64;
    for _ in 0..n {
        goro::select! {
            // Put the value back (plus one) so the case is ready next time.
            recv(a) -> v => a.send(v.expect("a is never closed") + 1).await,
            recv(b) -> v => b.send(v.expect("b is never closed") + 1).await,
            default => defaults += 1,
        }
    }
    let (va, vb) = (a.recv().await, b.recv().await);
    assert_eq!(defaults, 0, "select: both cases are always ready");
    assert_eq!(
        va.unwrap() + vb.unwrap(),
        n,
        "select: one case per iteration"
    );
}
