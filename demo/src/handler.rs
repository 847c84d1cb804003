//! A request handler with a deadline.

use std::time::Duration;

use goro::context::{self, Context};

/// Looks a user up, giving the backend at most 50 ms.
///
/// # Examples
///
/// ```
/// let name = goro::run(async {
///     goro_demo::handler::handle(&goro::context::background(), 7).await
/// });
/// assert_eq!(name.as_deref(), Some("user-7"));
/// ```
pub async fn handle(parent: &Context, user: u64) -> Option<String> {
    // BUG: the cancel function is dropped, not called. In Go this is the
    // `lostcancel` vet check: the context and its timer live until the
    // timeout fires, once per request. goro reports it as `lost-cancel`.
    let (ctx, _cancel) = context::with_timeout(parent, Duration::from_millis(50));
    backend(&ctx, user).await
}

/// The backend: answers after 10 ms unless the context is done first.
async fn backend(ctx: &Context, user: u64) -> Option<String> {
    goro::select! {
        recv(goro::time::after(Duration::from_millis(10))) -> _ => Some(format!("user-{user}")),
        recv(ctx.done()) -> _ => None,
    }
}
