//! A small service written the way Go services are, with the concurrency
//! bugs real ones ship: `cargo race test -p goro-demo` shows what goro's
//! detector says about them.
//!
//! - [`cache`]: a cache whose hit counter is read and written by every
//!   request handler without synchronization (a data race).
//! - [`pool`]: a worker pool where every worker closes the shared results
//!   channel when it runs out of jobs (close of a closed channel, and sends
//!   that may follow a close).
//! - [`handler`]: a request handler that creates a timeout context and never
//!   calls its `cancel` (a lost cancel).
//! - [`pipeline`]: a pipeline whose consumer returns early on a bad item and
//!   leaves its producer blocked forever (a goroutine leak).
//!
//! Each module's tests (tests/service.rs) run the code under
//! `goro::race::explore` and assert the bug is there, so they pass under a
//! plain `cargo test` and report their findings under `cargo race test`.

pub mod cache;
pub mod handler;
pub mod pipeline;
pub mod pool;
