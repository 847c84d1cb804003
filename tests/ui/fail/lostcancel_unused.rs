use std::time::Duration;

use goro::context;

#[goro::instrument]
async fn fetch(parent: &context::Context) {
    let (ctx, cancel) = context::with_timeout(parent, Duration::from_secs(2));
    ctx.done().recv().await;
}

#[goro::instrument]
fn watch(parent: &context::Context) -> context::Context {
    let (ctx, _cancel) = goro::context::with_deadline(parent, goro::time::now());
    ctx
}

fn main() {
    let _ = fetch;
    let _ = watch;
}
