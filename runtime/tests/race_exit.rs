//! `GORO_RACE=1` on a plain `goro::run` program: it explores
//! `GORO_SCHEDULES` schedules (the others in re-executions of the program),
//! prints each distinct finding once, prints the program's own output once,
//! and exits with status 66 when anything was found, 0 otherwise.
//!
//! A test without libtest's harness: `goro::run` explores only on a
//! process's main thread. Run plainly it is the driver, which runs this same
//! executable as each program below (named by `RACE_EXIT_PROGRAM`) with
//! `GORO_RACE=1` and checks the exit status and the output.

use std::process::{Command, Output};

/// This file's source, to find the lines the diagnostics must point at.
const SOURCE: &str = include_str!("race_exit.rs");

/// Names the program to run; unset, this executable is the driver.
const PROGRAM: &str = "RACE_EXIT_PROGRAM";

fn main() {
    // An environment variable, not an argument: `cargo test -- ARGS` passes
    // its arguments to every test binary, this one included.
    match std::env::var(PROGRAM) {
        Ok(program) => run_program(&program),
        Err(_) => drive(),
    }
}

/// The programs, each a plain `goro::run` binary.
fn run_program(name: &str) {
    match name {
        "racy" => goro::run(async {
            println!("program output");
            let hits = std::sync::Arc::new(goro::Shared::new(0));
            let wg = goro::sync::WaitGroup::new();
            for _ in 0..2 {
                wg.add(1);
                goro::go!(clone(hits, wg), async move {
                    hits.set(hits.get() + 1); // unsynchronized read-modify-write
                    wg.done();
                });
            }
            wg.wait().await;
        }),
        "clean" => goro::run(async {
            println!("program output");
            let ch = goro::chan::<i32>(0);
            let tx = ch.clone();
            goro::go!(async move { tx.send(1).await });
            assert_eq!(ch.recv().await, Some(1));
        }),
        // Which goroutine sends first decides whether a goroutine leaks:
        // some schedules find the bug, others do not.
        "sometimes" => goro::run(async {
            println!("program output");
            let first = goro::chan::<&str>(2);
            for who in ["a", "b"] {
                goro::go!(clone(first), async move { first.send(who).await });
            }
            if first.recv().await == Some("b") {
                let never = goro::chan::<()>(0);
                goro::go!("stuck", clone(never), async move { never.recv().await });
            }
            first.recv().await;
        }),
        "deadlock" => {
            let main = async {
                let ch = goro::chan::<i32>(0);
                ch.recv().await;
            };
            goro::run(main); // deadlock-run
        }
        other => panic!("no program {other:?}"),
    }
    println!("after run");
}

/// Runs `program` under `GORO_RACE=1` with these extra variables.
fn race(program: &str, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().expect("this test's executable"));
    // The panic message alone, without a backtrace's frames.
    cmd.env(PROGRAM, program).env("RUST_BACKTRACE", "0");
    for var in detector_vars() {
        cmd.env_remove(var);
    }
    cmd.env("GORO_RACE", "1");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run this test's executable")
}

/// The variables that steer the detector, cleared so that the caller's
/// environment (`cargo race`) does not change what the programs do.
fn detector_vars() -> [&'static str; 8] {
    [
        "GORO_SCHEDULES",
        "GORO_SEED",
        "GORO_STRATEGY",
        "GORO_MAX_STEPS",
        "GORO_REPORT_DIR",
        "GORO_SCHEDULE_SHARD",
        "GORO_TEST_TIME_BUDGET",
        "GORO_REPLAY",
    ]
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn drive() {
    a_finding_exits_66_after_printing_it_once();
    a_clean_program_exits_0();
    a_finding_only_other_schedules_make_still_exits_66();
    a_replay_runs_one_schedule_and_still_exits_66();
    the_report_directory_gets_the_merged_findings_once();
    a_deadlock_names_the_goro_run_call();
    println!("race_exit: 6 checks passed");
}

fn a_finding_exits_66_after_printing_it_once() {
    let out = race("racy", &[("GORO_SCHEDULES", "5")]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(66), "{stderr}");
    assert_eq!(stderr.matches("data-race[").count(), 1, "{stderr}");
    assert!(stderr.contains("1 finding(s) in 5 schedule(s)"), "{stderr}");
    // The program's output once (the other schedules' is discarded), and
    // nothing after `run`: the process exits there.
    assert_eq!(stdout, "program output\n", "{stdout}");
}

fn a_clean_program_exits_0() {
    let out = race("clean", &[("GORO_SCHEDULES", "5")]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "program output\nafter run\n");
    assert!(!stderr.contains("goro race detector"), "{stderr}");
}

fn a_finding_only_other_schedules_make_still_exits_66() {
    // A seed whose schedule 0 does not close twice.
    let seed = (0..64)
        .map(|s| s.to_string())
        .find(|s| {
            race("sometimes", &[("GORO_SCHEDULES", "1"), ("GORO_SEED", s)])
                .status
                .success()
        })
        .expect("some seed's schedule 0 lets \"a\" send first");
    let out = race(
        "sometimes",
        &[("GORO_SCHEDULES", "40"), ("GORO_SEED", &seed)],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(66), "seed {seed}: {stderr}");
    assert_eq!(stderr.matches("goroutine-leak[").count(), 1, "{stderr}");
    assert!(stderr.contains("[stuck]"), "{stderr}");
    assert!(stderr.contains("in 40 schedule(s)"), "{stderr}");
    assert_eq!(stdout, "program output\n");
}

fn a_replay_runs_one_schedule_and_still_exits_66() {
    let out = race("racy", &[("GORO_SCHEDULES", "5"), ("GORO_REPLAY", "_")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(66), "{stderr}");
    assert!(stderr.contains("1 finding(s) in 1 schedule(s)"), "{stderr}");
}

fn the_report_directory_gets_the_merged_findings_once() {
    let dir = std::env::temp_dir().join(format!("goro-race-exit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = race(
        "racy",
        &[
            ("GORO_SCHEDULES", "4"),
            (
                "GORO_REPORT_DIR",
                dir.to_str().expect("a UTF-8 temporary path"),
            ),
        ],
    );
    assert_eq!(out.status.code(), Some(66), "{}", text(&out.stderr));
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the report directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    // One file, the parent's: the re-executions report to the parent.
    assert_eq!(files.len(), 1, "{files:?}");
    let lines = std::fs::read_to_string(&files[0]).expect("the report");
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(lines.contains("\"data-race\""), "{lines}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn a_deadlock_names_the_goro_run_call() {
    let out = race("deadlock", &[("GORO_SCHEDULES", "2")]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let line = SOURCE
        .lines()
        .position(|l| l.trim_end().ends_with("// deadlock-run"))
        .expect("the marked line")
        + 1;
    let at = format!("race_exit.rs:{line}:");
    assert!(
        stderr.contains(&at),
        "expected the panic at {at}:\n{stderr}"
    );
    assert!(stderr.contains("all goroutines are asleep"), "{stderr}");
    assert!(!stderr.contains("race/explore.rs"), "{stderr}");
    assert!(!stderr.contains("race/run.rs"), "{stderr}");
}
