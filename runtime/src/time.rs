//! Go's `time` package: [`now`], [`sleep`], [`after`], [`tick`],
//! [`Ticker`], [`Timer`], [`after_func`] and the wall-clock [`Time`].
//!
//! Timers deliver on ordinary goro channels, so they compose with
//! [`select!`](crate::select!) exactly as in Go:
//!
//! ```
//! use goro::time::{self, Duration};
//!
//! goro::run(async {
//!     let results = goro::chan::<u32>(0);
//!     let got = goro::select! {
//!         recv(results) -> v => v,
//!         recv(time::after(Duration::from_millis(20))) -> _ => None, // timeout
//!     };
//!     assert_eq!(got, None);
//! });
//! ```
//!
//! goro has its own [`Instant`] rather than `std::time::Instant` because time
//! is virtual under the detecting scheduler: there, `after(5s)` costs
//! microseconds, and `Instant - Instant` measures virtual time, so Go's
//! `time.Since` idiom keeps working.
//!
//! Timers are not goroutines: they do not count in
//! [`num_goroutine`](crate::num_goroutine). Functions that create a timer
//! ([`sleep`], [`after`], [`tick`], [`Ticker::new`]) must be called inside
//! [`run`](crate::run) (or a tokio runtime with timers enabled) and panic
//! elsewhere; [`now`] and [`Instant`] work anywhere.
//!
//! Go's `time.Now()` has two readings; goro splits them. [`now`] returns
//! the monotonic [`Instant`], for measuring; [`Time::now`] returns the wall
//! clock, for timestamps and printing (Go's default format), virtual under
//! the detector from `2009-11-10 23:00:00 +0000 UTC` in every schedule.

use std::fmt;
use std::future::Future;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use parking_lot::Mutex;

use crate::chan::RecvHandle;
use crate::rt::chan::{Channel, HandleCounts};
use crate::rt::clock::{self, Timer as ClockTimer};
use crate::Receiver;

pub use crate::wallclock::Time;

mod timer;
/// Re-exported for convenience: goro's timers take `std`'s `Duration`.
pub use std::time::Duration;
pub use timer::{after_func, Timer};

/// A point in time, measured by goro's clock: Go's monotonic `time.Time`.
///
/// Obtain one with [`now`] (or [`Instant::now`]). Instants are opaque: only
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

    /// The current time; the same as [`now`].
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
        clock::now()
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
        clock::now().duration_since(*self)
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
        match clock::since_start(*self) {
            Ok(after) => write!(f, "Instant(+{after:?})"),
            Err(before) => write!(f, "Instant(-{before:?})"),
        }
    }
}

/// The current time: Go's `time.Now()`.
///
/// # Examples
///
/// ```
/// use goro::time;
///
/// let start = time::now();
/// // ... work ...
/// println!("took {:?}", time::now() - start);
/// ```
pub fn now() -> Instant {
    clock::now()
}

/// Time elapsed since `t`: Go's `time.Since(t)`, `now() - t` (zero if `t` is
/// in the future).
///
/// # Examples
///
/// ```
/// use goro::time::{self, Duration};
///
/// goro::run(async {
///     let start = time::now();
///     time::sleep(Duration::from_millis(10)).await;
///     assert!(time::since(start) >= Duration::from_millis(10));
/// });
/// ```
pub fn since(t: Instant) -> Duration {
    clock::now().duration_since(t)
}

/// Time left until `t`: Go's `time.Until(t)` (zero if `t` has passed).
///
/// # Examples
///
/// ```
/// use goro::time::{self, Duration};
///
/// let deadline = time::now() + Duration::from_secs(60);
/// assert!(time::until(deadline) <= Duration::from_secs(60));
/// assert_eq!(time::until(time::now() - Duration::from_secs(1)), Duration::ZERO);
/// ```
pub fn until(t: Instant) -> Duration {
    t.duration_since(clock::now())
}

/// Waits for `d`: Go's `time.Sleep(d)`.
///
/// Only the calling goroutine waits; the worker thread runs others
/// meanwhile. Completes no earlier than `d` after the call (timers have
/// millisecond granularity). Cancel safe: dropping the future just stops
/// waiting. To sleep unless cancelled, select on [`after`] and
/// [`Context::done`](crate::context::Context::done) instead.
///
/// # Panics
///
/// Outside [`run`](crate::run) (or a tokio runtime with timers enabled).
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
#[track_caller]
pub fn sleep(d: Duration) -> Sleep {
    Sleep {
        inner: clock::sleep_until(clock::now().saturating_add(d)),
    }
}

/// Waits until `deadline` (not at all if it has passed).
///
/// # Panics
///
/// Outside [`run`](crate::run) (or a tokio runtime with timers enabled).
///
/// # Examples
///
/// ```
/// use goro::time::{self, Duration};
///
/// goro::run(async {
///     let deadline = time::now() + Duration::from_millis(10);
///     time::sleep_until(deadline).await;
///     assert!(time::now() >= deadline);
/// });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        inner: clock::sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`sleep`] and [`sleep_until`].
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration, Sleep};
    ///
    /// goro::run(async {
    ///     let s: Sleep = time::sleep(Duration::from_millis(1));
    ///     let deadline = s.deadline();
    ///     s.await;
    ///     assert!(time::now() >= deadline);
    /// });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Sleep {
        #[pin]
        inner: clock::Sleep,
    }
}

impl Sleep {
    /// When the sleep completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration};
    ///
    /// goro::run(async {
    ///     let before = time::now();
    ///     let s = time::sleep(Duration::from_secs(1));
    ///     assert!(s.deadline() >= before + Duration::from_secs(1));
    /// });
    /// ```
    pub fn deadline(&self) -> Instant {
        self.inner.deadline()
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .finish()
    }
}

/// A channel of capacity 1 and how a timer sends on it.
fn timer_chan() -> (Receiver<Instant>, TimerSend) {
    let rx = crate::chan(1).receiver();
    let tx = TimerSend::new(rx.__channel());
    (rx, tx)
}

/// How a timer sends on its channel: through a weak reference, so that a
/// timer nobody listens to any more does not keep its channel alive; and
/// counted as a sender handle while the timer may still send, so that the
/// detector never takes a receiver waiting for a timer for one nothing can
/// wake.
struct TimerSend {
    ch: Weak<Channel<Instant>>,
    counts: Arc<HandleCounts>,
}

impl TimerSend {
    fn new(ch: &Arc<Channel<Instant>>) -> Self {
        ch.counts.add(true, false);
        TimerSend {
            ch: Arc::downgrade(ch),
            counts: ch.counts.clone(),
        }
    }

    /// [`send_time`] on the channel.
    fn send(&self) -> bool {
        send_time(&self.ch)
    }
}

impl Drop for TimerSend {
    fn drop(&mut self) {
        self.counts.remove(true, false);
    }
}

/// Sends the current time if the channel still exists and has room; a full
/// channel drops the value, as Go's timers do for slow receivers. Returns
/// whether anyone can still receive.
fn send_time(ch: &Weak<Channel<Instant>>) -> bool {
    match ch.upgrade() {
        Some(ch) => {
            let _ = ch.try_send(clock::now(), std::panic::Location::caller());
            true
        }
        None => false,
    }
}

/// A channel that receives the current time once, `d` from now: Go's
/// `time.After(d)`.
///
/// The channel has capacity 1 and is never closed; it is an ordinary
/// [`Receiver`], so it works as a timeout case in
/// [`select!`](crate::select!). The received instant is the time the timer
/// fired, no earlier than `d` after the call. The timer ends once it has
/// fired, even if nobody receives; it is not a goroutine. To give up a long
/// timeout early (in a loop, say), prefer a
/// [`context::with_timeout`](crate::context::with_timeout) and its `cancel`.
///
/// # Panics
///
/// Outside [`run`](crate::run) (or a tokio runtime with timers enabled).
///
/// # Examples
///
/// ```
/// use goro::time::{self, Duration};
///
/// goro::run(async {
///     let never = goro::chan::<&str>(0);
///     let start = time::now();
///     let msg = goro::select! {
///         recv(never) -> v => v,
///         recv(time::after(Duration::from_millis(20))) -> _ => Some("timeout"),
///     };
///     assert_eq!(msg, Some("timeout"));
///     assert!(time::since(start) >= Duration::from_millis(20));
/// });
/// ```
#[track_caller]
pub fn after(d: Duration) -> Receiver<Instant> {
    let (rx, ch) = timer_chan();
    ClockTimer::at(clock::now().saturating_add(d), move || {
        ch.send();
    })
    .detach();
    rx
}

#[track_caller]
fn check_period(d: Duration, what: &str) {
    if d.is_zero() {
        panic!("non-positive interval for {what}");
    }
}

/// A channel that receives the current time every `d`: Go's `time.Tick(d)`.
///
/// Capacity 1: a receiver that falls behind misses ticks rather than
/// accumulating them. The ticking stops by itself once every handle to the
/// channel is dropped (checked at each tick). Use a [`Ticker`] to stop it
/// explicitly or to change its period.
///
/// # Panics
///
/// If `d` is zero (Go returns a nil channel there; goro refuses it), and
/// outside [`run`](crate::run).
///
/// # Examples
///
/// ```
/// use goro::time::{self, Duration};
///
/// goro::run(async {
///     let ticks = time::tick(Duration::from_millis(5));
///     let first = ticks.recv().await.unwrap();
///     let second = ticks.recv().await.unwrap();
///     assert!(second > first);
/// });
/// ```
#[track_caller]
pub fn tick(d: Duration) -> Receiver<Instant> {
    check_period(d, "tick");
    let (rx, ch) = timer_chan();
    ClockTimer::every(clock::now().saturating_add(d), d, move || ch.send()).detach();
    rx
}

/// Delivers the current time on a channel every period: Go's `time.Ticker`.
///
/// The channel ([`receiver`](Ticker::receiver), Go's `ticker.C`) has
/// capacity 1: a receiver that falls behind misses ticks rather than
/// accumulating them, as in Go. [`stop`](Ticker::stop) ends the ticking,
/// [`reset`](Ticker::reset) restarts it with a new period, and dropping the
/// `Ticker` stops it. As in Go 1.23, no tick from before a `stop` or `reset`
/// is received after it returns. The channel is never closed.
///
/// # Examples
///
/// ```
/// use goro::time::{self, Duration, Ticker};
///
/// goro::run(async {
///     let ticker = Ticker::new(Duration::from_millis(5));
///     let done = goro::chan::<()>(0);
///     let quit = done.clone();
///     goro::go!(async move {
///         time::sleep(Duration::from_millis(30)).await;
///         quit.close();
///     });
///     let mut ticks = 0;
///     loop {
///         goro::select! {
///             recv(done) -> _ => break,
///             recv(ticker.receiver()) -> _ => ticks += 1,
///         }
///     }
///     ticker.stop();
///     assert!(ticks >= 1);
/// });
/// ```
pub struct Ticker {
    c: Receiver<Instant>,
    state: Arc<Mutex<TickerState>>,
}

struct TickerState {
    /// Bumped by `stop` and `reset`: a firing of an older timer that raced
    /// with them is ignored.
    generation: u64,
    timer: Option<ClockTimer>,
}

impl Ticker {
    /// A ticker that sends the time every `d`, starting `d` from now: Go's
    /// `time.NewTicker(d)`.
    ///
    /// # Panics
    ///
    /// If `d` is zero, and outside [`run`](crate::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration, Ticker};
    ///
    /// goro::run(async {
    ///     let start = time::now();
    ///     let ticker = Ticker::new(Duration::from_millis(10));
    ///     let t = ticker.receiver().recv().await.unwrap();
    ///     assert!(t - start >= Duration::from_millis(10));
    /// });
    /// ```
    #[track_caller]
    pub fn new(d: Duration) -> Ticker {
        check_period(d, "Ticker::new");
        let t = Ticker {
            c: crate::chan(1).receiver(),
            state: Arc::new(Mutex::new(TickerState {
                generation: 0,
                timer: None,
            })),
        };
        let mut st = t.state.lock();
        t.start(&mut st, d);
        drop(st);
        t
    }

    /// The channel the ticks arrive on: Go's `ticker.C`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{Duration, Ticker};
    ///
    /// goro::run(async {
    ///     let ticker = Ticker::new(Duration::from_millis(5));
    ///     assert!(ticker.receiver().recv().await.is_some());
    ///     assert_eq!(ticker.receiver().cap(), 1);
    /// });
    /// ```
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.c
    }

    /// Stops the ticker: no more ticks are sent, and a tick sent but not
    /// yet received is discarded. The channel is not closed, so a goroutine
    /// blocked on it stays blocked. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration, Ticker};
    ///
    /// goro::run(async {
    ///     let ticker = Ticker::new(Duration::from_millis(5));
    ///     ticker.receiver().recv().await;
    ///     ticker.stop();
    ///     time::sleep(Duration::from_millis(20)).await;
    ///     assert!(ticker.receiver().try_recv().is_err());
    /// });
    /// ```
    pub fn stop(&self) {
        let mut st = self.state.lock();
        let old = self.halt(&mut st);
        drop(st);
        drop(old);
    }

    /// Stops the ticker and restarts it with period `d`, the next tick `d`
    /// from now: Go's `ticker.Reset(d)`. A tick sent but not yet received
    /// is discarded. Also restarts a stopped ticker.
    ///
    /// # Panics
    ///
    /// If `d` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration, Ticker};
    ///
    /// goro::run(async {
    ///     let ticker = Ticker::new(Duration::from_secs(3600));
    ///     ticker.reset(Duration::from_millis(5));
    ///     assert!(ticker.receiver().recv().await.is_some());
    /// });
    /// ```
    #[track_caller]
    pub fn reset(&self, d: Duration) {
        check_period(d, "Ticker::reset");
        let mut st = self.state.lock();
        let old = self.halt(&mut st);
        self.start(&mut st, d);
        drop(st);
        drop(old);
    }

    /// Invalidates the running timer and drains a stale tick; returns the
    /// timer so it is stopped outside the lock.
    fn halt(&self, st: &mut TickerState) -> Option<ClockTimer> {
        st.generation += 1;
        // The lock orders this with a firing: the tick is either here, or
        // its timer will see the new generation and not send.
        while self.c.try_recv().is_ok() {}
        st.timer.take()
    }

    #[track_caller]
    fn start(&self, st: &mut TickerState, d: Duration) {
        let generation = st.generation;
        // Weak: the timer must not keep the ticker alive; Drop stops it.
        let state = Arc::downgrade(&self.state);
        let ch = TimerSend::new(self.c.__channel());
        st.timer = Some(ClockTimer::every(
            clock::now().saturating_add(d),
            d,
            move || {
                let Some(state) = state.upgrade() else {
                    return false;
                };
                let st = state.lock();
                st.generation == generation && ch.send()
            },
        ));
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("stopped", &self.state.lock().timer.is_none())
            .finish()
    }
}
