//! Goroutines on the production executor: ids, names, the live count, panic
//! capture and the join slot.
//!
//! Every goroutine is a [`Goroutine`] wrapper around the user's future. The
//! wrapper catches a panic, turns it into Go's
//! `goroutine N [name] panicked at FILE:LINE: MSG`, and routes it to the
//! goroutine's join handle or, when nobody can join it, to the run it belongs
//! to, which then stops the main goroutine and panics (Go crashes the program).

use std::borrow::Cow;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use parking_lot::Mutex;

use goro_analyzer::event::Gid;

use super::asleep::{Census, Tracker};
use super::panic::{self as rtpanic, payload_message};

/// One `goro::run` (or the process-wide fallback inside a foreign tokio
/// runtime): goroutine ids, how many are alive, and the first unjoined panic.
pub(crate) struct RunState {
    next_id: AtomicU64,
    /// Goroutines alive that no census entry counts (see [`RunState::live`]).
    live: AtomicUsize,
    panic: Mutex<Option<Crash>>,
    /// `panic` holds a crash: set under its lock, cleared under it when
    /// taken. The detecting scheduler asks after every step, almost
    /// always to hear no; a load is cheaper than the lock.
    panic_pending: AtomicBool,
    /// Wakes the run's main loop when a goroutine panic is reported.
    watcher: AtomicWaker,
    /// Main returned: the program is over and later panics are dropped
    /// with their goroutines, as in Go. Changed under `panic`'s lock.
    main_returned: AtomicBool,
    /// Go's deadlock crash (a `goro::run`'s state only).
    census: Option<Census>,
}

impl RunState {
    pub(crate) fn new() -> Arc<Self> {
        Self::with_census(None)
    }

    /// The state of a `goro::run`: its goroutines are counted for Go's
    /// deadlock crash.
    pub(crate) fn program() -> Arc<Self> {
        Self::with_census(Some(Census::new()))
    }

    fn with_census(census: Option<Census>) -> Arc<Self> {
        Arc::new(RunState {
            next_id: AtomicU64::new(1),
            live: AtomicUsize::new(0),
            panic: Mutex::new(None),
            panic_pending: AtomicBool::new(false),
            watcher: AtomicWaker::new(),
            main_returned: AtomicBool::new(false),
            census,
        })
    }

    pub(crate) fn census(&self) -> Option<&Census> {
        self.census.as_ref()
    }

    /// Main returned (or panicked): the program is over. A goroutine panic
    /// reported before this still fails the run; one after it does not.
    pub(crate) fn end_main(&self) {
        let _p = self.panic.lock();
        self.main_returned.store(true, Ordering::Relaxed);
        if let Some(c) = &self.census {
            c.end();
        }
    }

    pub(crate) fn next_id(&self) -> Gid {
        // A worker of a `goro::run` takes its ids in batches.
        let id = super::asleep::next_id(self, &self.next_id)
            .unwrap_or_else(|| self.next_id.fetch_add(1, Ordering::Relaxed));
        Gid::new(id).expect("goroutine ids start at 1")
    }

    /// Goroutines alive: those in the census (a `goro::run`'s) and the
    /// others, counted apart.
    pub(crate) fn live(&self) -> usize {
        let tracked = self.census.as_ref().map_or(0, Census::live);
        tracked + self.live.load(Ordering::Relaxed)
    }

    /// Records an unjoined goroutine's panic; the first one wins, as in Go
    /// where the first panic ends the program.
    pub(crate) fn report_panic(&self, mut crash: Crash) {
        let mut p = self.panic.lock();
        if self.main_returned.load(Ordering::Relaxed) {
            // The program is over: the goroutine is dropped, silently.
            return;
        }
        // Nothing caught it: Go prints it now (under the lock, so that a
        // panic racing with main's return is printed only if it is fatal).
        rtpanic::print_fatal(crash.stderr.take());
        if p.is_none() {
            *p = Some(crash);
            self.panic_pending.store(true, Ordering::Release);
        }
        drop(p);
        self.watcher.wake();
    }

    /// Polled by `goro::run` beside the main goroutine.
    pub(crate) fn poll_panic(&self, cx: &mut Context<'_>) -> Option<Crash> {
        if let Some(m) = self.take_panic() {
            return Some(m);
        }
        // Registered before the second look: a report after the first look
        // either is seen by it or wakes the new waker.
        self.watcher.register(cx.waker());
        self.take_panic()
    }

    /// The first unjoined panic, taken (`None` if there is none). The flag
    /// is read first: the detecting scheduler asks after every step.
    pub(crate) fn take_panic(&self) -> Option<Crash> {
        if !self.panic_pending() {
            return None;
        }
        let mut p = self.panic.lock();
        self.panic_pending.store(false, Ordering::Relaxed);
        p.take()
    }

    /// Whether a panic waits to be taken, without taking it.
    #[inline]
    pub(crate) fn panic_pending(&self) -> bool {
        self.panic_pending.load(Ordering::Acquire)
    }
}

thread_local! {
    static RUN: RefCell<Option<Arc<RunState>>> = const { RefCell::new(None) };
}

/// Makes `run` the run of this thread (a `goro::run` worker or its caller).
pub(crate) fn set_thread_run(run: Option<Arc<RunState>>) -> Option<Arc<RunState>> {
    RUN.with(|r| std::mem::replace(&mut *r.borrow_mut(), run))
}

/// The run of this thread, if it has one.
pub(crate) fn thread_run() -> Option<Arc<RunState>> {
    RUN.with(|r| r.borrow().clone())
}

/// `f` with the run of this thread, borrowed: no reference count to touch
/// on a line that every worker's goroutines share.
pub(crate) fn with_thread_run<R>(f: impl FnOnce(Option<&Arc<RunState>>) -> R) -> R {
    RUN.with(|r| f(r.borrow().as_ref()))
}

/// The run that a goroutine spawned from this thread belongs to.
#[track_caller]
pub(crate) fn current_run() -> Arc<RunState> {
    with_current_run(Arc::clone)
}

/// `f` with the run that a goroutine spawned from this thread belongs to,
/// borrowed.
#[track_caller]
pub(crate) fn with_current_run<R>(f: impl FnOnce(&Arc<RunState>) -> R) -> R {
    let mut f = Some(f);
    let done = with_thread_run(|r| r.map(|run| (f.take().expect("called once"))(run)));
    match done {
        Some(out) => out,
        None => (f.take().expect("called once"))(foreign_run()),
    }
}

/// The run state of goroutines started inside a tokio runtime goro did not
/// start; panics outside any runtime.
#[track_caller]
fn foreign_run() -> &'static Arc<RunState> {
    if tokio::runtime::Handle::try_current().is_ok() {
        // Inside a tokio runtime that goro did not start (`#[tokio::test]`):
        // goroutines run there and share one process-wide run state.
        static FOREIGN: OnceLock<Arc<RunState>> = OnceLock::new();
        return FOREIGN.get_or_init(RunState::new);
    }
    panic!(
        "goro: goroutines can only be started inside `goro::run` (or a tokio runtime); \
         wrap the program in `goro::run(async {{ .. }})`"
    )
}

/// A goroutine panic: Go's crash line, and its parts for the detector.
#[derive(Clone, Debug)]
pub(crate) struct Crash {
    /// `goroutine N [name] panicked at FILE:LINE: MESSAGE`.
    pub(crate) report: String,
    pub(crate) gid: Gid,
    pub(crate) message: String,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    pub(crate) column: u32,
    /// What the panic hook would have printed when it was raised, printed
    /// once the panic is known to be fatal (see `rt::panic`).
    pub(crate) stderr: Option<String>,
}

impl Crash {
    /// Go's deadlock crash: every goroutine asleep (see `rt::asleep`).
    pub(crate) fn deadlock(report: String) -> Crash {
        Crash {
            message: report.clone(),
            report,
            // No goroutine panicked: the program's crash, reported as main's.
            gid: Gid::MAIN,
            file: "<deadlock>",
            line: 0,
            column: 0,
            // Nothing was held back: `run`'s panic carries the whole report.
            stderr: None,
        }
    }

    /// Goroutine `id` (named `name`) panicked with `message` at `file:line:column`.
    fn new(
        id: Gid,
        name: Option<&str>,
        (file, line, column): (&'static str, u32, u32),
        message: String,
    ) -> Crash {
        let report = match name {
            Some(n) => format!("goroutine {id} [{n}] panicked at {file}:{line}: {message}"),
            None => format!("goroutine {id} panicked at {file}:{line}: {message}"),
        };
        Crash {
            report,
            gid: id,
            message,
            file,
            line,
            column,
            stderr: None,
        }
    }
}

/// The panic of a joinable goroutine, kept for its join.
pub(crate) struct Panicked {
    pub(crate) payload: Box<dyn std::any::Any + Send>,
    pub(crate) crash: Crash,
}

struct SlotState<T> {
    result: Option<Result<T, Panicked>>,
    handle_gone: bool,
}

/// Where a joinable goroutine leaves its output for its `JoinHandle`.
pub(crate) struct JoinSlot<T> {
    state: Mutex<SlotState<T>>,
    waker: AtomicWaker,
    run: Arc<RunState>,
    /// The main goroutine's slot: completing it ends the program.
    main: bool,
}

impl<T> JoinSlot<T> {
    pub(crate) fn new(run: Arc<RunState>) -> Arc<Self> {
        Self::with_main(run, false)
    }

    /// The slot of `run`'s main goroutine.
    pub(crate) fn main(run: Arc<RunState>) -> Arc<Self> {
        Self::with_main(run, true)
    }

    fn with_main(run: Arc<RunState>, main: bool) -> Arc<Self> {
        Arc::new(JoinSlot {
            state: Mutex::new(SlotState {
                result: None,
                handle_gone: false,
            }),
            waker: AtomicWaker::new(),
            run,
            main,
        })
    }

    fn complete(&self, r: Result<T, Panicked>) {
        if self.main {
            self.run.end_main();
        }
        let mut st = self.state.lock();
        if st.handle_gone {
            drop(st);
            if let Err(p) = r {
                self.run.report_panic(p.crash);
            }
            return;
        }
        st.result = Some(r);
        drop(st);
        self.waker.wake();
    }

    /// The goroutine called `goexit` at `at`: a join has no output to
    /// take and panics; a detached handle has nobody to tell.
    fn complete_goexit(
        &self,
        id: Gid,
        name: Option<&str>,
        at: &'static std::panic::Location<'static>,
    ) {
        let mut st = self.state.lock();
        if st.handle_gone {
            return;
        }
        let message = format!(
            "goroutine {id} called goro::goexit at {}:{}: it has no output to join",
            at.file(),
            at.line()
        );
        let crash = Crash::new(
            id,
            name,
            (at.file(), at.line(), at.column()),
            message.clone(),
        );
        st.result = Some(Err(Panicked {
            payload: Box::new(message),
            crash,
        }));
        drop(st);
        self.waker.wake();
    }

    /// Polled by the handle: the output, or the panic to resume.
    pub(crate) fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, Panicked>> {
        if let Some(r) = self.state.lock().result.take() {
            return Poll::Ready(r);
        }
        self.waker.register(cx.waker());
        match self.state.lock().result.take() {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.state.lock().result.is_some()
    }

    /// The output or panic, if the goroutine has finished.
    pub(crate) fn try_take(&self) -> Option<Result<T, Panicked>> {
        self.state.lock().result.take()
    }

    /// The handle is gone: a panic nobody will join now belongs to the run.
    pub(crate) fn detach(&self) {
        let mut st = self.state.lock();
        st.handle_gone = true;
        if let Some(Err(p)) = st.result.take() {
            drop(st);
            self.run.report_panic(p.crash);
        }
    }
}

/// Counts a goroutine as live from spawn until its wrapper is dropped.
pub(crate) struct LiveGuard(Arc<RunState>);

impl LiveGuard {
    fn new(run: Arc<RunState>) -> Self {
        run.live.fetch_add(1, Ordering::Relaxed);
        LiveGuard(run)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What counts a goroutine as live and knows its run: its census entry
/// (the goroutines of a `goro::run`), else the run's own count.
pub(crate) enum Owner {
    Tracked(Tracker),
    Counted(LiveGuard),
}

impl Owner {
    /// The owner of goroutine `id` of `run` (named `name`, started at
    /// `site`): a census entry when `run` keeps a census, on the
    /// production executor.
    pub(crate) fn new(
        run: &Arc<RunState>,
        id: Gid,
        name: &Option<Cow<'static, str>>,
        site: &'static std::panic::Location<'static>,
    ) -> Owner {
        let tracker = if super::detect::active() {
            None
        } else {
            Tracker::new(run, id, name.clone(), site)
        };
        match tracker {
            Some(t) => Owner::Tracked(t),
            None => Owner::Counted(LiveGuard::new(run.clone())),
        }
    }

    fn run(&self) -> &RunState {
        match self {
            Owner::Tracked(t) => t.run(),
            Owner::Counted(g) => &g.0,
        }
    }

    fn tracker(&self) -> Option<&Tracker> {
        match self {
            Owner::Tracked(t) => Some(t),
            Owner::Counted(_) => None,
        }
    }
}

/// Where a goroutine's output goes.
pub(crate) enum Sink<T> {
    /// `go!`: output dropped, panic reported to the run.
    Detached,
    /// `spawn`: output and panic go to the join handle.
    Join(Arc<JoinSlot<T>>),
}

pin_project_lite::pin_project! {
    /// A user future running as goroutine `id`.
    pub(crate) struct Goroutine<F: Future> {
        #[pin]
        fut: F,
        id: Gid,
        name: Option<Cow<'static, str>>,
        sink: Option<Sink<F::Output>>,
        // Dropped after `fut`, whose drop may wake others.
        owner: Owner,
    }
}

impl<F: Future> Goroutine<F> {
    /// Goroutine `id` of `run`, started at the caller's location.
    #[track_caller]
    pub(crate) fn new(
        run: Arc<RunState>,
        id: Gid,
        name: Option<Cow<'static, str>>,
        sink: Sink<F::Output>,
        fut: F,
    ) -> Self {
        let owner = Owner::new(&run, id, &name, std::panic::Location::caller());
        Self::with_owner(id, name, sink, owner, fut)
    }

    /// Goroutine `id`, counted by `owner` (see [`Owner::new`]).
    #[inline(always)]
    pub(crate) fn with_owner(
        id: Gid,
        name: Option<Cow<'static, str>>,
        sink: Sink<F::Output>,
        owner: Owner,
        fut: F,
    ) -> Self {
        rtpanic::install_hook();
        Goroutine {
            fut,
            id,
            name,
            sink: Some(sink),
            owner,
        }
    }
}

/// Starts goroutine `g`: on the detecting scheduler when one runs on this
/// thread, else on goro's executor, else (inside a tokio runtime goro did
/// not start) as a tokio task.
pub(crate) fn start<F>(g: Goroutine<F>, site: &'static std::panic::Location<'static>)
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    if super::detect::active() {
        let name = g.name.clone();
        super::detect::spawn(g.id, name.as_deref(), site, Box::pin(g));
    } else if let Some(exec) = super::exec::current_ptr() {
        // By address, not inside the thread-local's closure (moving `g`
        // into closures copied the whole future twice more), nor an `Arc`
        // clone (a count every worker's spawns share).
        // SAFETY: this thread's executor stays alive while this thread
        // refers to it, and the reference is replaced only at the start
        // and end of a worker or a run, not during this spawn.
        start_on(unsafe { exec.as_ref() }, g);
    } else {
        tokio::spawn(g);
    }
}

/// Starts goroutine `g` on goro's executor `exec`. Inlined, as are the
/// executor's spawn functions: each call level that takes the future by
/// value was a `memcpy` of it.
#[inline(always)]
pub(crate) fn start_on<F>(exec: &super::exec::Shared, g: Goroutine<F>)
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    let home = g.owner.tracker().map(Tracker::home);
    exec.spawn(g.id.get(), g, home);
}

/// Go's crash line for a goroutine panic, with its parts.
pub(crate) fn crash(id: Gid, name: Option<&str>, payload: &(dyn std::any::Any + Send)) -> Crash {
    let (file, line, column, message) = match rtpanic::take_last() {
        Some(r) => (r.file, r.line, r.column, r.message),
        None => ("<unknown>", 0, 0, payload_message(payload)),
    };
    Crash::new(id, name, (file, line, column), message)
}

impl<F: Future> Future for Goroutine<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let fut = this.fut;
        let tracker = this.owner.tracker();
        let (r, raised) = rtpanic::poll_goroutine(|| match tracker {
            Some(t) => {
                let waker = t.begin(cx.waker());
                let mut cx = Context::from_waker(&waker);
                catch_unwind(AssertUnwindSafe(|| fut.poll(&mut cx)))
            }
            None => catch_unwind(AssertUnwindSafe(|| fut.poll(cx))),
        });
        // The common cases here; a panic (raised, caught or not) out of
        // line, which keeps this frame small.
        match r {
            Ok(Poll::Pending) if !raised => {
                if let Some(t) = tracker {
                    t.pending();
                }
                Poll::Pending
            }
            Ok(Poll::Ready(v)) if !raised => {
                if let Some(Sink::Join(slot)) = this.sink.take() {
                    slot.complete(Ok(v));
                }
                Poll::Ready(())
            }
            r => finish(
                r,
                raised,
                *this.id,
                this.name.as_deref(),
                this.sink,
                this.owner,
            ),
        }
    }
}

/// The rest of [`Goroutine::poll`]: the poll `r` returned (or raised), and
/// a panic was `raised` during it.
#[inline(never)]
fn finish<T>(
    r: std::thread::Result<Poll<T>>,
    raised: bool,
    id: Gid,
    name: Option<&str>,
    sink: &mut Option<Sink<T>>,
    owner: &Owner,
) -> Poll<()> {
    if r.is_ok() && raised {
        // A panic was raised in this poll and it returned normally: the
        // goroutine caught it (`catch_unwind`), Go's `recover()`, and
        // nothing is printed.
        rtpanic::take_deferred();
        super::detect::recovered(Some(id), rtpanic::last_loc());
    }
    let r = match r {
        Ok(Poll::Pending) => {
            if let Some(t) = owner.tracker() {
                t.pending();
            }
            return Poll::Pending;
        }
        Ok(Poll::Ready(v)) => Ok(v),
        Err(payload) => {
            if let Some(exit) = payload.downcast_ref::<rtpanic::Goexit>() {
                // `goexit`: the unwind ran the drops; the goroutine ends,
                // quietly, with no output (a panic caught before it is
                // not printed either).
                rtpanic::take_deferred();
                if let Some(Sink::Join(slot)) = sink.take() {
                    slot.complete_goexit(id, name, exit.0);
                }
                return Poll::Ready(());
            }
            let mut crash = crash(id, name, &*payload);
            crash.stderr = rtpanic::take_deferred();
            Err(Panicked { payload, crash })
        }
    };
    match (sink.take(), r) {
        (Some(Sink::Join(slot)), r) => slot.complete(r),
        (_, Err(p)) => owner.run().report_panic(p.crash),
        (_, Ok(_)) => {}
    }
    Poll::Ready(())
}
