//! The hook point of every goro operation.
//!
//! Each primitive reports what it does through these functions. In
//! production no detector runs and each hook costs one thread-local check
//! ([`active`]); under the detecting scheduler (`rt::sched`) they feed the
//! happens-before engine and make every operation a scheduling point.

use std::task::Context;

use goro_analyzer::event::{Loc, ObjId, Op};

pub(crate) use super::sched::active;

/// The goroutine the detecting scheduler is running (0 in production).
#[inline]
pub(crate) fn gid() -> u64 {
    if active() {
        super::sched::current_gid()
    } else {
        0
    }
}

/// Whether the detecting scheduler is dropping its goroutines at the end
/// of a schedule (their code is not running).
pub(crate) fn tearing_down() -> bool {
    active() && super::sched::tearing_down()
}

/// Reports `op`, completed by goroutine `g` at `loc`.
pub(crate) fn emit_for(g: u64, op: Op, loc: Loc) {
    super::sched::emit(g, op, loc);
}

/// Reports `op`, completed by the running goroutine at `site`.
pub(crate) fn emit(op: Op, site: &'static std::panic::Location<'static>) {
    if active() {
        super::sched::emit(super::sched::current_gid(), op, Loc::from_std(site));
    }
}

/// The per-schedule id of the object with process-wide id `global`.
/// Inlined so that production pays only the `active` check when a hook
/// builds its event.
#[inline]
pub(crate) fn obj(global: u64) -> ObjId {
    if active() {
        super::sched::obj(global)
    } else {
        ObjId(global)
    }
}

/// The per-schedule id of a primitive known by its address (a `Mutex`,
/// `WaitGroup`, ...): stable while it is borrowed, which every operation on
/// it is.
#[inline]
pub(crate) fn obj_at<T: ?Sized>(x: &T) -> ObjId {
    obj((x as *const T as *const () as usize as u64) | (1 << 62))
}

/// The running goroutine parks on a goro primitive (it is not waiting on the
/// outside world).
#[inline]
pub(crate) fn parked() {
    if active() {
        super::sched::note_park();
    }
}

/// The running goroutine parks on `info` at `site` (it also counts as
/// [`parked`]). `info` is built only under the detector.
#[inline]
pub(crate) fn block(
    site: &'static std::panic::Location<'static>,
    info: impl FnOnce() -> super::sched::BlockInfo,
) {
    if active() {
        super::sched::note_block(info(), Loc::from_std(site));
    }
}

/// Like [`block`], for an operation parked with the goroutine's waker
/// `waker` (as the operation saw it in its `Context`), which lets the
/// scheduler prove, from who still holds the goroutine's waker, that it can
/// never be woken.
#[inline]
pub(crate) fn block_on(
    site: &'static std::panic::Location<'static>,
    waker: &std::task::Waker,
    info: impl FnOnce() -> super::sched::BlockInfo,
) {
    if active() {
        super::sched::note_block_on(info(), Loc::from_std(site), waker);
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
    if super::sched::forced_step() {
        return false;
    }
    cx.waker().wake_by_ref();
    true
}

/// A uniformly random index in `0..n`: seeded under detection.
#[inline]
pub(crate) fn rand_below(n: usize) -> usize {
    if active() {
        super::sched::rand_below(n)
    } else {
        fastrand::usize(..n)
    }
}
