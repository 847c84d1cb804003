//! Panic bookkeeping: where a goroutine panicked, and panics raised by goro
//! itself at the user's call site.
//!
//! A process-wide hook (installed once, chaining to the previous one) records
//! the location and message of every panic on the panicking thread, so that
//! the goroutine wrapper can say `goroutine N panicked at FILE:LINE: MSG`.
//! Panics that goro raises on the user's behalf from inside a future's `poll`
//! (`send on closed channel` for a parked send woken by a close) carry the
//! location captured by `#[track_caller]` at the call, which the crash line
//! reports instead of goro's own source line. Panics raised synchronously
//! (`close`) go through `#[track_caller]` and need no help.
//!
//! Printing: Go prints a panic only when it ends the program, never one
//! that `recover()` caught. The hook runs before the unwind, when nobody
//! knows yet whether a `catch_unwind` will stop it; so a panic raised in a
//! goroutine is not printed by the hook but rendered as the default hook
//! would print it and kept ([`take_deferred`]), and the goroutine's top
//! prints it only when the panic escapes (or hands it to the join that
//! rethrows it). Panics outside goroutines, and those under a
//! `goro::recover` (never printed), are as before. A hook installed before
//! goro's is still called for panics outside goroutines; one installed
//! after goro's sees every panic, as any hook does.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

thread_local! {
    /// How many `goro::recover` polls are on this thread's stack: the panic
    /// hook stays quiet while it is above zero.
    static RECOVERING: Cell<u32> = const { Cell::new(0) };
    /// The goroutine poll under way on this thread, if any.
    static POLL: PollState = const {
        PollState {
            depth: Cell::new(0),
            raised: Cell::new(false),
            last: Cell::new(false),
        }
    };
    /// The default hook's rendering of the last panic raised in a
    /// goroutine, until the goroutine's top prints or drops it.
    static DEFERRED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// What a goroutine's poll needs to know of the panics raised under it.
struct PollState {
    /// How many goroutine polls are on this thread's stack: a panic raised
    /// under one is printed only if it escapes the goroutine.
    depth: Cell<u32>,
    /// A panic was raised (or rethrown by a join) since the flag was last
    /// taken: a poll that returns normally after it caught the panic, which
    /// the detector hears of as a recovery.
    raised: Cell<bool>,
    /// `LAST` holds a record: every goroutine poll drops a stale one, and
    /// this flag (a constant thread-local without a destructor, as `POLL`
    /// is) is cheaper to test than `LAST`'s `RefCell`.
    last: Cell<bool>,
}

/// Runs `f`, a goroutine's poll that catches whatever it raises (it must
/// not unwind), with the panics raised in it deferred to the goroutine's
/// top; returns its result and whether a panic was raised during it.
///
/// A record of a panic caught in an earlier poll (or raised outside any
/// goroutine) is dropped first: it is stale, and a panic resumed without
/// the hook must not be reported at its location.
#[inline(always)]
pub(crate) fn poll_goroutine<R>(f: impl FnOnce() -> R) -> (R, bool) {
    POLL.with(|p| {
        p.depth.set(p.depth.get() + 1);
        p.raised.set(false);
        if p.last.get() {
            drop_last(p);
        }
    });
    let r = f();
    let raised = POLL.with(|p| {
        p.depth.set(p.depth.get() - 1);
        p.raised.replace(false)
    });
    (r, raised)
}

/// Whether a panic was raised (and caught) in the goroutine poll under way:
/// the poll must end there, where the detector hears of the recovery (see
/// `rt::sched::step_here`).
#[inline]
pub(crate) fn raised_in_poll() -> bool {
    POLL.with(|p| p.raised.get())
}

/// Whether a goroutine is being polled on this thread.
fn in_goroutine() -> bool {
    POLL.with(|p| p.depth.get() > 0)
}

/// Takes the rendering of the last panic raised in a goroutine on this
/// thread (`None` if it was caught by a `goro::recover`, raised under the
/// detector, or already taken).
pub(crate) fn take_deferred() -> Option<String> {
    DEFERRED.with(|d| d.borrow_mut().take())
}

/// Makes `text` the rendering a join's rethrow carries to the joiner's top;
/// printed at once when the joiner is no goroutine (the panic leaves goro).
pub(crate) fn defer_print(text: Option<String>) {
    if in_goroutine() {
        DEFERRED.with(|d| *d.borrow_mut() = text);
    } else {
        print_fatal(text);
    }
}

/// Prints a panic that ended its goroutine, as the default hook would have.
pub(crate) fn print_fatal(text: Option<String>) {
    if let Some(t) = text {
        eprint!("{t}");
    }
}

/// What the standard panic hook prints for a panic at `file:line:col` with
/// `message`, on this thread.
fn render(file: &str, line: u32, col: u32, message: &str) -> String {
    static FIRST: AtomicBool = AtomicBool::new(true);
    let t = std::thread::current();
    let name = t.name().unwrap_or("<unnamed>");
    let tid = os_tid().map(|id| format!(" ({id})")).unwrap_or_default();
    let mut s = format!("\nthread '{name}'{tid} panicked at {file}:{line}:{col}:\n{message}\n");
    let bt = std::backtrace::Backtrace::capture();
    if bt.status() == std::backtrace::BacktraceStatus::Captured {
        s.push_str(&format!("stack backtrace:\n{bt}"));
    } else if FIRST.swap(false, Ordering::Relaxed) {
        s.push_str(
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
        );
    }
    s
}

/// The OS id of this thread, which the standard hook prints beside its
/// name (Linux; `None` elsewhere).
fn os_tid() -> Option<u64> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Notes that a panic is unwinding on this thread (the hook does it; a
/// join's `resume_unwind` skips the hook and calls this itself).
pub(crate) fn mark_raised() {
    POLL.with(|p| p.raised.set(true));
}

/// Forgets that a panic was raised: it was caught (by `goro::recover`).
pub(crate) fn clear_raised() {
    POLL.with(|p| p.raised.set(false));
}

/// Where the last panic on this thread was raised, for the detector's
/// record of its recovery.
pub(crate) fn last_loc() -> goro_analyzer::event::Loc {
    LAST.with(|l| {
        l.borrow()
            .as_ref()
            .map_or(goro_analyzer::event::Loc::UNKNOWN, |r| {
                goro_analyzer::event::Loc {
                    file: r.file,
                    line: r.line,
                    column: r.column,
                }
            })
    })
}

/// Whether a panic raised now would be caught by a `goro::recover` on this
/// thread's stack (the panic hook then prints nothing).
pub(crate) fn recovering() -> bool {
    RECOVERING.with(|r| r.get() > 0)
}

/// Runs `f` (a `goro::recover` poll, which catches what it raises) with
/// [`recovering`] true.
pub(crate) fn recovering_while<R>(f: impl FnOnce() -> R) -> R {
    RECOVERING.with(|r| r.set(r.get() + 1));
    let out = f();
    RECOVERING.with(|r| r.set(r.get() - 1));
    out
}

/// The payload of the private panic that `goro::goexit` raises, with where
/// it was called.
pub(crate) struct Goexit(pub(crate) &'static Location<'static>);

/// Where and why a panic happened.
#[derive(Clone, Debug)]
pub(crate) struct PanicRecord {
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) message: String,
}

thread_local! {
    static OVERRIDE: Cell<Option<&'static Location<'static>>> = const { Cell::new(None) };
    static LAST: RefCell<Option<PanicRecord>> = const { RefCell::new(None) };
}

/// The message of a panic payload, as the default hook prints it.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            mark_raised();
            let over = OVERRIDE.with(|o| o.take());
            let (file, line, col) = match (over, info.location()) {
                (Some(l), _) => (l.file(), l.line(), l.column()),
                (None, Some(l)) => (l.file(), l.line(), l.column()),
                (None, None) => ("<unknown>", 0, 0),
            };
            let message = payload_message(info.payload());
            let file = intern(file);
            set_last(PanicRecord {
                file,
                line,
                column: col,
                message: message.clone(),
            });
            // A panic that a `goro::recover` will catch is handled, not news.
            // Under the detector a goroutine's panic is a finding, reported
            // with its site, and printing it would only repeat it; one
            // outside every goroutine (the scheduler's own, a timer's
            // callback) is no finding and is printed.
            if !recovering() {
                if in_goroutine() {
                    if !super::detect::active() {
                        // Printed by the goroutine's top if nothing catches it.
                        let text = render(file, line, col, &message);
                        DEFERRED.with(|d| *d.borrow_mut() = Some(text));
                    }
                } else {
                    // Chain to the previous hook (a user's, or std's printer).
                    prev(info);
                }
            }
        }));
    });
}

/// A `'static` copy of a file name, made once per file: a panic hook's
/// location and a backtrace's frames are only borrowed, and findings keep
/// file names for the life of the process.
pub(crate) fn intern(file: &str) -> &'static str {
    static FILES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(f) = files.iter().find(|f| **f == file) {
        return f;
    }
    let f: &'static str = Box::leak(file.to_string().into_boxed_str());
    files.push(f);
    f
}

/// Makes `r` the record of the last panic on this thread: a panic resumed
/// with `resume_unwind` (a join rethrowing a goroutine's panic) skips the
/// hook, and its crash line should still say where it began.
pub(crate) fn set_last(r: PanicRecord) {
    LAST.with(|l| *l.borrow_mut() = Some(r));
    POLL.with(|p| p.last.set(true));
}

/// Takes the record of the last panic on this thread.
pub(crate) fn take_last() -> Option<PanicRecord> {
    if !POLL.with(|p| p.last.replace(false)) {
        return None;
    }
    LAST.with(|l| l.borrow_mut().take())
}

/// Drops a stale record (see [`poll_goroutine`]): out of line, as it is
/// rare.
#[cold]
#[inline(never)]
fn drop_last(p: &PollState) {
    p.last.set(false);
    let stale = LAST.with(|l| l.borrow_mut().take());
    drop(stale);
}

/// Panics with `msg`, reported at `loc` (a `#[track_caller]` location).
pub(crate) fn panic_at(loc: &'static Location<'static>, msg: &str) -> ! {
    install_hook();
    OVERRIDE.with(|o| o.set(Some(loc)));
    std::panic::panic_any(msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_names_are_shared() {
        let a = intern("x/y.rs");
        let b = intern(&String::from("x/y.rs"));
        assert!(std::ptr::eq(a, b));
    }
}
