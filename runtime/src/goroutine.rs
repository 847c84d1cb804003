//! Goroutines: `run`, `go!`, `spawn`, `JoinHandle`, `yield_now`,
//! `num_goroutine`.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::panic::Location;

use crate::rt::asleep::Waiting;
use crate::rt::detect;
use crate::rt::exec::Runtime;
use crate::rt::goroutine::{self as g, Goroutine, JoinSlot, Owner, Sink};

/// Runs `fut` as the main goroutine of a new program and returns its output.
///
/// Starts goro's executor with one worker thread per core and runs `fut`
/// on it as goroutine 1, `main`; goroutines started with
/// [`go!`](crate::go!) or [`spawn`] run there too. Inside goroutines, tokio
/// works: `tokio::net` and `tokio::time` use a tokio runtime that a
/// background thread of the run drives, and `tokio::spawn` runs tasks there. Like every goroutine,
/// `fut` must be `Send + 'static`: move what it needs into it. When `fut`
/// returns, the program ends as in Go: goroutines still running are dropped.
///
/// # Under the detector
///
/// With `GORO_RACE=1`, `run` runs the program on the detecting scheduler
/// instead, over `GORO_SCHEDULES` schedules (default 100; the other
/// `GORO_*` settings of [`race::Config`](crate::race::Config) apply):
/// schedule 0 in this process, each other one in a re-execution of the
/// program (same arguments, its stdin and stdout discarded, so the output
/// appears once). It prints every distinct finding to stderr and, when
/// there is any, exits the process with status 66 once `fut` has returned,
/// as a Go program built with `-race` does. Called from a thread other than
/// the main thread (a test), it runs one schedule and reports without
/// exiting: tests explore with [`race::explore`](crate::race::explore) or
/// `#[goro::test]`.
///
/// # Panics
///
/// - If called from inside a goroutine or any tokio runtime (a program
///   cannot contain another program; `.await` the future instead).
/// - If a goroutine that nobody joins panics: the main goroutine is stopped
///   and `run` panics with `goroutine N [name] panicked at FILE:LINE: MESSAGE`.
/// - If the main goroutine itself panics (its panic propagates unchanged).
/// - If every goroutine is asleep on a goro primitive (a channel, a
///   `select!` without a timer, a lock, a `WaitGroup`, a `Cond`, a join) and
///   no timer is pending: nothing can wake them, and `run` panics with Go's
///   `all goroutines are asleep - deadlock!` followed by one line per
///   goroutine (id, name, where it was started, what it waits on and
///   where). A goroutine waiting on anything else (tokio I/O, a sleep) is
///   not asleep. A goroutine's panic after main returned does not fail
///   `run`: the program was over.
///
/// # Examples
///
/// ```
/// let answer = goro::run(async {
///     let ch = goro::chan(0);
///     let tx = ch.clone();
///     goro::go!(async move { tx.send(42).await });
///     ch.recv().await
/// });
/// assert_eq!(answer, Some(42));
/// ```
#[track_caller]
pub fn run<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match crate::race::race_requested() {
        Ok(true) => return crate::race::run_detected(fut),
        Ok(false) => {}
        Err(e) => panic!("goro::run: {e}"),
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        panic!(
            "goro::run called from inside a running runtime (a goroutine or a tokio task); \
             start goroutines with go!/spawn there, or .await the future directly"
        );
    }
    if crate::rt::exec::current().is_some() {
        panic!(
            "goro::run called from inside a running runtime (a goroutine or a tokio task); \
             start goroutines with go!/spawn there, or .await the future directly"
        );
    }
    crate::rt::panic::install_hook();
    let state = g::RunState::program();
    // Dropped last, after the executor: the census keeps its goroutines'
    // entries for reuse, and they point back at the run.
    struct CloseCensus(Arc<g::RunState>);
    impl Drop for CloseCensus {
        fn drop(&mut self) {
            if let Some(c) = self.0.census() {
                c.close();
            }
        }
    }
    let _close = CloseCensus(state.clone());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = Runtime::start(workers, state.clone());

    struct Restore(Option<Arc<g::RunState>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            g::set_thread_run(self.0.take());
        }
    }
    let _restore = Restore(g::set_thread_run(Some(state.clone())));

    // Main is a goroutine like any other, on a worker: a main goroutine
    // polled on this (non-worker) thread would need a cross-thread unpark for
    // every wake-up, 60x slower on a channel ping-pong.
    let main_id = state.next_id();
    let slot = JoinSlot::main(state.clone());
    g::start_on(
        rt.shared(),
        Goroutine::new(
            state.clone(),
            main_id,
            Some(Cow::Borrowed("main")),
            Sink::Join(slot.clone()),
            fut,
        ),
    );
    let out = block_on(std::future::poll_fn(|cx| {
        if let Some(crash) = state.poll_panic(cx) {
            return Poll::Ready(Err(crash.report));
        }
        slot.poll_join(cx).map(Ok)
    }));
    // Go ends the program when main returns: whatever still runs is dropped.
    rt.shutdown(std::time::Duration::from_secs(1));
    match out {
        Ok(Ok(v)) => match state.take_panic() {
            Some(crash) => panic!("{}", crash.report),
            None => v,
        },
        // The main goroutine's own panic propagates unchanged.
        Ok(Err(p)) => {
            crate::rt::panic::print_fatal(p.crash.stderr);
            std::panic::resume_unwind(p.payload)
        }
        Err(report) => panic!("{report}"),
    }
}

/// Wakes the thread that called `run`.
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on this thread, parking it between wake-ups.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = std::task::Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Starts `fut` as a new goroutine: Go's `go f()`.
///
/// `go!(fut)` starts an anonymous goroutine; `go!(name, fut)` names it
/// (the name shows in panic messages and detector reports). The goroutine's
/// output is dropped; a panic in it ends the program (see [`run`]).
///
/// # Panics
///
/// Outside [`run`] and outside any tokio runtime.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let wg = goro::sync::WaitGroup::new();
///     wg.add(1);
///     let done = wg.clone();
///     goro::go!("greeter", async move {
///         println!("hello");
///         done.done();
///     });
///     wg.wait().await;
/// });
/// ```
///
/// `clone(a, b, ..)` before the future clones those handles into it, one
/// line for Go's closure capture (`let a = a.clone();` for each, before an
/// `async move`): the goroutine gets its own `a`, the caller keeps theirs.
/// Each name must be a local variable whose type is `Clone` (channels,
/// `WaitGroup`, `Context`, `Arc`s).
///
/// ```
/// goro::run(async {
///     let results = goro::chan(3);
///     let wg = goro::sync::WaitGroup::new();
///     for i in 0..3 {
///         wg.add(1);
///         goro::go!(clone(results, wg), async move {
///             results.send(i * i).await;
///             wg.done();
///         });
///     }
///     goro::go!("closer", clone(results), async move {
///         wg.wait().await;
///         results.close();
///     });
///     let mut sum = 0;
///     while let Some(v) = results.recv().await {
///         sum += v;
///     }
///     assert_eq!(sum, 5);
/// });
/// ```
#[macro_export]
macro_rules! go {
    (clone($($h:ident),+ $(,)?), $fut:expr $(,)?) => {{
        $(let $h = ::core::clone::Clone::clone(&$h);)+
        $crate::__go(::core::option::Option::None, $fut)
    }};
    ($name:expr, clone($($h:ident),+ $(,)?), $fut:expr $(,)?) => {{
        $(let $h = ::core::clone::Clone::clone(&$h);)+
        $crate::__go(::core::option::Option::Some($name.into()), $fut)
    }};
    ($name:expr, $fut:expr $(,)?) => {
        $crate::__go(::core::option::Option::Some($name.into()), $fut)
    };
    ($fut:expr $(,)?) => {
        $crate::__go(::core::option::Option::None, $fut)
    };
}

/// Timers pending in the current run's executor (not stopped, not fired):
/// for goro's own tests that timers end when they should.
#[doc(hidden)]
pub fn __pending_timers() -> usize {
    crate::rt::exec::current().map_or(0, |e| e.pending_timers())
}

#[doc(hidden)]
#[track_caller]
pub fn __go<F>(name: Option<Cow<'static, str>>, fut: F)
where
    F: Future + Send + 'static,
{
    let site = Location::caller();
    // The run borrowed, not cloned: its reference count is a line every
    // worker's spawns and exits would share. The future stays out of the
    // closure (each move of it is a copy).
    let (id, owner) = g::with_current_run(|run| {
        let id = run.next_id();
        (id, Owner::new(run, id, &name, site))
    });
    // The output is dropped inside the goroutine, so it need not be `Send`.
    let fut = async move {
        fut.await;
    };
    g::start(
        Goroutine::with_owner(id, name, Sink::Detached, owner, fut),
        site,
    );
}

/// Starts `fut` as a new goroutine and returns a handle to join it.
///
/// Awaiting the [`JoinHandle`] yields the goroutine's output; the goroutine's
/// end happens before the join returns. If the goroutine panicked, the panic
/// resumes at the join. Dropping the handle detaches the goroutine: a later
/// panic then ends the program, as with [`go!`](crate::go!).
///
/// # Panics
///
/// Outside [`run`] and outside any tokio runtime.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::spawn(async { 6 * 7 });
///     assert_eq!(h.await, 42);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let site = Location::caller();
    let (id, owner, slot) = g::with_current_run(|run| {
        let id = run.next_id();
        (
            id,
            Owner::new(run, id, &None, site),
            JoinSlot::new(run.clone()),
        )
    });
    g::start(
        Goroutine::with_owner(id, None, Sink::Join(slot.clone()), owner, fut),
        site,
    );
    JoinHandle {
        slot,
        id,
        site,
        yielded: false,
    }
}

/// A handle to join a goroutine started with [`spawn`]; awaiting it yields the
/// goroutine's output.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h: goro::JoinHandle<&str> = goro::spawn(async { "done" });
///     assert_eq!(h.await, "done");
/// });
/// ```
#[must_use = "dropping a JoinHandle detaches the goroutine; await it to join"]
pub struct JoinHandle<T> {
    slot: Arc<JoinSlot<T>>,
    id: goro_analyzer::event::Gid,
    /// Where the goroutine was spawned; reported as the join's site.
    site: &'static Location<'static>,
    yielded: bool,
}

impl<T> JoinHandle<T> {
    /// The goroutine's id (the main goroutine is 1, as in Go's tracebacks).
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let h = goro::spawn(async {});
    ///     assert!(h.id() > 1);
    ///     h.await;
    /// });
    /// ```
    pub fn id(&self) -> u64 {
        self.id.get()
    }

    /// Whether the goroutine has finished (its output is ready to join).
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let h = goro::spawn(async {});
    ///     while !h.is_finished() {
    ///         goro::yield_now().await;
    ///     }
    ///     h.await;
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        crate::rt::detect::touch_unknown();
        self.slot.is_finished()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        if detect::yield_point(cx, &mut this.yielded) {
            return Poll::Pending;
        }
        match this.slot.poll_join(cx) {
            Poll::Pending => {
                let g = this.id;
                detect::block_on(this.site, Waiting::Join, cx.waker(), || {
                    crate::rt::block::BlockInfo::Fixed(goro_analyzer::event::Wait::Join { g })
                });
                Poll::Pending
            }
            Poll::Ready(r) => {
                detect::join(this.id, this.site);
                match r {
                    Ok(v) => Poll::Ready(v),
                    Err(p) => {
                        // The rethrow skips the panic hook: keep the original
                        // site for the joiner's own crash line.
                        crate::rt::panic::set_last(crate::rt::panic::PanicRecord {
                            file: p.crash.file,
                            line: p.crash.line,
                            column: p.crash.column,
                            message: p.crash.message,
                        });
                        // The joiner may catch it: a recovery to hear of,
                        // and a print that waits for the joiner's top.
                        crate::rt::panic::mark_raised();
                        crate::rt::panic::defer_print(p.crash.stderr);
                        std::panic::resume_unwind(p.payload)
                    }
                }
            }
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.slot.detach();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// Lets other goroutines run: Go's `runtime.Gosched()`.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     goro::yield_now().await;
/// });
/// ```
pub async fn yield_now() {
    if detect::active() {
        // A scheduling point and nothing else.
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if detect::yield_point(cx, &mut yielded) {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await
    } else if crate::rt::exec::current().is_some() {
        // Woken while running: goro's executor puts it at the back of its
        // worker's queue, as Go's `Gosched` puts it on the global queue.
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    } else {
        tokio::task::yield_now().await
    }
}

/// The number of goroutines that currently exist, the main goroutine
/// included: Go's `runtime.NumGoroutine()`.
///
/// # Panics
///
/// Outside [`run`] and outside any tokio runtime.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     assert_eq!(goro::num_goroutine(), 1);
/// });
/// ```
#[track_caller]
pub fn num_goroutine() -> usize {
    crate::rt::detect::touch_unknown();
    g::current_run().live()
}
