//! The machinery behind [`select!`](crate::select!): one case per channel
//! operation, and the future that commits exactly one of them.
//!
//! A select first tries every case without waiting, in a fresh random order
//! (Go's `pollorder`), so that each ready case is chosen with equal
//! probability. Under detection it asks every case whether it is ready
//! (without committing) and draws one of the ready cases: a seeded choice
//! point only where two or more are ready, so the exhaustive search does
//! not branch on case orders that end the same way. If none is ready and there is no `default`, it registers one
//! shared `Waiter` in every case's queue. A receive case is only notified
//! when its channel gets a value or closes: the select then withdraws every
//! entry and tries again, so a receive commits only inside the select's own
//! poll and dropping the select can never lose a value. A send case is
//! completed by the receiver that takes its value, which claims the shared
//! waiter first: the claim (one compare-and-swap) lets at most one case
//! commit, without locking several channels at once as Go does. A select
//! parks its cases in its poll order, so that a partner arriving later
//! completes each of its cases on that channel equally often; it never
//! completes with itself (see `rt::chan`). Under detection only the order
//! of cases on the same channel and direction can matter (they compete
//! for one partner): that order alone is drawn.
//!
//! A send case chosen on a closed channel does not panic inside the
//! select's `poll`: the expansion's `__take` of the chosen case does, once
//! the select has completed, so that the panic (and any hook's message)
//! names the user's `select!` line through `#[track_caller]`.
//!
//! Everything here is public only for the macro's expansion.

#![doc(hidden)]

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::chan::{RecvHandle, SendHandle, SEND_ON_CLOSED};
use goro_analyzer::event::Wait;

use crate::rt::asleep::Waiting;
use crate::rt::block::{BlockInfo, ChanWait};
use crate::rt::chan::{Channel, Park, ParkSend, TryRecv, TrySend};
use crate::rt::detect;
use crate::rt::waiter::{self, Outcome, Waiter};

/// One case of a `select!`, as the select future drives it.
#[doc(hidden)]
pub trait __Case {
    /// Performs the operation if it can complete now.
    fn try_now(&mut self) -> bool;
    /// Parks under `w` as case `case`; `false` if the operation is ready now
    /// (nothing registered, nothing performed).
    fn register(&mut self, w: &Arc<Waiter>, case: usize) -> bool;
    /// Withdraws the parked entry; a send whose value was already taken
    /// stays marked as parked, for [`__Case::finish`].
    fn unregister(&mut self);
    /// This (send) case was claimed: it completed, or the claim was the
    /// channel's close (its `__take` then panics, at the `select!`).
    fn finish(&mut self, closed: bool);
    /// The channel notified this (receive) case with a value reserved for
    /// it: the next `try_now` may take it.
    fn reserve(&mut self) {}
    /// Whether this case holds an unused reservation of an unbuffered
    /// channel's value: one handed to it, which it must take.
    fn is_handed(&self) -> bool {
        false
    }
    /// Gives an unused reservation up (the select committed another case).
    fn release(&mut self) {}
    /// The case's channel, direction and handle, for the detector's report
    /// of a select left blocked.
    fn wait_case(&self) -> ChanWait;
    /// A case on a nil (`None`) channel: never ready, waits on nothing.
    fn is_nil(&self) -> bool {
        false
    }
    /// Whether `try_now` would complete now, without doing it (under
    /// detection only, where nothing runs in between).
    fn ready(&self) -> bool;
    /// The case's channel (its address) and direction (`true`: send):
    /// cases with the same key compete for one partner (`None`: nil).
    fn key(&self) -> Option<(usize, bool)>;
}

/// A `recv(ch) -> v` case.
#[doc(hidden)]
pub struct __RecvCase<'a, T> {
    chan: &'a Channel<T>,
    /// The handle it receives through, for the detector.
    handle: usize,
    parked: Option<u64>,
    reserved: bool,
    out: Option<Option<T>>,
    loc: &'static Location<'static>,
}

impl<'a, T> __RecvCase<'a, T> {
    #[doc(hidden)]
    #[track_caller]
    pub fn new<H: RecvHandle<T> + ?Sized>(h: &'a H) -> Self {
        __RecvCase {
            chan: h.__channel(),
            handle: h.__handle(),
            parked: None,
            reserved: false,
            out: None,
            loc: Location::caller(),
        }
    }

    /// The received value (`None`: closed and drained).
    #[doc(hidden)]
    pub fn __take(&mut self) -> Option<T> {
        self.out.take().expect("select case result taken twice")
    }
}

impl<T> __Case for __RecvCase<'_, T> {
    fn try_now(&mut self) -> bool {
        self.out = match self
            .chan
            .try_recv(self.loc, std::mem::take(&mut self.reserved))
        {
            TryRecv::Value(v) => Some(Some(v)),
            TryRecv::Closed => Some(None),
            TryRecv::Empty => return false,
        };
        true
    }

    fn register(&mut self, w: &Arc<Waiter>, case: usize) -> bool {
        match self.chan.park_recv(w, case, false, self.loc) {
            Park::Parked(id) => {
                self.parked = Some(id);
                true
            }
            Park::Ready => false,
            Park::Done(_) => unreachable!("non-committing park never completes"),
        }
    }

    fn unregister(&mut self) {
        if let Some(id) = self.parked.take() {
            // A notified entry is gone already; its reservation stays with
            // this case for the retry (see `reserve`).
            self.chan.withdraw_recv(id);
        }
    }

    fn finish(&mut self, _closed: bool) {
        unreachable!("receive cases commit only in the select's own poll")
    }

    fn reserve(&mut self) {
        self.reserved = true;
    }

    fn is_handed(&self) -> bool {
        // A close's notification hands over nothing: a closed channel's
        // case is just ready.
        self.reserved && self.chan.cap() == 0 && !self.chan.is_closed()
    }

    fn release(&mut self) {
        if std::mem::take(&mut self.reserved) {
            self.chan.release_reservation();
        }
    }

    fn wait_case(&self) -> ChanWait {
        self.chan.wait(false, self.handle)
    }

    fn ready(&self) -> bool {
        self.chan.recv_ready(self.reserved)
    }

    fn key(&self) -> Option<(usize, bool)> {
        Some((std::ptr::from_ref(self.chan).addr(), false))
    }
}

/// A send case's operands, evaluated on entry to the select.
#[doc(hidden)]
pub struct __SendOperand<'a, H: ?Sized, T> {
    pub ch: &'a H,
    pub value: T,
}

/// A `send(ch, v)` case.
#[doc(hidden)]
pub struct __SendCase<'a, T> {
    chan: &'a Channel<T>,
    /// The handle it sends through, for the detector.
    handle: usize,
    value: Option<T>,
    parked: Option<u64>,
    loc: &'static Location<'static>,
    /// Chosen on a closed channel: [`__SendCase::__take`] panics.
    closed: bool,
}

impl<'a, T> __SendCase<'a, T> {
    #[doc(hidden)]
    #[track_caller]
    pub fn from_operand<H: SendHandle<T> + ?Sized>(op: __SendOperand<'a, H, T>) -> Self {
        __SendCase {
            chan: op.ch.__channel(),
            handle: op.ch.__handle(),
            value: Some(op.value),
            parked: None,
            loc: Location::caller(),
            closed: false,
        }
    }

    /// The chosen case's result: panics `send on closed channel` if its
    /// channel was closed. Called by the expansion after the select
    /// completes, so that the panic is raised at the `select!` (through
    /// `#[track_caller]`), not inside goro's `poll`: the panic message
    /// printed by any hook names the user's line.
    #[doc(hidden)]
    #[track_caller]
    pub fn __take(&mut self) {
        if self.closed {
            panic!("{SEND_ON_CLOSED}");
        }
    }
}

impl<T> __Case for __SendCase<'_, T> {
    fn try_now(&mut self) -> bool {
        let v = self.value.take().expect("send case value present");
        match self.chan.try_send(v, self.loc) {
            TrySend::Sent => true,
            // A send on a closed channel is ready, and panics when chosen
            // (in `__take`, at the `select!`).
            TrySend::Closed(_) => {
                detect::send_on_closed(detect::gid(), self.chan.ch(), self.loc);
                self.closed = true;
                true
            }
            TrySend::Full(v) => {
                self.value = Some(v);
                false
            }
        }
    }

    fn register(&mut self, w: &Arc<Waiter>, case: usize) -> bool {
        let v = self.value.take().expect("send case value present");
        match self.chan.park_send(v, w, case, false, self.loc) {
            ParkSend::Parked(id) => {
                self.parked = Some(id);
                true
            }
            ParkSend::Ready(v) => {
                self.value = Some(v);
                false
            }
            ParkSend::Done | ParkSend::Closed(_) => {
                unreachable!("non-committing park never completes")
            }
        }
    }

    fn unregister(&mut self) {
        if let Some(id) = self.parked {
            if let Some(v) = self.chan.cancel_send(id) {
                self.value = Some(v);
                self.parked = None;
            }
            // Else a receiver (or the close) took the value and claimed the
            // select: `finish` settles it.
        }
    }

    fn finish(&mut self, closed: bool) {
        self.parked = None;
        // The close that claimed the case reported it; `__take` panics.
        self.closed = closed;
    }

    fn wait_case(&self) -> ChanWait {
        self.chan.wait(true, self.handle)
    }

    fn ready(&self) -> bool {
        self.chan.send_ready()
    }

    fn key(&self) -> Option<(usize, bool)> {
        Some((std::ptr::from_ref(self.chan).addr(), true))
    }
}

/// The future of one `select!`: resolves to the index of the committed case,
/// or to the number of cases for `default`.
#[doc(hidden)]
#[must_use = "futures do nothing unless awaited"]
pub struct __Select<'a> {
    cases: &'a mut [&'a mut (dyn __Case + Send)],
    default: bool,
    waiter: Option<Arc<Waiter>>,
    yielded: bool,
    /// The cases a channel notified with a reservation (`reserve`), one bit
    /// each: only those can be handed a value or hold one to release, so
    /// the common select, never notified, makes no such call per case.
    reserved: u64,
    /// Where the `select!` is (reported when it stays blocked).
    site: &'static Location<'static>,
}

impl<'a> __Select<'a> {
    #[doc(hidden)]
    #[track_caller]
    pub fn new(cases: &'a mut [&'a mut (dyn __Case + Send)], default: bool) -> Self {
        __Select {
            cases,
            default,
            waiter: None,
            yielded: false,
            reserved: 0,
            site: Location::caller(),
        }
    }

    /// Withdraws every entry and notes which receive cases were notified
    /// with a reservation; then, if a send case was claimed meanwhile,
    /// settles it and returns its index.
    fn withdraw(&mut self, w: &Waiter) -> Option<usize> {
        for c in self.cases.iter_mut() {
            c.unregister();
        }
        self.note_reservations(w.take_notified());
        let o: Outcome = w.outcome()?;
        self.cases[o.case].finish(o.closed);
        Some(o.case)
    }

    fn note_reservations(&mut self, mask: u64) {
        self.reserved |= mask;
        for (i, c) in self.cases.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                c.reserve();
            }
        }
    }

    /// The detector's description of this select, parked under `w`.
    fn blocked_on(&self, w: &Arc<Waiter>) -> BlockInfo {
        BlockInfo::Chans {
            ops: self
                .cases
                .iter()
                .filter(|c| !c.is_nil())
                .map(|c| c.wait_case())
                .collect(),
            select: true,
            waiter: Arc::downgrade(w),
        }
    }

    /// The select ends with case `i` (or `default`): reservations of the
    /// other cases pass on to other receivers.
    fn done(&mut self, i: usize) -> Poll<usize> {
        self.release_except(i);
        Poll::Ready(i)
    }

    /// Releases the reservations of every case but `keep`.
    fn release_except(&mut self, keep: usize) {
        let mut mask = std::mem::take(&mut self.reserved);
        while mask != 0 {
            let j = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            if j != keep {
                self.cases[j].release();
            }
        }
    }
}

/// A uniformly random order of `0..n` (Fisher-Yates), for `n <= 64`:
/// production's poll order.
fn poll_order(n: usize) -> ([u8; 64], usize) {
    let mut order = [0u8; 64];
    for (i, o) in order.iter_mut().enumerate().take(n) {
        *o = i as u8;
    }
    for i in (1..n).rev() {
        order.swap(i, fastrand::usize(..=i));
    }
    (order, n)
}

impl __Select<'_> {
    /// Under detection: commits one of the cases ready now, drawn
    /// uniformly among them (Go's select picks uniformly among its ready
    /// cases), and returns its index; `None` if none is ready. One ready
    /// case makes no draw, so no choice point for the exhaustive search.
    fn commit_drawn(&mut self) -> Option<usize> {
        let n = self.cases.len();
        if n == 1 {
            // Nothing to draw: no probe.
            return self.cases[0].try_now().then_some(0);
        }
        let mut ready = [0u8; 64];
        let mut k = 0;
        for i in 0..n {
            if self.cases[i].ready() {
                ready[k] = i as u8;
                k += 1;
            }
        }
        if k == 0 {
            return None;
        }
        let pick = if k == 1 { 0 } else { detect::rand_below(k) };
        let i = usize::from(ready[pick]);
        if self.cases[i].try_now() {
            return Some(i);
        }
        // The probe and the commit see the same state (nothing runs in
        // between under detection); should they disagree, the other ready
        // cases are tried in turn rather than parking on a ready one.
        debug_assert!(false, "select: case {i} was ready and did not complete");
        ready[..k]
            .iter()
            .map(|&j| usize::from(j))
            .find(|&j| self.cases[j].try_now())
    }

    /// Under detection: the order to park the cases in. Only cases on the
    /// same channel and direction compete for a partner arriving later
    /// (it completes, or notifies, the first of them in its queue), so
    /// only their order is drawn, uniformly; the rest park in case order,
    /// with no draw.
    fn park_order(&self) -> ([u8; 64], usize) {
        let n = self.cases.len();
        let mut order = [0u8; 64];
        for (i, o) in order.iter_mut().enumerate().take(n) {
            *o = i as u8;
        }
        let mut grouped = 0u64;
        for i in 0..n {
            if grouped & (1 << i) != 0 {
                continue;
            }
            let Some(key) = self.cases[i].key() else {
                continue;
            };
            let mut members = [0u8; 64];
            let mut m = 0;
            for j in i..n {
                if self.cases[j].key() == Some(key) {
                    members[m] = j as u8;
                    m += 1;
                    grouped |= 1 << j;
                }
            }
            // Fisher-Yates over the group's own places.
            for t in (1..m).rev() {
                let r = detect::rand_below(t + 1);
                order.swap(usize::from(members[t]), usize::from(members[r]));
            }
        }
        (order, n)
    }
}

impl Future for __Select<'_> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        if let Some(w) = this.waiter.take() {
            if w.poll_outcome(cx.waker()).is_none() && !w.poll_is_notified(cx.waker()) {
                // Still parked, on the same cases.
                detect::block_on(this.site, Waiting::Select, cx.waker(), || {
                    this.blocked_on(&w)
                });
                this.waiter = Some(w);
                return Poll::Pending;
            }
            // A send case was taken, or a receive case notified: withdraw
            // and settle, or try again. The notification is taken only once
            // every entry is withdrawn, so no partner claims a send case of
            // a select that a receive case already committed it to.
            let settled = this.withdraw(&w);
            waiter::recycle(w);
            if let Some(i) = settled {
                return this.done(i);
            }
        }
        if detect::yield_point(cx, &mut this.yielded) {
            return Poll::Pending;
        }
        let n = this.cases.len();
        let detecting = detect::active();
        loop {
            // An unbuffered channel that handed this select a value chose
            // it, as a Go sender completes a waiting select's case: take it
            // first (at most one case holds one). A buffered channel's
            // reservation only makes its case ready, like any other.
            let reserved = this.reserved;
            if let Some(i) = (0..n).find(|&i| reserved & (1 << i) != 0 && this.cases[i].is_handed())
            {
                if this.cases[i].try_now() {
                    return this.done(i);
                }
            }
            let order = if detecting {
                if let Some(i) = this.commit_drawn() {
                    return this.done(i);
                }
                None
            } else {
                let (order, n) = poll_order(n);
                for &i in &order[..n] {
                    if this.cases[i as usize].try_now() {
                        return this.done(i as usize);
                    }
                }
                Some(order)
            };
            if this.default {
                return this.done(n);
            }
            if n == 0 {
                // `select {}`: blocks forever, as in Go.
                detect::block_on(this.site, Waiting::SelectForever, cx.waker(), || {
                    BlockInfo::Fixed(Wait::Forever)
                });
                return Poll::Pending;
            }
            // Parked in the poll order (under detection, in a drawn order
            // of the cases that share a channel): a partner that arrives
            // later takes the first of its cases on the channel, so each
            // is equally likely to be the one it completes, as in Go.
            let (order, n) = order.map_or_else(|| this.park_order(), |o| (o, n));
            let w = Waiter::new(cx.waker());
            if order[..n]
                .iter()
                .all(|&i| this.cases[i as usize].register(&w, i as usize))
            {
                detect::block_on(this.site, Waiting::Select, cx.waker(), || {
                    this.blocked_on(&w)
                });
                this.waiter = Some(w);
                return Poll::Pending;
            }
            // A case turned ready while registering: withdraw and retry.
            let settled = this.withdraw(&w);
            waiter::recycle(w);
            if let Some(i) = settled {
                return this.done(i);
            }
        }
    }
}

impl Drop for __Select<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.waiter.take() {
            // Withdraw without settling: a send case whose value was taken
            // has completed, and one claimed by a close is never observed.
            for c in self.cases.iter_mut() {
                c.unregister();
            }
            self.note_reservations(w.take_notified());
            waiter::recycle(w);
        }
        // Reservations pass on to other receivers.
        self.release_except(usize::MAX);
    }
}

/// A case's operand as the macro evaluated it: `&H` for a channel handle,
/// `&Option<H>` for Go's nil-able channel variable. An inherent method
/// (the `Option` one) wins over a trait method of the same name, which is
/// how the expansion picks the case type without the two impls overlapping.
#[doc(hidden)]
pub struct __Operand<'a, H: ?Sized>(pub &'a H);

/// `recv(ch)` on a handle: the plain case.
#[doc(hidden)]
pub trait __RecvCaseOf<'a, T> {
    /// The case for this operand.
    fn __recv_case(self) -> __RecvCase<'a, T>;
}

impl<'a, T, H: RecvHandle<T> + ?Sized> __RecvCaseOf<'a, T> for __Operand<'a, H> {
    #[track_caller]
    fn __recv_case(self) -> __RecvCase<'a, T> {
        __RecvCase::new(self.0)
    }
}

impl<'a, H> __Operand<'a, Option<H>> {
    /// `recv(opt)`: `None` is Go's nil channel, never ready.
    #[doc(hidden)]
    #[track_caller]
    pub fn __recv_case<T>(self) -> __Nil<__RecvCase<'a, T>>
    where
        H: RecvHandle<T>,
    {
        // A `match`, not a closure: the case's site is the caller's.
        #[allow(clippy::manual_map)]
        __Nil(match self.0 {
            Some(h) => Some(__RecvCase::new(h)),
            None => None,
        })
    }
}

/// `send(ch, v)` on a handle: the plain case.
#[doc(hidden)]
pub trait __SendCaseOf<'a, T> {
    /// The case for this operand.
    fn __send_case(self) -> __SendCase<'a, T>;
}

impl<'a, T, H: SendHandle<T> + ?Sized> __SendCaseOf<'a, T> for __SendOperand<'a, H, T> {
    #[track_caller]
    fn __send_case(self) -> __SendCase<'a, T> {
        __SendCase::from_operand(self)
    }
}

impl<'a, H, T> __SendOperand<'a, Option<H>, T> {
    /// `send(opt, v)`: `None` is Go's nil channel, never ready (the value
    /// is dropped with the select).
    #[doc(hidden)]
    #[track_caller]
    pub fn __send_case(self) -> __Nil<__SendCase<'a, T>>
    where
        H: SendHandle<T>,
    {
        // A `match`, not a closure: the case's site is the caller's.
        #[allow(clippy::manual_map)]
        __Nil(match self.ch {
            Some(ch) => Some(__SendCase::from_operand(__SendOperand {
                ch,
                value: self.value,
            })),
            None => None,
        })
    }
}

/// A case whose channel may be nil (`None`): Go's idiom for switching a
/// `select` case off is `ch = nil`.
#[doc(hidden)]
pub struct __Nil<C>(Option<C>);

impl<'a, T> __Nil<__RecvCase<'a, T>> {
    #[doc(hidden)]
    pub fn __take(&mut self) -> Option<T> {
        self.0
            .as_mut()
            .expect("a nil case is never chosen")
            .__take()
    }
}

impl<'a, T> __Nil<__SendCase<'a, T>> {
    #[doc(hidden)]
    #[track_caller]
    pub fn __take(&mut self) {
        if let Some(c) = self.0.as_mut() {
            c.__take();
        }
    }
}

impl<C: __Case> __Case for __Nil<C> {
    fn try_now(&mut self) -> bool {
        self.0.as_mut().is_some_and(|c| c.try_now())
    }

    fn register(&mut self, w: &Arc<Waiter>, case: usize) -> bool {
        // Nil: parked on nothing, forever.
        self.0.as_mut().is_none_or(|c| c.register(w, case))
    }

    fn unregister(&mut self) {
        if let Some(c) = self.0.as_mut() {
            c.unregister();
        }
    }

    fn finish(&mut self, closed: bool) {
        if let Some(c) = self.0.as_mut() {
            c.finish(closed);
        }
    }

    fn reserve(&mut self) {
        if let Some(c) = self.0.as_mut() {
            c.reserve();
        }
    }

    fn is_handed(&self) -> bool {
        self.0.as_ref().is_some_and(|c| c.is_handed())
    }

    fn release(&mut self) {
        if let Some(c) = self.0.as_mut() {
            c.release();
        }
    }

    fn wait_case(&self) -> ChanWait {
        self.0
            .as_ref()
            .expect("a nil case waits on nothing (filtered by is_nil)")
            .wait_case()
    }

    fn is_nil(&self) -> bool {
        self.0.is_none()
    }

    fn ready(&self) -> bool {
        self.0.as_ref().is_some_and(|c| c.ready())
    }

    fn key(&self) -> Option<(usize, bool)> {
        self.0.as_ref().and_then(|c| c.key())
    }
}
