//! goro's crash lines (`goroutine N panicked at FILE:LINE: MSG`) survive a
//! user's panic hook, whether the user installs it before goro installs its
//! own (goro chains to it) or after (chaining to goro's, as good hooks do).
//!
//! One test function: the panic hook is process-wide, goro installs its own
//! once per process, and the tests of one binary run in parallel.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use common::{panic_message, run_panic_report};

type Seen = Arc<Mutex<Vec<String>>>;

fn record(seen: &Seen, payload: &(dyn std::any::Any + Send)) {
    seen.lock().unwrap().push(panic_message(payload));
}

/// An unjoined goroutine panics; returns the crash line's (file, line,
/// message) and the line the panic was raised at.
fn crash(kind: &'static str) -> ((String, u32, String), u32) {
    let line = Arc::new(AtomicU32::new(0));
    let at = line.clone();
    let r = run_panic_report(move || {
        goro::run(async move {
            let ch = goro::chan::<i32>(0);
            ch.close();
            goro::go!(async move {
                if kind == "plain" {
                    at.store(line!() + 1, Ordering::SeqCst);
                    panic!("plain panic");
                }
                at.store(line!() + 1, Ordering::SeqCst);
                ch.send(1).await;
            });
            std::future::pending::<()>().await;
        });
    });
    ((r.file, r.line, r.message), line.load(Ordering::SeqCst))
}

#[test]
fn crash_lines_survive_user_panic_hooks() {
    // 1. A user hook installed before goro's: goro chains to it for panics
    //    outside goroutines, here the fatal report `goro::run` raises. A
    //    panic inside a goroutine is not passed on when raised: nobody knows
    //    yet whether the goroutine will recover it (see `rt::panic`).
    let before: Seen = Arc::default();
    let seen = before.clone();
    std::panic::set_hook(Box::new(move |info| record(&seen, info.payload())));
    let (got, line) = crash("plain");
    assert_eq!(got, (file!().to_string(), line, "plain panic".to_string()));
    assert!(
        before
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.starts_with("goroutine ") && m.ends_with(": plain panic")),
        "goro's hook did not chain to the user's hook: {:?}",
        before.lock().unwrap()
    );
    let (got, line) = crash("send");
    assert_eq!(
        got,
        (
            file!().to_string(),
            line,
            "send on closed channel".to_string()
        )
    );

    // 2. A user hook installed after goro's, chaining to it.
    let after: Seen = Arc::default();
    let prev = std::panic::take_hook();
    let seen = after.clone();
    std::panic::set_hook(Box::new(move |info| {
        record(&seen, info.payload());
        prev(info);
    }));
    let (got, line) = crash("plain");
    assert_eq!(got, (file!().to_string(), line, "plain panic".to_string()));
    let (got, line) = crash("send");
    assert_eq!(
        got,
        (
            file!().to_string(),
            line,
            "send on closed channel".to_string()
        )
    );
    let after = after.lock().unwrap();
    assert!(after.iter().any(|m| m == "plain panic"), "{after:?}");
    assert!(
        after.iter().any(|m| m == "send on closed channel"),
        "{after:?}"
    );
    drop(std::panic::take_hook());
}
