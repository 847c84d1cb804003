//! A worker pool: N goroutines take jobs from one channel and send results
//! to another.

/// Squares every job on `workers` goroutines and returns the results (in
/// completion order).
///
/// # Examples
///
/// ```
/// let mut out = goro::run(goro_demo::pool::square_all(vec![1, 2, 3], 1));
/// out.sort();
/// assert_eq!(out, [1, 4, 9]);
/// ```
pub async fn square_all(jobs: Vec<u64>, workers: usize) -> Vec<u64> {
    let n = jobs.len();
    let queue = goro::chan::<u64>(n);
    let results = goro::chan::<u64>(n);
    for j in jobs {
        queue.send(j).await;
    }
    queue.close();
    for _ in 0..workers {
        let (queue, results) = (queue.clone(), results.clone());
        goro::go!("worker", async move {
            while let Some(j) = queue.recv().await {
                results.send(j * j).await;
            }
            // BUG: every worker closes the shared results channel when the
            // queue runs dry. With one worker that is fine; with two, the
            // second close panics, and a slower worker's send may come after
            // a faster worker's close.
            results.close();
        });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(r) = results.recv().await {
        out.push(r);
    }
    out
}
