//! What the ports of Go's race-detector suite (`src/runtime/race/testdata`
//! in golang/go) share: the verdicts and the few Go constructs that need a
//! helper in Rust.
//!
//! A Go test `TestRaceX` becomes `race_x` and must find a data race (or the
//! kind of finding that matches what Go reports, e.g. `send-on-closed` where
//! Go reports a race between `close` and a send); `TestNoRaceX` becomes
//! `no_race_x` and must find nothing at all. A Go variable shared by
//! goroutines becomes a [`Shared`] (in an `Arc`, as Go closures capture by
//! reference); `time.Sleep` becomes [`goro::time::sleep`] (virtual under the
//! detector); `runtime.Gosched()` becomes [`goro::yield_now`].

// Each suite uses a subset of these helpers.
#![allow(dead_code)]

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use goro::race::{explore, Config, FindingKind, Report};
use goro::Shared;

/// Schedules per test: modest, so that the whole suite stays fast.
pub const SCHEDULES: u32 = 20;

/// The settings of every ported test: fixed, whatever `GORO_*` CI exports.
pub fn config() -> Config {
    Config::default().schedules(SCHEDULES).seed(0).env(false)
}

/// Runs a ported test's body under the detector.
pub fn run<F, Fut>(program: F) -> Report
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    explore(config(), program)
}

/// A `TestRace*` whose Go verdict is a report of `kind`.
#[track_caller]
pub fn expect<F, Fut>(kind: FindingKind, program: F)
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    let report = run(program);
    assert!(
        report.has(kind),
        "expected {kind}, the detector found:\n{report}"
    );
}

/// A `TestRace*`: the detector must report a data race.
#[track_caller]
pub fn race<F, Fut>(program: F)
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    expect(FindingKind::DataRace, program);
}

/// A `TestNoRace*`: the detector must report none of what Go's race
/// detector checks (races and the panics it shares), and every schedule must
/// finish. Go's suite does not care whether a test leaves a goroutine
/// blocked when it returns; goro reports that as a leak, which is not a
/// race and not this suite's business.
#[track_caller]
pub fn no_race<F, Fut>(program: F)
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    let report = run(program);
    let race_kinds: Vec<_> = report
        .findings()
        .iter()
        .filter(|f| f.kind != FindingKind::GoroutineLeak)
        .collect();
    assert!(
        race_kinds.is_empty(),
        "expected no finding, the detector found:\n{report}"
    );
    assert!(
        report.step_limited().is_empty(),
        "a schedule hit the step limit:\n{report}"
    );
}

/// A Go variable: shared by reference between the goroutines that use it.
pub fn var<T>(v: T) -> Arc<Shared<T>> {
    Arc::new(Shared::new(v))
}

/// Go's `defer func() { recover() }()` around `body`: runs it, and returns
/// the panic's payload if it panicked (`None`: `recover()` returned nil).
pub async fn recover<F: Future>(body: F) -> Option<Box<dyn Any + Send>> {
    let mut body = std::pin::pin!(body);
    std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(cx))) {
            Ok(Poll::Ready(_)) => Poll::Ready(None),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Some(payload)),
        }
    })
    .await
}

/// Go's `time.Duration(n)`: `n` nanoseconds (`time.Sleep(1e7)` is 10 ms).
pub fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
