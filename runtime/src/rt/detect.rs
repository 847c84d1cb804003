//! The one door between goro's primitives and the detector: every event the
//! runtime can emit has its typed hook here, and every scheduler service a
//! primitive needs (parking, the virtual clock, timers, spawning) goes
//! through here too. Reading this file tells every event the runtime emits.
//!
//! In production no detector runs and each hook costs one thread-local check
//! ([`active`]), made first, before its event is built; under the detecting
//! scheduler (`rt::sched`) the hooks feed the happens-before engine and make
//! every operation a scheduling point.
//!
//! Hooks named for a goroutine `g` report an operation that goroutine `g`
//! completed (a channel hand-off completes the parked peer's operation too);
//! the others report one of the running goroutine. The scheduler itself
//! emits the only other events: a goroutine's `End` (its future returned)
//! and `Panic` (it panicked, which ends the schedule).

use std::collections::HashMap;
use std::panic::Location;
use std::task::{Context, Waker};
use std::time::Duration;

use goro_analyzer::event::{Addr, Gid, Loc, ObjId, Op};

use super::asleep::{self, Waiting};
use super::block::BlockInfo;
pub(crate) use super::sched::active;
use super::sched::{self, BoxFuture};

/// Where an operation was called: the user's line, captured by
/// `#[track_caller]` at the public API.
type Site = &'static Location<'static>;

/// The site of a receive made through `Stream::poll_next`, which has no
/// caller location (a combinator calls it). Under the detector the hooks
/// below report it at the user's frame that polled the stream instead
/// (see [`stream_caller`]); in production it stays this site.
#[inline(never)]
pub(crate) fn stream_site() -> Site {
    Location::caller()
}

/// Whether `site` is [`stream_site`]'s.
#[inline]
fn is_stream_site(site: Site) -> bool {
    let s = stream_site();
    std::ptr::eq(site, s)
        || (site.line() == s.line() && site.column() == s.column() && site.file() == s.file())
}

thread_local! {
    /// The user's frame each goroutine last polled a stream receive from,
    /// and the schedule it was set in: a schedule reads only its own.
    static STREAM_CALLERS: std::cell::RefCell<(u32, HashMap<Gid, Loc>)> =
        std::cell::RefCell::new((0, HashMap::new()));
}

/// The running goroutine polls a stream receive from the user's frame
/// `caller`: until it sets another, its receives at [`stream_site`] are
/// reported there.
pub(crate) fn stream_caller(caller: Loc) {
    let (Some(g), serial) = (gid(), serial()) else {
        return;
    };
    STREAM_CALLERS.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != serial {
            *c = (serial, HashMap::new());
        }
        c.1.insert(g, caller);
    });
}

/// Where goroutine `g`'s receive at `site` is reported: the user's frame
/// for a stream receive (see [`stream_caller`]), else `site` itself.
#[inline]
fn recv_loc(g: Option<Gid>, site: Site) -> Loc {
    if is_stream_site(site) {
        let serial = serial();
        let found = STREAM_CALLERS.with(|c| {
            let c = c.borrow();
            (c.0 == serial).then(|| c.1.get(&g?).copied()).flatten()
        });
        if let Some(l) = found {
            return l;
        }
    }
    Loc::from_std(site)
}

/// The running schedule's serial, unique in the process (0: none on this
/// thread): what tells an object made in another run.
#[inline]
pub(crate) fn serial() -> u32 {
    sched::serial()
}

/// The goroutine the detecting scheduler is running (`None` in production,
/// and in a timer callback).
#[inline]
pub(crate) fn gid() -> Option<Gid> {
    if active() {
        sched::current_gid()
    } else {
        None
    }
}

/// Whether the detecting scheduler is dropping its goroutines at the end
/// of a schedule (their code is not running).
pub(crate) fn tearing_down() -> bool {
    active() && sched::tearing_down()
}

/// Reports `op`, completed by goroutine `g` at `loc`. Private: primitives
/// call the typed hooks below.
fn emit_for(g: Option<Gid>, op: Op, loc: Loc) {
    sched::emit(g, op, loc);
}

/// Reports `op`, completed by the running goroutine at `site`.
fn emit(op: Op, site: Site) {
    sched::emit(sched::current_gid(), op, Loc::from_std(site));
}

// ---- Goroutines ----

/// Starts goroutine `gid` running `fut` on the detecting scheduler; the
/// running goroutine (if any) started it at `site` (Go's `go` statement).
pub(crate) fn spawn(gid: Gid, name: Option<&str>, site: Site, fut: BoxFuture) {
    let parent = sched::current_gid();
    sched::spawn(parent, gid, name, fut);
    if parent.is_some() {
        let op = Op::Spawn {
            child: gid,
            name: name.map(str::to_string),
        };
        emit_for(parent, op, Loc::from_std(site));
    }
}

/// The running goroutine joined goroutine `child` (its `JoinHandle` await
/// returned): the child's end happens before.
#[inline]
pub(crate) fn join(child: Gid, site: Site) {
    if active() {
        emit(Op::Join { child }, site);
    }
}

/// `g` caught a panic raised in it (at `loc`) and goes on: Go's
/// `recover()`, which makes the panic no finding.
#[inline]
pub(crate) fn recovered(g: Option<Gid>, loc: Loc) {
    if active() {
        emit_for(g, Op::Recovered, loc);
    }
}

// ---- Channels (each for goroutine `g`, whose operation completes) ----

/// `g` made channel `ch` of capacity `cap`.
#[inline]
pub(crate) fn chan_make(g: Option<Gid>, ch: ObjId, cap: usize, site: Site) {
    if active() {
        emit_for(g, Op::ChanMake { ch, cap }, Loc::from_std(site));
    }
}

/// `g`'s value entered channel `ch`'s buffer (for an unbuffered channel,
/// the slot a rendezvous hands the value through).
#[inline]
pub(crate) fn chan_send(g: Option<Gid>, ch: ObjId, site: Site) {
    if active() {
        emit_for(g, Op::ChanSend { ch }, Loc::from_std(site));
    }
}

/// `g` took a value out of channel `ch`'s buffer.
#[inline]
pub(crate) fn chan_recv(g: Option<Gid>, ch: ObjId, site: Site) {
    if active() {
        emit_for(g, Op::ChanRecv { ch }, recv_loc(g, site));
    }
}

/// `g` sent on unbuffered `ch` to `receiver`, whose receive is at
/// `recv_site`: the receive happens before the send completes.
#[inline]
pub(crate) fn chan_rendezvous(
    g: Option<Gid>,
    ch: ObjId,
    receiver: Option<Gid>,
    recv_site: Site,
    site: Site,
) {
    // A receiver parks from inside a goroutine, so it has an id whenever
    // the detector runs.
    if let (true, Some(receiver)) = (active(), receiver) {
        let op = Op::ChanRendezvous {
            ch,
            receiver,
            recv_loc: recv_loc(Some(receiver), recv_site),
        };
        emit_for(g, op, Loc::from_std(site));
    }
}

/// `g` closed channel `ch`.
#[inline]
pub(crate) fn chan_close(g: Option<Gid>, ch: ObjId, site: Site) {
    if active() {
        emit_for(g, Op::ChanClose { ch }, Loc::from_std(site));
    }
}

/// `g` received from closed, drained `ch` (`ok == false`).
#[inline]
pub(crate) fn chan_recv_closed(g: Option<Gid>, ch: ObjId, site: Site) {
    if active() {
        emit_for(g, Op::ChanRecvClosed { ch }, recv_loc(g, site));
    }
}

/// `g` sent on closed `ch` and panics.
#[inline]
pub(crate) fn send_on_closed(g: Option<Gid>, ch: ObjId, site: Site) {
    if active() {
        emit_for(g, Op::SendOnClosed { ch }, Loc::from_std(site));
    }
}

/// `g` closed already-closed `ch` and panics.
#[inline]
pub(crate) fn close_of_closed(g: Option<Gid>, ch: ObjId, site: Site) {
    if active() {
        emit_for(g, Op::CloseOfClosed { ch }, Loc::from_std(site));
    }
}

/// A handle of channel `global` that can send (`send`) or receive (`recv`)
/// is dropped; at the end of a schedule the goroutine being torn down held
/// it (the leak report's "held by").
#[inline]
pub(crate) fn handle_drop(global: u64, send: bool, recv: bool) {
    if active() {
        sched::note_handle_drop(global, send, recv);
    }
}

// ---- Locks and other synchronization ----

/// The running goroutine acquired `obj` (`Once` return, `WaitGroup::wait`
/// return, `sync::Map`, `race::acquire`): it sees what was released there.
#[inline]
pub(crate) fn acquire(obj: ObjId, site: Site) {
    if active() {
        emit(Op::Acquire { obj }, site);
    }
}

/// The running goroutine released `obj` (`Once` body end, `sync::Map`,
/// `race::release`): later acquirers see what it did before.
#[inline]
pub(crate) fn release(obj: ObjId, site: Site) {
    if active() {
        emit(Op::Release { obj }, site);
    }
}

/// The running goroutine locked Mutex `obj` (an acquire, and a lock-order
/// edge from every lock it holds).
#[inline]
pub(crate) fn lock(obj: ObjId, site: Site) {
    if active() {
        emit(Op::Lock { obj }, site);
    }
}

/// The running goroutine unlocked Mutex `obj` (a release).
#[inline]
pub(crate) fn unlock(obj: ObjId, site: Site) {
    if active() {
        emit(Op::Unlock { obj }, site);
    }
}

/// The running goroutine took a read lock on RwLock `obj`.
#[inline]
pub(crate) fn rlock(obj: ObjId, site: Site) {
    if active() {
        emit(Op::RLock { obj }, site);
    }
}

/// The running goroutine released a read lock on RwLock `obj`.
#[inline]
pub(crate) fn runlock(obj: ObjId, site: Site) {
    if active() {
        emit(Op::RUnlock { obj }, site);
    }
}

/// The running goroutine took the write lock of RwLock `obj`.
#[inline]
pub(crate) fn wlock(obj: ObjId, site: Site) {
    if active() {
        emit(Op::WLock { obj }, site);
    }
}

/// The running goroutine released the write lock of RwLock `obj`.
#[inline]
pub(crate) fn wunlock(obj: ObjId, site: Site) {
    if active() {
        emit(Op::WUnlock { obj }, site);
    }
}

/// The running goroutine blocked waiting for lock `obj` (Mutex or RwLock)
/// held by another (what the lock-order check needs).
#[inline]
pub(crate) fn lock_wait(obj: ObjId, site: Site) {
    if active() {
        emit(Op::LockWait { obj }, site);
    }
}

/// The running goroutine added `delta` to WaitGroup `wg`, leaving `counter`.
#[inline]
pub(crate) fn wg_add(wg: ObjId, delta: i64, counter: i64, site: Site) {
    if active() {
        emit(Op::WgAdd { wg, delta, counter }, site);
    }
}

/// The running goroutine entered `wait` on WaitGroup `wg` with the counter
/// at `counter`.
#[inline]
pub(crate) fn wg_wait(wg: ObjId, counter: i64, site: Site) {
    if active() {
        emit(Op::WgWait { wg, counter }, site);
    }
}

/// A `CancelFunc` of a context made at `created` by goroutine `creator`
/// with `func` was dropped, by the running goroutine at `at`, without being
/// called (one dropped at the end of a schedule is judged by the engine).
#[inline]
pub(crate) fn lost_cancel(
    created: Site,
    creator: Option<Gid>,
    func: &'static str,
    timer_pending: bool,
    children: usize,
    at: Loc,
) {
    if active() {
        let op = Op::LostCancel {
            created: Loc::from_std(created),
            creator,
            func,
            timer_pending,
            children,
            at_teardown: false,
        };
        emit_for(sched::current_gid(), op, at);
    }
}

// ---- Memory ----

/// A plain read of `addr` (`what` names it in reports).
#[inline]
pub(crate) fn read(addr: Addr, what: sched::What, site: Site) {
    access::<false>(|| addr, what, site);
}

/// A plain write of `addr` (`what` names it in reports).
#[inline]
pub(crate) fn write(addr: Addr, what: sched::What, site: Site) {
    access::<true>(|| addr, what, site);
}

/// A plain write (`WRITE`) or read of the location `addr()` names, made
/// only under the detector (a `Shared`'s number is drawn then). Under it,
/// what the access needs of the schedule ([`sched::running`]) is read here,
/// where the thread-locals cost what they cost, not in `sched::access`.
/// Production pays the [`active`] check alone: reading the executor's
/// pointer there instead costs one instruction more per access (a load and
/// a test against a compare with memory).
#[inline(always)]
pub(crate) fn access<const WRITE: bool>(
    addr: impl FnOnce() -> Addr,
    what: sched::What,
    site: Site,
) {
    if active() {
        if let Some(on) = sched::running() {
            sched::access::<WRITE>(on, addr(), what, site);
        }
    }
}

/// An atomic access of `addr` (a write if `write`): synchronizes like Go's
/// `sync/atomic` and races only with plain accesses.
#[inline]
pub(crate) fn atomic(addr: Addr, write: bool, what: &'static str, site: Site) {
    if active() {
        emit(Op::Atomic { addr, write, what }, site);
    }
}

/// The tracked location `addr` was freed: its history is forgotten.
#[inline]
pub(crate) fn free(addr: Addr, site: Site) {
    if active() {
        emit(Op::Free { addr }, site);
    }
}

// ---- Instrumented frames (`#[goro::instrument]`) ----

/// Goroutine `g` entered the instrumented function `function` defined at
/// `at`: its shadow call chain grows.
#[inline]
pub(crate) fn frame_enter(g: Option<Gid>, function: &'static str, at: Loc) {
    if active() {
        emit_for(g, Op::FrameEnter { function }, at);
    }
}

/// Goroutine `g` left its innermost instrumented function.
#[inline]
pub(crate) fn frame_exit(g: Option<Gid>) {
    if active() {
        emit_for(g, Op::FrameExit, Loc::UNKNOWN);
    }
}

// ---- Object identities ----

/// The per-schedule id of the object with process-wide id `global` (a
/// channel's id, an [`Ident`](super::ident::Ident)'s number, an annotated
/// address). Inlined so that production pays only the `active` check.
#[inline]
pub(crate) fn obj(global: u64) -> ObjId {
    if active() {
        sched::obj(global)
    } else {
        ObjId(global)
    }
}

/// [`obj`] for an object that caches its per-schedule id in `cache` (a
/// channel: used on every operation).
#[inline]
pub(crate) fn obj_cached(global: u64, cache: &std::sync::atomic::AtomicU64) -> ObjId {
    if active() {
        sched::obj_cached(global, cache)
    } else {
        ObjId(global)
    }
}

// ---- Parking and scheduling points ----

/// The running goroutine parks on a goro primitive (it is not waiting on the
/// outside world).
#[inline]
pub(crate) fn parked() {
    if active() {
        sched::note_park();
    }
}

/// The running goroutine parks on `info` at `site`, waiting for `what` (it
/// also counts as [`parked`]). `info` is built only under the detector; in
/// production the park is noted for Go's deadlock crash (`rt::asleep`).
#[inline]
pub(crate) fn block(site: Site, what: Waiting, info: impl FnOnce() -> BlockInfo) {
    if active() {
        sched::note_block(info(), recv_loc(sched::current_gid(), site));
    } else {
        asleep::note(what, site);
    }
}

/// Like [`block`], for an operation parked with the goroutine's waker
/// `waker` (as the operation saw it in its `Context`), which lets the
/// scheduler prove, from who still holds the goroutine's waker, that it can
/// never be woken.
#[inline]
pub(crate) fn block_on(site: Site, what: Waiting, waker: &Waker, info: impl FnOnce() -> BlockInfo) {
    if active() {
        sched::note_block_on(info(), recv_loc(sched::current_gid(), site), waker);
    } else {
        asleep::note(what, site);
    }
}

/// The running goroutine looked at or changed `obj` without an event (a
/// failed `try_lock`, a `Cond` signal): its step's footprint, for the
/// exhaustive search's partial-order reduction.
#[inline]
pub(crate) fn touch(obj: ObjId) {
    if active() {
        sched::touch(sched::strategy::footprint::Key::Obj(obj.0), true);
    }
}

/// [`touch`] of the channel with process-wide id `global`: every operation
/// on a channel's state (a failed `try_recv` or `try_send`, `len`, a
/// `select!` registering or withdrawing a case) reports it.
#[inline]
pub(crate) fn touch_chan(global: u64) {
    if active() {
        sched::touch_chan(global);
    }
}

/// The running goroutine touched state the reduction cannot name (a
/// context's cancel state, a timer's, the goroutine count): its step is
/// dependent with every step.
#[inline]
pub(crate) fn touch_unknown() {
    if active() {
        sched::touch_unknown();
    }
}

/// A scheduling point at the start of an operation: under detection the
/// operation's future yields once, letting the strategy pick who runs next.
/// Returns `true` when the caller must return `Poll::Pending`.
#[inline]
pub(crate) fn yield_point(cx: &mut Context<'_>, yielded: &mut bool) -> bool {
    if *yielded || !active() {
        return false;
    }
    *yielded = true;
    match sched::step_here(cx.waker()) {
        sched::Step::Go => false,
        sched::Step::Yield => true,
        sched::Step::Wake => {
            cx.waker().wake_by_ref();
            true
        }
    }
}

/// A uniformly random index in `0..n`: seeded under detection.
#[inline]
pub(crate) fn rand_below(n: usize) -> usize {
    if active() {
        sched::rand_below(n)
    } else {
        fastrand::usize(..n)
    }
}

// ---- The virtual clock (callers check `active` first) ----

/// The virtual clock's reading.
pub(crate) fn now() -> Duration {
    sched::now()
}

/// Wakes `waker` when the virtual clock reaches `at`.
pub(crate) fn wake_at(at: Duration, waker: Waker) {
    sched::wake_at(at, waker);
}

/// Runs `f` (outside any goroutine) when the virtual clock reaches `at`.
/// `opaque`: `f` may run the user's code (an `after_func`'s function), so
/// the deadlock proof cannot count on what it will not do.
pub(crate) fn call_at(at: Duration, f: Box<dyn FnOnce()>, opaque: bool) {
    sched::call_at(at, f, opaque);
}
