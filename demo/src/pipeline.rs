//! A two-stage pipeline: a producer goroutine feeds a consumer.

/// Sums `items` through a producer goroutine, failing on the first zero.
///
/// # Errors
///
/// The position of the first zero.
///
/// # Examples
///
/// ```
/// assert_eq!(goro::run(goro_demo::pipeline::sum(vec![1, 2, 3])), Ok(6));
/// ```
pub async fn sum(items: Vec<u64>) -> Result<u64, usize> {
    let out = goro::chan::<u64>(0);
    let tx = out.clone();
    goro::go!("producer", async move {
        for i in items {
            tx.send(i).await;
        }
        tx.close();
    });
    let mut total = 0;
    let mut pos = 0;
    while let Some(v) = out.recv().await {
        if v == 0 {
            // BUG: returning early leaves the producer blocked forever on
            // its next send: nothing will ever receive from `out` again.
            return Err(pos);
        }
        total += v;
        pos += 1;
    }
    Ok(total)
}
