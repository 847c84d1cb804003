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

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::sync::Once;

thread_local! {
    /// How many `goro::recover` polls are on this thread's stack: the panic
    /// hook stays quiet while it is above zero.
    static RECOVERING: Cell<u32> = const { Cell::new(0) };
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
            let over = OVERRIDE.with(|o| o.take());
            let (file, line, col) = match (over, info.location()) {
                (Some(l), _) => (l.file(), l.line(), l.column()),
                (None, Some(l)) => (l.file(), l.line(), l.column()),
                (None, None) => ("<unknown>", 0, 0),
            };
            let message = payload_message(info.payload());
            let file = intern(file);
            LAST.with(|l| {
                *l.borrow_mut() = Some(PanicRecord {
                    file,
                    line,
                    column: col,
                    message: message.clone(),
                })
            });
            // A panic that a `goro::recover` will catch is handled, not news.
            if !super::detect::active() && !recovering() {
                // Chain to the previous hook (a user's, or std's printer).
                // Under the detector a panic is a finding, reported with its
                // site, and printing it would only repeat it.
                prev(info);
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
}

/// Takes the record of the last panic on this thread.
pub(crate) fn take_last() -> Option<PanicRecord> {
    LAST.with(|l| l.borrow_mut().take())
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
