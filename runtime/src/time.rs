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
//! `time.Since` idiom keeps working. As in Go, time passes while goroutines
//! run: a timer may fire in the middle of other goroutines' work, earlier
//! in some schedules and later in others, and a goroutine polling in a
//! loop does not keep a `sleep` elsewhere from ending.
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
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;

use crate::chan::RecvHandle;
use crate::rt::chan::{Channel, WeakSender};
use crate::rt::clock::{self, Timer as ClockTimer};
use crate::Receiver;

pub use crate::wallclock::Time;

mod timer;
/// Re-exported for convenience: goro's timers take `std`'s `Duration`.
pub use std::time::Duration;
pub use timer::{after_func, Timer};

/// Re-exported from the clock, which owns it: goro's monotonic time.
pub use crate::rt::clock::Instant;

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
#[track_caller]
fn timer_chan() -> (Receiver<Instant>, TimerSend) {
    let rx = crate::chan(1).receiver();
    let tx = TimerSend::new(rx.__channel());
    (rx, tx)
}

/// How a timer sends on its channel: a `WeakSender`, so that a timer nobody
/// listens to any more does not keep its channel alive, while the detector
/// counts it as a sender (a receiver waiting for a timer can be woken).
struct TimerSend(WeakSender<Instant>);

impl TimerSend {
    fn new(ch: &Arc<Channel<Instant>>) -> Self {
        TimerSend(WeakSender::new(ch))
    }

    /// Sends the current time if the channel still exists and has room; a
    /// full channel drops the value, as Go's timers do for slow receivers.
    /// Returns whether anyone can still receive.
    fn send(&self) -> bool {
        self.0
            .try_send(clock::now(), std::panic::Location::caller())
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
/// Under the detector a stopped ticker stops counting as a live timer at
/// once, as a stopped [`Timer`] does: a goroutine left receiving from its
/// channel is blocked for ever (and reported so), not ticking, once no
/// goroutine that holds the ticker (and so could `reset` it) can run.
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
    /// How the running timer sends: here, not in the timer's callback, so
    /// that `stop` (and dropping the `Ticker`) drops it at once. The
    /// detector counts a live timer sender as a way to wake a receiver;
    /// kept in the callback, it lived on until the next tick was due, and a
    /// goroutine left receiving from a stopped ticker was taken for ticking
    /// until then (as a stopped [`Timer`]'s receiver is not).
    send: Option<TimerSend>,
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
                send: None,
            })),
        };
        // The ticker counts as a handle that can send while it lives
        // (`reset` starts it again), as a `Timer` does; `Drop` gives it
        // back. A receiver left on a stopped ticker is blocked forever only
        // once no goroutine that could reset it can run.
        t.c.__channel().counts.add(true, false);
        t.c.__channel().counts.set_held(true);
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
        crate::rt::detect::touch_unknown();
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
        crate::rt::detect::touch_unknown();
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
        // No live timer sends on the channel any more (see `send`).
        st.send = None;
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
        st.send = Some(TimerSend::new(self.c.__channel()));
        st.timer = Some(ClockTimer::every(
            clock::now().saturating_add(d),
            d,
            move || {
                let Some(state) = state.upgrade() else {
                    return false;
                };
                let st = state.lock();
                st.generation == generation && st.send.as_ref().is_some_and(TimerSend::send)
            },
        ));
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
        // The handle `new` counted.
        self.c.__channel().counts.set_held(false);
        self.c.__channel().counts.remove(true, false);
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("stopped", &self.state.lock().timer.is_none())
            .finish()
    }
}
