//! Model internals shared by every primitive: the channel model, the parked
//! waiter, goroutine bookkeeping and panic capture. What users import lives
//! outside this module and stays thin.
//!
//! Every operation funnels through one function here (`Channel::park_send`,
//! `Channel::close`, ...), which is the single point where the detecting
//! scheduler will observe it.

pub(crate) mod chan;
pub(crate) mod goroutine;
pub(crate) mod notify;
pub(crate) mod panic;
pub(crate) mod semaphore;
pub(crate) mod waiter;
pub(crate) mod waitgroup;
pub(crate) mod waitq;
