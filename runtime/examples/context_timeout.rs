//! The guide's `handleRequest`: a 2-second timeout on a request context,
//! passed down a call tree to a slow database and a notifier.
//!
//! Prints `notified alice about request 1`, then, for the slow lookup,
//! `request 2 failed: context deadline exceeded`.
//!
//! Run with `cargo run -p goro --example context_timeout`.

use std::time::Duration;

use goro::context::{self, Context, Key};

static REQUEST_ID: Key<u32> = Key::new("request_id");

#[derive(Debug)]
enum Error {
    Context(context::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Context(e) => write!(f, "{e}"),
        }
    }
}

/// A database whose lookups take `latency`, and that gives up when the
/// context is done, as a real driver does.
struct Db {
    latency: Duration,
}

impl Db {
    async fn get_user(&self, ctx: &Context, id: &str) -> Result<String, Error> {
        goro::select! {
            recv(goro::time::after(self.latency)) -> _ => Ok(id.to_string()),
            recv(ctx.done()) -> _ => Err(Error::Context(ctx.err().unwrap())),
        }
    }
}

async fn notify(ctx: &Context, user: String) -> Result<(), Error> {
    if let Some(e) = ctx.err() {
        return Err(Error::Context(e));
    }
    let req = ctx.value(&REQUEST_ID).unwrap_or_default();
    println!("notified {user} about request {req}");
    Ok(())
}

async fn handle_request(ctx: &Context, db: &Db, id: &str) -> Result<(), Error> {
    let (ctx, cancel) = context::with_timeout(ctx, Duration::from_secs(2));
    // Go's `defer cancel()`: release the timer on every path out.
    let result = async {
        let user = db.get_user(&ctx, id).await?;
        notify(&ctx, user).await
    }
    .await;
    cancel.cancel();
    result
}

fn main() {
    goro::run(async {
        let root = context::background();

        let fast = Db {
            latency: Duration::from_millis(10),
        };
        let ctx = context::with_value(&root, &REQUEST_ID, 1);
        if let Err(e) = handle_request(&ctx, &fast, "alice").await {
            println!("request 1 failed: {e}");
        }

        let slow = Db {
            latency: Duration::from_secs(3),
        };
        let ctx = context::with_value(&root, &REQUEST_ID, 2);
        if let Err(e) = handle_request(&ctx, &slow, "bob").await {
            println!("request 2 failed: {e}");
        }
    });
}
