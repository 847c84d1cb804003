//! The proof that goroutines can never be woken while others still run.
//!
//! Go reports a deadlock only when every goroutine is asleep and no timer is
//! pending: one goroutine ticking forever hides any other. The detector
//! does better when it can prove it: a set `B` of parked goroutines none of
//! which can ever be woken, whatever the others do. Main in `B` is a
//! deadlock, reported at once.
//!
//! A goroutine in `B` is parked (not ready, no wake pending) and every
//! clone of its waker is accounted for: nothing else holds one (then
//! nothing can wake it), or exactly one is held, by the channel operation
//! or join it parked in during its last poll, with its own waker. Then:
//!
//! - a channel operation can only be completed through a handle of the
//!   channel: a receive needs one that can send or close, a send one that
//!   can receive (or close). The channel's handle counts say how many there
//!   are; a handle lying inside the memory of a parked goroutine's own
//!   future is that goroutine's alone (goroutine futures are `'static`:
//!   nothing else can borrow into one). When every handle that could
//!   complete the operation lies in the future of a goroutine of `B`, and
//!   the channel is neither closed nor holding a value (a value reserved for
//!   another receiver could pass on to this one), nothing outside `B` can
//!   complete it. A timer that sends on a channel counts as a sender handle
//!   outside every goroutine. A live `time::Timer` or `Ticker` counts as a
//!   sender handle too (it can be reset) where it lies: in the goroutine
//!   whose receive goes through its receiver, while that receiver is the
//!   channel's only one (no clone can have taken the receive elsewhere). So
//!   a receive on a stopped ticker of the receiver's own is stuck at once,
//!   and one on a ticker that another goroutine could reset is not.
//! - a join completes when its goroutine returns, which one in `B` never
//!   does.
//! - a mutex or RwLock that lies inside the memory of the waiting
//!   goroutine's own future is that goroutine's alone, as a channel handle
//!   there is: no other goroutine can lock it, hold a guard of it or unlock
//!   it, so while its goroutine waits for it nothing can ever unlock it (a
//!   mutex locked twice by one goroutine: the self-deadlock). Such a wait
//!   is in `B` whatever the others do, a heartbeat still ticking included.
//! - a `WaitGroup::wait` ends only when code that holds a handle of the
//!   group (a `WaitGroup` clone, a `DoneGuard`) calls `add` or `done`; the
//!   group's `Arc` counts every handle. A handle that a parked wait
//!   borrows cannot move while it waits, and inside the waiting goroutine's
//!   own future it is that goroutine's alone. When every handle of the
//!   group is such a handle of a goroutine of `B` (the goroutines that were
//!   to call `done` have returned, or never held a handle), no code can
//!   ever end the wait, whatever the others do. A handle anywhere else (in
//!   a goroutine parked on something else, behind an `Arc`, in a `static`)
//!   may be used by whoever reaches it: then the wait is a peer wait.
//! - any other mutex or RwLock lock, a `Cond::wait` and a peer WaitGroup
//!   wait end only when some goroutine's code unlocks, signals or calls
//!   `done`, and which goroutine that may be the proof cannot tell. A
//!   guard of a mutex that a `&'static` reaches (a `static`, a leaked box)
//!   is `Send` and `'static`, so it may have been handed to any goroutine,
//!   the heartbeat included; the runtime cannot tell such a mutex from one
//!   behind an `Arc`, whose guards cannot leave their goroutine, nor see
//!   where a guard or a handle not borrowed by a parked operation lies
//!   (bytes left behind by a move look the same as a live value). So such
//!   a wait is in `B` only when every goroutine still alive is in `B`,
//!   nobody waits on the outside world, and no pending timer runs the
//!   user's code (an `after_func`): then no code that could end it can
//!   ever run again. goro's own timers (tickers, `after`, context
//!   deadlines) only send on their channels or cancel, so a ticker that
//!   keeps firing does not hide the deadlock.
//!
//! `B` is the greatest such set: start from every candidate and drop those
//! whose wait some goroutine outside the set could end, until none is
//! dropped. Sleeps and the outside world are never part of it.
//!
//! Once main is proven stuck the others run on, as they do after main
//! returns, for the grace period of virtual time (so a panic or a race
//! they are about to make is still seen); then the schedule ends with the
//! deadlock, unless by then every goroutine is blocked and no timer is
//! pending, which is the ordinary deadlock.
//!
//! The check costs a scan of the goroutines; it runs only while main is
//! parked and something else can still happen, and after a failed check
//! not again for a number of steps proportional to the goroutines scanned.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::task::Waker;
use std::time::Duration;

use goro_analyzer::event::{Gid, Wait};
use goro_analyzer::fxhash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{Exec, TaskWaker};
use crate::rt::block::{BlockInfo, ChanWait};
use crate::rt::chan::handle_parts;
use crate::rt::waitgroup::WaitGroupState;

/// Steps between two checks at least.
const MIN_INTERVAL: u64 = 64;

/// The proof's state in a schedule.
#[derive(Default)]
pub(super) struct Proof {
    /// The step from which main, parked, may be checked.
    next: u64,
    /// When main was proven stuck, and with which goroutines.
    stuck: Option<(Duration, Vec<Gid>)>,
}

impl Proof {
    /// When main was proven stuck: from then on the others run on for the
    /// grace period, as they do after main returns.
    pub(super) fn stuck_since(&self) -> Option<Duration> {
        self.stuck.as_ref().map(|s| s.0)
    }

    /// The goroutines proven stuck, main among them.
    pub(super) fn stuck(&self) -> Option<&[Gid]> {
        self.stuck.as_ref().map(|s| s.1.as_slice())
    }
}

/// What the proof keeps of a goroutine: 24 bytes of its scheduler record
/// (`meta::Meta`).
pub(super) struct Parking {
    /// Its waker, to count the clones others hold (one is its task's).
    waker: Weak<TaskWaker>,
    /// Where its future lies: `[start, start + len)` (a future of 4 GiB or
    /// more counts as its first 4 GiB: no goroutine's is that large).
    start: usize,
    len: u32,
    /// Its block description is from its last poll.
    fresh: bool,
    /// That operation parked with the goroutine's own waker.
    direct: bool,
}

impl Parking {
    pub(super) fn new(waker: &Arc<TaskWaker>, fut: &super::BoxFuture) -> Self {
        let f: &dyn Future<Output = ()> = &**fut;
        Parking {
            waker: Arc::downgrade(waker),
            start: f as *const dyn Future<Output = ()> as *const u8 as usize,
            len: u32::try_from(std::mem::size_of_val(f)).unwrap_or(u32::MAX),
            fresh: false,
            direct: false,
        }
    }

    /// The goroutine is about to be polled: what it parked on before is
    /// stale until it parks again.
    pub(super) fn polled(&mut self) {
        self.fresh = false;
        self.direct = false;
    }

    /// Whether its block description is from its last poll.
    #[inline]
    pub(super) fn fresh(&self) -> bool {
        self.fresh
    }

    /// It parked on an operation that saw `waker` (`None`: unknown).
    pub(super) fn parked(&mut self, waker: Option<&Waker>) {
        self.fresh = true;
        self.direct = waker.is_some_and(|w| self.is_own(w));
    }

    /// Whether `waker` is this goroutine's own (its task's).
    #[inline]
    pub(super) fn is_own(&self, waker: &Waker) -> bool {
        std::ptr::eq(waker.data(), Weak::as_ptr(&self.waker).cast())
    }

    /// Clones of its waker held outside its task.
    fn clones(&self) -> usize {
        self.waker.strong_count().saturating_sub(1)
    }

    fn owns(&self, addr: usize) -> bool {
        addr >= self.start && addr - self.start < self.len as usize
    }
}

/// Why a candidate can never be woken, if the others cannot.
enum Stuck<'a> {
    /// Nothing holds its waker.
    Unwakeable,
    /// Only the operation it parked in does.
    Chans(&'a [ChanWait]),
    /// Only the join of this goroutine does.
    Join(Gid),
    /// Only a mutex, RwLock or Cond wait does: any goroutine's code might
    /// end it.
    Peer,
    /// Only a `WaitGroup::wait` does, through the handle at `handle`, on
    /// the group whose state is `state`: any code that holds a handle of
    /// the group might end it.
    Group {
        state: &'a Weak<WaitGroupState>,
        handle: usize,
    },
    /// Only a lock wait does, on a lock inside its own future: no other
    /// goroutine can reach the lock, so nothing can ever unlock it.
    OwnLock,
}

impl Exec {
    /// Checks, when it is time and something else can still happen,
    /// whether main can never be woken; if so, notes it with the goroutines
    /// stuck with it.
    pub(super) fn check_main(&mut self, main: Gid) {
        if self.proof.stuck.is_some() {
            return;
        }
        if let Some(stuck) = self.main_stuck(main) {
            self.proof.stuck = Some((self.now, stuck));
        }
    }

    /// Whether [`Exec::check_main`] would check now if the running
    /// goroutine `running` yielded (it would then be ready): what a step
    /// taken at a scheduling point (`step_here`) must leave to the run loop.
    pub(super) fn main_check_due(&self, running: Gid) -> bool {
        let main = self.main_gid;
        let m = main.index();
        // The step count first: the check is due once in many steps.
        self.steps + self.firings >= self.proof.next
            && self.proof.stuck.is_none()
            && !self.main_done
            && running != main
            && self.ready_pos.get(m) == Some(&usize::MAX)
            && self.meta.get(m).is_some_and(|x| x.parking.fresh)
    }

    fn main_stuck(&mut self, main: Gid) -> Option<Vec<Gid>> {
        let m = main.index();
        let due = !self.main_done
            && self.steps + self.firings >= self.proof.next
            && self.ready_pos.get(m) == Some(&usize::MAX)
            && self.meta.get(m).is_some_and(|x| x.parking.fresh)
            && !(self.ready.is_empty() && self.timers.is_empty() && !self.external_waiters());
        if !due {
            return None;
        }
        let stuck = self.stuck_with(Some(m));
        if stuck.contains(&main) {
            return Some(stuck);
        }
        // Idle timer firings count: a ticker alone must not delay the
        // next check for ever.
        self.proof.next = self.steps + self.firings + MIN_INTERVAL.max(2 * self.meta.len() as u64);
        None
    }

    /// Whether main (index `m`, a candidate parked on channels) leaves the
    /// set at the first round of [`Exec::stuck_with`], whatever else does:
    /// one of its operations could be completed even if every handle lying
    /// in a candidate's future were counted as owned (counted without
    /// removing duplicates, so at least as many as the round counts). The
    /// periodic check of a ping-pong's parked main ends here, without
    /// building the sets.
    fn main_surely_wakeable(&self, m: usize, cands: &[(usize, Stuck<'_>)]) -> bool {
        let Some((_, Stuck::Chans(ops))) = cands.iter().find(|(i, _)| *i == m) else {
            return false;
        };
        ops.iter().any(|op| {
            if !op.counts.idle() {
                return true;
            }
            let (mut s, mut r) = (0, 0);
            for (i, why) in cands {
                let Stuck::Chans(theirs) = why else {
                    continue;
                };
                for o in theirs.iter().filter(|o| o.id == op.id) {
                    let (addr, sends, recvs) = handle_parts(o.handle);
                    if !self.meta[*i].parking.owns(addr) {
                        continue;
                    }
                    s += usize::from(sends || (recvs && o.counts.recv_holds_timer()));
                    r += usize::from(recvs);
                }
            }
            op.counts.senders() > s || (op.send && op.counts.receivers() > r)
        })
    }

    /// The goroutines proven never to wake, for a schedule the step limit
    /// cut short: what it can still report.
    pub(super) fn proven_stuck(&self) -> Vec<Gid> {
        self.stuck()
    }

    /// The greatest set of goroutines that can never be woken.
    fn stuck(&self) -> Vec<Gid> {
        self.stuck_with(None)
    }

    /// [`Exec::stuck`], or, with `main` (an index), an empty set as soon as
    /// it is known not to hold `main`: the set only shrinks from the
    /// candidates, and the periodic check asks only whether main is in it
    /// (every check of a ping-pong, where main is never stuck, built the
    /// whole set).
    fn stuck_with(&self, main: Option<usize>) -> Vec<Gid> {
        let mut cands: Vec<(usize, Stuck<'_>)> = Vec::new();
        for (i, m) in self.meta.iter().enumerate() {
            let p = &m.parking;
            if m.done || m.external || self.ready_pos[i] != usize::MAX || !p.fresh {
                continue;
            }
            let why = match (self.meta.park(i), p.clones()) {
                (_, 0) => Stuck::Unwakeable,
                (Some((BlockInfo::Chans { ops, waiter, .. }, _)), 1) if p.direct => {
                    match waiter.upgrade() {
                        Some(w) if w.outcome().is_none() => Stuck::Chans(ops),
                        _ => continue,
                    }
                }
                (Some((BlockInfo::Fixed(Wait::Join { g }), _)), 1) if p.direct => Stuck::Join(*g),
                (Some((BlockInfo::Lock { addr, .. }, _)), 1) if p.direct && p.owns(*addr) => {
                    Stuck::OwnLock
                }
                (Some((BlockInfo::WaitGroup { state, handle, .. }, _)), 1) if p.direct => {
                    Stuck::Group {
                        state,
                        handle: *handle,
                    }
                }
                (
                    Some((
                        BlockInfo::Fixed(Wait::Lock { .. } | Wait::Cond { .. })
                        | BlockInfo::Lock { .. },
                        _,
                    )),
                    1,
                ) if p.direct => Stuck::Peer,
                _ => continue,
            };
            cands.push((i, why));
        }
        if main.is_some_and(|m| !cands.iter().any(|(i, _)| *i == m)) {
            return Vec::new();
        }
        if main.is_some_and(|m| self.main_surely_wakeable(m, &cands)) {
            return Vec::new();
        }
        // Code that no goroutine runs: the outside world's wakes, and the
        // user's timer callbacks.
        let foreign = self.external_waiters() || self.opaque_timers();
        let alive = self.meta.iter().filter(|m| !m.done).count();
        let mut inside: HashSet<usize> = cands.iter().map(|(i, _)| *i).collect();
        loop {
            // Handles, per channel, that lie in the future of a goroutine
            // of the set: (those that can send, those that can receive).
            let mut owned: HashMap<u64, (HashSet<usize>, HashSet<usize>)> = HashMap::default();
            // WaitGroup handles, per group, that lie in the future of a
            // goroutine of the set.
            let mut groups: HashMap<*const WaitGroupState, HashSet<usize>> = HashMap::default();
            for (i, why) in &cands {
                if !inside.contains(i) {
                    continue;
                }
                let ops = match why {
                    Stuck::Chans(ops) => ops,
                    Stuck::Group { state, handle } => {
                        if self.meta[*i].parking.owns(*handle) {
                            groups.entry(state.as_ptr()).or_default().insert(*handle);
                        }
                        continue;
                    }
                    _ => continue,
                };
                for op in ops.iter() {
                    let (addr, sends, recvs) = handle_parts(op.handle);
                    if !self.meta[*i].parking.owns(addr) {
                        continue;
                    }
                    // The one receiver of a live `Timer` or `Ticker` lies
                    // inside it: whoever holds the receiver holds the timer,
                    // which can send (be reset) too.
                    let sends = sends || (recvs && op.counts.recv_holds_timer());
                    let o = owned.entry(op.id).or_default();
                    if sends {
                        o.0.insert(addr);
                    }
                    if recvs {
                        o.1.insert(addr);
                    }
                }
            }
            let before = inside.len();
            for (i, why) in &cands {
                if !inside.contains(i) {
                    continue;
                }
                let never = match why {
                    Stuck::Unwakeable | Stuck::OwnLock => true,
                    Stuck::Peer => !foreign && inside.len() == alive,
                    Stuck::Join(g) => inside.contains(&g.index()),
                    // A peer wait; or every handle of the group (all are
                    // counted in its `Arc`) lies in a goroutine of the set:
                    // no code that runs can call `add` or `done` any more.
                    Stuck::Group { state, .. } => {
                        (!foreign && inside.len() == alive)
                            || groups
                                .get(&state.as_ptr())
                                .is_some_and(|h| state.strong_count() <= h.len())
                    }
                    Stuck::Chans(ops) => ops.iter().all(|op| {
                        let (s, r) = owned
                            .get(&op.id)
                            .map_or((0, 0), |(s, r)| (s.len(), r.len()));
                        op.counts.idle()
                            && op.counts.senders() <= s
                            && (!op.send || op.counts.receivers() <= r)
                    }),
                };
                if !never {
                    inside.remove(i);
                }
            }
            if inside.len() == before {
                break;
            }
            if main.is_some_and(|m| !inside.contains(&m)) {
                return Vec::new();
            }
        }
        let mut out: Vec<Gid> = inside.into_iter().map(Gid::from_index).collect();
        out.sort_unstable();
        out
    }
}
