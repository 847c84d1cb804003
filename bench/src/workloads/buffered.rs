//! `buffered`: one producer sends N integers into a channel of capacity 1024,
//! one consumer (main) receives them. ns per item. Go twin:
//! `bench/go/buffered.go`.

/// The channel capacity of `bench/WORKLOADS.md`.
const CAP: usize = 1024;

/// Runs the workload; see the module docs.
pub async fn run(n: u64) {
    let ch = goro::chan::<u64>(CAP);
    let tx = ch.sender();
    goro::go!(async move {
        for i in 0..n {
            tx.send(i).await;
        }
        tx.close();
    });
    let mut sum = 0u64;
    while let Some(v) = ch.recv().await {
        sum = sum.wrapping_add(v);
    }
    assert_eq!(sum, triangle(n), "buffered: every item arrives once");
}

/// `0 + 1 + .. + (n - 1)`, modulo 2^64 like the wrapping sum.
pub(crate) fn triangle(n: u64) -> u64 {
    if n % 2 == 0 {
        (n / 2).wrapping_mul(n - 1)
    } else {
        n.wrapping_mul((n - 1) / 2)
    }
}
