//! The `GORO_*` environment reaches `#[goro::instrument]` tests and wins
//! over the attribute's values (what `cargo race test --schedules N` relies
//! on). Its own test binary, with a single test, because the environment is
//! process-wide.

use std::sync::atomic::{AtomicU32, Ordering};

static RUNS: AtomicU32 = AtomicU32::new(0);

#[goro::instrument(schedules = 2)]
#[test]
#[ignore = "run by environment_overrides_reach_instrumented_tests, with GORO_* set"]
async fn counted() {
    RUNS.fetch_add(1, Ordering::Relaxed);
}

#[goro::instrument(schedules = 10, expect = "data-race")]
#[test]
#[ignore = "run by environment_overrides_reach_instrumented_tests, with GORO_* set"]
async fn reported() {
    let x = std::sync::Arc::new(0u8);
    let x2 = x.clone();
    let a = goro::spawn(async move { goro::race::write(&*x2) });
    goro::race::write(&*x);
    a.await;
}

#[test]
fn environment_overrides_reach_instrumented_tests() {
    let dir = std::env::temp_dir().join(format!("goro-instrument-env-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // SAFETY (of the environment): the only test of this binary that runs
    // by default, so no other thread reads the environment meanwhile.
    std::env::set_var("GORO_SCHEDULES", "7");
    std::env::set_var("GORO_REPORT_DIR", &dir);

    counted();
    assert_eq!(
        RUNS.load(Ordering::Relaxed),
        7,
        "GORO_SCHEDULES=7 beats schedules = 2"
    );

    reported();
    let report: String = std::fs::read_dir(&dir)
        .expect("GORO_REPORT_DIR was written")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let line = report
        .lines()
        .find(|l| l.contains("\"data-race\""))
        .unwrap_or_else(|| panic!("no data race in {report}"));
    assert!(line.contains("instrument_env::reported"), "{line}");
    assert!(line.contains("\"expected\":true"), "{line}");

    std::env::set_var("GORO_SCHEDULES", "none");
    let err = std::panic::catch_unwind(counted).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("GORO_SCHEDULES=none is not valid"), "{msg}");

    std::env::remove_var("GORO_SCHEDULES");
    std::env::remove_var("GORO_REPORT_DIR");
    let _ = std::fs::remove_dir_all(&dir);
}
