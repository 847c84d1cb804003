//! `recover`: Go's `defer func() { recover() }()` for a future.
//!
//! [`recover`] polls a future and catches a panic raised while polling it,
//! resolving to `Err(PanicPayload)` instead of unwinding further. A
//! recovered panic is not printed by goro's panic hook, does not end the
//! program and is not a detector finding: it was handled, as in Go. The
//! same holds for a panic that a goroutine catches with
//! `std::panic::catch_unwind` or `futures`' `FutureExt::catch_unwind`, and
//! for one rethrown by a join and caught there. (A send that nothing orders
//! with the close of its channel stays a detector finding even when its
//! panic is recovered: Go's race detector reports that pair either way.)
//!
//! What unwinds: the panicking future's own locals are dropped (Go's
//! deferred calls run), so guards release their locks and a
//! `WaitGroup::done_on_drop` guard still counts down. State that the future
//! shared with others (through an `Arc`) may be half-updated, exactly as in
//! Go; that is why `recover` asserts unwind safety for you.
//!
//! [`goexit`](crate::goexit) is not a panic and is not recovered (Go's
//! `recover()` returns nil during `runtime.Goexit`): it unwinds through
//! `recover` and ends the goroutine.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::rt::panic::{self as rtpanic, Goexit};

/// Ends the calling goroutine: Go's `runtime.Goexit()`.
///
/// It unwinds the goroutine's stack, running its drops as Go runs deferred
/// calls (a `MutexGuard` unlocks, a
/// [`done_on_drop`](crate::sync::WaitGroup::done_on_drop) guard counts
/// down), and ends it. It is not a panic: nothing is printed, the program
/// goes on, the detector reports nothing, and [`recover`] lets it pass.
/// Implemented as an unwind with a private payload that the goroutine's
/// runner catches (in production and under the detector alike), so a
/// `std::panic::catch_unwind` between the call and the goroutine's top
/// would stop it: do not swallow unknown panic payloads.
///
/// A goroutine started with [`go!`](crate::go!) simply ends. One whose
/// output is awaited ([`spawn`](crate::spawn), or the main goroutine of
/// [`run`](crate::run)) has no output to give: its join panics with
/// `goroutine N called goro::goexit at FILE:LINE: it has no output to join`
/// (Go's main calling `Goexit` crashes too).
///
/// # Panics
///
/// Outside a goroutine (no `goro::run`, detector or tokio runtime).
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let wg = goro::sync::WaitGroup::new();
///     wg.add(1);
///     goro::go!(clone(wg), async move {
///         let _done = wg.done_on_drop(); // defer wg.Done(): still runs
///         goro::goexit();
///     });
///     wg.wait().await;
/// });
/// ```
#[track_caller]
pub fn goexit() -> ! {
    if !crate::rt::detect::active() && tokio::runtime::Handle::try_current().is_err() {
        panic!("goro::goexit called outside a goroutine (inside `goro::run` or a detected run)");
    }
    // `resume_unwind` skips the panic hook: nothing is printed or recorded.
    resume_unwind(Box::new(Goexit(std::panic::Location::caller())))
}

/// A panic caught by [`recover`]: Go's `recover()` value.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let p = goro::recover(async { panic!("boom") }).await.unwrap_err();
///     assert_eq!(p.message(), "boom");
///     assert!(p.file().ends_with(".rs"));
/// });
/// ```
pub struct PanicPayload {
    payload: Box<dyn Any + Send>,
    message: String,
    file: &'static str,
    line: u32,
}

impl PanicPayload {
    /// The panic message (`"Box<dyn Any>"` when the payload is neither a
    /// `&str` nor a `String`).
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let p = goro::recover(async { panic!("code {}", 7) }).await.unwrap_err();
    ///     assert_eq!(p.message(), "code 7");
    /// });
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The file where the panic was raised (`"<unknown>"` if unknown).
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let p = goro::recover(async { panic!("x") }).await.unwrap_err();
    ///     assert!(p.file().ends_with(".rs"));
    ///     assert!(p.line() > 0);
    /// });
    /// ```
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The line where the panic was raised (0 if unknown).
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let p = goro::recover(async { panic!("x") }).await.unwrap_err();
    ///     assert!(p.line() > 0);
    /// });
    /// ```
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The raw payload, for `downcast` (what `panic_any` was given).
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let p = goro::recover(async { std::panic::panic_any(42u8) }).await.unwrap_err();
    ///     assert_eq!(p.into_payload().downcast::<u8>().ok().map(|b| *b), Some(42));
    /// });
    /// ```
    pub fn into_payload(self) -> Box<dyn Any + Send> {
        self.payload
    }

    /// Panics again with the same payload: Go's `panic(r)` after a
    /// `recover()` that decided not to handle it.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let outer = goro::recover(async {
    ///         if let Err(p) = goro::recover(async { panic!("deep") }).await {
    ///             p.resume();
    ///         }
    ///     })
    ///     .await;
    ///     assert_eq!(outer.unwrap_err().message(), "deep");
    /// });
    /// ```
    pub fn resume(self) -> ! {
        resume_unwind(self.payload)
    }
}

impl fmt::Debug for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicPayload")
            .field("message", &self.message)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "panicked at {}:{}: {}",
            self.file, self.line, self.message
        )
    }
}

/// Runs `fut`, catching a panic raised while it runs: Go's
///
/// ```go
/// func safe() (err error) {
///     defer func() {
///         if r := recover(); r != nil { err = fmt.Errorf("%v", r) }
///     }()
///     work()
///     return nil
/// }
/// ```
///
/// is `goro::recover(work()).await.map_err(|p| p.to_string())`.
///
/// Resolves to `Ok(output)`, or to `Err(PanicPayload)` if polling `fut`
/// panicked; `fut` is dropped at the panic (its locals unwind, as Go runs
/// deferred calls). The caught panic is not printed, does not end the
/// program and is not a detector finding. Only panics raised on this
/// goroutine are caught: a goroutine that `fut` starts with
/// [`go!`](crate::go!) panics on its own, as in Go. [`goexit`](crate::goexit)
/// passes through.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let ok = goro::recover(async { 1 + 1 }).await;
///     assert_eq!(ok.unwrap(), 2);
///     let v: Vec<i32> = Vec::new();
///     let err = goro::recover(async move { v[3] }).await.unwrap_err();
///     assert!(err.message().contains("out of bounds"));
/// });
/// ```
#[track_caller]
pub fn recover<F: Future>(fut: F) -> Recover<F> {
    Recover {
        fut,
        done: false,
        at: std::panic::Location::caller(),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`recover`].
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let r: goro::Recover<_> = goro::recover(async { "fine" });
    ///     assert_eq!(r.await.unwrap(), "fine");
    /// });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Recover<F> {
        #[pin]
        fut: F,
        done: bool,
        at: &'static std::panic::Location<'static>,
    }
}

impl<F: Future> Future for Recover<F> {
    type Output = Result<F::Output, PanicPayload>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        assert!(!*this.done, "goro::recover polled after it completed");
        let fut = this.fut;
        let r = rtpanic::recovering_while(|| catch_unwind(AssertUnwindSafe(|| fut.poll(cx))));
        match r {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                *this.done = true;
                Poll::Ready(Ok(v))
            }
            Err(payload) => {
                // The unwind has dropped the future's live locals already
                // (Go's deferred calls); what is left is a poisoned shell.
                *this.done = true;
                if payload.is::<Goexit>() {
                    resume_unwind(payload);
                }
                // Handled here: the detector hears of it at the `recover`
                // call, and the goroutine's own poll must not again.
                rtpanic::clear_raised();
                let at = goro_analyzer::event::Loc::from_std(this.at);
                crate::rt::detect::recovered(crate::rt::detect::gid(), at);
                let rec = crate::rt::panic::take_last();
                let (message, file, line) = match rec {
                    Some(r) => (r.message, r.file, r.line),
                    None => (crate::rt::panic::payload_message(&*payload), "<unknown>", 0),
                };
                Poll::Ready(Err(PanicPayload {
                    payload,
                    message,
                    file,
                    line,
                }))
            }
        }
    }
}

impl<F> fmt::Debug for Recover<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recover").field("done", &self.done).finish()
    }
}
