//! What a parked goroutine waits for, as the primitive that parked it
//! describes it to the detector ([`super::detect::block`]): the scheduler
//! keeps it for the leak and deadlock reports, and its proof that a
//! goroutine can never be woken reads the channel operations in it.

use std::ops::Deref;
use std::sync::{Arc, Weak};

use goro_analyzer::event::{ObjId, Wait};

use super::chan::HandleCounts;
use super::waiter::Waiter;
use super::waitgroup::WaitGroupState;

/// What a parked goroutine waits for, as the primitive that parked it
/// describes it.
pub(crate) enum BlockInfo {
    Fixed(Wait),
    /// Locking the Mutex or RwLock `obj`, which lies at `addr`: a peer wait
    /// (`Wait::Lock`, as a `Fixed` `Wait::Cond` is), unless the lock lies inside the waiting goroutine's
    /// own future, where no other goroutine can reach it (the proof reads
    /// `addr`).
    Lock {
        obj: ObjId,
        addr: usize,
    },
    /// `WaitGroup::wait` through the handle at `handle`, on the group whose
    /// shared state is `state` (weak: the wait must not count as a handle).
    /// Read when the schedule ends (`done` calls made after it parked
    /// count). A peer wait (only some goroutine's code can end it,
    /// whichever goroutine that is), unless every handle of the group lies in goroutines
    /// that can never run again, where no code can call `add` or `done`
    /// (the proof reads `state` and `handle`).
    WaitGroup {
        obj: ObjId,
        state: Weak<WaitGroupState>,
        handle: usize,
    },
    /// Channel operations (one, or a `select!`'s cases) parked under one
    /// waiter: what the proof that it can never be woken reads.
    Chans {
        ops: ChanOps,
        select: bool,
        waiter: Weak<Waiter>,
    },
}

/// The channel operations of one park: a plain send or receive holds its
/// one operation inline, so parking on a channel allocates no record (a
/// `Vec` per park, freed at the next, was 8% of a ping-pong under the
/// detector); a `select!` collects its cases.
pub(crate) enum ChanOps {
    One(ChanWait),
    Many(Vec<ChanWait>),
}

impl Deref for ChanOps {
    type Target = [ChanWait];

    fn deref(&self) -> &[ChanWait] {
        match self {
            ChanOps::One(op) => std::slice::from_ref(op),
            ChanOps::Many(ops) => ops,
        }
    }
}

impl From<ChanWait> for ChanOps {
    fn from(op: ChanWait) -> Self {
        ChanOps::One(op)
    }
}

impl FromIterator<ChanWait> for ChanOps {
    fn from_iter<I: IntoIterator<Item = ChanWait>>(ops: I) -> Self {
        ChanOps::Many(ops.into_iter().collect())
    }
}

/// One channel operation a goroutine is parked in.
#[doc(hidden)]
pub struct ChanWait {
    /// The channel, per schedule (reports) and process-wide (the proof).
    pub(crate) ch: ObjId,
    pub(crate) id: u64,
    pub(crate) counts: Arc<HandleCounts>,
    /// It sends (else it receives).
    pub(crate) send: bool,
    /// The handle it goes through (`rt::chan::handle_ref`).
    pub(crate) handle: usize,
}

impl BlockInfo {
    /// Whether a pending timer will wake it: a sleep (its wake-up is always
    /// pending), or a receive (a select's included) from a channel a live
    /// timer sends on.
    pub(crate) fn timer_pending(&self) -> bool {
        match self {
            BlockInfo::Fixed(w) => *w == Wait::Sleep,
            BlockInfo::Lock { .. } | BlockInfo::WaitGroup { .. } => false,
            BlockInfo::Chans { ops, .. } => ops.iter().any(|op| !op.send && op.counts.timer_fed()),
        }
    }

    /// Lets go of the parked operation's waiter: the goroutine is being
    /// polled, and the proof reads a record only while it is fresh (parked
    /// in the last poll). A weak reference left here would keep the waiter
    /// from going back to the pool when the operation completes.
    #[inline]
    pub(crate) fn release_waiter(&mut self) {
        if let BlockInfo::Chans { waiter, .. } = self {
            *waiter = Weak::new();
        }
    }

    /// The wait, as the engine knows it, with the handle counts of now.
    pub(crate) fn wait(self) -> Wait {
        match self {
            BlockInfo::Fixed(w) => w,
            BlockInfo::Lock { obj, .. } => Wait::Lock { obj },
            BlockInfo::WaitGroup { obj, state, .. } => Wait::WaitGroup {
                wg: obj,
                // Gone only with every handle, the waiter's among them.
                counter: state.upgrade().map_or(0, |s| s.counter()),
            },
            BlockInfo::Chans { ops, select, .. } => {
                let peers = |op: &ChanWait| {
                    if op.send {
                        op.counts.receivers()
                    } else {
                        op.counts.senders()
                    }
                };
                match (select, ops.first()) {
                    (false, Some(op)) if op.send => Wait::Send {
                        ch: op.ch,
                        receivers: peers(op),
                    },
                    (false, Some(op)) if op.counts.timer_fed() => Wait::Tick { ch: op.ch },
                    (false, Some(op)) if op.counts.timer_chan() => Wait::TimerOver {
                        ch: op.ch,
                        senders: peers(op),
                    },
                    (false, Some(op)) => Wait::Recv {
                        ch: op.ch,
                        senders: peers(op),
                    },
                    _ => Wait::Select {
                        cases: ops.iter().map(|op| (op.ch, op.send, peers(op))).collect(),
                    },
                }
            }
        }
    }
}
