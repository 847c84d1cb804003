//! The channel model: Go's `hchan` over wakers.
//!
//! One lock guards a buffer and two wait queues, as in Go's `runtime/chan.go`.
//! A sender that finds a parked receiver hands its value over directly and
//! completes at once (one wake-up per transfer); a receiver that finds a parked
//! sender takes the sender's value out of its queue entry. Values only ever
//! live in the buffer, in a parked sender's entry, or in `handoff` (delivered
//! to a claimed receiver that has not run yet), so dropping a pending
//! operation can always find and settle its value: that is cancel safety.
//!
//! The public handles (`Chan`, `Sender`, `Receiver`) and futures live in
//! `crate::chan`; `select!` drives the same entry points through
//! `crate::select`.

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use goro_analyzer::event::{Loc, Op};
use parking_lot::Mutex;

use super::detect;
use super::waiter::Waiter;

/// Where an operation is in the user's source (`#[track_caller]`).
pub(crate) type Site = &'static Location<'static>;

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
    /// Completed immediately (only for single-case operations).
    Done(R),
    /// The operation was ready but the caller asked not to commit it here
    /// (a `select!` registering its cases): retry the non-blocking path.
    Ready,
    /// Queued under this entry id.
    Parked(u64),
}

struct RecvEntry {
    id: u64,
    waiter: Arc<Waiter>,
    case: usize,
    /// The parked goroutine and its receive, for the detector (0 in production).
    g: u64,
    site: Site,
}

struct SendEntry<T> {
    id: u64,
    waiter: Arc<Waiter>,
    case: usize,
    value: T,
    g: u64,
    site: Site,
}

struct State<T> {
    /// Buffered values. For an unbuffered channel this only ever holds values
    /// given back by receivers that were cancelled after a hand-off.
    buf: VecDeque<T>,
    recvq: VecDeque<RecvEntry>,
    sendq: VecDeque<SendEntry<T>>,
    /// Values handed to claimed receivers that have not picked them up yet,
    /// keyed by entry id. Mostly picked up in FIFO order, so a front-first
    /// scan is short.
    handoff: VecDeque<(u64, T)>,
    next_id: u64,
}

/// Work that must happen after the channel lock is released: waking parked
/// goroutines, and dropping values whose `Drop` may touch this channel.
pub(crate) struct Deferred<T> {
    wake: Vec<Arc<Waiter>>,
    drop: Vec<T>,
}

impl<T> Deferred<T> {
    fn new() -> Self {
        Deferred {
            wake: Vec::new(),
            drop: Vec::new(),
        }
    }
}

impl<T> Drop for Deferred<T> {
    fn drop(&mut self) {
        for w in self.wake.drain(..) {
            w.wake();
        }
    }
}

#[doc(hidden)]
pub struct Channel<T> {
    cap: usize,
    /// Process-wide identity, for the detector.
    id: u64,
    /// Mirrors `closed` for the lock-free check of `send` on a closed channel.
    closed: AtomicBool,
    state: Mutex<State<T>>,
}

impl<T> Channel<T> {
    pub(crate) fn new(cap: usize, site: Site) -> Self {
        static IDS: AtomicU64 = AtomicU64::new(1);
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        let c = Channel {
            cap,
            id,
            closed: AtomicBool::new(false),
            state: Mutex::new(State {
                buf: VecDeque::with_capacity(cap.min(1024)),
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
                handoff: VecDeque::new(),
                next_id: 0,
            }),
        };
        c.event(
            detect::gid(),
            Op::ChanMake {
                ch: detect::obj(id),
                cap,
            },
            site,
        );
        c
    }

    /// Reports an operation of goroutine `g` to the detector, if one runs.
    #[inline]
    fn event(&self, g: u64, op: Op, site: Site) {
        if detect::active() {
            detect::emit_for(g, op, Loc::from_std(site));
        }
    }

    #[inline]
    fn ch(&self) -> goro_analyzer::event::ObjId {
        detect::obj(self.id)
    }

    /// A send on the closed channel: reported, then Go's panic at `site`.
    pub(crate) fn send_on_closed(&self, site: Site) -> ! {
        self.event(detect::gid(), Op::SendOnClosed { ch: self.ch() }, site);
        super::panic::panic_at(site, crate::chan::SEND_ON_CLOSED)
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    pub(crate) fn len(&self) -> usize {
        if self.cap == 0 {
            return 0;
        }
        self.state.lock().buf.len().min(self.cap)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Delivers `v` to the first live parked receiver, if any. `sender` is
    /// the goroutine and site of the send, reported to the detector (`None`
    /// for a value given back, whose send was reported already).
    fn deliver(
        &self,
        st: &mut State<T>,
        v: T,
        sender: Option<(u64, Site)>,
        d: &mut Deferred<T>,
    ) -> Result<(), T> {
        while let Some(r) = st.recvq.pop_front() {
            if r.waiter.try_claim(r.case, false) {
                if let Some((g, site)) = sender.filter(|_| detect::active()) {
                    let ch = self.ch();
                    if self.cap == 0 {
                        let recv_loc = Loc::from_std(r.site);
                        self.event(
                            g,
                            Op::ChanRendezvous {
                                ch,
                                receiver: r.g,
                                recv_loc,
                            },
                            site,
                        );
                    } else {
                        self.event(g, Op::ChanSend { ch }, site);
                        self.event(r.g, Op::ChanRecv { ch }, r.site);
                    }
                }
                st.handoff.push_back((r.id, v));
                d.wake.push(r.waiter);
                return Ok(());
            }
            // A stale entry of a select! that committed elsewhere.
        }
        Err(v)
    }

    fn try_send_locked(
        &self,
        st: &mut State<T>,
        v: T,
        site: Site,
        d: &mut Deferred<T>,
    ) -> TrySend<T> {
        if self.is_closed() {
            return TrySend::Closed(v);
        }
        let g = detect::gid();
        let v = match self.deliver(st, v, Some((g, site)), d) {
            Ok(()) => return TrySend::Sent,
            Err(v) => v,
        };
        if st.buf.len() < self.cap {
            st.buf.push_back(v);
            self.event(g, Op::ChanSend { ch: self.ch() }, site);
            return TrySend::Sent;
        }
        TrySend::Full(v)
    }

    fn try_recv_locked(&self, st: &mut State<T>, site: Site, d: &mut Deferred<T>) -> TryRecv<T> {
        let g = detect::gid();
        if let Some(v) = st.buf.pop_front() {
            if self.cap > 0 {
                // (An unbuffered channel's buffer only holds values given back
                // by cancelled receives, already accounted for.)
                self.event(g, Op::ChanRecv { ch: self.ch() }, site);
            }
            // A slot freed up: move the first parked sender's value in behind.
            if self.cap > 0 && st.buf.len() < self.cap {
                while let Some(s) = st.sendq.pop_front() {
                    if s.waiter.try_claim(s.case, false) {
                        st.buf.push_back(s.value);
                        self.event(s.g, Op::ChanSend { ch: self.ch() }, s.site);
                        d.wake.push(s.waiter);
                        break;
                    }
                    d.drop.push(s.value);
                }
            }
            return TryRecv::Value(v);
        }
        while let Some(s) = st.sendq.pop_front() {
            if s.waiter.try_claim(s.case, false) {
                if detect::active() {
                    let (ch, recv_loc) = (self.ch(), Loc::from_std(site));
                    self.event(
                        s.g,
                        Op::ChanRendezvous {
                            ch,
                            receiver: g,
                            recv_loc,
                        },
                        s.site,
                    );
                }
                d.wake.push(s.waiter);
                return TryRecv::Value(s.value);
            }
            d.drop.push(s.value);
        }
        if self.is_closed() {
            self.event(g, Op::ChanRecvClosed { ch: self.ch() }, site);
            TryRecv::Closed
        } else {
            TryRecv::Empty
        }
    }

    pub(crate) fn try_send(&self, v: T, site: Site) -> TrySend<T> {
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let r = self.try_send_locked(&mut st, v, site, &mut d);
        drop(st);
        r
    }

    pub(crate) fn try_recv(&self, site: Site) -> TryRecv<T> {
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let r = self.try_recv_locked(&mut st, site, &mut d);
        drop(st);
        r
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
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let ready = self.is_closed()
            || st.buf.len() < self.cap
            // (A select's own receive on this channel cannot take its send.)
            || st
                .recvq
                .iter()
                .any(|r| !Arc::ptr_eq(&r.waiter, waiter) && r.waiter.outcome().is_none());
        if ready {
            if !commit {
                return ParkSend::Ready(v);
            }
            match self.try_send_locked(&mut st, v, site, &mut d) {
                TrySend::Sent => return ParkSend::Done,
                TrySend::Closed(v) => return ParkSend::Closed(v),
                // Every parked receiver turned out stale: park below.
                TrySend::Full(v) => return self.enqueue_send(&mut st, v, waiter, case, site),
            }
        }
        self.enqueue_send(&mut st, v, waiter, case, site)
    }

    fn enqueue_send(
        &self,
        st: &mut State<T>,
        value: T,
        waiter: &Arc<Waiter>,
        case: usize,
        site: Site,
    ) -> ParkSend<T> {
        let id = st.next_id;
        st.next_id += 1;
        st.sendq.push_back(SendEntry {
            id,
            waiter: waiter.clone(),
            case,
            value,
            g: detect::gid(),
            site,
        });
        ParkSend::Parked(id)
    }

    /// Receives or parks in the receive queue under `waiter`/`case`.
    /// `Done(None)` means closed and drained.
    pub(crate) fn park_recv(
        &self,
        waiter: &Arc<Waiter>,
        case: usize,
        commit: bool,
        site: Site,
    ) -> Park<Option<T>> {
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let ready = !st.buf.is_empty()
            || self.is_closed()
            || st
                .sendq
                .iter()
                .any(|s| !Arc::ptr_eq(&s.waiter, waiter) && s.waiter.outcome().is_none());
        if ready {
            if !commit {
                return Park::Ready;
            }
            match self.try_recv_locked(&mut st, site, &mut d) {
                TryRecv::Value(v) => return Park::Done(Some(v)),
                TryRecv::Closed => return Park::Done(None),
                // Every parked sender turned out stale: park below.
                TryRecv::Empty => {}
            }
        }
        let id = st.next_id;
        st.next_id += 1;
        st.recvq.push_back(RecvEntry {
            id,
            waiter: waiter.clone(),
            case,
            g: detect::gid(),
            site,
        });
        Park::Parked(id)
    }

    /// Picks up the value handed to claimed receive entry `id`.
    pub(crate) fn take_handoff(&self, id: u64) -> Option<T> {
        let mut st = self.state.lock();
        let pos = st.handoff.iter().position(|(i, _)| *i == id)?;
        st.handoff.remove(pos).map(|(_, v)| v)
    }

    /// Removes receive entry `id` if still queued. If it was claimed and a
    /// value was handed to it, the value goes back to the head of the channel
    /// so that no value is lost when a committed receive is cancelled.
    pub(crate) fn cancel_recv(&self, id: u64, give_back: bool) {
        let mut st = self.state.lock();
        if let Some(pos) = st.recvq.iter().position(|r| r.id == id) {
            st.recvq.remove(pos);
            return;
        }
        if !give_back {
            return;
        }
        if let Some(pos) = st.handoff.iter().position(|(i, _)| *i == id) {
            let (_, v) = st.handoff.remove(pos).expect("position is in range");
            let mut d = Deferred::new();
            // Prefer a receiver that is already parked; else keep it first in
            // line. (Its send completed already: no new send event.)
            if let Err(v) = self.deliver(&mut st, v, None, &mut d) {
                st.buf.push_front(v);
            }
            drop(st);
        }
    }

    /// Removes send entry `id` if still queued, returning its value.
    pub(crate) fn cancel_send(&self, id: u64) -> Option<T> {
        let mut st = self.state.lock();
        let pos = st.sendq.iter().position(|s| s.id == id)?;
        st.sendq.remove(pos).map(|s| s.value)
    }

    /// Closes the channel: Go's `close(ch)`, which panics with `close of
    /// closed channel` at `site` if it was already closed.
    pub(crate) fn close(&self, site: Site) {
        let mut d = Deferred::new();
        let mut st = self.state.lock();
        let g = detect::gid();
        if self.closed.swap(true, Ordering::AcqRel) {
            drop(st);
            self.event(g, Op::CloseOfClosed { ch: self.ch() }, site);
            super::panic::panic_at(site, crate::chan::CLOSE_OF_CLOSED);
        }
        self.event(g, Op::ChanClose { ch: self.ch() }, site);
        for r in st.recvq.drain(..) {
            if r.waiter.try_claim(r.case, true) {
                self.event(r.g, Op::ChanRecvClosed { ch: self.ch() }, r.site);
                d.wake.push(r.waiter);
            }
        }
        for s in st.sendq.drain(..) {
            if s.waiter.try_claim(s.case, true) {
                self.event(s.g, Op::SendOnClosed { ch: self.ch() }, s.site);
                d.wake.push(s.waiter);
            }
            d.drop.push(s.value);
        }
        drop(st);
    }
}
