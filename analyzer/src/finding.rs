//! Findings: what the engine reports, and their JSON Lines form.
//!
//! A finding serializes to one JSON object per line (JSON Lines), the
//! exchange format between test processes and `cargo race`. The schema is
//! versioned by the `schema` field ([`SCHEMA`]); fields are only ever added
//! within a version.

use std::fmt;
use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};

/// The schema tag every JSON line carries.
pub const SCHEMA: &str = "goro-finding/1";

/// The kinds of finding, named in JSON as in ARCHITECTURE.md (`data-race`, ...).
///
/// # Examples
///
/// ```
/// use goro_analyzer::FindingKind;
///
/// assert_eq!(FindingKind::DataRace.as_str(), "data-race");
/// assert_eq!("send-on-closed".parse::<FindingKind>(), Ok(FindingKind::SendOnClosed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Two accesses to one location, one a write, unordered by happens-before.
    ///
    /// Reported whichever of the two ran first. A limit: plain accesses
    /// (`Shared`, `SharedSlice`) are not scheduling points (the runtime
    /// switches goroutines only where a goro operation awaits), so when no
    /// goro operation separates the two accesses, the schedules all run them
    /// in one order, and what the other order would lead to (a goroutine
    /// that leaks only if the flag it reads is not set yet) is not
    /// explored: fix the race, and run again.
    DataRace,
    /// A goroutine still blocked when its program ends.
    GoroutineLeak,
    /// Main can never proceed: every goroutine blocked with no timer pending,
    /// or main provably never woken while others still run.
    Deadlock,
    /// A cycle in the lock-acquisition graph.
    LockOrderInversion,
    /// A send after (or unordered with) a close.
    SendOnClosed,
    /// A second close (or two unordered closes).
    DoubleClose,
    /// A `CancelFunc` dropped without being called.
    LostCancel,
    /// A negative WaitGroup counter, or `add` from zero unordered with `wait`.
    /// Its JSON name stays `waitgroup-misuse`.
    #[serde(rename = "waitgroup-misuse")]
    WaitGroupMisuse,
    /// Any other goroutine panic.
    Panic,
}

impl FindingKind {
    /// The old name of [`FindingKind::WaitGroupMisuse`], spelled as goro's
    /// own type `WaitGroup` is since 0.1.
    ///
    /// # Examples
    ///
    /// ```
    /// #![allow(deprecated)]
    /// use goro_analyzer::FindingKind;
    ///
    /// assert_eq!(FindingKind::WaitgroupMisuse, FindingKind::WaitGroupMisuse);
    /// ```
    #[deprecated(note = "renamed `FindingKind::WaitGroupMisuse`")]
    #[allow(non_upper_case_globals)]
    pub const WaitgroupMisuse: FindingKind = FindingKind::WaitGroupMisuse;

    /// Every kind, in a fixed order.
    pub const ALL: [FindingKind; 9] = [
        FindingKind::DataRace,
        FindingKind::GoroutineLeak,
        FindingKind::Deadlock,
        FindingKind::LockOrderInversion,
        FindingKind::SendOnClosed,
        FindingKind::DoubleClose,
        FindingKind::LostCancel,
        FindingKind::WaitGroupMisuse,
        FindingKind::Panic,
    ];

    /// The JSON name (`data-race`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::DataRace => "data-race",
            FindingKind::GoroutineLeak => "goroutine-leak",
            FindingKind::Deadlock => "deadlock",
            FindingKind::LockOrderInversion => "lock-order-inversion",
            FindingKind::SendOnClosed => "send-on-closed",
            FindingKind::DoubleClose => "double-close",
            FindingKind::LostCancel => "lost-cancel",
            FindingKind::WaitGroupMisuse => "waitgroup-misuse",
            FindingKind::Panic => "panic",
        }
    }
}

impl FindingKind {
    /// One line saying what this kind of finding is (SARIF rule
    /// descriptions, summaries): the text lives beside the detector's rule.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::FindingKind;
    ///
    /// assert!(FindingKind::DoubleClose.description().contains("closed twice"));
    /// ```
    pub fn description(self) -> &'static str {
        use crate::engine::detect::{
            chan_misuse, deadlock, leak, lock_order, lost_cancel, panic, race, waitgroup,
        };
        match self {
            FindingKind::DataRace => race::DESCRIPTION,
            FindingKind::GoroutineLeak => leak::DESCRIPTION,
            FindingKind::Deadlock => deadlock::DESCRIPTION,
            FindingKind::LockOrderInversion => lock_order::DESCRIPTION,
            FindingKind::SendOnClosed => chan_misuse::SEND_ON_CLOSED,
            FindingKind::DoubleClose => chan_misuse::DOUBLE_CLOSE,
            FindingKind::LostCancel => lost_cancel::DESCRIPTION,
            FindingKind::WaitGroupMisuse => waitgroup::DESCRIPTION,
            FindingKind::Panic => panic::DESCRIPTION,
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown finding kind name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownKind(pub String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown finding kind `{}`; expected one of ", self.0)?;
        for (i, k) in FindingKind::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(k.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownKind {}

impl std::str::FromStr for FindingKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        FindingKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// One frame of a goroutine's shadow call chain (`#[goro::instrument]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Frame {
    /// The function's path.
    pub function: String,
    /// Its source file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// Where something happened: a source location, the goroutine that did it
/// and what it did.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Site {
    /// Source file (relative to the workspace root, as rustc names it).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The goroutine (main is 1).
    pub goroutine: u64,
    /// Its `go!` name, if any.
    pub goroutine_name: Option<String>,
    /// The operation (`write`, `read`, `send`, `close`, ...).
    pub op: String,
    /// The goroutine's shadow call chain, innermost last (empty when nothing
    /// was instrumented).
    #[serde(default)]
    pub frames: Vec<Frame>,
}

impl Site {
    /// `file:line:column`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A goroutine a finding names, with where it was created.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GoroutineInfo {
    /// Its id (main is 1).
    pub id: u64,
    /// Its `go!` name, if any.
    pub name: Option<String>,
    /// The goroutine that created it.
    pub parent: Option<u64>,
    /// Where it was created (`None` for main).
    pub created_at: Option<String>,
}

impl GoroutineInfo {
    /// Where it was created, as a site of its parent's `go` operation
    /// (`None` for main, or when `created_at` is not `file:line:column`).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::GoroutineInfo;
    ///
    /// let g = GoroutineInfo {
    ///     id: 2,
    ///     name: Some("worker".into()),
    ///     parent: Some(1),
    ///     created_at: Some("src/lib.rs:4:9".into()),
    /// };
    /// let site = g.creation_site().unwrap();
    /// assert_eq!((site.line, site.column, site.op.as_str()), (4, 9, "go"));
    /// ```
    pub fn creation_site(&self) -> Option<Site> {
        let (file, line, column) = parse_location(self.created_at.as_deref()?)?;
        Some(Site {
            file: file.to_string(),
            line,
            column,
            goroutine: self.id,
            goroutine_name: self.name.clone(),
            op: "go".into(),
            frames: Vec::new(),
        })
    }
}

/// `file:line:column` split into its parts (the file may hold colons).
fn parse_location(s: &str) -> Option<(&str, u32, u32)> {
    let mut it = s.rsplitn(3, ':');
    let column = it.next()?.parse().ok()?;
    let line = it.next()?.parse().ok()?;
    let file = it.next()?;
    Some((file, line, column))
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// What was found.
    pub kind: FindingKind,
    /// `true` when it happened in the schedule (a panic, a leak); `false`
    /// when predicted from happens-before (a race needs no crash).
    pub observed: bool,
    /// One line saying what is wrong.
    pub message: String,
    /// The primary site (the second access of a race, the failing send, ...).
    pub primary: Site,
    /// Related sites (the first access, the close, ...).
    pub related: Vec<Site>,
    /// Every goroutine the sites name, with its creation site.
    pub goroutines: Vec<GoroutineInfo>,
    /// Notes explaining it (why no happens-before edge orders the sites...).
    pub notes: Vec<String>,
    /// The usual fix.
    pub help: String,
    /// The seed of the schedule that exposed it.
    pub seed: u64,
    /// The index of that schedule in its exploration.
    pub schedule: u32,
    /// The test that found it, when known.
    #[serde(default)]
    pub test: Option<String>,
    /// Whether the test declared this kind as expected (`expect = ".."`) or
    /// allowed (`allow = [..]`): reported, but not a failure.
    #[serde(default)]
    pub expected: bool,
    /// The shortest schedule found that still shows it, when the exploring
    /// process shrank it (absent in reports written before shrinking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrink: Option<Shrink>,
    /// The strategy of the exploration that found it, as `GORO_STRATEGY`
    /// spells it (`portfolio`, `random`, `pct:3`, `exhaustive:2`): what its
    /// seed means. A seed replays a sampled schedule under its strategy; an
    /// exhaustive search's schedule is replayed by its `shrink.schedule`
    /// (`GORO_REPLAY`), not by its seed. Absent in reports written before
    /// it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
}

/// How a finding's schedule was shrunk: the schedule that exposed it, and
/// the shortest replay of it found that shows the same finding (same
/// [`FindingKey`]).
///
/// Steps count polls of goroutines; a preemption is a step that switched
/// away from a goroutine that could have run on.
///
/// # Examples
///
/// ```
/// use goro_analyzer::finding::Shrink;
///
/// let s = Shrink {
///     original_steps: 120,
///     original_preemptions: 31,
///     steps: 14,
///     preemptions: 1,
///     schedule: "_x3,2".into(),
///     replays: 40,
/// };
/// assert_eq!(
///     s.summary(),
///     "shrunk from 120 steps and 31 preemptions to 14 steps and 1 preemption"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shrink {
    /// Steps of the schedule that exposed the finding.
    pub original_steps: u64,
    /// Its preemptions.
    pub original_preemptions: u64,
    /// Steps of the shrunk schedule.
    pub steps: u64,
    /// Its preemptions.
    pub preemptions: u64,
    /// The shrunk schedule's text form: `GORO_REPLAY=<schedule>` replays it.
    pub schedule: String,
    /// How many replays the shrinking took.
    pub replays: u32,
}

impl Shrink {
    /// "shrunk from N steps and P preemptions to n steps and p preemptions".
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::finding::Shrink;
    ///
    /// let s = Shrink {
    ///     original_steps: 5,
    ///     original_preemptions: 0,
    ///     steps: 5,
    ///     preemptions: 0,
    ///     schedule: "_".into(),
    ///     replays: 1,
    /// };
    /// assert!(s.summary().ends_with("to 5 steps and 0 preemptions"));
    /// ```
    pub fn summary(&self) -> String {
        fn n(v: u64, what: &str) -> String {
            format!("{v} {what}{}", if v == 1 { "" } else { "s" })
        }
        format!(
            "shrunk from {} and {} to {} and {}",
            n(self.original_steps, "step"),
            n(self.original_preemptions, "preemption"),
            n(self.steps, "step"),
            n(self.preemptions, "preemption")
        )
    }
}

impl Finding {
    /// The identity findings are deduplicated by across schedules and runs:
    /// the kind and the source locations of its sites (not goroutine ids,
    /// which differ between schedules).
    pub fn key(&self) -> FindingKey {
        let mut sites: Vec<(String, u32, u32)> = std::iter::once(&self.primary)
            .chain(self.related.iter())
            .map(|s| (s.file.clone(), s.line, s.column))
            .collect();
        if matches!(
            self.kind,
            FindingKind::Deadlock | FindingKind::LockOrderInversion
        ) {
            // A cycle is the same whichever goroutine reported it.
            sites.sort();
        }
        if self.kind == FindingKind::DataRace {
            // A race is symmetric: the same pair whichever access came last;
            // and one report per pair of lines, so that `x.set(x.get() + 1)`
            // racing with itself is one race, not a read-write and a
            // write-write pair.
            for s in &mut sites {
                s.2 = 0;
            }
            sites.sort();
        }
        FindingKey {
            kind: self.kind,
            sites,
        }
    }

    /// Writes the finding as one JSON line.
    pub fn write_json_line<W: Write>(&self, mut w: W) -> io::Result<()> {
        serde_json::to_writer(&mut w, self)?;
        w.write_all(b"\n")
    }
}

/// The deduplication identity of a finding ([`Finding::key`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    /// The kind.
    pub kind: FindingKind,
    /// `(file, line, column)` of each site.
    pub sites: Vec<(String, u32, u32)>,
}

/// A line of a report file that is not a finding.
#[derive(Debug)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// Why it was rejected.
    pub error: String,
}

/// Reads findings from JSON Lines; bad lines are returned beside the good
/// ones, never dropping what could be read.
pub fn read_json_lines<R: BufRead>(r: R) -> io::Result<(Vec<Finding>, Vec<BadLine>)> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Finding>(&line) {
            Ok(f) if f.schema == SCHEMA => good.push(f),
            Ok(f) => bad.push(BadLine {
                line: i + 1,
                error: format!("unsupported schema `{}` (expected `{SCHEMA}`)", f.schema),
            }),
            Err(e) => bad.push(BadLine {
                line: i + 1,
                error: e.to_string(),
            }),
        }
    }
    Ok((good, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_at_locations_parse_even_with_colons_in_the_path() {
        assert_eq!(parse_location("src/lib.rs:4:9"), Some(("src/lib.rs", 4, 9)));
        assert_eq!(
            parse_location("C:/x/lib.rs:4:9"),
            Some(("C:/x/lib.rs", 4, 9))
        );
        assert_eq!(parse_location("src/lib.rs"), None);
    }
}

#[cfg(test)]
mod rename_tests {
    use super::FindingKind;

    #[test]
    fn waitgroup_misuse_keeps_its_json_name() {
        let k = FindingKind::WaitGroupMisuse;
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"waitgroup-misuse\"");
        assert_eq!(k.as_str(), "waitgroup-misuse");
        let back: FindingKind = serde_json::from_str("\"waitgroup-misuse\"").unwrap();
        assert_eq!(back, k);
    }
}
