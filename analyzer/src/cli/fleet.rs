//! A test run spread over a CI fleet: choosing a partition's tests, the
//! `run.json` end marker each share writes, and merging the shares back
//! into what one unsharded run would have reported.
//!
//! A share is one `cargo race test --report-dir DIR` run with
//! `--partition` and/or `--schedule-shard`. Its directory holds the test
//! processes' reports (`goro-<pid>.jsonl`, `goro-<pid>.schedules`) and,
//! written last, `run.json`: how the share was run and how its test run
//! ended. A directory without `run.json` is a share that did not finish.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::args::{Partition, PartitionKind};
use crate::env::{self, ScheduleCount, Shard};

/// The end marker's file name in a report directory.
pub(crate) const RUN_RECORD: &str = "run.json";
/// The end marker's schema tag.
const RUN_SCHEMA: &str = "goro-race-run/1";

/// How a test run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TestEnd {
    /// Whether it succeeded.
    pub passed: bool,
    /// Its own exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// The exit code `cargo race` gives it when no finding fails the run.
    pub exit: i32,
}

impl TestEnd {
    /// A run that passed (or that had nothing to run).
    pub(crate) const PASSED: TestEnd = TestEnd {
        passed: true,
        code: Some(0),
        exit: 0,
    };
}

/// `run.json`: one share of a run, written once its test run has ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    schema: String,
    /// `cargo` or `nextest`.
    pub runner: String,
    /// `hash:K/N` or `count:K/N`.
    pub partition: Option<String>,
    /// `K/N`.
    pub schedule_shard: Option<String>,
    /// The exploration settings given (`None`: the tests' own).
    pub schedules: Option<u32>,
    pub seed: Option<u64>,
    pub strategy: Option<String>,
    pub time_budget_ms: Option<u64>,
    /// How many tests were selected, when they were listed.
    pub tests_selected: Option<usize>,
    /// How the test run ended.
    pub test_run: TestEnd,
    /// Report lines of findings read back (before deduplication).
    pub findings: usize,
    /// Schedules each test explored (libtest's test names).
    pub schedule_counts: BTreeMap<String, u64>,
}

/// What a share's record says about how its run was set up, which every
/// share of one run must agree on.
#[derive(Debug, PartialEq, Eq)]
struct Setup<'a> {
    runner: &'a str,
    partition: Option<(&'a str, u32)>,
    shards: Option<u32>,
    schedules: Option<u32>,
    seed: Option<u64>,
    strategy: Option<&'a str>,
}

impl RunRecord {
    /// A new record.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        runner: &str,
        partition: Option<Partition>,
        schedule_shard: Option<Shard>,
        explore: (Option<u32>, Option<u64>, Option<String>),
        time_budget: Option<std::time::Duration>,
        tests_selected: Option<usize>,
        test_run: TestEnd,
        findings: usize,
        schedule_counts: BTreeMap<String, u64>,
    ) -> RunRecord {
        RunRecord {
            schema: RUN_SCHEMA.into(),
            runner: runner.into(),
            partition: partition.map(|p| p.to_string()),
            schedule_shard: schedule_shard.map(|s| s.to_string()),
            schedules: explore.0,
            seed: explore.1,
            strategy: explore.2,
            time_budget_ms: time_budget.map(|d| d.as_millis().try_into().unwrap_or(u64::MAX)),
            tests_selected,
            test_run,
            findings,
            schedule_counts,
        }
    }

    /// Writes `run.json` into `dir`, last and atomically (a rename), so that
    /// its presence means the share finished.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| format!("cannot serialize {RUN_RECORD}: {e}"))?;
        let tmp = dir.join(format!("{RUN_RECORD}.tmp"));
        let path = dir.join(RUN_RECORD);
        std::fs::write(&tmp, text + "\n")
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn load(path: &Path) -> Result<RunRecord, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let r: RunRecord = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a valid end marker: {e}", path.display()))?;
        if r.schema != RUN_SCHEMA {
            return Err(format!(
                "{} has schema `{}`, expected `{RUN_SCHEMA}`",
                path.display(),
                r.schema
            ));
        }
        Ok(r)
    }

    fn partition(&self) -> Result<Option<Partition>, String> {
        self.partition
            .as_deref()
            .map(super::args::parse_partition)
            .transpose()
    }

    fn shard(&self) -> Result<Option<Shard>, String> {
        self.schedule_shard
            .as_deref()
            .map(|s| s.parse::<Shard>().map_err(|a| format!("expected {a}")))
            .transpose()
    }

    fn setup(&self) -> Setup<'_> {
        Setup {
            runner: &self.runner,
            partition: self
                .partition
                .as_deref()
                .and_then(|p| Some((p.split_once(':')?.0, p.rsplit_once('/')?.1.parse().ok()?))),
            shards: self
                .schedule_shard
                .as_deref()
                .and_then(|s| s.rsplit_once('/')?.1.parse().ok()),
            schedules: self.schedules,
            seed: self.seed,
            strategy: self.strategy.as_deref(),
        }
    }
}

/// Prepares `--report-dir DIR`: created if absent, an error if it already
/// holds reports (which would mix two runs); returns it absolute.
pub(crate) fn prepare_report_dir(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the report directory {}: {e}", dir.display()))?;
    let used = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list the report directory {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name == RUN_RECORD || name.starts_with("goro-")
        });
    if used {
        return Err(format!(
            "the report directory {} already holds reports of a run; give an empty or new directory",
            dir.display()
        ));
    }
    // Absolute: the test processes run in their own package's directory.
    std::fs::canonicalize(dir)
        .map_err(|e| format!("cannot resolve the report directory {}: {e}", dir.display()))
}

/// Every schedule-count record in the `goro-*.schedules` files of `dirs`.
/// A truncated line (a killed process) is skipped: only its record is lost.
fn schedule_records(dirs: &[PathBuf]) -> Vec<ScheduleCount> {
    let mut records = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            if path
                .extension()
                .is_none_or(|x| x != env::SCHEDULE_COUNT_EXT)
            {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            records.extend(
                text.lines()
                    .filter_map(|l| ScheduleCount::from_json_line(l).ok()),
            );
        }
    }
    records
}

/// Schedules per test, summed over every `goro-*.schedules` file in `dirs`.
pub(crate) fn read_schedule_counts(dirs: &[PathBuf]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for c in schedule_records(dirs) {
        let test = c.test.unwrap_or_else(|| "(unnamed)".into());
        *counts.entry(test).or_insert(0) += u64::from(c.schedules);
    }
    counts
}

/// Each exhaustive exploration's verdict, by test, from every
/// `goro-*.schedules` file in `dirs` (a test explored twice, as by two
/// binaries, keeps each verdict).
pub(crate) fn read_verdicts(dirs: &[PathBuf]) -> Vec<(String, String)> {
    let mut verdicts: Vec<(String, String)> = schedule_records(dirs)
        .into_iter()
        .filter_map(|c| {
            let v = c.verdict?;
            Some((c.test.unwrap_or_else(|| "(unnamed)".into()), v))
        })
        .collect();
    verdicts.sort();
    verdicts
}

/// One line per exhaustive exploration: its test and verdict (`verdicts`
/// sorted by test, as [`read_verdicts`] returns them).
///
/// Several verdicts under one test name are several explorations: test
/// binaries that share the name, or a test that explores more than once
/// (a schedule shard other than the first walks nothing and writes no
/// verdict, and a partition runs each test once, so merging shares never
/// splits one exploration's verdict). Together they are complete only if
/// each is: one line says so, then each verdict follows, numbered.
pub(crate) fn verdict_note(verdicts: &[(String, String)]) -> String {
    let mut out = String::new();
    for group in verdicts.chunk_by(|a, b| a.0 == b.0) {
        let t = &group[0].0;
        if let [(_, v)] = group {
            out.push_str(&format!("cargo race: {t}: exhaustive search {v}\n"));
            continue;
        }
        let n = group.len();
        let short = group
            .iter()
            .filter(|(_, v)| !v.starts_with("complete"))
            .count();
        let together = if short == 0 {
            "complete: each of them is".to_string()
        } else {
            format!("incomplete: {short} of them stopped short")
        };
        out.push_str(&format!(
            "cargo race: {t}: {n} exhaustive searches ran under this name (test binaries \
             sharing it, or a test exploring more than once); together {together}\n"
        ));
        for (i, (_, v)) in group.iter().enumerate() {
            out.push_str(&format!(
                "cargo race: {t}: exhaustive search {} of {n} {v}\n",
                i + 1
            ));
        }
    }
    out
}

/// The summary line of schedules per test.
pub(crate) fn schedule_count_note(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "cargo race: no test explored schedules\n".into();
    }
    let list: Vec<String> = counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
    format!("cargo race: schedules per test: {}\n", list.join(", "))
}

/// Why the tests could not be listed.
pub(crate) enum ListError {
    /// The listing command could not start.
    Spawn(std::io::Error),
    /// It ran and failed (a build error): the run ends as it did.
    Failed(TestEnd),
    /// Its output could not be read.
    Output(String),
}

/// Runs a test-listing command: its stdout, or why it failed. Its stderr
/// (cargo's build output) stays visible.
fn listing(
    mut cmd: Command,
    to_end: impl Fn(std::process::ExitStatus) -> TestEnd,
) -> Result<std::process::Output, ListError> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(ListError::Spawn)?;
    if !out.status.success() {
        return Err(ListError::Failed(to_end(out.status)));
    }
    Ok(out)
}

/// The tests `cargo test ARGS [FILTER] -- --list` would run, by libtest
/// name, sorted and deduplicated (a name in two test binaries is one test
/// for partitioning: `--exact NAME` runs it in both).
pub(crate) fn list_cargo_tests(
    cmd: Command,
    to_end: impl Fn(std::process::ExitStatus) -> TestEnd,
) -> Result<Vec<String>, ListError> {
    let out = listing(cmd, to_end)?;
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// How many tests `cargo nextest list ARGS -T json` selects.
pub(crate) fn count_nextest_tests(
    cmd: Command,
    to_end: impl Fn(std::process::ExitStatus) -> TestEnd,
) -> Result<usize, ListError> {
    let out = listing(cmd, to_end)?;
    let list: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| ListError::Output(format!("cannot read `cargo nextest list` output: {e}")))?;
    let suites = list["rust-suites"].as_object().ok_or_else(|| {
        ListError::Output("`cargo nextest list` output has no rust-suites".into())
    })?;
    Ok(suites
        .values()
        .filter_map(|s| s["testcases"].as_object())
        .flat_map(|cases| cases.values())
        .filter(|c| c["filter-match"]["status"] == "matches")
        .count())
}

/// The tests of partition `p`: `count` deals the sorted names round-robin,
/// `hash` by a stable hash of each name (FNV-1a, the same on every machine
/// and Rust version).
pub(crate) fn select(names: &[String], p: Partition) -> Vec<String> {
    let n = u64::from(p.shard.count);
    let k = u64::from(p.shard.index - 1);
    names
        .iter()
        .enumerate()
        .filter(|(i, name)| match p.kind {
            PartitionKind::Count => *i as u64 % n == k,
            PartitionKind::Hash => fnv1a(name.as_bytes()) % n == k,
        })
        .map(|(_, name)| name.clone())
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The shares named by `paths`: each a directory with `run.json`, or a
/// directory of such directories (one per CI job's artifact).
pub(crate) fn load_shares(paths: &[PathBuf]) -> Result<Vec<(PathBuf, RunRecord)>, String> {
    let mut shares = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(format!("no such report directory: {}", path.display()));
        }
        let dir = if path.is_file() && path.file_name().is_some_and(|n| n == RUN_RECORD) {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else if path.is_dir() {
            path.clone()
        } else {
            return Err(format!(
                "{} is not a report directory of `cargo race test --report-dir`",
                path.display()
            ));
        };
        if dir.join(RUN_RECORD).is_file() {
            shares.push((dir.clone(), RunRecord::load(&dir.join(RUN_RECORD))?));
            continue;
        }
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        if !subdirs.iter().any(|d| d.join(RUN_RECORD).is_file()) {
            return Err(no_marker(&dir));
        }
        for d in subdirs {
            if !d.join(RUN_RECORD).is_file() {
                return Err(no_marker(&d));
            }
            let r = RunRecord::load(&d.join(RUN_RECORD))?;
            shares.push((d, r));
        }
    }
    Ok(shares)
}

fn no_marker(dir: &Path) -> String {
    format!(
        "{} has no {RUN_RECORD} end marker: its `cargo race test --report-dir` run did not \
         finish (or it is not such a directory)",
        dir.display()
    )
}

/// Orders the shares by (partition, schedule shard) and checks that they
/// are exactly the shares of one run: the same setup, each share once,
/// none missing.
pub(crate) fn check_complete(shares: &mut [(PathBuf, RunRecord)]) -> Result<(), String> {
    let Some((first_dir, first)) = shares.first() else {
        return Err("no report directory to merge".into());
    };
    let setup = first.setup();
    for (dir, r) in shares.iter() {
        if r.setup() != setup {
            return Err(format!(
                "{} and {} are shares of different runs (runner, partitioning, schedule \
                 shards, --schedules, --seed or --strategy differ)",
                first_dir.display(),
                dir.display()
            ));
        }
    }
    let key = |r: &RunRecord| -> Result<(u32, u32), String> {
        Ok((
            r.partition()?.map_or(1, |p| p.shard.index),
            r.shard()?.map_or(1, |s| s.index),
        ))
    };
    let mut keyed = Vec::new();
    for (dir, r) in shares.iter() {
        keyed.push((
            key(r).map_err(|e| format!("{}: {e}", dir.display()))?,
            dir.clone(),
        ));
    }
    let parts = setup.partition.map_or(1, |p| p.1);
    let shards = setup.shards.unwrap_or(1);
    let mut missing = Vec::new();
    for p in 1..=parts {
        for s in 1..=shards {
            let have: Vec<&PathBuf> = keyed
                .iter()
                .filter(|(k, _)| *k == (p, s))
                .map(|(_, d)| d)
                .collect();
            let name = share_name(setup.partition.map(|x| x.0), (p, parts), (s, shards));
            match have.len() {
                0 => missing.push(name),
                1 => {}
                _ => {
                    return Err(format!(
                        "{name} appears twice: {} and {}",
                        have[0].display(),
                        have[1].display()
                    ))
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "missing share(s) of the run: {}; every share must finish before the merge",
            missing.join(", ")
        ));
    }
    shares.sort_by_key(|(_, r)| key(r).unwrap_or((0, 0)));
    Ok(())
}

fn share_name(kind: Option<&str>, (p, parts): (u32, u32), (s, shards): (u32, u32)) -> String {
    let mut n = Vec::new();
    if let Some(kind) = kind {
        n.push(format!("partition {kind}:{p}/{parts}"));
    }
    if shards > 1 {
        n.push(format!("schedule shard {s}/{shards}"));
    }
    if n.is_empty() {
        n.push("the run".into());
    }
    n.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("tests::t{i:02}")).collect()
    }

    #[test]
    fn each_test_lands_in_exactly_one_partition() {
        let all = names(23);
        for kind in [PartitionKind::Hash, PartitionKind::Count] {
            let mut seen = Vec::new();
            for k in 1..=3 {
                let p = Partition {
                    kind,
                    shard: Shard { index: k, count: 3 },
                };
                seen.extend(select(&all, p));
            }
            seen.sort();
            assert_eq!(seen, all, "{kind:?}");
        }
        // count deals round-robin: sizes differ by at most one.
        let p = |k| Partition {
            kind: PartitionKind::Count,
            shard: Shard { index: k, count: 3 },
        };
        assert_eq!(select(&all, p(1)).len(), 8);
        assert_eq!(select(&all, p(3)).len(), 7);
    }

    #[test]
    fn the_hash_is_stable() {
        // FNV-1a's published test vector: the assignment never changes.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    fn record(partition: Option<&str>, shard: Option<&str>) -> RunRecord {
        RunRecord::new(
            "cargo",
            partition.map(|p| super::super::args::parse_partition(p).unwrap()),
            shard.map(|s| s.parse().unwrap()),
            (Some(8), None, None),
            None,
            None,
            TestEnd::PASSED,
            0,
            BTreeMap::new(),
        )
    }

    #[test]
    fn a_missing_or_doubled_share_is_named() {
        let mut shares = vec![
            (PathBuf::from("a"), record(Some("hash:1/3"), Some("1/2"))),
            (PathBuf::from("b"), record(Some("hash:3/3"), Some("2/2"))),
        ];
        let e = check_complete(&mut shares).unwrap_err();
        assert!(
            e.contains("partition hash:1/3 schedule shard 2/2")
                && e.contains("partition hash:2/3 schedule shard 1/2"),
            "{e}"
        );
        let mut twice = vec![
            (PathBuf::from("a"), record(None, Some("1/1"))),
            (PathBuf::from("b"), record(None, Some("1/1"))),
        ];
        assert!(check_complete(&mut twice).unwrap_err().contains("twice"));
        let mut mixed = vec![
            (PathBuf::from("a"), record(Some("hash:1/2"), None)),
            (PathBuf::from("b"), record(Some("count:2/2"), None)),
        ];
        assert!(check_complete(&mut mixed)
            .unwrap_err()
            .contains("different runs"));
    }

    #[test]
    fn exhaustive_verdicts_are_read_per_test_and_printed() {
        let dir = std::env::temp_dir().join(format!("goro-verdicts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut lines = Vec::new();
        for (test, verdict) in [
            (
                "t::b",
                Some("incomplete: the budget of 5 schedules ran out"),
            ),
            ("t::a", Some("complete: all 20 schedule(s) explored")),
            ("t::sampled", None),
        ] {
            ScheduleCount {
                test: Some(test.into()),
                schedules: 5,
                out_of_time: false,
                verdict: verdict.map(str::to_string),
            }
            .write_json_line(&mut lines)
            .unwrap();
        }
        std::fs::write(
            dir.join(format!("goro-1.{}", env::SCHEDULE_COUNT_EXT)),
            lines,
        )
        .unwrap();
        let verdicts = read_verdicts(std::slice::from_ref(&dir));
        assert_eq!(verdicts.len(), 2, "{verdicts:?}");
        assert_eq!(
            verdict_note(&verdicts),
            "cargo race: t::a: exhaustive search complete: all 20 schedule(s) explored\n\
             cargo race: t::b: exhaustive search incomplete: the budget of 5 schedules ran out\n"
        );
        // The schedule counts still read the file as before.
        assert_eq!(read_schedule_counts(std::slice::from_ref(&dir)).len(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn two_verdicts_of_one_test_are_complete_together_only_if_both_are() {
        let v = |t: &str, v: &str| (t.to_string(), v.to_string());
        let both = [
            v("t::a", "complete: all 3 schedule(s) explored"),
            v("t::a", "complete: all 5 schedule(s) explored"),
        ];
        let note = verdict_note(&both);
        assert!(
            note.starts_with(
                "cargo race: t::a: 2 exhaustive searches ran under this name (test binaries \
                 sharing it, or a test exploring more than once); together complete: each of \
                 them is\n"
            ),
            "{note}"
        );
        assert!(note.contains("cargo race: t::a: exhaustive search 2 of 2 complete: all 5"));
        let mixed = [
            v("t::a", "complete: all 3 schedule(s) explored"),
            v("t::a", "incomplete: the budget of 5 schedules ran out"),
            v("t::b", "complete: all 1 schedule(s) explored"),
        ];
        let note = verdict_note(&mixed);
        assert!(
            note.contains("together incomplete: 1 of them stopped short\n"),
            "{note}"
        );
        assert!(note.ends_with(
            "cargo race: t::b: exhaustive search complete: all 1 schedule(s) explored\n"
        ));
    }
}
