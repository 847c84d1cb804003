//! The guide's mutex-protected `Counter`, incremented by 100 goroutines.
//!
//! Prints `1000` (100 goroutines x 10 increments), every time.
//!
//! Run with `cargo run -p goro --example counter`.

use std::sync::Arc;

use goro::sync::{Mutex, WaitGroup};

#[derive(Default)]
struct Counter {
    n: Mutex<i64>,
}

impl Counter {
    async fn inc(&self) {
        *self.n.lock().await += 1; // the guard unlocks at the end of the statement
    }

    async fn value(&self) -> i64 {
        *self.n.lock().await
    }
}

fn main() {
    goro::run(async {
        let c = Arc::new(Counter::default());
        let wg = WaitGroup::new();
        for _ in 0..100 {
            wg.add(1);
            let (c, wg) = (c.clone(), wg.clone());
            goro::go!(async move {
                for _ in 0..10 {
                    c.inc().await;
                }
                wg.done();
            });
        }
        wg.wait().await;
        println!("{}", c.value().await);
    });
}
