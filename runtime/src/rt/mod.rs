//! Model internals shared by every primitive: the channel model, the parked
//! waiter, the semaphore and wait queues behind the sync types, goroutine
//! bookkeeping, panic capture, the clock, the production executor
//! (`exec`), the detector hook point and the detecting scheduler. What users import lives outside this module and
//! stays thin.
//!
//! The data path of detection: a primitive's operation calls a hook in
//! [`detect`] → the scheduler (`sched`) turns it into a `goro_analyzer`
//! event → the engine updates its clocks and records findings.

pub(crate) mod asleep;
pub(crate) mod block;
pub(crate) mod chan;
pub(crate) mod clock;
pub(crate) mod context;
pub(crate) mod detect;
pub(crate) mod dropsite;
pub(crate) mod exec;
pub(crate) mod goroutine;
pub(crate) mod ident;
pub(crate) mod notify;
pub(crate) mod panic;
pub(crate) mod prims;
pub(crate) mod sched;
pub(crate) mod semaphore;
pub(crate) mod spin;
pub(crate) mod waiter;
pub(crate) mod waitgroup;
pub(crate) mod waitq;
