//! `Timer` and `after_func`: Go's `time.NewTimer` and `time.AfterFunc`.
//!
//! **Edges under the detector.** Arming a timer (`Timer::new`,
//! `after_func`, `reset`) happens before its firing, and the firing happens
//! before the receive of its value from [`Timer::c`] (and before the start
//! of an `after_func`'s function): the firing is done by a short-lived
//! goroutine, named `timer`, that acquires what the arming goroutine
//! released, then sends (or starts the function). A `stop` that returns
//! `true` happens before a firing that then never happens: no value is
//! sent, no function runs.
//!
//! **Leaks and deadlocks.** An armed timer counts as a live timer sending on
//! its channel (a goroutine receiving from it will be woken); a stopped or
//! fired one does not, as Go 1.23 drops a stopped timer at once: a goroutine
//! left receiving from it at the end of the program is blocked forever, not
//! waiting for a tick. The `Timer` itself counts as a handle that can send
//! while it lives ([`Timer::reset`] arms it again), so a goroutine waiting on
//! it is never taken for stuck while some goroutine could still reset it.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Duration, Instant, TimerSend};
use crate::chan::RecvHandle;
use crate::rt::clock;
use crate::rt::detect;
use crate::rt::goroutine::{self as g, Goroutine, Sink};
use crate::rt::ident::Ident;
use crate::Receiver;

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;
type Func = Arc<dyn Fn() -> BoxFut + Send + Sync>;

/// A single event in the future: Go's `time.Timer`.
///
/// Made by [`Timer::new`] (Go's `time.NewTimer(d)`), whose value arrives on
/// [`c`](Timer::c) (Go's `t.C`), or by [`after_func`] (Go's
/// `time.AfterFunc(d, f)`), which starts `f` in its own goroutine instead.
/// [`stop`](Timer::stop) and [`reset`](Timer::reset) return Go's values,
/// with Go 1.23's semantics: no value from before a `stop` or `reset` is
/// received after it returns, and a timer whose value has not been received
/// yet counts as active.
///
/// Dropping a `Timer` does not stop it (Go's timers run whether or not
/// anyone still holds them): an `after_func`'s function still runs.
///
/// Time is virtual under the detector; see the module docs for the
/// happens-before edges it models.
///
/// # Examples
///
/// ```
/// use goro::time::{Duration, Timer};
///
/// goro::run(async {
///     let t = Timer::new(Duration::from_millis(10));
///     let fired = goro::select! {
///         recv(t.c()) -> _ => true,
///         recv(goro::time::after(Duration::from_secs(5))) -> _ => false,
///     };
///     assert!(fired);
///     assert!(!t.stop(), "already fired and received");
/// });
/// ```
pub struct Timer {
    c: Receiver<Instant>,
    state: Arc<Mutex<State>>,
    func: Option<Func>,
}

struct State {
    /// Bumped by `stop` and `reset`: a firing armed before them is void.
    generation: u64,
    /// Armed and neither fired nor stopped.
    pending: bool,
    /// How the armed firing sends (a [`Timer::new`] timer's): dropped by
    /// `stop`, `reset` and the firing, so that only an armed timer counts as
    /// a live timer on the channel.
    send: Option<TimerSend>,
    timer: Option<clock::Timer>,
    /// The detector's identity: arming releases it, a firing acquires it.
    id: Ident,
}

impl Timer {
    /// A timer that sends the current time on [`c`](Timer::c) once, `d`
    /// from now: Go's `time.NewTimer(d)`.
    ///
    /// # Panics
    ///
    /// Outside [`run`](crate::run) (or a tokio runtime with timers enabled).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{self, Duration, Timer};
    ///
    /// goro::run(async {
    ///     let start = time::now();
    ///     let t = Timer::new(Duration::from_millis(5));
    ///     let at = t.c().recv().await.unwrap();
    ///     assert!(at - start >= Duration::from_millis(5));
    /// });
    /// ```
    #[track_caller]
    pub fn new(d: Duration) -> Timer {
        Timer::make(d, None, Location::caller())
    }

    #[track_caller]
    fn make(d: Duration, func: Option<Func>, site: &'static Location<'static>) -> Timer {
        let c = crate::chan(1).receiver();
        let t = Timer {
            c,
            state: Arc::new(Mutex::new(State {
                generation: 0,
                pending: false,
                send: None,
                timer: None,
                id: Ident::new(),
            })),
            func,
        };
        if t.func.is_none() {
            // A handle that can send while the timer lives (see the module
            // docs); `Drop` gives it back.
            t.c.__channel().counts.add(true, false);
            t.c.__channel().counts.set_held(true);
        }
        let mut st = t.state.lock();
        t.start(&mut st, d, site);
        drop(st);
        t
    }

    /// The channel the time arrives on: Go's `t.C`. An [`after_func`]
    /// timer never sends on it (Go's is nil): receiving from it blocks
    /// forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{Duration, Timer};
    ///
    /// goro::run(async {
    ///     let t = Timer::new(Duration::from_millis(1));
    ///     assert!(t.c().recv().await.is_some());
    /// });
    /// ```
    pub fn c(&self) -> &Receiver<Instant> {
        &self.c
    }

    /// Stops the timer: Go's `t.Stop()`. Returns `true` if this call stopped
    /// it (it had not fired, or its value had not been received yet: the
    /// value is discarded; for [`after_func`], the function had not
    /// started), `false` if it had already fired or been stopped. The
    /// channel is not closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{Duration, Timer};
    ///
    /// goro::run(async {
    ///     let t = Timer::new(Duration::from_secs(3600));
    ///     assert!(t.stop());
    ///     assert!(!t.stop(), "already stopped");
    /// });
    /// ```
    pub fn stop(&self) -> bool {
        crate::rt::detect::touch_unknown();
        let mut st = self.state.lock();
        let (was, old) = self.halt(&mut st);
        drop(st);
        drop(old);
        was
    }

    /// Rearms the timer to fire `d` from now: Go's `t.Reset(d)`. Returns
    /// whether it had been active, as [`stop`](Timer::stop) would have; a
    /// value not yet received is discarded. Also rearms a stopped or fired
    /// timer (an [`after_func`] then runs its function again).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::time::{Duration, Timer};
    ///
    /// goro::run(async {
    ///     let t = Timer::new(Duration::from_secs(3600));
    ///     assert!(t.reset(Duration::from_millis(1)));
    ///     assert!(t.c().recv().await.is_some());
    ///     assert!(!t.reset(Duration::from_millis(1)), "had fired");
    ///     assert!(t.c().recv().await.is_some());
    /// });
    /// ```
    #[track_caller]
    pub fn reset(&self, d: Duration) -> bool {
        crate::rt::detect::touch_unknown();
        let mut st = self.state.lock();
        let (was, old) = self.halt(&mut st);
        self.start(&mut st, d, Location::caller());
        drop(st);
        drop(old);
        was
    }

    /// Voids the armed firing and drains an unreceived value; returns
    /// whether the timer was active, and its clock timer to drop outside
    /// the lock.
    fn halt(&self, st: &mut State) -> (bool, Option<clock::Timer>) {
        st.generation += 1;
        // No live timer sends on the channel any more.
        st.send = None;
        // The lock orders this with a firing: the value is either here, or
        // the firing will see the new generation and not send.
        let mut was = std::mem::replace(&mut st.pending, false);
        while self.c.try_recv().is_ok() {
            was = true;
        }
        (was, st.timer.take())
    }

    fn start(&self, st: &mut State, d: Duration, site: &'static Location<'static>) {
        st.pending = true;
        let generation = st.generation;
        // Arming happens before the firing (see the module docs).
        detect::release(st.id.obj(), site);
        let state = self.state.clone();
        let fire: Box<dyn FnOnce() + Send> = match &self.func {
            Some(f) => {
                let f = f.clone();
                Box::new(move || {
                    spawn_firing(site, async move {
                        if take_firing(&state, generation, site) {
                            f().await;
                        }
                    })
                })
            }
            None => {
                st.send = Some(TimerSend::new(self.c.__channel()));
                Box::new(move || {
                    if detect::active() {
                        spawn_firing(site, async move {
                            if take_firing(&state, generation, site) {
                                if let Some(ch) = state.lock().send.take() {
                                    ch.send();
                                }
                            }
                        });
                    } else {
                        // Under the state lock, so that a `stop` either
                        // voids this firing or drains its value.
                        let mut st = state.lock();
                        if st.generation == generation && st.pending {
                            st.pending = false;
                            if let Some(ch) = st.send.take() {
                                ch.send();
                            }
                        }
                    }
                })
            }
        };
        st.timer = Some(clock::Timer::at_opaque(
            clock::now().saturating_add(d),
            fire,
        ));
    }
}

/// The firing goroutine's start: acquires the arming goroutine's release,
/// and says whether this firing still stands (not voided by `stop` or
/// `reset`), marking the timer fired.
fn take_firing(
    state: &Arc<Mutex<State>>,
    generation: u64,
    site: &'static Location<'static>,
) -> bool {
    let mut st = state.lock();
    detect::acquire(st.id.obj(), site);
    if st.generation == generation && st.pending {
        st.pending = false;
        true
    } else {
        false
    }
}

/// Starts a firing as goroutine `timer`, reported at the timer's `site`.
fn spawn_firing(site: &'static Location<'static>, fut: impl Future<Output = ()> + Send + 'static) {
    let run = g::current_run();
    let id = run.next_id();
    g::start(
        Goroutine::new(run, id, Some(Cow::Borrowed("timer")), Sink::Detached, fut),
        site,
    );
}

impl Drop for Timer {
    fn drop(&mut self) {
        // The handle `make` counted; the armed firing still runs (Go's
        // timers do not stop when dropped).
        if self.func.is_none() {
            self.c.__channel().counts.set_held(false);
            self.c.__channel().counts.remove(true, false);
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("active", &self.state.lock().pending)
            .field("func", &self.func.is_some())
            .finish()
    }
}

/// Starts `f()` in its own goroutine `d` from now: Go's
/// `time.AfterFunc(d, f)`. Returns the [`Timer`], whose
/// [`stop`](Timer::stop) cancels the call if `f` has not started, and whose
/// [`reset`](Timer::reset) schedules it again.
///
/// `f` returns a future (the goroutine's body), so it may block on
/// channels as Go's `f` may; it is called once per firing. The goroutine is
/// named `timer` and reported at this call.
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
///     let done = goro::chan::<&str>(1);
///     let tx = done.clone();
///     let _t = time::after_func(Duration::from_millis(5), move || {
///         let tx = tx.clone();
///         async move { tx.send("fired").await }
///     });
///     assert_eq!(done.recv().await, Some("fired"));
///
///     let never = time::after_func(Duration::from_secs(3600), || async {});
///     assert!(never.stop(), "stopped before it ran");
/// });
/// ```
#[track_caller]
pub fn after_func<F, Fut>(d: Duration, f: F) -> Timer
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let func: Func = Arc::new(move || Box::pin(f()) as BoxFut);
    Timer::make(d, Some(func), Location::caller())
}
