use std::time::Duration;

use goro::context;

#[goro::instrument]
async fn fetch(parent: &context::Context) {
    let (ctx, _) = context::with_timeout(parent, Duration::from_secs(2));
    ctx.done().recv().await;
}

#[goro::instrument]
fn start(parent: &context::Context) {
    let _ = context::with_cancel(parent);
}

fn main() {
    let _ = fetch;
    let _ = start;
}
