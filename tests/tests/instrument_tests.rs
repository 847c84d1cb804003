//! `#[goro::instrument]` and `#[goro::test]` on tests: every accepted form
//! runs under the detector, `expect` and `allow` decide what fails, and an
//! `Err` or a finding fails the test with its message.
//!
//! The failing cases are ordinary tests with `#[should_panic(expected)]`:
//! the generated test panics with the detector's verdict.

use std::sync::atomic::{AtomicU32, Ordering};

use goro::race::testing::{test_main, TestSpec};

/// Two goroutines write `x` with no order between them.
async fn racy_body() {
    let x = std::sync::Arc::new(0u64);
    let x2 = x.clone();
    let a = goro::spawn(async move { goro::race::write(&*x2) });
    goro::race::write(&*x);
    a.await;
}

/// Closes a channel twice (the second close panics, ending the schedule).
async fn double_close_body() {
    let ch = goro::chan::<u8>(0);
    ch.close();
    ch.close();
}

#[goro::instrument]
#[test]
async fn plain_test_runs_under_the_detector() {
    assert!(goro::race::enabled());
    let ch = goro::chan(1);
    ch.send(5).await;
    assert_eq!(ch.recv().await, Some(5));
}

#[goro::test]
async fn goro_test_is_instrument_plus_test() {
    assert!(goro::race::enabled());
}

static RUNS: AtomicU32 = AtomicU32::new(0);

#[goro::instrument(schedules = 7, seed = 3, strategy = "pct", depth = 2, max_steps = 5000)]
#[test]
async fn every_argument_is_accepted() {
    RUNS.fetch_add(1, Ordering::Relaxed);
}

#[test]
fn schedules_sets_how_often_the_body_runs() {
    // `every_argument_is_accepted` may run concurrently: call the generated
    // test here too and count at least its 7 schedules. GORO_SCHEDULES
    // would override 7: the environment test binary covers that.
    if std::env::var_os("GORO_SCHEDULES").is_some() {
        return;
    }
    let before = RUNS.load(Ordering::Relaxed);
    every_argument_is_accepted();
    assert!(RUNS.load(Ordering::Relaxed) - before >= 7);
}

#[goro::test(schedules = 20)]
async fn result_ok_passes() -> Result<(), String> {
    let v: u32 = "42".parse().map_err(|e| format!("{e}"))?;
    assert_eq!(v, 42);
    Ok(())
}

#[goro::test(schedules = 1)]
#[should_panic(expected = "test returned error: \"boom\"")]
async fn result_err_fails_with_its_debug_form() -> Result<(), &'static str> {
    Err("boom")?;
    Ok(())
}

#[goro::test(schedules = 1)]
#[should_panic(expected = "test returned error: ParseIntError")]
async fn question_mark_returns_the_error() -> Result<(), std::num::ParseIntError> {
    let _: u32 = "x".parse()?;
    Ok(())
}

/// Every schedule of a small hand-off runs, and the test requires it.
/// (`GORO_STRATEGY` overrides the attribute: under `cargo race test
/// --strategy random` this test fails, as it should.)
#[goro::test(strategy = "exhaustive", require_complete = true, schedules = 1000)]
async fn exhaustive_require_complete_passes_on_a_small_program() {
    let ch = goro::chan::<u32>(1);
    let tx = ch.clone();
    goro::go!(async move { tx.send(1).await });
    assert_eq!(ch.recv().await, Some(1));
}

/// The full search, without partial-order reduction: every schedule of
/// the same hand-off.
#[goro::test(
    strategy = "exhaustive",
    dpor = false,
    require_complete = true,
    schedules = 1000
)]
async fn exhaustive_without_reduction_runs_every_schedule() {
    let ch = goro::chan::<u32>(1);
    let tx = ch.clone();
    goro::go!(async move { tx.send(1).await });
    assert_eq!(ch.recv().await, Some(1));
}

#[goro::test(preemptions = 2, dpor = false, expect = "data-race")]
async fn dpor_false_with_a_preemption_bound_still_finds_the_race() {
    racy_body().await;
}

#[goro::test(preemptions = 0, require_complete = true, expect = "data-race")]
async fn a_preemption_bound_alone_asks_for_an_exhaustive_search() {
    racy_body().await;
}

#[goro::instrument(schedules = 20, expect = "data-race")]
#[test]
async fn expect_makes_a_racy_test_pass() {
    racy_body().await;
}

#[goro::instrument(schedules = 5, expect = "data-race")]
#[test]
#[should_panic(expected = "expected data-race, found none")]
async fn expected_kind_not_found_fails() {}

#[goro::instrument(schedules = 20)]
#[test]
#[should_panic(expected = "unexpected finding")]
async fn a_finding_fails_the_test() {
    racy_body().await;
}

#[goro::instrument(schedules = 20)]
#[test]
#[should_panic(expected = "data-race")]
async fn the_failure_names_the_finding() {
    racy_body().await;
}

#[goro::instrument(schedules = 20, allow = ["data-race"])]
#[test]
async fn allow_reports_without_failing() {
    racy_body().await;
}

#[goro::instrument(schedules = 20, allow = ["data-race"])]
#[test]
async fn allow_does_not_require_the_finding() {}

#[goro::instrument(schedules = 20, expect = ["data-race", "double-close"])]
#[test]
async fn expect_accepts_a_list() {
    racy_body().await;
    double_close_body().await;
}

#[goro::instrument(schedules = 20, expect = "double-close")]
#[test]
#[should_panic(expected = "unexpected finding")]
async fn expect_fails_on_other_kinds() {
    racy_body().await;
    double_close_body().await;
}

#[goro::instrument(schedules = 20, expect = ["data-race", "double-close"])]
#[test]
#[should_panic(expected = "expected double-close, found none")]
async fn each_expected_kind_must_be_found() {
    racy_body().await;
}

/// Every kind the macro accepts is one the runtime knows: `test_main`
/// panics on a kind it cannot parse.
#[goro::instrument(
    schedules = 1,
    allow = [
        "data-race",
        "goroutine-leak",
        "deadlock",
        "lock-order-inversion",
        "send-on-closed",
        "double-close",
        "lost-cancel",
        "waitgroup-misuse",
        "panic",
    ]
)]
#[test]
async fn every_kind_is_known_to_the_runtime() {}

#[test]
fn macro_kinds_match_the_runtime_kinds() {
    // The list above, checked against FindingKind::ALL so that a new kind
    // is not silently rejected by the macro.
    let src = include_str!("instrument_tests.rs");
    let start = src.find("allow = [\n        \"data-race\"").unwrap();
    let list = &src[start..src[start..].find(']').unwrap() + start];
    for kind in goro::race::FindingKind::ALL {
        assert!(list.contains(&format!("\"{kind}\"")), "{kind} missing");
    }
}

#[goro::instrument(schedules = 10)]
#[test]
async fn a_caught_panic_is_not_a_finding() {
    // A panic caught inside the goroutine is not a finding.
    let r = std::panic::catch_unwind(|| 1);
    assert_eq!(r.ok(), Some(1));
}

#[goro::test(schedules = 1)]
#[should_panic(expected = "this test panics")]
async fn a_panicking_test_fails_with_its_message() {
    panic!("this test panics");
}

#[goro::instrument]
mod in_a_module {
    pub static mut SEEN: u32 = 0;

    #[goro::test(schedules = 10, expect = "data-race")]
    async fn module_statics_are_tracked_in_tests() {
        let a = goro::spawn(async {
            // SAFETY: racy on purpose.
            unsafe { SEEN += 1 }
        });
        // SAFETY: racy on purpose.
        unsafe { SEEN += 1 }
        a.await;
    }

    #[goro::instrument(schedules = 3)]
    #[test]
    async fn nested_tests_keep_their_arguments() {}

    /// Without an attribute of its own, a sync test stays a plain test.
    #[test]
    fn a_sync_test_stays_a_plain_test() {
        assert!(!goro::race::enabled());
    }

    /// Without an attribute of its own, an `async` test runs under the
    /// detector.
    #[test]
    async fn an_async_test_runs_under_the_detector() {
        assert!(goro::race::enabled());
    }
}

#[test]
fn test_main_fails_when_an_expected_kind_is_missing() {
    // The same verdict without the macro, as `catch_unwind` sees it.
    let spec = TestSpec {
        name: "instrument_tests::manual",
        schedules: Some(3),
        expect: &["deadlock"],
        ..TestSpec::default()
    };
    let err = std::panic::catch_unwind(|| test_main(spec, || async {})).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("expected deadlock, found none"), "{msg}");
}
