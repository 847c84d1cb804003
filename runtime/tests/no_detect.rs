//! goro built without its `detect` feature (`default-features = false`),
//! the build a program ships: goroutines, channels and `select!` work, and
//! every way into the detector panics with a message that names the
//! feature. `.ci/run` runs this file with
//! `cargo test -p goro --no-default-features --test no_detect`; with the
//! default features it holds no test.
#![cfg(not(feature = "detect"))]

use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn goroutines_channels_and_select_run_without_the_detector() {
    let sum = goro::run(async {
        let ch = goro::chan::<u64>(0);
        let done = goro::chan::<()>(0);
        goro::go!(clone(ch), async move {
            for i in 1..=100 {
                ch.send(i).await;
            }
            ch.close();
        });
        let mut sum = 0;
        loop {
            goro::select! {
                recv(ch) -> v => match v {
                    Some(v) => sum += v,
                    None => break,
                },
                recv(done) -> _ => unreachable!("nobody sends on done"),
            }
        }
        sum
    });
    assert_eq!(sum, 5050);
}

#[test]
fn the_detector_refuses_with_a_message_that_names_the_feature() {
    let err = catch_unwind(AssertUnwindSafe(|| {
        goro::race::explore(
            goro::race::Config::default().schedules(1).env(false),
            || async {},
        )
    }))
    .expect_err("explore ran without the detector");
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("`detect` feature is off"), "{msg}");
}
