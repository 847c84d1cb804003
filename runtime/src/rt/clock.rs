//! The clock: every read of the current time and every timer that goro
//! creates (`time::sleep`, `time::after`, tickers, context deadlines) goes
//! through this module, so that the detecting scheduler can substitute a
//! virtual clock in one place.
//!
//! Production: the OS monotonic clock, and timers in the heap of goro's
//! executor (`rt::exec::timer`), fired within microseconds of their due
//! time. Inside a tokio runtime that goro did not start (`#[tokio::test]`),
//! timers are tokio's (millisecond resolution). Timers are not goroutines
//! (they do not count in `num_goroutine`), and each one ends when it has
//! fired or when its [`Timer`] stops it.
//!
//! Detection: the scheduler's virtual clock, which starts at the same
//! instant in every schedule; timers are callbacks the scheduler runs when
//! its clock reaches them, outside any goroutine. The clock moves to the
//! next timer when nothing else can run, or, while goroutines can, when
//! the scheduler's strategy lets time pass (`rt::sched`): a goroutine that
//! polls in a loop does not stop the clock, as it does not in Go.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::asleep::TimerPending;
use super::detect;
use super::exec;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

/// A point in time, measured by goro's clock: Go's monotonic `time.Time`.
///
/// Obtain one with [`now`](crate::time::now) (or [`Instant::now`]). Instants are opaque: only
/// their differences and order mean anything. Unlike `std::time::Instant`,
/// goro's clock is virtual under the detecting scheduler, which is why goro
/// has its own type.
///
/// Arithmetic follows `std`: `Instant - Instant` saturates at zero (an
/// earlier minus a later instant is `Duration::ZERO`); `Instant + Duration`
/// and `Instant - Duration` panic on overflow (use [`checked_add`] and
/// [`checked_sub`] to avoid that). The clock reaches back ten years before
/// its first reading, so `now() - d` works for any reasonable `d`.
///
/// [`checked_add`]: Instant::checked_add
/// [`checked_sub`]: Instant::checked_sub
///
/// # Examples
///
/// ```
/// use goro::time::{self, Duration, Instant};
///
/// let start: Instant = time::now();
/// let deadline = start + Duration::from_secs(2);
/// assert!(deadline > start);
/// assert_eq!(deadline - start, Duration::from_secs(2));
/// assert_eq!(start - deadline, Duration::ZERO); // saturates
/// assert!(time::since(start) < Duration::from_secs(2));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Offset from the clock's origin (see `rt::clock`).
    since_origin: Duration,
}

impl Instant {
    pub(crate) const fn from_clock(since_origin: Duration) -> Self {
        Instant { since_origin }
    }

    pub(crate) fn clock_offset(self) -> Duration {
        self.since_origin
    }

    /// The current time; the same as [`now`](crate::time::now).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::Instant;
    ///
    /// let a = Instant::now();
    /// let b = Instant::now();
    /// assert!(b >= a);
    /// ```
    pub fn now() -> Instant {
        now()
    }

    /// How much later `self` is than `earlier`; `Duration::ZERO` if it is
    /// not later (saturating, like `std`).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration};
    ///
    /// let t = time::now();
    /// let later = t + Duration::from_millis(5);
    /// assert_eq!(later.duration_since(t), Duration::from_millis(5));
    /// assert_eq!(t.duration_since(later), Duration::ZERO);
    /// ```
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.since_origin.saturating_sub(earlier.since_origin)
    }

    /// How much later `self` is than `earlier`, or `None` if it is earlier.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration};
    ///
    /// let t = time::now();
    /// let later = t + Duration::from_millis(5);
    /// assert_eq!(later.checked_duration_since(t), Some(Duration::from_millis(5)));
    /// assert_eq!(t.checked_duration_since(later), None);
    /// ```
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.since_origin.checked_sub(earlier.since_origin)
    }

    /// Time elapsed since `self`: `now() - self` (zero if `self` is in the
    /// future).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration};
    ///
    /// goro::run(async {
    ///     let start = time::now();
    ///     time::sleep(Duration::from_millis(10)).await;
    ///     assert!(start.elapsed() >= Duration::from_millis(10));
    /// });
    /// ```
    pub fn elapsed(&self) -> Duration {
        now().duration_since(*self)
    }

    /// `self + d`, or `None` if that is not representable.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration};
    ///
    /// let t = time::now();
    /// assert!(t.checked_add(Duration::from_secs(1)).is_some());
    /// assert!(t.checked_add(Duration::MAX).is_none());
    /// ```
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.since_origin.checked_add(d).map(Instant::from_clock)
    }

    /// `self - d`, or `None` if that is before the clock's range.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration};
    ///
    /// let t = time::now();
    /// assert_eq!(t.checked_sub(Duration::from_secs(1)).map(|e| t - e), Some(Duration::from_secs(1)));
    /// assert!(t.checked_sub(Duration::MAX).is_none());
    /// ```
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.since_origin.checked_sub(d).map(Instant::from_clock)
    }

    /// `self + d`, or the end of time: a deadline that never comes.
    pub(crate) fn saturating_add(self, d: Duration) -> Instant {
        Instant::from_clock(self.since_origin.saturating_add(d))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// If the result is not representable.
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d)
            .expect("overflow when adding duration to instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// If the result is before the clock's range (about ten years before
    /// its first reading).
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d)
            .expect("overflow when subtracting duration from instant")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturating: an earlier minus a later instant is `Duration::ZERO`.
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    /// Relative to the clock's first reading in this process, e.g.
    /// `Instant(+1.5ms)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match since_start(*self) {
            Ok(after) => write!(f, "Instant(+{after:?})"),
            Err(before) => write!(f, "Instant(-{before:?})"),
        }
    }
}

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

/// The current time: virtual under the detecting scheduler, where it starts
/// at the same instant in every schedule and jumps to the next timer when
/// nothing can run or the scheduler lets time pass.
pub(crate) fn now() -> Instant {
    if detect::active() {
        return Instant::from_clock(HEADROOM + detect::now());
    }
    Instant::from_clock(HEADROOM + base().elapsed())
}

/// `at` as an offset on the detecting scheduler's virtual clock.
fn virtual_offset(at: Instant) -> Duration {
    at.clock_offset().saturating_sub(HEADROOM)
}

/// `at` relative to the clock's first reading: `Ok(after)` or `Err(before)`.
pub(crate) fn since_start(at: Instant) -> Result<Duration, Duration> {
    let off = at.clock_offset();
    off.checked_sub(HEADROOM).ok_or_else(|| HEADROOM - off)
}

/// `at` in nanoseconds since the clock's first reading (0 if before it):
/// the unit of the executor's timer heap.
pub(crate) fn nanos(at: Instant) -> u64 {
    match since_start(at) {
        Ok(after) => u64::try_from(after.min(FAR_FUTURE).as_nanos()).unwrap_or(u64::MAX - 1),
        Err(_) => 0,
    }
}

/// The current time in [`nanos`].
pub(crate) fn now_nanos() -> u64 {
    u64::try_from(base().elapsed().as_nanos()).unwrap_or(u64::MAX - 1)
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

/// How a [`Sleep`] waits.
enum Wait {
    /// The detecting scheduler's virtual clock.
    Virtual,
    /// goro's executor: registered in its heap at the first pending poll.
    Exec {
        exec: Arc<exec::Shared>,
        timer: Option<Arc<exec::timer::SleepState>>,
    },
    /// A foreign tokio runtime.
    Tokio(Pin<Box<tokio::time::Sleep>>),
}

/// Completes at `deadline`.
pub(crate) struct Sleep {
    wait: Wait,
    deadline: Instant,
    // Virtual clock: a scheduling point first, then a timer.
    yielded: bool,
    registered: bool,
    // Where the sleep was made, for a leak report.
    site: &'static std::panic::Location<'static>,
}

/// A future that completes at `deadline` (at once if it has passed).
#[track_caller]
pub(crate) fn sleep_until(deadline: Instant) -> Sleep {
    let wait = if detect::active() {
        Wait::Virtual
    } else if let Some(exec) = exec::current() {
        Wait::Exec { exec, timer: None }
    } else {
        runtime("sleep");
        Wait::Tokio(Box::pin(tokio::time::sleep_until(to_tokio(deadline))))
    };
    Sleep {
        wait,
        deadline,
        yielded: false,
        registered: false,
        site: std::panic::Location::caller(),
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
        let this = self.get_mut();
        match &mut this.wait {
            Wait::Tokio(inner) => return inner.as_mut().poll(cx),
            Wait::Exec { exec, timer } => {
                return match timer {
                    Some(t) => {
                        if t.fired() {
                            return Poll::Ready(());
                        }
                        t.register(cx.waker());
                        if t.fired() {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    }
                    None => {
                        let at = nanos(this.deadline);
                        if at <= now_nanos() {
                            return Poll::Ready(());
                        }
                        let t = exec.sleep(at);
                        t.register(cx.waker());
                        let fired = t.fired();
                        *timer = Some(t);
                        if fired {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    }
                };
            }
            Wait::Virtual => {}
        }
        if detect::yield_point(cx, &mut this.yielded) {
            return Poll::Pending;
        }
        if now() >= this.deadline {
            return Poll::Ready(());
        }
        if !this.registered {
            this.registered = true;
            detect::wake_at(virtual_offset(this.deadline), cx.waker().clone());
        }
        detect::block(this.site, super::asleep::Waiting::Sleep, || {
            super::block::BlockInfo::Fixed(goro_analyzer::event::Wait::Sleep)
        });
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Wait::Exec {
            exec,
            timer: Some(t),
        } = &self.wait
        {
            exec.cancel_sleep(t);
        }
    }
}

/// A pending timer. Dropping it stops it; [`Timer::detach`] lets it run.
///
/// Stopping is asynchronous: a callback that is already running on another
/// thread finishes. Callers that must not see a late firing (a `Ticker`
/// after `stop`) filter it themselves.
pub(crate) struct Timer {
    task: Option<tokio::task::AbortHandle>,
    /// goro's executor: the callback's entry in its heap.
    call: Option<(Arc<exec::Shared>, Arc<exec::timer::CallState>)>,
    /// Virtual clock: set to stop the timer's pending callback.
    stopped: Option<Arc<AtomicBool>>,
}

impl Timer {
    /// Runs `f` once at `deadline` (soon, if it has passed). `f` is goro's
    /// own code (a send on a timer channel, a context's cancel); see
    /// [`Timer::at_opaque`] for a timer that runs the user's.
    #[track_caller]
    pub(crate) fn at<F>(deadline: Instant, f: F) -> Timer
    where
        F: FnOnce() + Send + 'static,
    {
        Timer::at_with(deadline, f, false)
    }

    /// [`Timer::at`] for an `f` that may run the user's code (a
    /// `time::Timer`, whose `after_func` runs the user's function): the
    /// detector's deadlock proof then cannot rule out that its firing
    /// unlocks a mutex or calls `done`.
    #[track_caller]
    pub(crate) fn at_opaque<F>(deadline: Instant, f: F) -> Timer
    where
        F: FnOnce() + Send + 'static,
    {
        Timer::at_with(deadline, f, true)
    }

    #[track_caller]
    fn at_with<F>(deadline: Instant, f: F, opaque: bool) -> Timer
    where
        F: FnOnce() + Send + 'static,
    {
        if detect::active() {
            let stopped = Arc::new(AtomicBool::new(false));
            let flag = stopped.clone();
            detect::call_at(
                virtual_offset(deadline),
                Box::new(move || {
                    if !flag.load(Ordering::Relaxed) {
                        f();
                    }
                }),
                opaque,
            );
            return Timer {
                task: None,
                call: None,
                stopped: Some(stopped),
            };
        }
        if let Some(exec) = exec::current() {
            let mut f = Some(f);
            // Pending until it has fired (after `f`'s wake-ups) or is
            // stopped (its closure dropped): Go's deadlock crash waits.
            let mut pending = Some(TimerPending::new());
            let c = exec.call(
                nanos(deadline),
                None,
                Box::new(move || {
                    if let Some(f) = f.take() {
                        f();
                    }
                    pending.take();
                    false
                }),
            );
            return Timer {
                task: None,
                call: Some((exec, c)),
                stopped: None,
            };
        }
        let rt = runtime("a timer");
        // Made here, not in the task, so that a runtime without a time driver
        // panics at the caller.
        let sleep = tokio::time::sleep_until(to_tokio(deadline));
        // Pending until it has fired (after its wake) or is stopped.
        let pending = TimerPending::new();
        let task = rt.spawn(async move {
            let _pending = pending;
            sleep.await;
            f();
        });
        Timer {
            task: Some(task.abort_handle()),
            call: None,
            stopped: None,
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
        if detect::active() {
            let stopped = Arc::new(AtomicBool::new(false));
            every_virtual(virtual_offset(first), period, stopped.clone(), Box::new(f));
            return Timer {
                task: None,
                call: None,
                stopped: Some(stopped),
            };
        }
        if let Some(exec) = exec::current() {
            let period_ns = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX / 2);
            // Pending while the ticker lives: its closure holds the guard.
            let pending = TimerPending::new();
            let c = exec.call(
                nanos(first),
                Some(period_ns.max(1)),
                Box::new(move || {
                    let _pending = &pending;
                    f()
                }),
            );
            return Timer {
                task: None,
                call: Some((exec, c)),
                stopped: None,
            };
        }
        let rt = runtime("a ticker");
        let mut ticks = tokio::time::interval_at(to_tokio(first), period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let pending = TimerPending::new();
        let task = rt.spawn(async move {
            let _pending = pending;
            loop {
                ticks.tick().await;
                if !f() {
                    break;
                }
            }
        });
        Timer {
            task: Some(task.abort_handle()),
            call: None,
            stopped: None,
        }
    }

    /// Lets the timer run to completion without a handle.
    pub(crate) fn detach(mut self) {
        self.task = None;
        self.call = None;
        self.stopped = None;
    }
}

/// A periodic virtual timer: each firing schedules the next.
fn every_virtual(
    at: Duration,
    period: Duration,
    stopped: Arc<AtomicBool>,
    mut f: Box<dyn FnMut() -> bool + Send>,
) {
    detect::call_at(
        at,
        Box::new(move || {
            if !stopped.load(Ordering::Relaxed) && f() {
                every_virtual(at + period, period, stopped, f);
            }
        }),
        false,
    );
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        if let Some((exec, c)) = self.call.take() {
            exec.cancel_call(&c);
        }
        if let Some(s) = self.stopped.take() {
            s.store(true, Ordering::Relaxed);
        }
    }
}
