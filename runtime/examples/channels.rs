//! The guide's channel examples: an unbuffered send/receive, then a buffered
//! channel drained with `range` after `close`.
//!
//! Prints `42`, then `a`, `b`, `c`, as Go's version does.
//!
//! Run with `cargo run -p goro --example channels`.

fn main() {
    goro::run(async {
        let ch = goro::chan::<i32>(0); // unbuffered
        let tx = ch.clone();
        goro::go!(async move { tx.send(42).await }); // send (blocks until received)
        let v = ch.recv().await.unwrap(); // receive
        println!("{v}"); // 42

        // Buffered channel: sends block only when the buffer is full.
        let buf = goro::chan::<&str>(3);
        buf.send("a").await; // no block
        buf.send("b").await;
        buf.send("c").await;
        buf.close(); // signal no more sends
        while let Some(s) = buf.recv().await {
            println!("{s}"); // a b c
        }
        // Receiving from a closed, drained channel returns at once: `ok` is false.
        assert_eq!(buf.recv().await, None);
    });
}
