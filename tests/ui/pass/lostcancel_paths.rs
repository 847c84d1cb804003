//! Code the path-sensitive lostcancel lint accepts: the cancel function
//! is used on every path, in every way Go's `go vet` counts a use.

use std::time::Duration;

use goro::context::{self, CancelFunc, Context};

/// Called before every return.
#[goro::instrument]
fn on_every_path(parent: &Context, x: Option<u32>) -> Result<u32, String> {
    let (ctx, cancel) = context::with_timeout(parent, Duration::from_secs(1));
    let Some(v) = x else {
        cancel.cancel();
        return Err("none".into());
    };
    let n: u32 = match v.to_string().parse::<u32>() {
        Ok(n) => n,
        Err(e) => {
            cancel.cancel();
            return Err(e.to_string());
        }
    };
    if ctx.err().is_some() {
        cancel.cancel();
        return Ok(0);
    }
    match n {
        0 => cancel.cancel(),
        n if n > 100 => {
            cancel.cancel();
            return Ok(100);
        }
        _ => cancel.cancel(),
    }
    Ok(n)
}

/// Moved into a goroutine, which calls it.
#[goro::instrument]
async fn moved_into_a_goroutine(parent: &Context) -> Option<context::Error> {
    let (ctx, cancel) = context::with_cancel(parent);
    goro::go!(async move {
        goro::yield_now().await;
        cancel.cancel();
    });
    ctx.done().recv().await;
    ctx.err()
}

/// Go's `defer cancel()`: a guard cancels when it is dropped, on every
/// exit, `?` included.
struct CancelOnDrop(CancelFunc);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[goro::instrument]
fn deferred(parent: &Context, s: &str) -> Result<u32, std::num::ParseIntError> {
    let (_ctx, cancel) = context::with_cancel(parent);
    let _cancel = CancelOnDrop(cancel);
    let n = s.parse()?;
    if n == 0 {
        return Ok(1);
    }
    Ok(n)
}

/// Captured by a closure that is called on the paths that need it.
#[goro::instrument]
fn in_a_closure(parent: &Context, early: bool) -> bool {
    let (ctx, cancel) = context::with_cancel(parent);
    let stop = move || cancel.cancel();
    if early {
        return ctx.err().is_none();
    }
    stop();
    ctx.err().is_some()
}

/// Handed back or stored: the caller owns it now.
struct Worker {
    cancel: Option<CancelFunc>,
}

#[goro::instrument]
impl Worker {
    fn start(&mut self, parent: &Context, now: bool) -> Option<Context> {
        let (ctx, cancel) = context::with_cancel(parent);
        if now {
            self.cancel = Some(cancel);
            return Some(ctx);
        }
        cancel.cancel();
        None
    }
}

/// A loop left only by the `break` that follows the call; a panic is no leak.
#[goro::instrument]
fn until_ready(parent: &Context, mut tries: u32) -> u32 {
    let (_ctx, cancel) = context::with_cancel(parent);
    loop {
        tries += 1;
        if tries > 3 {
            cancel.cancel();
            break tries;
        }
        if tries > 100 {
            unreachable!("tries is at most 4");
        }
    }
}

fn main() {
    // Timers need a runtime: everything runs inside `goro::run`.
    goro::run(async move {
        let root = context::background();
        assert_eq!(on_every_path(&root, Some(7)), Ok(7));
        assert!(on_every_path(&root, None).is_err());
        assert_eq!(deferred(&root, "5"), Ok(5));
        assert!(deferred(&root, "x").is_err());
        assert!(in_a_closure(&root, true));
        assert!(in_a_closure(&root, false));
        let mut w = Worker { cancel: None };
        assert!(w.start(&root, true).is_some());
        w.cancel.take().unwrap().cancel();
        assert!(w.start(&root, false).is_none());
        assert_eq!(until_ready(&root, 0), 4);
        assert_eq!(
            moved_into_a_goroutine(&root).await,
            Some(context::Error::Canceled)
        );
    });
}
