//! The closing summary table.

use std::collections::{BTreeMap, BTreeSet};

use super::{test_filter, Entry, Status};
use crate::finding::FindingKind;

/// How the test run that produced the findings ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every test passed.
    Passed,
    /// The test run failed with this exit code (or was killed: `None`).
    Failed(Option<i32>),
    /// No test ran (findings read from existing report files).
    NotRun,
}

/// The summary: one row per kind and status with its count and the tests
/// that found it, then one line with the totals and how the test run ended.
///
/// # Examples
///
/// ```
/// # use goro_analyzer::finding::{Finding, FindingKind, Site, SCHEMA};
/// # let site = Site { file: "src/lib.rs".into(), line: 3, column: 9, goroutine: 1,
/// #     goroutine_name: None, op: "close".into(), frames: vec![] };
/// # let finding = Finding { schema: SCHEMA.into(), kind: FindingKind::DoubleClose,
/// #     observed: true, message: "close of closed channel".into(), primary: site,
/// #     related: vec![], goroutines: vec![], notes: vec![], help: String::new(),
/// #     seed: 1, schedule: 0, test: Some("svc::tests::shutdown".into()), expected: false, shrink: None,
/// #     strategy: None };
/// use goro_analyzer::render::{gather, summary, RunOutcome};
///
/// let text = summary(&gather(vec![finding]), RunOutcome::Passed);
/// assert!(text.contains("double-close"));
/// assert!(text.contains("tests::shutdown"));
/// assert!(text.contains("1 unexpected finding"));
/// ```
pub fn summary(entries: &[Entry], outcome: RunOutcome) -> String {
    let mut rows: BTreeMap<(FindingKind, Status), (usize, BTreeSet<String>)> = BTreeMap::new();
    for e in entries {
        let row = rows.entry((e.finding.kind, e.status)).or_default();
        row.0 += 1;
        row.1
            .extend(e.tests.iter().map(|t| test_filter(t).to_string()));
    }
    let mut out = String::new();
    if !rows.is_empty() {
        let cells: Vec<(String, String, String)> = rows
            .iter()
            .map(|((kind, status), (count, tests))| {
                let kind = match status {
                    Status::Unexpected => kind.to_string(),
                    Status::Expected => format!("{kind} (expected)"),
                    Status::Known => format!("{kind} (baseline)"),
                };
                let mut names: Vec<&str> = tests.iter().map(String::as_str).take(3).collect();
                let more = tests.len().saturating_sub(3);
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                if names.is_empty() {
                    names.push("-");
                }
                (
                    kind,
                    count.to_string(),
                    format!("{}{more}", names.join(", ")),
                )
            })
            .collect();
        let w0 = cells.iter().map(|c| c.0.len()).max().unwrap_or(0).max(4);
        let w1 = cells.iter().map(|c| c.1.len()).max().unwrap_or(0).max(5);
        out.push_str(&format!("{:<w0$}  {:>w1$}  tests\n", "kind", "count"));
        for (k, n, t) in &cells {
            out.push_str(&format!("{k:<w0$}  {n:>w1$}  {t}\n"));
        }
    }
    let count = |s: Status| entries.iter().filter(|e| e.status == s).count();
    let unexpected = count(Status::Unexpected);
    let mut line = format!(
        "cargo race: {unexpected} unexpected finding{}",
        if unexpected == 1 { "" } else { "s" }
    );
    let expected = count(Status::Expected);
    if expected > 0 {
        line.push_str(&format!(", {expected} expected"));
    }
    let known = count(Status::Known);
    if known > 0 {
        line.push_str(&format!(", {known} in the baseline"));
    }
    match outcome {
        RunOutcome::Passed => line.push_str("; tests passed"),
        RunOutcome::Failed(Some(code)) => {
            line.push_str(&format!("; the test run failed (exit code {code})"))
        }
        RunOutcome::Failed(None) => line.push_str("; the test run was killed by a signal"),
        RunOutcome::NotRun => {}
    }
    out.push_str(&line);
    out.push('\n');
    out
}
