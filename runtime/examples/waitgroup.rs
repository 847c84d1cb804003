//! The guide's WaitGroup example: fetch three URLs concurrently, wait for all.
//!
//! Prints `fetched a`, `fetched b`, `fetched c` in some order, then `all done`.
//!
//! Run with `cargo run -p goro --example waitgroup`.

use goro::sync::WaitGroup;

async fn fetch(u: &str) {
    println!("fetched {u}");
}

fn main() {
    goro::run(async {
        let wg = WaitGroup::new();
        let urls = ["a", "b", "c"];
        for u in urls {
            wg.add(1);
            let wg = wg.clone();
            // `u` is moved into the goroutine: the closure-capture gotcha of
            // Go < 1.22 cannot happen in Rust.
            goro::go!(async move {
                fetch(u).await;
                wg.done(); // Go's `defer wg.Done()`
            });
        }
        wg.wait().await;
        println!("all done");
    });
}
