use goro::context;

#[goro::instrument]
fn by_state(parent: &context::Context, state: Option<u32>) -> u32 {
    let (ctx, cancel) = context::with_cancel(parent);
    match state {
        Some(n) => {
            cancel.cancel();
            n
        }
        None => {
            drop(ctx);
            0
        }
    }
}

#[goro::instrument]
fn when_done(parent: &context::Context, done: bool) {
    let (ctx, cancel) = context::with_cancel(parent);
    drop(ctx);
    if done {
        cancel.cancel();
    }
}

#[goro::instrument]
fn per_item(parent: &context::Context, items: &[u32]) {
    for item in items {
        let (ctx, cancel) = context::with_cancel(parent);
        if *item == 0 {
            continue;
        }
        drop(ctx);
        cancel.cancel();
    }
}

fn main() {
    let _ = by_state;
    let _ = when_done;
    let _ = per_item;
}
