//! `pingpong`: two goroutines (main and an echo goroutine) bounce an integer
//! over two unbuffered channels. ns per round trip. Go twin:
//! `bench/go/pingpong.go`.

/// Runs the workload; see the module docs.
pub async fn run(n: u64) {
    let ping = goro::chan::<u64>(0);
    let pong = goro::chan::<u64>(0);
    let (rx, tx) = (ping.receiver(), pong.sender());
    goro::go!(async move {
        while let Some(v) = rx.recv().await {
            tx.send(v + 1).await;
        }
    });
    let mut v = 0;
    for _ in 0..n {
        ping.send(v).await;
        v = pong.recv().await.expect("pingpong: pong is never closed");
    }
    ping.close();
    assert_eq!(v, n, "pingpong: every round trip adds one");
}
