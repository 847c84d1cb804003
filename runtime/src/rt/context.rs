//! The cancellation tree behind `goro::context`: Go's `cancelCtx`.
//!
//! Every cancelable context owns a [`CancelCore`]: its done channel, its
//! error, its deadline timer, and the cores of its cancelable descendants
//! that registered with it. Value contexts have no core of their own; they
//! share their parent's. The roots (`background`, `todo`) have a core that is
//! never cancelled, so nothing registers with them.
//!
//! Ownership runs one way to avoid `Arc` cycles: a parent's core holds its
//! registered children strongly (so cancelling the parent reaches a child
//! even if only the child's `done()` receiver is left, as in Go), and a child
//! refers back to its parent's core weakly, only to unregister. A deadline
//! timer holds its core until it fires or is stopped. Cancellation is the
//! single point (`CancelCore::cancel`) where a detector will observe it.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::chan::Channel;
use super::clock::{self, Instant, Timer};

/// Why a context was cancelled: what [`Context::err`](crate::context::Context::err) returns.
///
/// `Canceled`: its [`CancelFunc`](crate::context::CancelFunc) (or an ancestor's) was called.
/// `DeadlineExceeded`: its deadline (or an ancestor's) passed. A context
/// cancelled because its parent was carries the parent's error.
///
/// # Examples
///
/// ```
/// use goro::context::{self, Error};
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// cancel.cancel();
/// assert_eq!(ctx.err(), Some(Error::Canceled));
/// assert_eq!(Error::Canceled.to_string(), "context canceled");
/// assert_eq!(Error::DeadlineExceeded.to_string(), "context deadline exceeded");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The context was cancelled: Go's `context.Canceled`.
    Canceled,
    /// The context's deadline passed: Go's `context.DeadlineExceeded`.
    DeadlineExceeded,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for Error {}

const LIVE: u8 = 0;
const CANCELED: u8 = 1;
const DEADLINE_EXCEEDED: u8 = 2;

fn encode(e: Error) -> u8 {
    match e {
        Error::Canceled => CANCELED,
        Error::DeadlineExceeded => DEADLINE_EXCEEDED,
    }
}

/// Registration keys; process-wide so that a child knows its key before it
/// is registered.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

pub(crate) struct CancelCore {
    /// Closed exactly once, when `err` leaves `LIVE`.
    done: Done,
    /// The error, readable without the lock; written under it.
    err: AtomicU8,
    /// The effective deadline: the earlier of this context's and its parent's.
    deadline: Option<Instant>,
    /// False for the roots, which are never cancelled.
    cancelable: bool,
    /// The parent's core and this core's key in its `children`, if registered.
    parent: Option<(Weak<CancelCore>, u64)>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Registered cancelable descendants (the nearest ones). A `BTreeMap`
    /// keyed by increasing ids frees its memory as children leave, so a
    /// long-lived parent does not keep the high-water mark.
    children: BTreeMap<u64, Arc<CancelCore>>,
    timer: Option<Timer>,
}

impl CancelCore {
    fn new(deadline: Option<Instant>, cancelable: bool, parent: Option<(Weak<Self>, u64)>) -> Self {
        CancelCore {
            // Its senders are the CancelFuncs (and timers), not whoever
            // holds the context.
            done: Done::new(),
            err: AtomicU8::new(LIVE),
            deadline,
            cancelable,
            parent,
            state: Mutex::new(State::default()),
        }
    }

    /// The core of a root context: never cancelled.
    pub(crate) fn root() -> Arc<Self> {
        Arc::new(CancelCore::new(None, false, None))
    }

    /// A cancelable child of `parent`, with its own deadline `own` if any.
    ///
    /// Born cancelled (with the parent's error) if the parent already is,
    /// and with `DeadlineExceeded` if `own` has passed.
    #[track_caller]
    pub(crate) fn child(parent: &Arc<Self>, own: Option<Instant>) -> Arc<Self> {
        // A deadline no earlier than the parent's needs no timer: the parent
        // (or an ancestor) is cancelled first, with `DeadlineExceeded`.
        let own = own.filter(|d| parent.deadline.is_none_or(|p| *d < p));
        let deadline = own.or(parent.deadline);
        let reg = parent.cancelable.then(|| {
            (
                Arc::downgrade(parent),
                NEXT_ID.fetch_add(1, Ordering::Relaxed),
            )
        });
        let key = reg.as_ref().map(|r| r.1);
        let core = Arc::new(CancelCore::new(deadline, true, reg));

        // As in Go, a cancelled parent wins over a passed deadline.
        if let Some(e) = parent.err() {
            core.cancel_tree(e);
            return core;
        }
        // Arm the timer before registering: if it cannot be created (no
        // runtime) this panics with nothing to undo.
        if let Some(d) = own {
            if d <= clock::now() {
                core.cancel_tree(Error::DeadlineExceeded);
                return core;
            }
            core.arm(d);
        }

        let Some(key) = key else { return core };
        let mut st = parent.state.lock();
        if let Some(e) = parent.err() {
            // Cancelled since the check above.
            drop(st);
            core.cancel_tree(e);
        } else if core.err().is_none() {
            // A timer that fires from now on unregisters after this insert:
            // its removal needs the lock held here.
            st.children.insert(key, core.clone());
        }
        core
    }

    #[track_caller]
    fn arm(self: &Arc<Self>, at: Instant) {
        let me = self.clone();
        let timer = Timer::at(at, move || me.cancel(Error::DeadlineExceeded));
        let mut st = self.state.lock();
        let stale = if self.err().is_none() {
            st.timer = Some(timer);
            None
        } else {
            Some(timer)
        };
        drop(st);
        drop(stale);
    }

    /// The done channel; `goro::context` hands out receivers of it.
    pub(crate) fn done(&self) -> &Arc<Channel<()>> {
        &self.done.0
    }

    pub(crate) fn err(&self) -> Option<Error> {
        match self.err.load(Ordering::Acquire) {
            CANCELED => Some(Error::Canceled),
            DEADLINE_EXCEEDED => Some(Error::DeadlineExceeded),
            _ => None,
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Cancels this context and its descendants with `err`, stops its timer
    /// and unregisters it from its parent. No effect if already cancelled.
    pub(crate) fn cancel(self: &Arc<Self>, err: Error) {
        if self.cancel_tree(err) {
            self.unregister();
        }
    }

    /// Cancels this core and, iteratively (trees may be deep), every
    /// registered descendant. Whether this core was live.
    fn cancel_tree(&self, err: Error) -> bool {
        let mut pending = Vec::new();
        if !self.finish(err, &mut pending) {
            return false;
        }
        while let Some(c) = pending.pop() {
            // Its registration went with this tree's `children`.
            c.finish(err, &mut pending);
        }
        true
    }

    /// Marks this core cancelled and closes `done`, once; hands its
    /// children to `pending`.
    fn finish(&self, err: Error, pending: &mut Vec<Arc<CancelCore>>) -> bool {
        debug_assert!(self.cancelable, "a root context is never cancelled");
        let mut st = self.state.lock();
        if self.err.load(Ordering::Relaxed) != LIVE {
            return false;
        }
        // Before the close: whoever sees `done` closed sees the error.
        self.err.store(encode(err), Ordering::Release);
        let children = std::mem::take(&mut st.children);
        let timer = st.timer.take();
        drop(st);
        // Closed once: `err` left `LIVE` under the lock above.
        let _ = self.done.0.close(Location::caller());
        drop(timer);
        pending.extend(children.into_values());
        true
    }

    fn unregister(&self) {
        if let Some((parent, key)) = &self.parent {
            if let Some(parent) = parent.upgrade() {
                parent.state.lock().children.remove(key);
            }
        }
    }

    /// Children still registered (reported by the lost-cancel check).
    pub(crate) fn registered_children(&self) -> usize {
        self.state.lock().children.len()
    }

    /// Whether the context's timer is still pending (reported by the
    /// lost-cancel check).
    pub(crate) fn has_timer(&self) -> bool {
        self.state.lock().timer.is_some()
    }
}

/// The core's own handle of its done channel, counted as one that sends
/// and receives (its senders are the CancelFuncs and timers, not whoever
/// holds the context). The channel is goro's own (`Channel::internal`): the
/// goroutine whose drop takes the handle with it did not hold it.
struct Done(Arc<Channel<()>>);

impl Done {
    #[track_caller]
    fn new() -> Self {
        let ch = Arc::new(Channel::new(0, Location::caller()).internal().close_only());
        ch.counts.add(true, true);
        Done(ch)
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        self.0.drop_handle(true, true);
    }
}

impl Drop for CancelCore {
    /// Drops a deep tree of never-cancelled descendants iteratively, not by
    /// recursion.
    fn drop(&mut self) {
        let mut pending: Vec<Arc<CancelCore>> = std::mem::take(&mut self.state.get_mut().children)
            .into_values()
            .collect();
        while let Some(c) = pending.pop() {
            if let Ok(mut c) = Arc::try_unwrap(c) {
                pending.extend(std::mem::take(&mut c.state.get_mut().children).into_values());
            }
        }
    }
}
