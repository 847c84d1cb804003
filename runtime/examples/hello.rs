//! The guide's first example: `go say("hello")` beside `say("world")`.
//!
//! Go's version prints `world` and, if the goroutine gets to run within the
//! crude millisecond of sleep, `hello` (in either order).
//!
//! Run with `cargo run -p goro --example hello`.

use std::time::Duration;

fn say(msg: &str) {
    println!("{msg}");
}

fn main() {
    goro::run(async {
        goro::go!(async { say("hello") }); // runs concurrently
        say("world");
        goro::time::sleep(Duration::from_millis(1)).await; // crude wait; we'll do better
    });
}
