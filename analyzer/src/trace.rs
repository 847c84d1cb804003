//! Schedule traces: one line per operation of one schedule, for
//! `cargo race replay` to show how a finding came about.
//!
//! A test process run with `GORO_TRACE=1` writes the trace of each schedule
//! that found something as JSON Lines next to its findings
//! (`$GORO_REPORT_DIR/goro-<pid>.trace`), tagged with [`TRACE_SCHEMA`].

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};

/// The schema tag every trace line carries.
pub const TRACE_SCHEMA: &str = "goro-trace/1";

/// One operation of a schedule.
///
/// # Examples
///
/// ```
/// use goro_analyzer::trace::{read_trace, TraceStep, TRACE_SCHEMA};
///
/// let step = TraceStep {
///     schema: TRACE_SCHEMA.into(),
///     test: Some("tests::racy".into()),
///     seed: 7,
///     step: 3,
///     goroutine: 2,
///     goroutine_name: Some("worker".into()),
///     op: "send".into(),
///     file: "src/lib.rs".into(),
///     line: 10,
///     column: 5,
///     obj: None,
///     from_step: None,
/// };
/// let mut buf = Vec::new();
/// step.write_json_line(&mut buf).unwrap();
/// assert_eq!(read_trace(&buf[..]).unwrap(), vec![step]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// Always [`TRACE_SCHEMA`].
    pub schema: String,
    /// The test that ran the schedule, when known.
    pub test: Option<String>,
    /// The schedule's seed.
    pub seed: u64,
    /// The scheduling step (one poll of one goroutine) the operation ran in.
    pub step: u64,
    /// The goroutine whose operation it is.
    pub goroutine: u64,
    /// Its `go!` name, if any.
    pub goroutine_name: Option<String>,
    /// The operation (`send`, `lock`, `write`, ...).
    pub op: String,
    /// Source file.
    pub file: String,
    /// 1-based line (0: unknown).
    pub line: u32,
    /// 1-based column (0: unknown).
    pub column: u32,
    /// The per-schedule id of the object operated on (channel, mutex, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obj: Option<u64>,
    /// The step this operation synchronizes with: the send a receive takes
    /// from, the unlock a lock follows, the spawn a goroutine's first step
    /// follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_step: Option<u64>,
}

impl TraceStep {
    /// Writes the step as one JSON line.
    pub fn write_json_line<W: Write>(&self, mut w: W) -> io::Result<()> {
        serde_json::to_writer(&mut w, self)?;
        w.write_all(b"\n")
    }
}

/// Reads trace lines, skipping lines that do not parse or carry another
/// schema (a trace is an aid; a damaged line must not hide the rest).
pub fn read_trace<R: BufRead>(r: R) -> io::Result<Vec<TraceStep>> {
    let mut out = Vec::new();
    for line in r.lines() {
        let line = line?;
        if let Ok(s) = serde_json::from_str::<TraceStep>(&line) {
            if s.schema == TRACE_SCHEMA {
                out.push(s);
            }
        }
    }
    Ok(out)
}
