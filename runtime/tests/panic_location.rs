//! What a user's panic hook sees of goro's own panics (`close of closed
//! channel`, `send on closed channel`): it must be called, and for the
//! panics raised synchronously by a `#[track_caller]` API (`close`, creating
//! a send on a closed channel) and for a `select!` send case chosen on a
//! closed channel `PanicHookInfo::location` must be the caller's line, as
//! for `Option::unwrap`.
//!
//! One test function: the panic hook is process-wide, and the tests of one
//! binary run in parallel. The hook is installed before any goro call, so
//! goro's own hook (installed once, on first need) chains to it.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use common::{panic_message, poll_once};

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    file: String,
    line: u32,
    message: String,
}

#[test]
fn user_hook_sees_goro_panics_at_the_callers_line() {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let rec = seen.clone();
    std::panic::set_hook(Box::new(move |info| {
        let (file, line) = info
            .location()
            .map_or((String::new(), 0), |l| (l.file().to_string(), l.line()));
        rec.lock().unwrap().push(Seen {
            file,
            line,
            message: panic_message(info.payload()),
        });
    }));
    let last = || seen.lock().unwrap().pop();
    let mut failures = Vec::new();
    let mut expect = |what: &str, got: Option<Seen>, line: Option<u32>, message: &str| match got {
        None => failures.push(format!("{what}: the user's hook was not called")),
        Some(s) => {
            if s.message != message {
                failures.push(format!("{what}: message {:?}", s.message));
            }
            if let Some(line) = line {
                if (s.file.as_str(), s.line) != (file!(), line) {
                    failures.push(format!(
                        "{what}: located at {}:{}, not {}:{line}",
                        s.file,
                        s.line,
                        file!()
                    ));
                }
            }
        }
    };

    let ch = goro::chan::<i32>(0);
    ch.close();
    let line = line!() + 1;
    let r = catch_unwind(AssertUnwindSafe(|| ch.close()));
    assert!(r.is_err());
    expect(
        "close of closed",
        last(),
        Some(line),
        "close of closed channel",
    );

    let line = line!() + 1;
    let r = catch_unwind(AssertUnwindSafe(|| drop(ch.send(1))));
    assert!(r.is_err());
    expect(
        "send on closed",
        last(),
        Some(line),
        "send on closed channel",
    );

    // Raised while polling: std cannot place it at the send, but the user's
    // hook must still hear of it.
    let ch = goro::chan::<i32>(0);
    let mut send = ch.send(1);
    assert!(poll_once(&mut send).is_pending());
    ch.close();
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(&mut send)));
    assert!(r.is_err());
    expect(
        "parked send woken by close",
        last(),
        None,
        "send on closed channel",
    );

    // A `select!` send case chosen on a closed channel panics once the
    // select completes, at the `select!` (a `macro_rules!` expansion cannot
    // name the arm's own line): ready at once, and parked then woken by the
    // close.
    let ch = goro::chan::<i32>(0);
    ch.close();
    let tx = ch.clone();
    let line = line!() + 2;
    let mut sel = Box::pin(async move {
        goro::select! {
            send(tx, 1) => {},
        }
    });
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(&mut sel)));
    assert!(r.is_err());
    expect(
        "select send on closed",
        last(),
        Some(line),
        "send on closed channel",
    );
    let ch = goro::chan::<i32>(0);
    let tx = ch.clone();
    let line = line!() + 2;
    let mut sel = Box::pin(async move {
        goro::select! {
            send(tx, 1) => {},
        }
    });
    assert!(poll_once(&mut sel).is_pending());
    ch.close();
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(&mut sel)));
    assert!(r.is_err());
    expect(
        "parked select send woken by close",
        last(),
        Some(line),
        "send on closed channel",
    );

    // The same with the user's hook installed after goro's, chaining to it
    // (goro's hook is now in place, so the order is the other one).
    let prev = std::panic::take_hook();
    let rec = seen.clone();
    std::panic::set_hook(Box::new(move |info| {
        let (file, line) = info
            .location()
            .map_or((String::new(), 0), |l| (l.file().to_string(), l.line()));
        rec.lock().unwrap().push(Seen {
            file,
            line,
            message: panic_message(info.payload()),
        });
        prev(info);
    }));
    let ch = goro::chan::<i32>(0);
    ch.close();
    let line = line!() + 1;
    let r = catch_unwind(AssertUnwindSafe(|| ch.close()));
    assert!(r.is_err());
    expect(
        "chained: close of closed",
        last(),
        Some(line),
        "close of closed channel",
    );

    let line = line!() + 1;
    let r = catch_unwind(AssertUnwindSafe(|| drop(ch.send(1))));
    assert!(r.is_err());
    expect(
        "chained: send on closed",
        last(),
        Some(line),
        "send on closed channel",
    );

    drop(std::panic::take_hook());
    assert!(failures.is_empty(), "{failures:#?}");
}
