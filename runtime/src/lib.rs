//! goro: Go's concurrency model for Rust.
//!
//! Goroutines ([`go!`], [`spawn`]), channels ([`chan`], [`select!`]),
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
//! [`sync::atomic`] order memory as Go's do. goro does not emulate weaker
//! orderings.

#![warn(missing_docs)]

pub mod chan;
mod goroutine;
pub(crate) mod rt;
#[doc(hidden)]
pub mod select;
mod select_macro;
mod shared;

pub mod context;
pub mod race;
pub mod sync;
pub mod time;

pub use chan::{chan, Chan, Receiver, Sender, TryRecvError, TrySendError};
#[doc(hidden)]
pub use goroutine::__go;
pub use goroutine::{num_goroutine, run, spawn, yield_now, JoinHandle};
pub use shared::Shared;
