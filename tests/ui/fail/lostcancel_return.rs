use std::time::Duration;

use goro::context;

#[goro::instrument]
async fn fetch(parent: &context::Context, ch: goro::Chan<u32>) -> Option<u32> {
    let (ctx, cancel) = context::with_timeout(parent, Duration::from_secs(2));
    if ctx.err().is_some() {
        return None;
    }
    let v = ch.recv().await;
    cancel.cancel();
    v
}

fn main() {
    let _ = fetch;
}
