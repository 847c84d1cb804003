//! Rendering findings for people and machines: rustc-style diagnostics
//! ([`human`]), a self-contained HTML page with sequence diagrams
//! ([`html`]), JSON Lines ([`json_lines`]), SARIF 2.1.0 ([`sarif`]),
//! GitHub Actions annotations ([`github_annotations`]) and the closing
//! summary table ([`summary`]).
//!
//! Every renderer takes [`Entry`] values: findings already deduplicated
//! across tests by [`gather`], each with the tests that found it and whether
//! it fails the run ([`Status`]).
//!
//! # Examples
//!
//! ```
//! use goro_analyzer::finding::{Finding, FindingKind, Site, SCHEMA};
//! use goro_analyzer::render::{self, Sources};
//!
//! let site = |line, op: &str, g| Site {
//!     file: "src/counter.rs".into(),
//!     line,
//!     column: 5,
//!     goroutine: g,
//!     goroutine_name: None,
//!     op: op.into(),
//!     frames: vec![],
//! };
//! let finding = Finding {
//!     schema: SCHEMA.into(),
//!     kind: FindingKind::DataRace,
//!     observed: false,
//!     message: "data race on u64: write by goroutine 3 and read by goroutine 2".into(),
//!     primary: site(2, "write", 3),
//!     related: vec![site(1, "read", 2)],
//!     goroutines: vec![],
//!     notes: vec![],
//!     help: "protect the u64 with a goro::sync::Mutex".into(),
//!     seed: 7,
//!     schedule: 0,
//!     test: Some("counter::tests::hits".into()),
//!     expected: false,
//!     shrink: None,
//!     strategy: None,
//! };
//! let entries = render::gather(vec![finding.clone(), finding]);
//! assert_eq!(entries.len(), 1, "the same finding twice is one entry");
//!
//! // No source on disk: the diagnostic still names every site.
//! let mut sources = Sources::new("/nonexistent");
//! let text = render::human(&entries, &mut sources, false);
//! assert!(text.contains("error[data-race]"));
//! assert!(text.contains("src/counter.rs:1:5"));
//! ```

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::env::Strategy;
use crate::finding::{Finding, FindingKey, FindingKind, Site};

mod github;
mod html;
mod human;
mod json;
mod sarif;
mod summary;

pub use github::github_annotations;
pub use html::html;
pub use human::human;
pub use json::json_lines;
pub use sarif::sarif;
pub use summary::{summary, RunOutcome};

/// Whether a finding fails the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Nobody expected it: it fails the run.
    Unexpected,
    /// Its test declared it (`expected: true` in the report): reported with
    /// `--show-expected`, never a failure.
    Expected,
    /// It is in the baseline (`--baseline`): a known finding, not a failure.
    Known,
}

impl Status {
    /// Whether a finding with this status fails the run.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::render::Status;
    /// assert!(Status::Unexpected.fails());
    /// assert!(!Status::Known.fails());
    /// ```
    pub fn fails(self) -> bool {
        self == Status::Unexpected
    }
}

/// One distinct finding, with every test that found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The finding as first reported (its seed replays it in its first test).
    pub finding: Finding,
    /// The tests that found it, sorted; empty when no test name was known.
    pub tests: Vec<String>,
    /// Whether it fails the run.
    pub status: Status,
}

/// Deduplicates findings by [`Finding::key`] across tests and processes.
///
/// A finding is [`Status::Expected`] only when every test that found it
/// expected it (the `expected` field of the report line; absent means
/// unexpected): a bug one test declares still fails another test that did
/// not. Entries come sorted by primary site, then kind, so that output is
/// stable whatever order the test processes wrote their reports in.
///
/// # Examples
///
/// ```
/// # use goro_analyzer::finding::{Finding, FindingKind, Site, SCHEMA};
/// # let site = Site { file: "src/lib.rs".into(), line: 3, column: 1, goroutine: 1,
/// #     goroutine_name: None, op: "close".into(), frames: vec![] };
/// # let mut a = Finding { schema: SCHEMA.into(), kind: FindingKind::DoubleClose,
/// #     observed: true, message: "close of closed channel".into(), primary: site,
/// #     related: vec![], goroutines: vec![], notes: vec![], help: String::new(),
/// #     seed: 1, schedule: 0, test: None, expected: false, shrink: None,
/// #     strategy: None };
/// use goro_analyzer::render::{gather, Status};
///
/// a.test = Some("a".into());
/// a.expected = true;
/// let mut b = a.clone();
/// b.test = Some("b".into());
/// b.expected = false;
/// let entries = gather(vec![a, b]);
/// assert_eq!(entries[0].tests, ["a", "b"]);
/// assert_eq!(entries[0].status, Status::Unexpected);
/// ```
pub fn gather(findings: impl IntoIterator<Item = Finding>) -> Vec<Entry> {
    let mut index: HashMap<FindingKey, usize> = HashMap::new();
    let mut out: Vec<(Entry, BTreeSet<String>)> = Vec::new();
    for f in findings {
        let key = f.key();
        let i = *index.entry(key).or_insert_with(|| {
            let status = if f.expected {
                Status::Expected
            } else {
                Status::Unexpected
            };
            out.push((
                Entry {
                    finding: f.clone(),
                    tests: Vec::new(),
                    status,
                },
                BTreeSet::new(),
            ));
            out.len() - 1
        });
        let (entry, tests) = &mut out[i];
        if !f.expected {
            entry.status = Status::Unexpected;
        }
        if let Some(t) = &f.test {
            tests.insert(t.clone());
        }
    }
    let mut entries: Vec<Entry> = out
        .into_iter()
        .map(|(mut e, tests)| {
            e.tests = tests.into_iter().collect();
            e
        })
        .collect();
    entries.sort_by(|a, b| {
        let k = |e: &Entry| {
            let p = &e.finding.primary;
            (p.file.clone(), p.line, p.column, e.finding.kind)
        };
        k(a).cmp(&k(b))
    });
    entries
}

/// Source files read relative to a root (the workspace root: rustc names
/// files relative to it), each read once. A file that cannot be read is
/// remembered with its error, so its diagnostics render without a snippet.
///
/// # Examples
///
/// ```
/// use goro_analyzer::render::Sources;
///
/// let dir = std::env::temp_dir().join(format!("goro-sources-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("src")).unwrap();
/// std::fs::write(dir.join("src/lib.rs"), "fn a() {}\n    let x = 1;\n").unwrap();
/// let mut sources = Sources::new(&dir);
/// assert_eq!(sources.line_text("src/lib.rs", 2).as_deref(), Some("let x = 1;"));
/// assert_eq!(sources.line_text("src/missing.rs", 1), None);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct Sources {
    root: PathBuf,
    files: HashMap<String, Result<String, String>>,
}

impl Sources {
    /// Sources under `root`; absolute file names are read as they are.
    pub fn new(root: impl AsRef<Path>) -> Self {
        Sources {
            root: root.as_ref().to_path_buf(),
            files: HashMap::new(),
        }
    }

    /// The root relative file names are resolved against.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path a file name resolves to.
    pub fn path_of(&self, file: &str) -> PathBuf {
        let p = Path::new(file);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }

    /// The text of `file`, or why it cannot be read.
    pub fn get(&mut self, file: &str) -> Result<&str, &str> {
        if !self.files.contains_key(file) {
            let path = self.path_of(file);
            let read = std::fs::read_to_string(&path).map_err(|e| e.to_string());
            self.files.insert(file.to_string(), read);
        }
        match &self.files[file] {
            Ok(s) => Ok(s.as_str()),
            Err(e) => Err(e.as_str()),
        }
    }

    /// Line `line` (1-based) of `file`, trimmed; `None` when the file
    /// cannot be read or is shorter.
    pub fn line_text(&mut self, file: &str, line: u32) -> Option<String> {
        let text = self.get(file).ok()?;
        let i = usize::try_from(line).ok()?.checked_sub(1)?;
        text.lines().nth(i).map(|l| l.trim().to_string())
    }
}

/// How a site reads in labels and annotations: `write by goroutine 3
/// [worker]`.
pub(crate) fn site_label(site: &Site) -> String {
    format!(
        "{} by {}",
        site.op,
        goroutine_name(site.goroutine, site.goroutine_name.as_deref())
    )
}

/// `goroutine 3 [worker]`, or `goroutine 1` when unnamed.
pub(crate) fn goroutine_name(id: u64, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("goroutine {id} [{n}]"),
        None => format!("goroutine {id}"),
    }
}

/// The libtest name of a test from its `module_path!()::fn` name: the
/// crate's name is not part of what `cargo test FILTER` matches.
pub(crate) fn test_filter(test: &str) -> &str {
    match test.split_once("::") {
        Some((_, rest)) if !rest.is_empty() => rest,
        _ => test,
    }
}

/// The command that replays a finding's schedule alone, for the strategy
/// that found it: a sampled schedule is named by its seed under that
/// strategy (`--strategy` unless it is the default portfolio, whose seed
/// names its member), an exhaustive search's by its schedule (`--schedule`,
/// what `GORO_REPLAY` takes: its seed only names it).
pub(crate) fn reproduce(entry: &Entry) -> String {
    let f = &entry.finding;
    let test = match entry.tests.first() {
        Some(t) => test_filter(t).to_string(),
        // Plain `explore` does not know its test's name.
        None => "TEST".to_string(),
    };
    let strategy = f
        .strategy
        .as_deref()
        .and_then(|s| s.parse::<Strategy>().ok());
    let how = match (strategy, &f.shrink) {
        (Some(Strategy::Exhaustive { .. }), Some(s)) => format!("--schedule {}", s.schedule),
        // Found by replaying an explicit schedule: the one that run replayed.
        (Some(Strategy::Exhaustive { .. }), None) => "--schedule SCHEDULE".to_string(),
        (Some(s @ (Strategy::Random | Strategy::Pct { .. })), _) => format!("--strategy {s}"),
        (Some(Strategy::Portfolio) | None, _) => String::new(),
    };
    let mut line = format!("cargo race replay --seed {}", f.seed);
    if !how.is_empty() {
        line.push(' ');
        line.push_str(&how);
    }
    line.push(' ');
    line.push_str(&test);
    if test == "TEST" {
        line.push_str(" (the test whose exploration ran it)");
    }
    if how == "--schedule SCHEDULE" {
        line.push_str(" (SCHEDULE: the GORO_REPLAY value of the run that found it)");
    }
    line
}

/// One line saying what a kind of finding is (SARIF rule descriptions and
/// the summary).
pub(crate) fn kind_description(kind: FindingKind) -> &'static str {
    kind.description()
}

/// A schedule trace as a readable table: one line per operation, step,
/// goroutine, operation and site, ending where the finding happened.
///
/// # Examples
///
/// ```
/// use goro_analyzer::trace::{TraceStep, TRACE_SCHEMA};
///
/// let step = TraceStep {
///     schema: TRACE_SCHEMA.into(),
///     test: None,
///     seed: 1,
///     step: 4,
///     goroutine: 2,
///     goroutine_name: Some("worker".into()),
///     op: "send".into(),
///     file: "src/lib.rs".into(),
///     line: 9,
///     column: 5,
///     ..TraceStep::default()
/// };
/// let text = goro_analyzer::render::trace(&[step]);
/// assert!(text.contains("goroutine 2 [worker]"));
/// assert!(text.contains("src/lib.rs:9:5"));
/// ```
pub fn trace(steps: &[crate::trace::TraceStep]) -> String {
    use std::fmt::Write as _;
    if steps.is_empty() {
        return String::new();
    }
    let mut out = String::from("schedule trace (step, goroutine, operation, site):\n");
    for s in steps {
        let who = match &s.goroutine_name {
            Some(n) => format!("goroutine {} [{n}]", s.goroutine),
            None => format!("goroutine {}", s.goroutine),
        };
        let site = if s.line == 0 {
            String::from("-")
        } else {
            format!("{}:{}:{}", s.file, s.line, s.column)
        };
        let _ = writeln!(out, "  {:>5}  {who:<24} {:<24} {site}", s.step, s.op);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(strategy: Option<&str>, schedule: Option<&str>, test: Option<&str>) -> Entry {
        let site = Site {
            file: "src/lib.rs".into(),
            line: 3,
            column: 1,
            goroutine: 1,
            goroutine_name: None,
            op: "close".into(),
            frames: vec![],
        };
        Entry {
            finding: Finding {
                schema: crate::finding::SCHEMA.into(),
                kind: FindingKind::DoubleClose,
                observed: true,
                message: "close of closed channel".into(),
                primary: site,
                related: vec![],
                goroutines: vec![],
                notes: vec![],
                help: String::new(),
                seed: 42,
                schedule: 5,
                test: test.map(str::to_string),
                expected: false,
                shrink: schedule.map(|s| crate::finding::Shrink {
                    original_steps: 9,
                    original_preemptions: 2,
                    steps: 4,
                    preemptions: 1,
                    schedule: s.into(),
                    replays: 3,
                }),
                strategy: strategy.map(str::to_string),
            },
            tests: test.into_iter().map(str::to_string).collect(),
            status: Status::Unexpected,
        }
    }

    #[test]
    fn the_reproduce_line_replays_the_schedule_under_its_strategy() {
        let t = Some("demo::tests::t");
        let line = |s, sch| reproduce(&entry(s, sch, t));
        // The portfolio's seed names its member; old reports name none.
        assert_eq!(
            line(Some("portfolio"), Some("_x1")),
            "cargo race replay --seed 42 tests::t"
        );
        assert_eq!(line(None, None), "cargo race replay --seed 42 tests::t");
        // Another sampling strategy must be named for the seed to replay.
        assert_eq!(
            line(Some("random"), Some("_x1")),
            "cargo race replay --seed 42 --strategy random tests::t"
        );
        assert_eq!(
            line(Some("pct:2"), None),
            "cargo race replay --seed 42 --strategy pct:2 tests::t"
        );
        // An exhaustive schedule replays by its schedule, not its seed.
        assert_eq!(
            line(Some("exhaustive:2"), Some("_x3,2")),
            "cargo race replay --seed 42 --schedule _x3,2 tests::t"
        );
        assert!(line(Some("exhaustive"), None).contains("--schedule SCHEDULE tests::t"));
        assert_eq!(
            reproduce(&entry(Some("random"), None, None)),
            "cargo race replay --seed 42 --strategy random TEST (the test whose exploration ran it)"
        );
    }

    #[test]
    fn test_filter_drops_the_crate_name_only() {
        assert_eq!(
            test_filter("demo::cache::tests::hits"),
            "cache::tests::hits"
        );
        assert_eq!(test_filter("hits"), "hits");
        assert_eq!(test_filter("it::t"), "t");
    }
}
