//! The clock: every read of the current time and every timer that goro
//! creates (`time::sleep`, `time::after`, tickers, context deadlines) goes
//! through this module, so that the detecting scheduler can substitute a
//! virtual clock in one place.
//!
//! Production: the OS monotonic clock, and timers that are tokio tasks. They
//! are not goroutines (they do not count in `num_goroutine`), and each one
//! ends when it has fired or when its [`Timer`] stops it.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::time::Instant;

/// How far the clock's origin lies before its first reading. Instants are
/// offsets from the origin, so this is how far back `now() - d` can reach
/// (Go's `time.Now().Add(-d)` has no lower bound at all).
const HEADROOM: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// Timers further out than this are parked here: tokio's wheel does the same
/// (about 30 years), and nothing waits that long.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// The process-wide real instant that `HEADROOM` after the origin maps to.
fn base() -> std::time::Instant {
    static BASE: OnceLock<std::time::Instant> = OnceLock::new();
    *BASE.get_or_init(std::time::Instant::now)
}

/// The current time.
pub(crate) fn now() -> Instant {
    Instant::from_clock(HEADROOM + base().elapsed())
}

/// `at` relative to the clock's first reading: `Ok(after)` or `Err(before)`.
pub(crate) fn since_start(at: Instant) -> Result<Duration, Duration> {
    let off = at.clock_offset();
    off.checked_sub(HEADROOM).ok_or_else(|| HEADROOM - off)
}

fn to_tokio(at: Instant) -> tokio::time::Instant {
    let real = match since_start(at) {
        Ok(after) => base() + after.min(FAR_FUTURE),
        // Before the first reading: long due.
        Err(_) => base(),
    };
    tokio::time::Instant::from_std(real)
}

#[track_caller]
fn runtime(what: &str) -> tokio::runtime::Handle {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h,
        Err(_) => panic!(
            "goro: {what} needs a running runtime; call it inside `goro::run(async {{ .. }})`"
        ),
    }
}

pin_project_lite::pin_project! {
    /// Completes at `deadline`.
    pub(crate) struct Sleep {
        #[pin]
        inner: tokio::time::Sleep,
        deadline: Instant,
    }
}

/// A future that completes at `deadline` (at once if it has passed).
#[track_caller]
pub(crate) fn sleep_until(deadline: Instant) -> Sleep {
    runtime("sleep");
    Sleep {
        inner: tokio::time::sleep_until(to_tokio(deadline)),
        deadline,
    }
}

impl Sleep {
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

/// A pending timer. Dropping it stops it; [`Timer::detach`] lets it run.
///
/// Stopping is asynchronous: a callback that is already running on another
/// thread finishes. Callers that must not see a late firing (a `Ticker`
/// after `stop`) filter it themselves.
pub(crate) struct Timer {
    task: Option<tokio::task::AbortHandle>,
}

impl Timer {
    /// Runs `f` once at `deadline` (soon, if it has passed).
    #[track_caller]
    pub(crate) fn at<F>(deadline: Instant, f: F) -> Timer
    where
        F: FnOnce() + Send + 'static,
    {
        let rt = runtime("a timer");
        // Made here, not in the task, so that a runtime without a time driver
        // panics at the caller.
        let sleep = tokio::time::sleep_until(to_tokio(deadline));
        let task = rt.spawn(async move {
            sleep.await;
            f();
        });
        Timer {
            task: Some(task.abort_handle()),
        }
    }

    /// Runs `f` at `first` and then every `period` while it returns `true`.
    /// Firings the task itself is too late for are skipped, not bunched up,
    /// as Go's tickers do.
    #[track_caller]
    pub(crate) fn every<F>(first: Instant, period: Duration, mut f: F) -> Timer
    where
        F: FnMut() -> bool + Send + 'static,
    {
        debug_assert!(!period.is_zero(), "zero timer period");
        let rt = runtime("a ticker");
        let mut ticks = tokio::time::interval_at(to_tokio(first), period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let task = rt.spawn(async move {
            loop {
                ticks.tick().await;
                if !f() {
                    break;
                }
            }
        });
        Timer {
            task: Some(task.abort_handle()),
        }
    }

    /// Lets the timer run to completion without a handle.
    pub(crate) fn detach(mut self) {
        self.task = None;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
