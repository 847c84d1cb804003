//! The guide's `select`: wait for a result, a timeout, or cancellation,
//! whichever comes first; then the non-blocking poll with `default`.
//!
//! Prints `handled result 7`, `timeout`, `context canceled`, then
//! `nothing ready`, as the Go version does.
//!
//! Run with `cargo run -p goro --example select_timeout`.

use std::time::Duration;

use goro::context::{self, Context};
use goro::Receiver;

#[derive(Debug)]
enum Error {
    Timeout,
    Context(context::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Timeout => f.write_str("timeout"),
            Error::Context(e) => write!(f, "{e}"),
        }
    }
}

fn handle(msg: i32) {
    println!("handled result {msg}");
}

async fn wait_for(ctx: &Context, results: &Receiver<i32>, timeout: Duration) -> Result<(), Error> {
    goro::select! {
        recv(results) -> msg => {
            handle(msg.unwrap_or_default());
            Ok(())
        }
        recv(goro::time::after(timeout)) -> _ => Err(Error::Timeout),
        recv(ctx.done()) -> _ => Err(Error::Context(ctx.err().unwrap())),
    }
}

fn main() {
    goro::run(async {
        let bg = context::background();
        let results = goro::chan::<i32>(1);

        // A result is ready.
        results.send(7).await;
        if let Err(e) = wait_for(&bg, &results.receiver(), Duration::from_secs(5)).await {
            println!("{e}");
        }

        // Nothing arrives: the timer fires.
        if let Err(e) = wait_for(&bg, &results.receiver(), Duration::from_millis(20)).await {
            println!("{e}");
        }

        // The context is cancelled first.
        let (ctx, cancel) = context::with_cancel(&bg);
        cancel.cancel();
        if let Err(e) = wait_for(&ctx, &results.receiver(), Duration::from_secs(5)).await {
            println!("{e}");
        }

        // A default case makes the select a non-blocking poll.
        goro::select! {
            recv(results) -> msg => handle(msg.unwrap_or_default()),
            default => println!("nothing ready"),
        }
    });
}
