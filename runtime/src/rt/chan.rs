//! The channel model: Go's `hchan` over wakers, made cancel safe.
//!
//! One lock guards a buffer and two wait queues, as in Go's `runtime/chan.go`.
//! The difference from Go: a Rust future can be dropped at any await, so a
//! value is never handed to a parked receiver. It stays in the channel until
//! a receiver that is being polled takes it, and a parked receiver is only
//! *notified*. Values therefore leave a channel in exactly the order they
//! entered it, and dropping any pending operation cannot lose, duplicate or
//! reorder one:
//!
//! - A buffered send pushes into the buffer and notifies one parked receiver.
//! - An unbuffered send that finds a parked receiver puts its value "in
//!   flight" (the same queue, which an unbuffered channel otherwise leaves
//!   empty), notifies that receiver and completes: one wake-up, as in Go. If
//!   the notified receiver is dropped before it runs, it passes the
//!   notification on, and the in-flight value goes to the next receiver.
//! - With no receiver parked, a sender parks its value in its queue entry; a
//!   receiver takes it out and completes the send by claiming it (a plain
//!   `send`'s entry by removing it; a `select!`'s through its [`Waiter`]).
//!   If values are in flight to notified receivers, a receiver
//!   without a reservation takes the oldest of them instead and the
//!   sender's value goes in flight behind them, in its place (production
//!   only; under the detector it waits for a notified receiver's `refill`).
//!   Go's receiver would not wait either, and every value still leaves from
//!   the head. A `select!` shares one waiter among its cases, and the claim
//!   (one compare-and-swap) is what lets exactly one of its cases commit.
//! - A select is never paired with itself: its send is not claimed for its
//!   own parked receive, and once one of its receives is handed a value on
//!   an unbuffered channel it is spoken for, as a Go select is once a
//!   partner dequeued it (no claim of its sends, no second notification;
//!   see `Waiter::is_waiting`), so that no value is handed to nobody.
//!
//! The production costs, kept low without changing any of the above: a plain
//! `send` or `recv` takes the lock once, whether it completes at once or
//! parks (`send_or_park`, `recv_or_park`, inline in their futures); its
//! parked entry holds its task's waker, moved out and woken once the lock
//! is released (`Wakee`). It has no waiter in production (under the
//! detector it keeps one, for the proof): its entry leaving the queue is
//! its notification (a `recv`) or its completion (a `send`), read under the
//! lock when it is polled again, except that the send claimed last learns
//! it from the channel's `claimed` id without the lock, and the sends the
//! close failed are listed for theirs (`repoll_send`). A notified `recv`
//! collects the value reserved for it, and a `recv` claims a plain send at
//! the head of the queue, on short paths beside `try_recv_locked`'s general
//! one. The one goroutine a hand-off wakes is kept without allocating, and
//! woken inline (`Deferred`); `select!`'s waiters come from a per-thread
//! pool. The lock
//! is a spin lock (`rt::spin`), released by a store: nothing here blocks
//! while holding it (wakes and drops of values wait until it is released;
//! a waker is at most cloned or dropped under it). A channel that is only
//! ever closed (a context's `done`) answers a receive that does not wait
//! from its close flag alone while open: `select!` over `ctx.done()` tries
//! that case on every entry.
//!
//! The public handles and futures live in the `chan` facade; `select!` drives
//! the same entry points through the `select` facade. Every operation reports
//! to the detector from here, for the goroutine whose operation completes.

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::Waker;

use goro_analyzer::event::{Gid, ObjId};

use super::detect;
use super::spin::SpinMutex;
use super::waiter::{Outcome, Waiter};

/// Where an operation is in the user's source (`#[track_caller]`).
pub(crate) type Site = &'static Location<'static>;

/// The panic message of a send on a closed channel (Go's).
pub(crate) const SEND_ON_CLOSED: &str = "send on closed channel";
/// The panic message of a close of a closed channel (Go's).
pub(crate) const CLOSE_OF_CLOSED: &str = "close of closed channel";

/// Outcome of a non-blocking send.
pub(crate) enum TrySend<T> {
    Sent,
    Full(T),
    Closed(T),
}

/// Outcome of a non-blocking receive.
pub(crate) enum TryRecv<T> {
    Value(T),
    Closed,
    Empty,
}

/// Result of trying to register a parked send.
pub(crate) enum ParkSend<T> {
    /// Sent immediately (only when committing).
    Done,
    /// Ready, not committed (a `select!` registering its cases): the value
    /// comes back and the caller retries the non-blocking path.
    Ready(T),
    /// The channel is closed (only when committing).
    Closed(T),
    /// Queued under this entry id.
    Parked(u64),
}

/// Result of trying to register a parked receive.
pub(crate) enum Park<R> {
    /// Completed immediately (only when committing).
    Done(R),
    /// Ready, not committed: retry the non-blocking path.
    Ready,
    /// Queued under this entry id; the waiter is notified when a value or
    /// the close arrives.
    Parked(u64),
}

/// Result of a blocking receive's attempt ([`Channel::recv_or_park`]).
pub(crate) enum RecvOrPark<T> {
    /// Completed: a value, or `None` when closed and drained.
    Done(Option<T>),
    /// Parked (or still parked) as entry `id`; `waiter` is kept under the
    /// detector only (see [`RecvEntry::waiter`]).
    Parked(SoloRecv),
}

/// A plain `recv`'s parked entry, as its future keeps it.
pub(crate) struct SoloRecv {
    pub(crate) id: u64,
    /// Under the detector, the waiter its proof of a goroutine that can
    /// never be woken reads; `None` in production.
    pub(crate) waiter: Option<Arc<Waiter>>,
}

/// Result of a blocking send's attempt ([`Channel::send_or_park`]).
pub(crate) enum SendOrPark<T> {
    Sent,
    Closed(T),
    /// Parked as this entry id; with a waiter under the detector only (see
    /// `SendEntry::waiter`).
    Parked(Option<Arc<Waiter>>, u64),
}

struct RecvEntry {
    id: u64,
    /// A `select!`'s shared waiter, notified and woken through it. A plain
    /// `recv` needs none: its entry leaving the queue *is* its
    /// notification, which it reads under the lock it retries under
    /// anyway (see [`Channel::recv_or_park`]); under the detector it keeps
    /// one for the proof (`sched::proof`), never notified.
    waiter: Option<Arc<Waiter>>,
    /// A plain `recv`'s waker, woken directly (see `Wakee`); `None` for a
    /// `select!`, woken through its shared waiter.
    waker: Option<Waker>,
    case: usize,
    /// The parked goroutine and its receive, for the detector (`None` in
    /// production).
    g: Option<Gid>,
    site: Site,
}

impl RecvEntry {
    /// Whether a partner may still hand this receive a value: a plain
    /// `recv` always (it leaves the queue when notified or withdrawn); a
    /// select while waiting, and never its own send (`own`).
    #[inline]
    fn live(&self, own: Option<&Arc<Waiter>>) -> bool {
        entry_live(self.waker.as_ref(), self.waiter.as_ref(), own)
    }

    /// Notifies this entry, which just left the queue (`handed`: with an
    /// unbuffered channel's value), and says whom to wake.
    #[inline]
    fn notify(self, handed: bool) -> Wakee {
        match (self.waker, self.waiter) {
            (Some(w), _) => Wakee::Task(w),
            (None, Some(w)) => {
                w.notify(self.case, handed);
                Wakee::Waiter(w)
            }
            (None, None) => unreachable!("a select's entry has its waiter"),
        }
    }
}

/// Whether a queue entry (its waker, its waiter) is live for a partner
/// operation whose own waiter is `own`: a plain operation's entry (it has
/// the waker) always; a select's while it waits, and never for itself.
#[inline]
fn entry_live(
    waker: Option<&Waker>,
    waiter: Option<&Arc<Waiter>>,
    own: Option<&Arc<Waiter>>,
) -> bool {
    match (waker, waiter) {
        (Some(_), _) => true,
        (None, Some(w)) => w.is_waiting() && not_own(own, w),
        (None, None) => unreachable!("a select's entry has its waiter"),
    }
}

/// The position of entry `id` in `q`, if still queued: entries are queued
/// in increasing id order (`next_id`) and only ever removed.
///
/// A re-poll asks this under the lock, usually after a notification took
/// the entry out: an empty queue, or one whose newest entry is older,
/// answers without the search, inline.
#[inline]
fn queued<E>(q: &VecDeque<E>, id: u64, key: impl Fn(&E) -> u64) -> Option<usize> {
    match q.back() {
        Some(b) if key(b) >= id => q.binary_search_by_key(&id, key).ok(),
        _ => None,
    }
}

struct SendEntry<T> {
    id: u64,
    /// A `select!`'s shared waiter, claimed through it. A plain `send`
    /// needs none in production: its entry leaving the queue completes it,
    /// and its re-poll reads that under the lock (see
    /// [`Channel::repoll_send`]); under the detector it keeps one, completed
    /// by a store, for the proof.
    waiter: Option<Arc<Waiter>>,
    /// As `RecvEntry::waker`.
    waker: Option<Waker>,
    case: usize,
    value: T,
    /// The parked goroutine and its send, for the detector (`None` in
    /// production).
    g: Option<Gid>,
    site: Site,
}

impl<T> SendEntry<T> {
    /// A select's entry left behind when it committed elsewhere (a plain
    /// send's entry is never stale: it is completed only by its removal).
    #[inline]
    fn stale(&self) -> bool {
        self.waker.is_none() && self.waiter.as_ref().is_some_and(|w| w.outcome().is_some())
    }

    /// Whether a partner may still take this send's value: a plain `send`
    /// always; a select while waiting, and never by its own receive
    /// (`own`).
    #[inline]
    fn live(&self, own: Option<&Arc<Waiter>>) -> bool {
        entry_live(self.waker.as_ref(), self.waiter.as_ref(), own)
    }
}

/// A parked send whose value was just taken.
struct Claimed<T> {
    value: T,
    wakee: Wakee,
    g: Option<Gid>,
    site: Site,
}

struct State<T> {
    /// Buffered values; for an unbuffered channel, values in flight to
    /// notified receivers.
    buf: VecDeque<T>,
    /// The ids of the plain sends the close failed (in increasing order):
    /// one without a waiter reads its outcome here on its re-poll (see
    /// [`Channel::repoll_send`]). Empty until the close.
    closed_sends: Vec<u64>,
    recvq: VecDeque<RecvEntry>,
    sendq: VecDeque<SendEntry<T>>,
    /// How many values in `buf` are reserved for notified receivers (Go
    /// hands those over directly): they take no buffer capacity, and only a
    /// receiver holding a reservation may take them (until the close, after
    /// which everything drains in order). Without this a sender could
    /// receive its own value on a channel used both ways.
    inflight: usize,
    next_id: u64,
}

impl<T> State<T> {
    /// Values in the buffer proper. (After the close, receivers drain
    /// reserved values too, and the count no longer matters.)
    fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.inflight)
    }
}

/// Whom to wake for a queue entry that completed or was notified.
///
/// A plain `send` or `recv` parks alone: its entry holds its waker, moved
/// out and woken directly (no `AtomicWaker` registration on park, none of
/// its read-modify-writes on wake). A `select!` parks one waiter in several
/// queues, each of which may wake it: that waiter holds the waker.
enum Wakee {
    Task(Waker),
    Waiter(Arc<Waiter>),
}

impl Wakee {
    #[inline]
    fn of(waiter: Option<Arc<Waiter>>, waker: Option<Waker>) -> Wakee {
        match (waker, waiter) {
            (Some(w), _) => Wakee::Task(w),
            (None, Some(w)) => Wakee::Waiter(w),
            (None, None) => unreachable!("a select's entry has its waiter"),
        }
    }

    // Inline: a plain operation's wake is then one indirect call into the
    // waker's vtable at the end of the operation, not three calls deep.
    #[inline]
    fn wake(self) {
        match self {
            Wakee::Task(w) => w.wake(),
            Wakee::Waiter(w) => w.wake(),
        }
    }
}

/// Work that must happen after the channel lock is released: waking parked
/// goroutines, and dropping values whose `Drop` may touch this channel.
///
/// A hand-off wakes one goroutine: it goes in `first`, so the common
/// operation allocates nothing (a `Vec` would on its first push), and the
/// rare rest (a close, a refill, stale entries' values) in `more`, one
/// word while unused: making and dropping a `Deferred` is on every
/// operation's path, so its drop is inline and only the rare rest goes out
/// of line.
struct Deferred<T> {
    first: Option<Wakee>,
    more: Option<Box<More<T>>>,
}

struct More<T> {
    wake: Vec<Wakee>,
    drop: Vec<T>,
}

impl<T> Deferred<T> {
    #[inline]
    fn new() -> Self {
        Deferred {
            first: None,
            more: None,
        }
    }

    /// Wakes `w` once the lock is released, after those pushed before it.
    #[inline]
    fn wake(&mut self, w: Wakee) {
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.more().wake.push(w);
        }
    }

    /// Drops `v` once the lock is released (its `Drop` may use this
    /// channel).
    fn drop_later(&mut self, v: T) {
        self.more().drop.push(v);
    }

    /// Runs the deferred work now, inline: what the drop does, for the
    /// hot paths, where the drop glue would stay an out-of-line call.
    /// The caller has released the lock.
    #[inline(always)]
    fn finish(mut self) {
        let first = self.first.take();
        let more = self.more.take();
        // Both fields are `None` now: nothing left to drop.
        std::mem::forget(self);
        if let Some(w) = first {
            w.wake();
        }
        if let Some(more) = more {
            run_more(more);
        }
    }

    #[cold]
    fn more(&mut self) -> &mut More<T> {
        self.more.get_or_insert_with(|| {
            Box::new(More {
                wake: Vec::new(),
                drop: Vec::new(),
            })
        })
    }
}

impl<T> Drop for Deferred<T> {
    #[inline(always)]
    fn drop(&mut self) {
        // The one wake of a hand-off, inline (it was a call to the drop
        // glue, a call to an out-of-line `run` and a call to `Wakee::wake`,
        // each with a full frame, on every operation that woke someone);
        // after `take` the fields' own drop glue is known to be empty.
        if let Some(w) = self.first.take() {
            w.wake();
        }
        if let Some(more) = self.more.take() {
            run_more(more);
        }
    }
}

/// The rare rest of a [`Deferred`]: wakes in order, then drops.
#[cold]
#[inline(never)]
#[allow(clippy::boxed_local)] // the box is freed here, out of the hot path
fn run_more<T>(more: Box<More<T>>) {
    let More { wake, drop: values } = *more;
    for w in wake {
        w.wake();
    }
    drop(values);
}

/// Live handles that can send (or close) and receive: `Chan` counts as both,
/// and so does a timer that sends on its channel (as a sender). Shared with
/// the detector's record of a goroutine parked on the channel, which reads
/// them when the program ends: a receiver with no sender handle left can
/// provably never be woken.
///
/// Under the detector it also mirrors whether the channel holds values and
/// is closed, for the proof that parked goroutines can never be woken
/// (`sched::proof`), which cannot see the channel's typed state.
#[derive(Debug, Default)]
#[doc(hidden)]
pub struct HandleCounts {
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Values in the buffer (reserved ones included); kept under the
    /// detector only.
    queued: AtomicUsize,
    closed: AtomicBool,
    /// Made under the detector, so `queued` has been kept all along.
    tracked: bool,
    /// Live timers that send on it (`WeakSender`s, counted in `senders`
    /// too): a receiver waiting on it is ticking, not stuck.
    timers: AtomicUsize,
    /// A timer sent on it once: with no live timer left, a receiver waits
    /// on a stopped or fired timer (named so in leak reports).
    timer_chan: AtomicBool,
    /// A `time::Timer` or `Ticker` holds the channel's first receiver and
    /// counts as a handle that can send while it lives (see `held`).
    held: AtomicBool,
}

impl HandleCounts {
    /// Whether the detector's proof may read this channel: made under the
    /// detector, not closed and holding no value.
    pub(crate) fn idle(&self) -> bool {
        self.tracked
            && !self.closed.load(Ordering::Relaxed)
            && self.queued.load(Ordering::Relaxed) == 0
    }

    pub(crate) fn add(&self, send: bool, recv: bool) {
        if send {
            self.senders.fetch_add(1, Ordering::Relaxed);
        }
        if recv {
            self.receivers.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn remove(&self, send: bool, recv: bool) {
        if send {
            self.senders.fetch_sub(1, Ordering::Relaxed);
        }
        if recv {
            self.receivers.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn senders(&self) -> usize {
        self.senders.load(Ordering::Relaxed)
    }

    pub(crate) fn receivers(&self) -> usize {
        self.receivers.load(Ordering::Relaxed)
    }

    /// Whether a live timer still sends on the channel.
    pub(crate) fn timer_fed(&self) -> bool {
        self.timers.load(Ordering::Relaxed) > 0
    }

    /// Whether a timer ever sent on it (a timer's channel).
    pub(crate) fn timer_chan(&self) -> bool {
        self.timer_chan.load(Ordering::Relaxed)
    }

    /// Marks the channel as held by a `Timer` or `Ticker` (`true` while it
    /// lives, with its sender counted): while its receiver is the only one,
    /// a receive goes through that receiver, inside the timer, and whoever
    /// holds it can also send (reset the timer).
    pub(crate) fn set_held(&self, held: bool) {
        self.held.store(held, Ordering::Relaxed);
    }

    /// Whether a receive on the channel goes through the receiver of the
    /// live `Timer` or `Ticker` that holds it, which can send too.
    pub(crate) fn recv_holds_timer(&self) -> bool {
        self.held.load(Ordering::Relaxed) && self.receivers() == 1
    }
}

/// A sender that does not keep its channel alive (a timer's): while it
/// exists it counts as a handle that can send (and as a live timer), so the detector never takes a
/// receiver waiting on it for one nothing can wake; the channel still goes
/// away with its last real handle.
pub(crate) struct WeakSender<T> {
    ch: Weak<Channel<T>>,
    counts: Arc<HandleCounts>,
    /// The channel's process-wide id, for the detector.
    id: u64,
}

impl<T> WeakSender<T> {
    pub(crate) fn new(ch: &Arc<Channel<T>>) -> Self {
        ch.counts.add(true, false);
        ch.counts.timers.fetch_add(1, Ordering::Relaxed);
        ch.counts.timer_chan.store(true, Ordering::Relaxed);
        WeakSender {
            ch: Arc::downgrade(ch),
            counts: ch.counts.clone(),
            id: ch.id,
        }
    }

    /// Sends `v` without waiting if the channel still exists (a full
    /// channel drops it). Whether the channel still exists.
    pub(crate) fn try_send(&self, v: T, site: Site) -> bool {
        // Whether the channel still exists is its state too: the firing
        // is ordered with the drop of its last handle.
        detect::touch_chan(self.id);
        match self.ch.upgrade() {
            Some(ch) => {
                let _ = ch.try_send(v, site);
                true
            }
            None => false,
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.counts.remove(true, false);
        self.counts.timers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[doc(hidden)]
pub struct Channel<T> {
    cap: usize,
    pub(crate) counts: Arc<HandleCounts>,
    /// Process-wide identity, for the detector.
    id: u64,
    /// The detector's per-schedule id of this channel, cached (see
    /// `sched::obj_cached`).
    local: AtomicU64,
    /// Owned by goro itself (a context's `done`), not by user code: the
    /// goroutine whose drop takes its handle with it did not hold it.
    internal: bool,
    /// Nothing is ever sent on it, it is only closed (a context's `done`:
    /// its users hold receivers only). Open, it is empty: a receive that
    /// does not wait answers from `closed` alone, without the lock.
    close_only: bool,
    /// The detected schedule it was made in (0: outside any), and where:
    /// a channel that outlives its program is refused (see `ch`).
    serial: u32,
    made: Site,
    /// Mirrors `closed` for the lock-free check of `send` on a closed channel.
    closed: AtomicBool,
    /// The id of the plain send (production: no waiter) claimed last,
    /// stored under the lock at its claim: that send's re-poll, usually the
    /// next thing it does, learns it completed without taking the lock
    /// (ids are never reused, so an equal id is that send). Any other
    /// re-poll reads its outcome under the lock (`repoll_send`).
    claimed: AtomicU64,
    /// A spin lock: every critical section here is short and never
    /// blocks (see `rt::spin`).
    state: SpinMutex<State<T>>,
}

impl<T> Channel<T> {
    pub(crate) fn new(cap: usize, site: Site) -> Self {
        static IDS: AtomicU64 = AtomicU64::new(1);
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        let c = Channel {
            cap,
            counts: Arc::new(HandleCounts {
                tracked: detect::active(),
                ..HandleCounts::default()
            }),
            id,
            local: AtomicU64::new(0),
            internal: false,
            close_only: false,
            serial: detect::serial(),
            made: site,
            closed: AtomicBool::new(false),
            claimed: AtomicU64::new(u64::MAX),
            state: SpinMutex::new(State {
                buf: VecDeque::with_capacity(cap.min(1024)),
                closed_sends: Vec::new(),
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
                inflight: 0,
                next_id: 0,
            }),
        };
        detect::chan_make(detect::gid(), c.ch(), cap, site);
        c
    }

    /// A channel that goro itself owns (see `internal`).
    pub(crate) fn internal(mut self) -> Self {
        self.internal = true;
        self
    }

    /// Where it was made (the user's `chan` call).
    pub(crate) fn made(&self) -> Site {
        self.made
    }

    /// A channel that is only ever closed, never sent on (see
    /// `close_only`). The caller hands out no handle that can send.
    pub(crate) fn close_only(mut self) -> Self {
        self.close_only = true;
        self
    }

    /// A handle of this channel is dropped: one fewer that can send
    /// (`send`) or receive (`recv`).
    #[inline]
    pub(crate) fn drop_handle(&self, send: bool, recv: bool) {
        self.counts.remove(send, recv);
        if !self.internal {
            detect::handle_drop(self.id, send, recv);
        }
    }

    #[inline]
    pub(crate) fn ch(&self) -> ObjId {
        if detect::active() {
            if self.serial != detect::serial() && !self.internal {
                self.foreign();
            }
            detect::obj_cached(self.id, &self.local)
        } else {
            ObjId(self.id)
        }
    }

    /// A channel made outside the running schedule (a `static`, or one
    /// made before `explore`) would carry its buffer and its close from one
    /// schedule into the next: refused, at the place it was made.
    #[cold]
    fn foreign(&self) -> ! {
        super::panic::panic_at(
            self.made,
            &format!(
                "goro: the channel made at {}:{} belongs to another run: a channel in a `static` \
                 (or made before `goro::run`/`explore`) would carry its state from one detected \
                 schedule into the next; make it with `goro::PerRun`, or inside the run",
                self.made.file(),
                self.made.line()
            ),
        )
    }

    /// Mirrors the buffer's length for the detector (see `HandleCounts`).
    #[inline]
    fn mirror(&self, st: &State<T>) {
        if detect::active() {
            self.counts.queued.store(st.buf.len(), Ordering::Relaxed);
        }
    }

    /// The detector's record of an operation parked here: sending (`send`)
    /// or receiving, through the handle `handle` (see [`handle_ref`]).
    pub(crate) fn wait(&self, send: bool, handle: usize) -> super::block::ChanWait {
        super::block::ChanWait {
            ch: self.ch(),
            id: self.id,
            counts: self.counts.clone(),
            send,
            handle,
        }
    }

    /// The detector's description of a goroutine parked sending (`send`) or
    /// receiving here through `handle`, under `waiter`.
    pub(crate) fn blocked_on(
        &self,
        send: bool,
        handle: usize,
        waiter: Option<&Arc<Waiter>>,
    ) -> super::block::BlockInfo {
        super::block::BlockInfo::Chans {
            ops: self.wait(send, handle).into(),
            select: false,
            // (Always there under the detector, the only caller.)
            waiter: waiter.map_or_else(Weak::new, Arc::downgrade),
        }
    }

    /// A send on the closed channel: reported, then Go's panic at `site`.
    pub(crate) fn send_on_closed(&self, site: Site) -> ! {
        detect::send_on_closed(detect::gid(), self.ch(), site);
        super::panic::panic_at(site, SEND_ON_CLOSED)
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    pub(crate) fn len(&self) -> usize {
        detect::touch_chan(self.id);
        // Values in flight to notified receivers are not buffered (Go hands
        // them over directly).
        self.state.lock().buffered().min(self.cap)
    }

    pub(crate) fn is_closed(&self) -> bool {
        detect::touch_chan(self.id);
        self.closed.load(Ordering::Acquire)
    }

    /// Notifies the first live parked receiver, if any, and returns it: the
    /// caller reserves a value for it. On an unbuffered channel that value
    /// is handed to it (see `Waiter::notify`).
    /// Returns the receiver's goroutine and site, for the detector.
    #[inline]
    fn notify_one(&self, st: &mut State<T>, d: &mut Deferred<T>) -> Option<(Option<Gid>, Site)> {
        // Inline: a buffered send usually finds nobody parked, and so does
        // a send that parks.
        if st.recvq.is_empty() {
            None
        } else {
            self.notify_front(st, d)
        }
    }

    /// [`Channel::notify_one`] with a receiver queued: usually a plain
    /// `recv` at the head, always live, whose notification is its waker
    /// (see `RecvEntry::notify`); the general case goes on.
    #[inline]
    fn notify_front(&self, st: &mut State<T>, d: &mut Deferred<T>) -> Option<(Option<Gid>, Site)> {
        if st.recvq.front().is_some_and(|r| r.waker.is_some()) {
            let r = st.recvq.pop_front()?;
            let (g, site) = (r.g, r.site);
            d.wake(r.notify(self.cap == 0));
            Some((g, site))
        } else {
            self.notify_queued(st, d)
        }
    }

    fn notify_queued(&self, st: &mut State<T>, d: &mut Deferred<T>) -> Option<(Option<Gid>, Site)> {
        while let Some(r) = st.recvq.pop_front() {
            // A select that committed (or was handed a value) elsewhere left
            // a stale entry behind.
            if r.live(None) {
                let (g, site) = (r.g, r.site);
                d.wake(r.notify(self.cap == 0));
                return Some((g, site));
            }
        }
        None
    }

    /// Whether a receiver may take the head of `buf` now.
    fn can_take(&self, st: &State<T>, reserved: bool) -> bool {
        !st.buf.is_empty() && (reserved || self.closed_now() || st.buf.len() > st.inflight)
    }

    /// Whether a close-only channel (see `close_only`) is still open, so
    /// empty: a receive that does not wait finds nothing (it reports
    /// nothing either way then), and the lock would only confirm it. A
    /// close seen here as not yet done is ordered after the receive.
    /// `select!` on `ctx.done()` asks this on every entry.
    #[inline]
    fn open_and_empty(&self) -> bool {
        self.close_only && !self.closed_now()
    }

    /// [`Channel::is_closed`] for code under the lock, inside an operation
    /// that reported its footprint on entry: no second report.
    #[inline]
    fn closed_now(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn has_live_receiver(st: &State<T>, except: Option<&Arc<Waiter>>) -> bool {
        st.recvq.iter().any(|r| r.live(except))
    }

    fn has_live_sender(st: &State<T>, except: Option<&Arc<Waiter>>) -> bool {
        st.sendq.iter().any(|s| s.live(except))
    }

    // The detector's reports below sit under one `detect::active()` test
    // each: in production every check is a thread-local read, on every
    // operation. Inline: `send_or_park` is most sends, and the call with
    // its full frame was a fifth of a hand-off's instructions.
    #[inline(always)]
    fn try_send_locked(
        &self,
        st: &mut State<T>,
        v: T,
        site: Site,
        d: &mut Deferred<T>,
    ) -> TrySend<T> {
        if self.closed_now() {
            return TrySend::Closed(v);
        }
        if self.cap == 0 {
            // In flight to a receiver that is parked now.
            let Some((rg, rsite)) = self.notify_one(st, d) else {
                return TrySend::Full(v);
            };
            if detect::active() {
                // Go's rendezvous orders the receive before the send's end,
                // and the send before whoever takes the value (the slot).
                let (g, ch) = (detect::gid(), self.ch());
                detect::chan_rendezvous(g, ch, rg, rsite, site);
                detect::chan_send(g, ch, site);
            }
            st.inflight += 1;
        } else if self.notify_one(st, d).is_some() {
            // A parked receiver takes the value whatever the buffer holds,
            // as in Go, where a waiting receiver is handed it directly.
            st.inflight += 1;
            self.report_send(site);
        } else if st.buffered() < self.cap {
            self.report_send(site);
        } else {
            return TrySend::Full(v);
        }
        st.buf.push_back(v);
        self.mirror(st);
        TrySend::Sent
    }

    #[inline]
    fn report_send(&self, site: Site) {
        if detect::active() {
            detect::chan_send(detect::gid(), self.ch(), site);
        }
    }

    /// `reserved`: this receiver was notified with a value reserved for it,
    /// which it uses up (whether it takes a value or not).
    fn try_recv_locked(
        &self,
        st: &mut State<T>,
        site: Site,
        reserved: bool,
        d: &mut Deferred<T>,
    ) -> TryRecv<T> {
        let can_take = self.can_take(st, reserved);
        if reserved {
            st.inflight = st.inflight.saturating_sub(1);
        }
        if let Some(v) = can_take.then(|| st.buf.pop_front()).flatten() {
            if detect::active() {
                self.mirror(st);
                detect::chan_recv(detect::gid(), self.ch(), site);
            }
            self.refill(st, d);
            return TryRecv::Value(v);
        }
        if !st.buf.is_empty() && !self.closed_now() {
            // Everything buffered is reserved for notified receivers, and
            // parked senders' values come after it: wait, in FIFO order,
            // unless a sender is parked on an unbuffered channel.
            if self.takes_behind_flight(st) && !st.sendq.is_empty() {
                if let Some(v) = self.take_head_for_sender(st, d) {
                    return TryRecv::Value(v);
                }
            }
            return TryRecv::Empty;
        }
        let claimed = if st.sendq.is_empty() {
            None
        } else {
            self.claim_sender(st, d, true)
        };
        if let Some(s) = claimed {
            if detect::active() {
                let (g, ch) = (detect::gid(), self.ch());
                if self.cap == 0 {
                    detect::chan_rendezvous(s.g, ch, g, site, s.site);
                } else {
                    detect::chan_send(s.g, ch, s.site);
                    detect::chan_recv(g, ch, site);
                }
            }
            d.wake(s.wakee);
            return TryRecv::Value(s.value);
        }
        if self.closed_now() {
            if detect::active() {
                detect::chan_recv_closed(detect::gid(), self.ch(), site);
            }
            TryRecv::Closed
        } else {
            TryRecv::Empty
        }
    }

    /// Whether a receive without a reservation that finds every value in
    /// flight reserved takes the head for a parked sender (see
    /// [`Channel::take_head_for_sender`]) rather than wait.
    #[inline]
    fn takes_behind_flight(&self, st: &State<T>) -> bool {
        self.cap == 0 && !st.buf.is_empty() && !detect::active()
    }

    /// A receive without a reservation on an unbuffered channel whose
    /// values in flight are all reserved, with a sender parked: Go's
    /// receiver would take the sender's value and not wait. Here the
    /// values in flight are older, so this receive takes the oldest (the
    /// head) and the sender's value goes in flight behind the others in
    /// its place: as many values as reservations, values leave in the
    /// order they entered, and the notified receivers each still find
    /// one. It saves this receive a park, a wake-up and a second locking
    /// to collect, and wakes the sender now rather than at the next
    /// collection's `refill`. Production only: under the detector the
    /// receive waits as before (the rendezvous it reports pairs a send
    /// with the receive that takes its value), so findings and explored
    /// schedules do not change.
    fn take_head_for_sender(&self, st: &mut State<T>, d: &mut Deferred<T>) -> Option<T> {
        let s = self.claim_sender(st, d, true)?;
        st.buf.push_back(s.value);
        d.wake(s.wakee);
        let v = st.buf.pop_front().expect("values in flight");
        // Parked receivers behind the values in flight wait for a taker's
        // refill: this is a take.
        self.refill(st, d);
        Some(v)
    }

    pub(crate) fn try_send(&self, v: T, site: Site) -> TrySend<T> {
        detect::touch_chan(self.id);
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let r = self.try_send_locked(&mut st, v, site, &mut d);
        drop(st);
        d.finish();
        r
    }

    /// After a value left the buffer: moves parked senders' values in behind,
    /// in order, into free buffer room or reserved for parked receivers (who
    /// waited behind the values that were reserved for others).
    #[inline]
    fn refill(&self, st: &mut State<T>, d: &mut Deferred<T>) {
        // The common case, inline on every take: nobody is waiting to send.
        if !st.sendq.is_empty() {
            self.refill_from_senders(st, d);
        }
    }

    fn refill_from_senders(&self, st: &mut State<T>, d: &mut Deferred<T>) {
        loop {
            let room = self.cap > 0 && st.buffered() < self.cap;
            if !room && !Self::has_live_receiver(st, None) {
                return;
            }
            let Some(s) = self.claim_sender(st, d, room) else {
                return;
            };
            st.buf.push_back(s.value);
            self.mirror(st);
            if let Some((rg, rsite)) = self.notify_one(st, d) {
                st.inflight += 1;
                if self.cap == 0 && detect::active() {
                    detect::chan_rendezvous(s.g, self.ch(), rg, rsite, s.site);
                }
            }
            detect::chan_send(s.g, self.ch(), s.site);
            d.wake(s.wakee);
        }
    }

    /// Claims the first parked sender that can complete now (its send
    /// completes): with the receiver at hand or into buffer room
    /// (`partner`), or else for a parked receiver of another operation.
    /// Skipped, and left queued: a select spoken for by a notification (it
    /// withdraws the entry itself), and one whose own receive is the only
    /// receiver parked here (Go never pairs a select with itself; claiming
    /// it would leave its value to whoever comes next). Stale entries of
    /// selects that committed elsewhere are dropped on the way.
    fn claim_sender(
        &self,
        st: &mut State<T>,
        d: &mut Deferred<T>,
        partner: bool,
    ) -> Option<Claimed<T>> {
        let mut i = 0;
        while let Some(s) = st.sendq.get(i) {
            if s.stale() {
                let s = st.sendq.remove(i).expect("queued");
                d.drop_later(s.value);
                continue;
            }
            if (partner || Self::has_live_receiver(st, s.waiter.as_ref())) && Self::claim(s, false)
            {
                // Almost always the head: `pop_front` is a fraction of
                // `remove`'s cost.
                let s = if i == 0 {
                    st.sendq.pop_front()
                } else {
                    st.sendq.remove(i)
                };
                let s = s.expect("queued");
                self.note_claimed(&s);
                return Some(Claimed {
                    value: s.value,
                    wakee: Wakee::of(s.waiter, s.waker),
                    g: s.g,
                    site: s.site,
                });
            }
            i += 1;
        }
        None
    }

    /// Publishes that plain send `s` (production: no waiter) was just
    /// claimed, so that its re-poll can see it without the lock (see
    /// `Channel::claimed`).
    #[inline]
    fn note_claimed(&self, s: &SendEntry<T>) {
        if s.waiter.is_none() {
            self.claimed.store(s.id, Ordering::Release);
        }
    }

    /// Claims parked send `s` (its caller then removes it from the queue):
    /// a select's shared waiter by compare-and-swap; a plain send's by its
    /// removal alone (its entry is its only one, and the lock is held),
    /// with a store into its waiter under the detector.
    #[inline]
    fn claim(s: &SendEntry<T>, closed: bool) -> bool {
        match (&s.waker, &s.waiter) {
            (Some(_), None) => true,
            (Some(_), Some(w)) => {
                w.complete(closed);
                true
            }
            (None, Some(w)) => w.try_claim(s.case, closed),
            (None, None) => unreachable!("a select's entry has its waiter"),
        }
    }

    /// A receive that does not wait; `reserved` as in `try_recv_locked`.
    pub(crate) fn try_recv(&self, site: Site, reserved: bool) -> TryRecv<T> {
        detect::touch_chan(self.id);
        if self.open_and_empty() {
            return TryRecv::Empty;
        }
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let r = self.try_recv_locked(&mut st, site, reserved, &mut d);
        drop(st);
        d.finish();
        r
    }

    /// Whether [`Channel::try_recv`] (`reserved` alike) would complete now,
    /// without doing it: `select!` draws among its ready cases under
    /// detection (`crate::select`), where nothing runs between this and the
    /// receive. Mirrors `try_recv_locked`.
    pub(crate) fn recv_ready(&self, reserved: bool) -> bool {
        detect::touch_chan(self.id);
        if self.open_and_empty() {
            return false;
        }
        let st = self.state.lock();
        if self.can_take(&st, reserved) || self.closed_now() {
            return true;
        }
        // As `claim_sender`: a live parked sender can be claimed.
        st.buf.is_empty() && st.sendq.iter().any(|s| !s.stale() && s.live(None))
    }

    /// Whether [`Channel::try_send`] would complete now (or find the
    /// channel closed), without doing it; see [`Channel::recv_ready`].
    pub(crate) fn send_ready(&self) -> bool {
        detect::touch_chan(self.id);
        let st = self.state.lock();
        self.closed_now()
            || Self::has_live_receiver(&st, None)
            || (self.cap > 0 && st.buffered() < self.cap)
    }

    /// A notified receiver gives its reservation up without using it (a
    /// select that committed another case): the next parked receiver gets
    /// it, or the value becomes free for anyone.
    pub(crate) fn release_reservation(&self) {
        detect::touch_chan(self.id);
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        self.pass_reservation(&mut st, &mut d);
        drop(st);
    }

    fn pass_reservation(&self, st: &mut State<T>, d: &mut Deferred<T>) {
        if st.inflight == 0 {
            return;
        }
        if self.notify_one(st, d).is_none() {
            st.inflight -= 1;
        }
    }

    /// Sends `v` or parks it in the send queue under `waiter`/`case`.
    ///
    /// With `commit == false` (a `select!` registering its cases) a ready
    /// operation is not performed: `ParkSend::Ready` gives the value back.
    pub(crate) fn park_send(
        &self,
        v: T,
        waiter: &Arc<Waiter>,
        case: usize,
        commit: bool,
        site: Site,
    ) -> ParkSend<T> {
        detect::touch_chan(self.id);
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        // (A select's own receive on this channel cannot take its send.)
        let ready = self.closed_now()
            || Self::has_live_receiver(&st, Some(waiter))
            || st.buffered() < self.cap;
        let v = if ready {
            if !commit {
                return ParkSend::Ready(v);
            }
            match self.try_send_locked(&mut st, v, site, &mut d) {
                TrySend::Sent => return ParkSend::Done,
                TrySend::Closed(v) => return ParkSend::Closed(v),
                // Every parked receiver turned out stale: park below.
                TrySend::Full(v) => v,
            }
        } else {
            v
        };
        ParkSend::Parked(self.push_send(&mut st, v, Some(waiter.clone()), None, case, site))
    }

    /// A plain `send`: sends `v` now, or parks it with `waker` in its entry
    /// (see `Wakee`), under one lock (`try_send` then `park_send` would take
    /// it twice, and re-check what the first look just saw).
    #[inline]
    pub(crate) fn send_or_park(&self, v: T, site: Site, waker: &Waker) -> SendOrPark<T> {
        detect::touch_chan(self.id);
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let r = match self.try_send_locked(&mut st, v, site, &mut d) {
            TrySend::Sent => SendOrPark::Sent,
            TrySend::Closed(v) => SendOrPark::Closed(v),
            TrySend::Full(v) => {
                // `try_send_locked` dropped every stale receiver entry on
                // its way: nothing here can take `v` now (what `park_send`
                // would re-check).
                // A waiter only for the detector's proof (see
                // `SendEntry::waiter`).
                let w = detect::active().then(Waiter::solo);
                let id = self.push_send(&mut st, v, w.clone(), Some(waker.clone()), 0, site);
                SendOrPark::Parked(w, id)
            }
        };
        drop(st);
        d.finish();
        r
    }

    /// A plain `recv`: takes a value (or sees the close) now, or parks an
    /// entry holding `waker` (see `Wakee`), under one lock. `again`: this
    /// receive's entry from its last park. Still queued, the poll was not a
    /// notification: the entry's waker becomes `waker` (unless it wakes the
    /// same task) and the receive stays parked. Gone, a notification took it
    /// out of the queue (a value was reserved for it, or the close came):
    /// the receive uses the reservation, and parks again (under the same
    /// entry's waiter) only if it finds nothing.
    #[inline]
    pub(crate) fn recv_or_park(
        &self,
        site: Site,
        again: Option<SoloRecv>,
        waker: &Waker,
    ) -> RecvOrPark<T> {
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let mut keep = None;
        if let Some(p) = again {
            if let Some(i) = queued(&st.recvq, p.id, |r| r.id) {
                refresh(&mut st.recvq[i].waker, waker);
                drop(st);
                d.finish();
                return RecvOrPark::Parked(p);
            }
            // Notified, in production (no waiter: see `SoloRecv`): the
            // collection of a reserved value, the head of `buf` (on an
            // unbuffered channel, the value in flight to it). This is what
            // `try_recv_locked` does with a reservation and a value to
            // take, without its general cases (nothing to take, a parked
            // sender to claim, the close, the detector's reports).
            if p.waiter.is_none() && !st.buf.is_empty() {
                st.inflight = st.inflight.saturating_sub(1);
                let v = st.buf.pop_front();
                self.refill(&mut st, &mut d);
                drop(st);
                d.finish();
                return RecvOrPark::Done(v);
            }
            keep = Some(p.waiter);
        }
        detect::touch_chan(self.id);
        // Two cases of `try_recv_locked` without the call, when nothing is
        // buffered or in flight: nothing to take, no sender to claim, not
        // closed (the receive parks, and nothing is reported); or, in
        // production, a plain send parked at the head of the queue (no
        // waiter: see `SendEntry::waiter`), whose removal claims it. One or
        // the other is every receive of a ping-pong.
        let plain_sender = |s: &SendEntry<T>| s.waiter.is_none() && s.waker.is_some();
        let r = if !st.buf.is_empty() {
            self.try_recv_locked(&mut st, site, keep.is_some(), &mut d)
        } else if st.sendq.is_empty() && !self.closed_now() {
            if keep.is_some() {
                // The reservation it was notified of is used up.
                st.inflight = st.inflight.saturating_sub(1);
            }
            TryRecv::Empty
        } else if st.sendq.front().is_some_and(plain_sender) {
            if keep.is_some() {
                st.inflight = st.inflight.saturating_sub(1);
            }
            let s = st.sendq.pop_front().expect("a parked send");
            self.note_claimed(&s);
            d.wake(Wakee::of(None, s.waker));
            TryRecv::Value(s.value)
        } else {
            self.try_recv_locked(&mut st, site, keep.is_some(), &mut d)
        };
        let v = match r {
            TryRecv::Value(v) => Some(v),
            TryRecv::Closed => None,
            TryRecv::Empty => {
                // What `park_recv` would re-check is what `try_recv_locked`
                // just found: no value to take, not closed, no sender to
                // claim. The waker is in the entry: no notification can
                // miss it.
                let waiter = match keep {
                    Some(w) => w,
                    None if detect::active() => Some(Waiter::solo()),
                    None => None,
                };
                let id = self.push_recv(&mut st, waiter.clone(), Some(waker.clone()), 0, site);
                drop(st);
                d.finish();
                return RecvOrPark::Parked(SoloRecv { id, waiter });
            }
        };
        drop(st);
        d.finish();
        // Under the detector the receive kept a waiter for the proof: back
        // to the pool (a plain `recv` has none in production).
        if let Some(Some(w)) = keep {
            super::waiter::recycle(w);
        }
        RecvOrPark::Done(v)
    }

    fn push_send(
        &self,
        st: &mut State<T>,
        v: T,
        waiter: Option<Arc<Waiter>>,
        waker: Option<Waker>,
        case: usize,
        site: Site,
    ) -> u64 {
        let id = st.next_id;
        st.next_id += 1;
        st.sendq.push_back(SendEntry {
            id,
            waiter,
            waker,
            case,
            value: v,
            g: detect::gid(),
            site,
        });
        id
    }

    fn push_recv(
        &self,
        st: &mut State<T>,
        waiter: Option<Arc<Waiter>>,
        waker: Option<Waker>,
        case: usize,
        site: Site,
    ) -> u64 {
        let id = st.next_id;
        st.next_id += 1;
        st.recvq.push_back(RecvEntry {
            id,
            waiter,
            waker,
            case,
            g: detect::gid(),
            site,
        });
        id
    }

    /// Receives or parks a notification entry for `waiter`. `Done(None)`
    /// means closed and drained.
    pub(crate) fn park_recv(
        &self,
        waiter: &Arc<Waiter>,
        case: usize,
        commit: bool,
        site: Site,
    ) -> Park<Option<T>> {
        detect::touch_chan(self.id);
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let ready = self.can_take(&st, false)
            || self.closed_now()
            || ((st.buf.is_empty() || self.takes_behind_flight(&st))
                && Self::has_live_sender(&st, Some(waiter)));
        if ready {
            if !commit {
                return Park::Ready;
            }
            match self.try_recv_locked(&mut st, site, false, &mut d) {
                TryRecv::Value(v) => return Park::Done(Some(v)),
                TryRecv::Closed => return Park::Done(None),
                // Every parked sender turned out stale: park below.
                TryRecv::Empty => {}
            }
        }
        Park::Parked(self.push_recv(&mut st, Some(waiter.clone()), None, case, site))
    }

    /// Withdraws a plain `recv`'s parked entry `id`. If the channel
    /// notified it already (it is no longer queued), the reservation it
    /// holds passes on to the next parked receiver, so that a dropped
    /// receiver cannot strand a value. Whether it is queued is read under
    /// the channel lock, which is where the notification removes it: one
    /// racing with the withdrawal is not missed.
    pub(crate) fn cancel_recv(&self, id: u64) {
        detect::touch_chan(self.id);
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        if let Some(i) = queued(&st.recvq, id, |r| r.id) {
            st.recvq.remove(i);
        } else {
            self.pass_reservation(&mut st, &mut d);
        }
        drop(st);
    }

    /// A parked plain `send` (entry `id`, waiter `w` under the detector)
    /// polled again: its entry still queued, its waker becomes `waker`
    /// unless it would wake the same task, and `None`; gone, its outcome,
    /// read under the lock that removed it (a claim completed it, unless it
    /// is one of the sends the close failed). The last send claimed knows
    /// without the lock (see `Channel::claimed`).
    #[inline]
    pub(crate) fn repoll_send(
        &self,
        id: u64,
        w: Option<&Waiter>,
        waker: &Waker,
    ) -> Option<Outcome> {
        // Inline, the common re-poll: no call, no lock.
        if w.is_none() && self.claimed.load(Ordering::Acquire) == id {
            return Some(Outcome {
                case: 0,
                closed: false,
            });
        }
        self.repoll_send_locked(id, w, waker)
    }

    /// [`Channel::repoll_send`] under the lock.
    fn repoll_send_locked(&self, id: u64, w: Option<&Waiter>, waker: &Waker) -> Option<Outcome> {
        let mut st = self.state.lock();
        if let Some(i) = queued(&st.sendq, id, |s| s.id) {
            refresh(&mut st.sendq[i].waker, waker);
            return None;
        }
        match w {
            Some(w) => w.outcome(),
            None => Some(Outcome {
                case: 0,
                closed: self.closed_now() && st.closed_sends.binary_search(&id).is_ok(),
            }),
        }
    }

    /// Withdraws receive entry `id` if still queued; a notification it got
    /// stays with its waiter (a `select!` reads it after withdrawing).
    pub(crate) fn withdraw_recv(&self, id: u64) {
        detect::touch_chan(self.id);
        let mut st = self.state.lock();
        if let Some(i) = queued(&st.recvq, id, |r| r.id) {
            st.recvq.remove(i);
        }
    }

    /// Removes send entry `id` if still queued, returning its value; `None`
    /// when a receiver (or the close) already claimed it.
    pub(crate) fn cancel_send(&self, id: u64) -> Option<T> {
        detect::touch_chan(self.id);
        let mut st = self.state.lock();
        let i = queued(&st.sendq, id, |s| s.id)?;
        st.sendq.remove(i).map(|s| s.value)
    }

    /// Closes the channel: Go's `close(ch)`. `Err(())` if it was already
    /// closed (the caller panics with `close of closed channel`). Values
    /// buffered or in flight stay receivable; parked receivers wake to drain
    /// them or see the close; parked senders wake and panic.
    pub(crate) fn close(&self, site: Site) -> Result<(), ()> {
        detect::touch_chan(self.id);
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let g = detect::gid();
        if self.closed.swap(true, Ordering::AcqRel) {
            drop(st);
            detect::close_of_closed(g, self.ch(), site);
            return Err(());
        }
        self.counts.closed.store(true, Ordering::Relaxed);
        detect::chan_close(g, self.ch(), site);
        for r in st.recvq.drain(..) {
            d.wake(r.notify(false));
        }
        while let Some(s) = st.sendq.pop_front() {
            if Self::claim(&s, true) {
                if s.waiter.is_none() {
                    // Its re-poll looks here (ids leave in increasing order).
                    st.closed_sends.push(s.id);
                }
                detect::send_on_closed(s.g, self.ch(), s.site);
                d.wake(Wakee::of(s.waiter, s.waker));
            }
            d.drop_later(s.value);
        }
        drop(st);
        Ok(())
    }
}

/// Makes `slot` wake what `waker` wakes, cloning only if it does not already.
fn refresh(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

/// Whether `w` is not the operation's own waiter: a select's send cannot be
/// taken by its own receive on the same channel, nor the other way round.
fn not_own(own: Option<&Arc<Waiter>>, w: &Arc<Waiter>) -> bool {
    own.is_none_or(|o| !Arc::ptr_eq(o, w))
}

/// A handle's identity for the detector: its address, with whether it can
/// send (bit 0) and receive (bit 1) in the low bits (a handle is a pointer,
/// so they are free). One word, so the futures that carry it stay small.
#[inline]
pub(crate) fn handle_ref<H>(h: &H, sends: bool, recvs: bool) -> usize {
    (h as *const H as usize) | usize::from(sends) | (usize::from(recvs) << 1)
}

/// The address of a handle recorded by [`handle_ref`], and whether it can
/// send and receive.
pub(crate) fn handle_parts(h: usize) -> (usize, bool, bool) {
    (h & !3, h & 1 != 0, h & 2 != 0)
}
