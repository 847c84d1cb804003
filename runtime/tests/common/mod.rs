//! Helpers shared by the integration test binaries. Each binary uses a
//! subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Hang guard for anything that would block forever if the core were wrong.
/// Generous on purpose: it only turns a hang into a failure, it never bounds
/// performance.
pub const HANG: Duration = Duration::from_secs(20);

/// Runs `f` on its own thread and returns its result or its panic payload.
///
/// Panics if `f` does not finish within [`HANG`]: a test of "run must stop"
/// must fail rather than hang the suite. The stuck thread is leaked, which is
/// fine for a test process that is about to report a failure.
pub fn guarded<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::Result<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("hung: did not finish within {HANG:?}"))
}

/// The message of a panic payload (`&str` or `String`).
pub fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Polls `fut` once with a no-op waker. Channel operations do not need a
/// runtime, so this gives fully deterministic tests of pending operations:
/// the test itself plays every counterparty.
pub fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    Pin::new(fut).poll(&mut cx)
}

/// Waits inside a goroutine until `cond` holds, panicking after [`HANG`].
/// Polling with a short sleep keeps waits free of timing assumptions.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Parses Go's crash line `goroutine N [name] panicked at FILE:LINE: MSG`
/// (the `[name]` part is optional) into its parts.
pub fn parse_report(report: &str) -> Option<GoPanic> {
    let rest = report.strip_prefix("goroutine ")?;
    let (id, rest) = rest.split_once(' ')?;
    let id = id.parse().ok()?;
    let (name, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (name, r) = r.split_once("] ")?;
            (Some(name.to_string()), r)
        }
        None => (None, rest),
    };
    let rest = rest.strip_prefix("panicked at ")?;
    let (loc, message) = rest.split_once(": ")?;
    let (file, line) = loc.rsplit_once(':')?;
    Some(GoPanic {
        id,
        name,
        file: file.to_string(),
        line: line.parse().ok()?,
        message: message.to_string(),
    })
}

/// The parts of Go's crash line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoPanic {
    pub id: u64,
    pub name: Option<String>,
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// Runs `f` (a `goro::run` that must panic with a goroutine report) under the
/// hang guard and parses the report.
pub fn run_panic_report(f: impl FnOnce() + Send + 'static) -> GoPanic {
    let payload = guarded(f).expect_err("goro::run returned instead of panicking");
    let msg = panic_message(&*payload);
    parse_report(&msg).unwrap_or_else(|| panic!("not Go's crash line: {msg:?}"))
}

/// Polls `fut` once with the calling goroutine's real waker.
pub async fn poll_here<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

/// Polls `fut` once; if it is pending, yields (so counterparties can commit
/// it meanwhile) and drops it without polling it again: the harshest
/// cancellation, after a hand-off the operation never got to see.
pub async fn poll_then_drop<F: Future + Unpin>(mut fut: F) -> Option<F::Output> {
    match poll_here(&mut fut).await {
        Poll::Ready(v) => Some(v),
        Poll::Pending => {
            goro::yield_now().await;
            None
        }
    }
}

/// Asserts `got` is exactly `0..n` in order, reporting the first deviation
/// and what was lost or duplicated rather than two huge vectors.
pub fn assert_sequence(got: &[u32], n: u32, ctx: &str) {
    if got.iter().copied().eq(0..n) {
        return;
    }
    let first_bad = got
        .iter()
        .zip(0..n)
        .position(|(&g, want)| g != want)
        .unwrap_or(got.len().min(n as usize));
    let mut count = vec![0u32; n as usize];
    let mut unexpected = Vec::new();
    for &g in got {
        match count.get_mut(g as usize) {
            Some(c) => *c += 1,
            None => unexpected.push(g),
        }
    }
    let lost: Vec<u32> = (0..n).filter(|&v| count[v as usize] == 0).collect();
    let dup: Vec<u32> = (0..n).filter(|&v| count[v as usize] > 1).collect();
    panic!(
        "{ctx}: received {} values, expected 0..{n}; first deviation at index {first_bad} \
         (got {:?}); lost {} e.g. {:?}; duplicated {} e.g. {:?}; never sent {:?}",
        got.len(),
        got.get(first_bad),
        lost.len(),
        &lost[..lost.len().min(8)],
        dup.len(),
        &dup[..dup.len().min(8)],
        unexpected,
    );
}
