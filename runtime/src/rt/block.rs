//! What a parked goroutine waits for, as the primitive that parked it
//! describes it to the detector ([`super::detect::block`]): the scheduler
//! keeps it for the leak and deadlock reports, and its proof that a
//! goroutine can never be woken reads the channel operations in it.

use std::ops::Deref;
use std::sync::{Arc, Weak};

use goro_analyzer::event::{ObjId, Wait};

use super::chan::HandleCounts;
use super::waiter::Waiter;

/// What a parked goroutine waits for, as the primitive that parked it
/// describes it; `Peer` is evaluated when the schedule ends (a counter may
/// change after the goroutine parked).
pub(crate) enum BlockInfo {
    Fixed(Wait),
    /// A wait, read when the schedule ends, that only some goroutine's code
    /// can end, whichever goroutine that is (a WaitGroup's `done`): the
    /// proof counts on it only when no goroutine could run that code.
    /// Mutex, RwLock and Cond waits are of this class too, as `Lock` and
    /// `Fixed` `Wait::Cond`.
    Peer(Box<dyn Fn() -> Wait>),
    /// Locking the Mutex or RwLock `obj`, which lies at `addr`: a peer wait
    /// (`Wait::Lock`), unless the lock lies inside the waiting goroutine's
    /// own future, where no other goroutine can reach it (the proof reads
    /// `addr`).
    Lock {
        obj: ObjId,
        addr: usize,
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
            BlockInfo::Peer(_) | BlockInfo::Lock { .. } => false,
            BlockInfo::Chans { ops, .. } => ops.iter().any(|op| !op.send && op.counts.timer_fed()),
        }
    }

    /// The wait, as the engine knows it, with the handle counts of now.
    pub(crate) fn wait(self) -> Wait {
        match self {
            BlockInfo::Fixed(w) => w,
            BlockInfo::Peer(f) => f(),
            BlockInfo::Lock { obj, .. } => Wait::Lock { obj },
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
