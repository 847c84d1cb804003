//! End-to-end tests: the built `cargo-race` run on a small buggy crate
//! (tests/data/buggy, whose tests call `goro::race::explore`) and on report
//! fixtures, checking exit codes, every format, baselines, replay and bad
//! input.
//!
//! The buggy crate is built once: every run shares this build's target
//! directory (so goro and tokio are not compiled again) and the same cargo
//! options, and cargo's lock serializes the concurrent runs.
#![cfg(feature = "cli")]

use std::collections::BTreeSet;
use std::process::Output;

use goro_analyzer::finding::{read_json_lines, FindingKind};
use serde_json::Value;

mod common;

use common::{buggy, cargo_race_in, code, data, scratch};

fn cargo_race(args: &[&str], env: &[(&str, &str)]) -> Output {
    cargo_race_in(&buggy(), args, env)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn findings_fail_the_run_with_diagnostics_and_a_summary() {
    let out = cargo_race(&["test", "--color", "never"], &[]);
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}\n{}", stderr(&out));
    // The test run streams first.
    assert!(text.contains("test tests::racy_counter ... ok"), "{text}");
    // rustc-style diagnostics on the real source lines.
    assert!(text.contains("error[data-race]: data race on"), "{text}");
    assert!(text.contains("--> src/lib.rs:31:"), "{text}");
    assert!(text.contains("counter.set(counter.get() + 1);"));
    assert!(
        text.contains("write by goroutine 2 [worker]")
            || text.contains("write by goroutine 3 [worker]")
    );
    assert!(text.contains("goroutine 2 [worker] created here"));
    assert!(text.contains("= note: goroutine 2 [worker] was created at src/lib.rs:"));
    assert!(text.contains("= help: protect the"));
    assert!(text.contains("= reproduce: cargo race replay --seed "));
    assert!(text.contains("error[double-close]: close of closed channel"));
    assert!(text.contains("stop.close();"));
    // The summary table.
    assert!(text.contains("kind          count  tests"), "{text}");
    assert!(text.contains("double-close      1"));
    assert!(text.contains("cargo race: 2 unexpected findings; tests passed"));
    assert!(!text.contains('\u{1b}'), "--color never");
}

#[test]
fn a_clean_test_exits_0() {
    let out = cargo_race(&["test", "clean_handoff"], &[]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("cargo race: 0 unexpected findings; tests passed"));
}

#[test]
fn a_failing_test_without_findings_exits_with_the_test_run_code() {
    let out = cargo_race(&["test", "clean_fails_on_request"], &[("BUGGY_FAIL", "1")]);
    assert_eq!(code(&out), 101, "{}", stdout(&out));
    assert!(stdout(&out).contains("the test run failed (exit code 101)"));
}

#[test]
fn exploration_settings_reach_the_tests() {
    // One schedule from a fixed seed still finds the double close, whose
    // reproduce line then names that seed.
    let out = cargo_race(
        &[
            "test",
            "--schedules",
            "1",
            "--seed",
            "77",
            "--strategy",
            "pct:2",
            "double_close",
        ],
        &[],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("cargo race replay --seed 77 "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn json_is_one_finding_per_line_on_a_clean_stdout() {
    let out = cargo_race(&["test", "--format", "json"], &[]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let (findings, bad) = read_json_lines(text.as_bytes()).unwrap();
    assert!(bad.is_empty(), "stdout holds only JSON lines:\n{text}");
    let kinds: BTreeSet<FindingKind> = findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [FindingKind::DataRace, FindingKind::DoubleClose].into()
    );
    // The test output and the summary went to stderr.
    assert!(stderr(&out).contains("test tests::racy_counter ... ok"));
    assert!(stderr(&out).contains("cargo race: 2 unexpected findings"));
}

#[test]
fn sarif_goes_to_the_output_file() {
    let dir = scratch("sarif");
    let file = dir.join("race.sarif");
    let out = cargo_race(
        &[
            "test",
            "--format",
            "sarif",
            "--output",
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&out), 1);
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    // One data race (the read-modify-write races with itself: one pair of
    // lines) and one double close.
    assert_eq!(results.len(), 2);
    let race = results.iter().find(|r| r["ruleId"] == "data-race").unwrap();
    assert_eq!(
        race["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/lib.rs"
    );
    assert_eq!(
        race["codeFlows"][0]["threadFlows"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The source root is the buggy crate's workspace root.
    let root = log["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"]
        .as_str()
        .unwrap();
    assert!(root.ends_with("/tests/data/buggy/"), "{root}");
    assert!(stdout(&out).contains("cargo race: 2 unexpected findings"));
}

#[test]
fn a_baseline_accepts_known_findings_and_fails_on_new_ones() {
    let dir = scratch("baseline");
    let baseline = dir.join("race-baseline.json");
    let b = baseline.to_str().unwrap();

    let out = cargo_race(&["test", "--baseline", b, "--update-baseline"], &[]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("wrote 2 finding(s) to the baseline"));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(written["schema"], "goro-baseline/1");
    assert_eq!(written["findings"].as_array().unwrap().len(), 2);

    let out = cargo_race(&["test", "--baseline", b], &[]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("0 unexpected findings, 2 in the baseline"));
    assert!(
        !stdout(&out).contains("error["),
        "known findings are not shown"
    );

    let out = cargo_race(&["test", "--baseline", b, "--show-expected"], &[]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("warning[double-close]"));
    assert!(stdout(&out).contains("in the baseline: does not fail the run"));

    // Forget the double close: it is new again, and only it fails the run.
    let mut edited = written.clone();
    edited["findings"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["kind"] != "double-close");
    std::fs::write(&baseline, serde_json::to_string(&edited).unwrap()).unwrap();
    let out = cargo_race(&["test", "--baseline", b], &[]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("error[double-close]"));
    assert!(!text.contains("error[data-race]"), "{text}");
    assert!(
        text.contains("1 unexpected finding, 1 in the baseline"),
        "{text}"
    );
}

#[test]
fn replay_reruns_one_test_under_one_seed() {
    let out = cargo_race(&["test", "--format", "json", "racy_counter"], &[]);
    let (findings, _) = read_json_lines(out.stdout.as_slice()).unwrap();
    let seed = findings[0].seed.to_string();

    let out = cargo_race(&["replay", "--seed", &seed, "racy_counter"], &[]);
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}\n{}", stderr(&out));
    assert!(
        text.contains(&format!(
            "replayed `racy_counter` with seed {seed} (one schedule)"
        )),
        "{text}"
    );
    assert!(text.contains("error[data-race]"));
    assert!(text.contains("running 1 test"), "only the named test ran");
    // The schedule, step by step, with goroutines, operations and sites.
    assert!(
        text.contains("schedule trace (step, goroutine, operation, site):"),
        "{text}"
    );
    assert!(text.contains("src/lib.rs:"), "{text}");
    // By default the shrunk schedule, with what shrinking saved.
    let shrink = findings[0]
        .shrink
        .clone()
        .expect("explore shrinks findings");
    assert!(
        text.contains("shortest schedule for data-race at src/lib.rs:"),
        "{text}"
    );
    assert!(text.contains(" GORO_REPLAY="), "{text}");
    assert!(text.contains("shrunk from "), "{text}");

    // --full: the original schedule instead.
    let out = cargo_race(&["replay", "--full", "--seed", &seed, "racy_counter"], &[]);
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("schedule trace (step"), "{text}");
    assert!(!text.contains("shortest schedule for"), "{text}");

    // --schedule: an explicit schedule (what GORO_REPLAY takes).
    let out = cargo_race(
        &[
            "replay",
            "--seed",
            &seed,
            "--schedule",
            &shrink.schedule,
            "racy_counter",
        ],
        &[],
    );
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("error[data-race]"),
        "{}",
        stdout(&out)
    );

    // `test --replay SEED TEST` is an alias of `replay --seed SEED TEST`.
    let out = cargo_race(&["test", "--replay", &seed, "racy_counter"], &[]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("error[data-race]"));
}

/// The command a finding's `= reproduce:` line names, as arguments of
/// `cargo race`.
fn reproduce_args(text: &str) -> Vec<String> {
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("= reproduce: cargo race "))
        .unwrap_or_else(|| panic!("no reproduce line:\n{text}"));
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_reproduce_line_replays_the_finding_for_every_strategy() {
    for (strategy, names) in [
        ("exhaustive", "--schedule"),
        ("exhaustive:1", "--schedule"),
        ("random", "--strategy random"),
        ("pct:2", "--strategy pct:2"),
        ("portfolio", ""),
    ] {
        let out = cargo_race(
            &[
                "test",
                "--color",
                "never",
                "--strategy",
                strategy,
                "--schedules",
                "30",
                "racy_counter",
            ],
            &[],
        );
        let text = stdout(&out);
        assert_eq!(code(&out), 1, "{strategy}: {text}\n{}", stderr(&out));
        let args = reproduce_args(&text);
        let line = args.join(" ");
        assert!(line.starts_with("replay --seed "), "{strategy}: {line}");
        assert!(line.ends_with(" racy_counter"), "{strategy}: {line}");
        if names.is_empty() {
            assert!(
                !line.contains("--strategy") && !line.contains("--schedule"),
                "the default needs neither: {line}"
            );
        } else {
            assert!(line.contains(names), "{strategy}: {line}");
        }
        // Run as printed, it shows the same finding again.
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let again = cargo_race(&args, &[]);
        let replayed = stdout(&again);
        assert_eq!(code(&again), 1, "{strategy}: `{line}`\n{replayed}");
        assert!(
            replayed.contains("error[data-race]") && replayed.contains("--> src/lib.rs:31:"),
            "{strategy}: `{line}` replays the race\n{replayed}"
        );
    }
}

#[test]
fn github_actions_get_one_annotation_per_finding() {
    let out = cargo_race(&["test", "double_close"], &[("GITHUB_ACTIONS", "true")]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let annotations: Vec<&str> = text.lines().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(annotations.len(), 1, "{text}");
    assert!(
        annotations[0].starts_with("::error file=src/lib.rs,line=37,col=10,title=double-close::"),
        "{}",
        annotations[0]
    );
}

#[test]
fn help_documents_the_exit_codes() {
    let out = cargo_race(&["test", "--help"], &[]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.contains("Exit codes:"));
    assert!(text.contains("1    unexpected findings"));
    assert!(text.contains("--schedules <N>"));
    assert!(text.contains("--manifest-path <PATH>"));
}

/// One `error:` line on stderr, exit 2, and no backtrace.
fn assert_usage_error(out: &Output, contains: &str) {
    let err = stderr(out);
    assert_eq!(code(out), 2, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got:\n{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(err.contains(contains), "{err}");
    assert!(!err.contains("backtrace"));
}

#[test]
fn bad_option_values_are_one_line_usage_errors() {
    let out = cargo_race(&["test", "--schedules", "zero"], &[]);
    assert_usage_error(&out, "--schedules");
    let out = cargo_race(&["test", "--strategy", "fifo"], &[]);
    assert_usage_error(&out, "pct:DEPTH");
    let out = cargo_race(&["replay", "--seed", "-1", "t"], &[]);
    assert_usage_error(&out, "--seed");
}

#[test]
fn no_cargo_project_is_a_usage_error() {
    let dir = scratch("not-a-project");
    let manifest = dir.join("Cargo.toml");
    let out = cargo_race(
        &["test", "--manifest-path", manifest.to_str().unwrap()],
        &[],
    );
    assert_usage_error(&out, "is not a cargo project");

    std::fs::write(&manifest, "this is [not toml").unwrap();
    let out = cargo_race(
        &["test", "--manifest-path", manifest.to_str().unwrap()],
        &[],
    );
    assert_usage_error(&out, "is not a cargo project");
}

#[test]
fn a_missing_cargo_is_an_environment_error() {
    let out = cargo_race(&["test"], &[("CARGO", "/nonexistent/bin/cargo")]);
    assert_usage_error(&out, "cannot run `/nonexistent/bin/cargo`: not found");
}

#[test]
fn a_bad_baseline_is_an_error_before_any_test_runs() {
    let dir = scratch("bad-baseline");
    let baseline = dir.join("b.json");
    std::fs::write(&baseline, "{").unwrap();
    let out = cargo_race(&["test", "--baseline", baseline.to_str().unwrap()], &[]);
    assert_usage_error(&out, "is not valid");
    assert!(!stdout(&out).contains("running"), "no test ran");
}

#[test]
fn corrupt_report_lines_are_reported_and_skipped() {
    let reports = data().join("reports/corrupt.jsonl");
    let out = cargo_race_in(
        &data(),
        &[
            "report",
            "--root",
            data().join("service").to_str().unwrap(),
            "--color",
            "never",
            reports.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("corrupt.jsonl:2: skipped a corrupt report line: expected ident"),
        "{err}"
    );
    assert!(
        err.contains("corrupt.jsonl:4: skipped a corrupt report line: EOF"),
        "{err}"
    );
    let text = stdout(&out);
    assert!(text.contains("error[data-race]"));
    assert!(text.contains("error[send-on-closed]"));
    assert!(
        text.contains("cargo race: 2 unexpected findings\n"),
        "{text}"
    );
}

#[test]
fn an_unreadable_source_still_renders_every_finding() {
    let out = cargo_race_in(
        &data(),
        &[
            "report",
            "--root",
            "/nonexistent/goro",
            "--color",
            "never",
            data().join("reports/all-kinds.jsonl").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert_eq!(text.matches("error[").count(), 8, "{text}");
    assert!(text.contains("source not available"));
    assert!(text.contains("8 unexpected findings, 1 expected"));
}

#[test]
fn a_missing_report_path_is_a_usage_error() {
    let out = cargo_race_in(&data(), &["report", "/nonexistent/reports"], &[]);
    assert_usage_error(&out, "no such report file or directory");
}

#[test]
fn color_follows_the_option_and_no_color() {
    let report = data().join("reports/all-kinds.jsonl");
    let root = data().join("service");
    let args = |color: &'static str| {
        vec![
            "report".to_string(),
            "--root".into(),
            root.to_str().unwrap().into(),
            "--color".into(),
            color.into(),
            report.to_str().unwrap().into(),
        ]
    };
    let run = |color, env: &[(&str, &str)]| {
        let a = args(color);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        stdout(&cargo_race_in(&data(), &a, env))
    };
    assert!(run("always", &[]).contains("\u{1b}["));
    assert!(!run("never", &[]).contains('\u{1b}'));
    // auto: stdout is a pipe here, and NO_COLOR wins anyway.
    assert!(!run("auto", &[]).contains('\u{1b}'));
    assert!(!run("auto", &[("NO_COLOR", "1")]).contains('\u{1b}'));
}
