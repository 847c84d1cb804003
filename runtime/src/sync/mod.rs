//! Go's `sync` package: [`Mutex`], [`RwLock`], [`WaitGroup`], [`Once`],
//! [`Cond`], [`Map`], and [`atomic`].
//!
//! The locks, `WaitGroup` and `Cond` park the goroutine (not the thread)
//! while they wait, so thousands of goroutines can wait on one lock. Their
//! futures are cancel safe: dropping one (as a timeout or `select!` does)
//! gives up its place in line and never leaks a lock or swallows a wake-up.
//! Waiters are served in FIFO order and cannot starve: an `RwLock` unlock
//! hands ownership directly to the longest waiter; a `Mutex` follows Go's
//! normal and starvation modes (a free mutex may be taken by a newcomer, but
//! a waiter that has waited over 1 ms is handed it next).
//!
//! They order memory as Go's do: an unlock happens before the next lock
//! returns, every `done` before the `wait` it releases, the `Once` body
//! before every `call_once` returns, a `signal`/`broadcast` before the wait
//! it wakes, and atomics are sequentially consistent.
//!
//! Share them between goroutines with an `Arc`, inside an `Arc`'d struct, or
//! in a `static` (`Mutex::new`, `RwLock::new`, `Once::new`, `Cond::new` and
//! the atomics' `new` are `const`). `WaitGroup` is itself a cheap `Clone`
//! handle.
//!
//! # Examples
//!
//! Go's `Counter` with a mutex:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Arc;
//! use goro::sync::{Mutex, WaitGroup};
//!
//! #[derive(Default)]
//! struct Counter {
//!     counts: Mutex<HashMap<String, i32>>,
//! }
//!
//! impl Counter {
//!     async fn inc(&self, key: &str) {
//!         *self.counts.lock().await.entry(key.to_string()).or_default() += 1;
//!     }
//! }
//!
//! goro::run(async {
//!     let c = Arc::new(Counter::default());
//!     let wg = WaitGroup::new();
//!     for _ in 0..100 {
//!         wg.add(1);
//!         let (c, wg) = (c.clone(), wg.clone());
//!         goro::go!(async move {
//!             c.inc("key").await;
//!             wg.done();
//!         });
//!     }
//!     wg.wait().await;
//!     assert_eq!(c.counts.lock().await["key"], 100);
//! });
//! ```

pub mod atomic;
mod cond;
mod map;
mod mutex;
mod once;
mod rwlock;
mod waitgroup;

pub use cond::{Cond, CondWaitFuture};
pub use map::Map;
pub use mutex::{LockFuture, Mutex, MutexGuard};
pub use once::Once;
pub use rwlock::{ReadFuture, RwLock, RwLockReadGuard, RwLockWriteGuard, WriteFuture};
pub use waitgroup::{DoneGuard, WaitFuture, WaitGroup};
