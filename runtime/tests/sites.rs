//! A site in a finding points at the user's code, never into goro's
//! sources: the caller's location is taken at the public API
//! (`#[track_caller]`) and carried down, never read inside a `poll`.

use std::sync::Arc;

use goro::race::{explore, Config, Finding, FindingKind, Report};
use goro::sync::{Cond, Mutex};

/// This file's source, to find the lines the findings must point at.
const SOURCE: &str = include_str!("sites.rs");

/// The 1-based line of this file that ends with the comment `// <marker>`.
fn line_of(marker: &str) -> u32 {
    let tag = format!("// {marker}");
    let i = SOURCE
        .lines()
        .position(|l| l.trim_end().ends_with(&tag))
        .unwrap_or_else(|| panic!("no line marked {tag:?}"));
    i as u32 + 1
}

/// The leak of the goroutine named `name`, which must be parked in `op`.
fn leak_of<'r>(report: &'r Report, name: &str, op: &str) -> &'r Finding {
    let f = report
        .findings()
        .iter()
        .find(|f| {
            f.kind == FindingKind::GoroutineLeak
                && f.primary.goroutine_name.as_deref() == Some(name)
        })
        .unwrap_or_else(|| panic!("no leak of {name:?}:\n{report}"));
    assert_eq!(f.primary.op, op, "{report}");
    f
}

fn config() -> Config {
    Config::default().schedules(10).env(false)
}

#[test]
fn a_goroutine_leaked_in_cond_wait_is_reported_at_the_wait() {
    let report = explore(config(), || async {
        let state = Arc::new((Mutex::new(false), Cond::new()));
        let s = state.clone();
        // Waits for a signal nobody sends.
        goro::go!("waiter", async move {
            let (mu, cond) = &*s;
            let mut ready = mu.lock().await;
            while !*ready {
                ready = cond.wait(ready).await; // cond-wait
            }
        });
    });
    let f = leak_of(&report, "waiter", "cond wait");
    assert!(f.primary.file.ends_with("sites.rs"), "{f:#?}");
    assert_eq!(f.primary.line, line_of("cond-wait"), "{f:#?}");
}

#[test]
fn a_goroutine_leaked_relocking_after_cond_wait_is_reported_at_the_wait() {
    let report = explore(config(), || async {
        let state = Arc::new((Mutex::new(()), Cond::new()));
        let started = goro::chan::<()>(1);
        let (s, tx) = (state.clone(), started.clone());
        goro::go!("waiter", async move {
            let (mu, cond) = &*s;
            let g = mu.lock().await;
            tx.send(()).await;
            // Signalled, it relocks a mutex that is never unlocked.
            let _g = cond.wait(g).await; // relock
        });
        let (mu, cond) = &*state;
        started.recv().await;
        // Taken once the waiter has parked (its wait released the mutex).
        let g = mu.lock().await;
        cond.signal();
        std::mem::forget(g);
    });
    let f = leak_of(&report, "waiter", "lock");
    assert!(f.primary.file.ends_with("sites.rs"), "{f:#?}");
    assert_eq!(f.primary.line, line_of("relock"), "{f:#?}");
}

#[test]
fn a_send_on_a_closed_channel_in_select_is_reported_at_the_select() {
    let report = explore(config(), || async {
        let ch = goro::chan::<i32>(0);
        ch.close();
        // A macro_rules! expansion cannot name the `send(..)` arm's own line.
        goro::select! { // select-send
            send(ch, 1) => {},
        }
    });
    let f = report
        .findings()
        .iter()
        .find(|f| f.kind == FindingKind::SendOnClosed)
        .unwrap_or_else(|| panic!("no send-on-closed:\n{report}"));
    assert_eq!(f.primary.file, "runtime/tests/sites.rs", "{f:#?}");
    assert_eq!(f.primary.line, line_of("select-send"), "{f:#?}");
}

#[test]
fn a_lost_cancel_is_dropped_at_a_workspace_relative_site() {
    let report = explore(
        config(),
        || async {
            let (ctx, _cancel) = goro::context::with_cancel(&goro::context::background());
            drop(ctx);
        }, // cancel-drop
    );
    let f = report
        .findings()
        .iter()
        .find(|f| f.kind == FindingKind::LostCancel)
        .unwrap_or_else(|| panic!("no lost-cancel:\n{report}"));
    let drop = f
        .related
        .iter()
        .find(|s| s.op == "drop")
        .unwrap_or_else(|| panic!("no drop site: {f:#?}"));
    assert_eq!(drop.file, "runtime/tests/sites.rs", "{f:#?}");
    assert_eq!(drop.line, line_of("cancel-drop"), "{f:#?}");
}

#[test]
fn a_goroutine_leaked_reading_a_stream_is_reported_at_the_next_call() {
    // With `StreamExt` in scope, `rx.next()` is still the inherent
    // `Receiver::next` (`StreamExt::next` would go through `poll_next`,
    // which has no caller location): unused, as the call shows.
    #[allow(unused_imports)]
    use futures_util::StreamExt;
    let report = explore(config(), || async {
        let ch = goro::chan::<i32>(0);
        let mut rx = ch.receiver();
        goro::go!("reader", async move {
            while let Some(_v) = rx.next().await {} // stream-next
        });
        // `ch` (the sender) stays alive in main's frame until it returns.
        goro::yield_now().await;
        drop(ch);
    });
    let f = leak_of(&report, "reader", "recv");
    assert_eq!(f.primary.file, "runtime/tests/sites.rs", "{f:#?}");
    assert_eq!(f.primary.line, line_of("stream-next"), "{f:#?}");
}

/// A receive through the `Stream` trait (a combinator polls `poll_next`,
/// which has no caller location) is reported at the user's line that
/// awaits the combinator, not in goro's sources.
#[test]
fn a_goroutine_leaked_in_a_stream_combinator_is_reported_at_the_users_line() {
    let program = || async {
        let ch = goro::chan::<i32>(0);
        let rx = ch.receiver();
        goro::go!("folder", async move {
            use futures_util::StreamExt;
            let _sum = rx.fold(0, |a, v| async move { a + v }).await; // stream-fold
        });
        ch.send(1).await;
        // `ch` (the sender) is dropped without a close: the fold never ends.
        drop(ch);
    };
    let report = explore(config(), program);
    let f = leak_of(&report, "folder", "recv");
    assert_eq!(f.primary.file, "runtime/tests/sites.rs", "{f:#?}");
    assert_eq!(f.primary.line, line_of("stream-fold"), "{f:#?}");
    // The site read from a backtrace enters the trace: still one schedule
    // per seed.
    goro::race::check_determinism(&config(), program).unwrap();
}

/// Its fixed twin: the channel is closed, the fold ends, nothing leaks.
#[test]
fn a_stream_combinator_over_a_closed_channel_ends_without_a_finding() {
    let report = explore(config(), || async {
        let ch = goro::chan::<i32>(0);
        let rx = ch.receiver();
        let done = goro::chan::<i32>(1);
        let out = done.clone();
        goro::go!("folder", async move {
            use futures_util::StreamExt;
            let sum = rx.fold(0, |a, v| async move { a + v }).await;
            out.send(sum).await;
        });
        ch.send(1).await;
        ch.send(2).await;
        ch.close();
        assert_eq!(done.recv().await, Some(3));
    });
    assert!(report.findings().is_empty(), "{report}");
}
