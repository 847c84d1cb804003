//! How fast the detector explores: schedules per second on a two-goroutine
//! program of ten operations (goro's target is 10,000).
//!
//! Run with `cargo run --release -p goro --example explore_rate`.
fn main() {
    let prog = || async {
        let ch = goro::chan::<u32>(1);
        let tx = ch.clone();
        goro::go!(async move {
            for i in 0..3 {
                tx.send(i).await;
            }
        });
        for _ in 0..3 {
            ch.recv().await;
        }
    };
    let n = 20_000;
    let t = std::time::Instant::now();
    let r = goro::race::explore(goro::race::Config::default().schedules(n).env(false), prog);
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} schedules in {:.3}s = {:.0} schedules/s, {} findings",
        r.schedules_run(),
        s,
        n as f64 / s,
        r.findings().len()
    );
}
