//! goro: Go's concurrency model for Rust.
//!
//! Goroutines ([`go!`], [`spawn`]), channels ([`chan()`], [`select!`]),
//! [`sync`] primitives, [`context`] and [`time`], with Go's semantics,
//! running on a tokio multi-thread runtime started by [`run`].
//!
//! ```
//! use std::time::Duration;
//!
//! goro::run(async {
//!     let results = goro::chan(0);
//!     let tx = results.clone();
//!     goro::go!("worker", async move {
//!         tx.send("done").await;
//!     });
//!     goro::select! {
//!         recv(results) -> msg => assert_eq!(msg, Some("done")),
//!         recv(goro::time::after(Duration::from_secs(5))) -> _ => panic!("timeout"),
//!     }
//! });
//! ```
//!
//! # Memory model
//!
//! goro follows Go's memory model: channel operations, locks, `WaitGroup`,
//! `Once`, context cancellation and the sequentially consistent atomics of
//! `sync::atomic` order memory as Go's do. goro does not emulate weaker
//! orderings.
//!
//! # Cargo features
//!
//! - `detect` (on by default): the detecting scheduler behind `cargo race`,
//!   [`race`] and `#[goro::instrument]`'s detection. In a build without a
//!   detecting schedule it costs one thread-local test per goro operation
//!   and per [`Shared`] access. A program can ship without it, as Go ships
//!   without `-race`: `goro = { version = "..", default-features = false }`
//!   compiles the hooks out, and a detecting schedule then panics with a
//!   message that says the feature is off.

#![warn(missing_docs)]

pub mod chan;
mod goroutine;
mod per_run;
mod recover;
pub(crate) mod rt;
#[doc(hidden)]
pub mod select;
mod select_macro;
mod shared;
mod shared_slice;

pub mod context;
pub mod race;
pub mod sync;
pub mod time;
mod wallclock;

pub use chan::{chan, Chan, Receiver, Sender, TryRecvError, TrySendError};
/// Runs an `async fn` test under the detector, or instruments a function,
/// method, impl block or inline module: a shadow call frame per call, tracked
/// reads and writes of `static mut` items and raw-pointer places in `unsafe`
/// code, and the lostcancel lint.
///
/// Above `#[test]` on an `async fn` with no parameters, it runs the body as
/// the main goroutine of [`race::explore`] and fails the test on any finding
/// not listed in `expect` or `allow`, or when an expected kind is not found
/// (`expected data-race, found none`). Arguments: `schedules`, `seed`,
/// `strategy = "random" | "pct"`, `depth`, `max_steps`,
/// `expect = "kind" | ["kind", ..]`, `allow = ["kind", ..]`; the `GORO_*`
/// variables override them. The body may return `()` or `Result<(), E>`
/// with `E: Debug`. Always write the path, `#[goro::instrument]`: a bare
/// `instrument` clashes with `tracing::instrument`.
///
/// A `static mut` is recognised when it is declared in the instrumented
/// module (or in the function's outermost block) and not shadowed; `*p` is
/// recorded when `p` is a raw pointer. A `CancelFunc` that is discarded,
/// bound to `_`, never mentioned again, or left unused on some way out of
/// the function (a `return`, a `?`, a branch that ends it) is a compile
/// error, spanned at that exit. Without a
/// detector, each frame or access costs one thread-local check.
///
/// # Examples
///
/// A race through a `static mut`, found with the call chain that led to it:
///
/// ```
/// use goro::race::{explore, Config, FindingKind};
///
/// #[goro::instrument]
/// mod counter {
///     pub static mut HITS: u64 = 0;
///
///     pub fn hit() {
///         // SAFETY: unsynchronized on purpose: the detector reports it.
///         unsafe { HITS += 1 }
///     }
/// }
///
/// let report = explore(Config::default().schedules(20).env(false), || async {
///     let a = goro::spawn(async { counter::hit() });
///     let b = goro::spawn(async { counter::hit() });
///     a.await;
///     b.await;
/// });
/// let race = report
///     .findings()
///     .iter()
///     .find(|f| f.kind == FindingKind::DataRace)
///     .expect("two unordered writes of HITS");
/// assert!(race.primary.frames.last().unwrap().function.ends_with("counter::hit"));
/// ```
///
/// A test (run by `cargo test`; `expect` makes the known leak pass, and
/// fails the test if it is ever fixed):
///
/// ```no_run
/// #[goro::instrument(schedules = 50, expect = "goroutine-leak")]
/// #[test]
/// async fn forgotten_receiver_leaks_the_sender() {
///     let ch = goro::chan::<i32>(0);
///     goro::go!(async move { ch.send(1).await });
/// }
/// # fn main() {}
/// ```
pub use goro_macros::instrument;
/// `#[goro::instrument(..)]` and `#[test]` in one attribute, in the shape of
/// `#[tokio::test]`: runs an `async fn` test under the detector.
///
/// # Examples
///
/// ```no_run
/// #[goro::test(schedules = 20)]
/// async fn handoff_is_race_free() -> Result<(), String> {
///     let ch = goro::chan(0);
///     let tx = ch.clone();
///     goro::go!(async move { tx.send(1).await });
///     let v = ch.recv().await.ok_or("closed")?;
///     assert_eq!(v, 1);
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub use goro_macros::test;
#[doc(hidden)]
pub use goroutine::__go;
#[doc(hidden)]
pub use goroutine::__pending_timers;
pub use goroutine::{num_goroutine, run, spawn, yield_now, JoinHandle};
pub use per_run::PerRun;
pub use recover::{goexit, recover, PanicPayload, Recover};
pub use shared::Shared;
pub use shared_slice::SharedSlice;

/// The README's examples, compiled and run as doc tests so the tour stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
