//! `--format html` end to end: `cargo race report` from JSON Lines and the
//! traces beside them, and `cargo race test` on the buggy crate (which must
//! record traces for the diagrams).
#![cfg(feature = "cli")]

use std::path::Path;
use std::process::Output;

mod common;

use common::{buggy, data, scratch};

/// `cargo race ARGS` in `dir`, with a clean environment.
fn cargo_race_in(dir: &Path, args: &[&str]) -> Output {
    common::cargo_race_in(dir, args, &[])
}

#[test]
fn report_renders_html_from_json_lines_and_the_trace_beside_them() {
    let dir = scratch("html-report");
    let file = dir.join("report.html");
    let out = cargo_race_in(
        &data(),
        &[
            "report",
            "--show-expected",
            "--format",
            "html",
            "--output",
            file.to_str().unwrap(),
            "--root",
            data().join("service").to_str().unwrap(),
            data().join("reports/all-kinds.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "unexpected findings fail the run"
    );
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<section class=\"finding").count(), 9);
    // all-kinds.trace draws five of the nine; the other four say so.
    assert_eq!(html.matches("class=\"caption no-trace\"").count(), 4);
    assert!(html.contains("class=\"hb send\""));
    assert!(
        html.contains("self.hits.set(self.hits.get() + 1);"),
        "sources read from --root"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_trace_file_given_by_name_is_drawn() {
    let dir = scratch("html-named-trace");
    std::fs::copy(
        data().join("reports/all-kinds.jsonl"),
        dir.join("found.jsonl"),
    )
    .unwrap();
    let out = cargo_race_in(
        &dir,
        &[
            "report",
            "--show-expected",
            "--format",
            "html",
            "found.jsonl",
            data().join("reports/all-kinds.trace").to_str().unwrap(),
        ],
    );
    let html = String::from_utf8_lossy(&out.stdout);
    assert_eq!(html.matches("class=\"caption no-trace\"").count(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn test_records_traces_for_the_html_report() {
    let buggy = buggy();
    let dir = scratch("html-test");
    let file = dir.join("report.html");
    let out = cargo_race_in(
        &buggy,
        &[
            "test",
            "--format",
            "html",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("data-kind=\"data-race\""));
    assert!(html.contains("data-kind=\"double-close\""));
    assert!(
        !html.contains("class=\"caption no-trace\""),
        "every finding is drawn from its recorded trace"
    );
    assert!(html.contains("class=\"op hl race\""));
    let _ = std::fs::remove_dir_all(&dir);
}
