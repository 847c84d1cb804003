//! In production goro prints a panic only when nobody catches it, as Go
//! prints only a panic that ends the program: a send on a closed channel
//! that the goroutine recovers (`catch_unwind`, `goro::recover`) leaves
//! stderr empty, an uncaught one is still printed where it was raised.
//!
//! Each case runs in a child process (this test binary again, running only
//! `child` with the case in `GORO_PANIC_PRINT_CASE`), so that its stderr is
//! its own: the panic hook is process-wide.

use std::panic::AssertUnwindSafe;
use std::process::Command;

use futures_util::FutureExt;

const CASE: &str = "GORO_PANIC_PRINT_CASE";

/// Runs `case` in a child process: whether it exited 0, and its stderr.
fn run_child(case: &str) -> (bool, String) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CASE, case)
        .env_remove("GORO_RACE")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the test binary runs again");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The program of each case; nothing when run as a plain test.
#[test]
fn child() {
    let Ok(case) = std::env::var(CASE) else {
        return;
    };
    goro::run(async move {
        let ch = goro::chan::<u32>(1);
        ch.close();
        let h = goro::spawn(async move {
            // The send panics where it is made (`ch.send(..)`), before its
            // first poll: the catch goes around the whole statement.
            let send = async { ch.send(1).await };
            match case.as_str() {
                "catch_unwind" => {
                    assert!(AssertUnwindSafe(send).catch_unwind().await.is_err());
                }
                "recover" => assert!(goro::recover(send).await.is_err()),
                "close_twice" => {
                    drop(send);
                    let again = std::panic::catch_unwind(AssertUnwindSafe(|| ch.close()));
                    assert!(again.is_err());
                }
                _ => send.await,
            }
        });
        h.await
    });
    eprint!("done");
}

#[test]
fn a_caught_send_on_closed_prints_nothing() {
    for case in ["catch_unwind", "recover", "close_twice"] {
        let (ok, stderr) = run_child(case);
        assert!(ok, "{case}: the child failed:\n{stderr}");
        assert!(
            stderr == "done",
            "{case}: a caught panic printed:\n{stderr}"
        );
    }
}

#[test]
fn an_uncaught_send_on_closed_is_printed_once_where_it_was_raised() {
    let (ok, stderr) = run_child("uncaught");
    assert!(!ok, "the panic should end the program:\n{stderr}");
    // The default hook's format, at the send: `thread '..' panicked at
    // FILE:LINE:COL:` then the message.
    let at = format!("panicked at {}:", file!());
    let raised = stderr
        .lines()
        .position(|l| l.starts_with("thread '") && l.contains(&at))
        .unwrap_or_else(|| panic!("no panic line at the send:\n{stderr}"));
    assert_eq!(
        stderr.lines().nth(raised + 1),
        Some("send on closed channel"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("send on closed channel\n").count(),
        1,
        "printed once, by the goroutine it ended:\n{stderr}"
    );
}
