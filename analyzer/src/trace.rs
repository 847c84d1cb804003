//! Schedule traces: one line per operation of one schedule, for
//! `cargo race replay` to show how a finding came about and for a renderer
//! to draw the interleaving.
//!
//! A test process run with `GORO_TRACE=1` writes, for each schedule that
//! found something, JSON Lines next to its findings
//! (`$GORO_REPORT_DIR/goro-<pid>.trace`), tagged with [`TRACE_SCHEMA`]:
//! the trace of the schedule itself (`schedule: "full"`), then, for each
//! new finding it shrank, the trace of the shrunk schedule
//! (`schedule: "shrunk"`, `replay` = that finding's `shrink.schedule`).
//! Lines of one schedule are consecutive and numbered by `seq` from 0.
//!
//! # Fields for drawing happens-before arrows
//!
//! Every field below is optional: traces written before they existed
//! parse, with `None`.
//!
//! - `obj`: the synchronization object the operation acts on (channel,
//!   lock, WaitGroup, Once, context, `race::acquire` object), as a
//!   per-schedule id numbered from 1 in order of first use. Memory accesses
//!   (`read`, `write`) have none.
//! - `from_seq` / `from_step`: for an operation that completes a
//!   happens-before edge, the `seq` (line) and `step` of the operation it
//!   synchronizes with, where the scheduler knows it: a receive from a
//!   buffered channel, the matching send (FIFO); `recv (closed)`, a send on
//!   or a close of a closed channel, the close; a lock (`lock`,
//!   `lock (write)`, `acquire`), the previous release of that object
//!   (`unlock`, `unlock (write)`, `runlock`, `release`); an `rlock`, the
//!   previous write unlock; `wg.wait` (which does not block) and the
//!   `acquire` of the WaitGroup that completes a blocked wait, the last
//!   `wg.add` with a negative delta (a `done`); `join`, the joined
//!   goroutine's `exit`. The arrow runs from line `from_seq` to this line.
//! - `peer`: on `go`, the goroutine created (the arrow runs to its first
//!   line, the first with that `goroutine`); on `send (rendezvous)` (an
//!   unbuffered hand-off, one line for both sides), the receiving goroutine,
//!   the hand-off ordering both ways.
//! - `schedule`: `"full"` or `"shrunk"` (see above); `replay`: the
//!   schedule's text form for `GORO_REPLAY`, on a shrunk trace.

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
///     op: "recv".into(),
///     file: "src/lib.rs".into(),
///     line: 10,
///     column: 5,
///     obj: Some(1),
///     from_step: Some(2),
///     from_seq: Some(4),
///     ..TraceStep::default()
/// };
/// let mut buf = Vec::new();
/// step.write_json_line(&mut buf).unwrap();
/// assert_eq!(read_trace(&buf[..]).unwrap(), vec![step]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// Always [`TRACE_SCHEMA`].
    pub schema: String,
    /// The test that ran the schedule, when known.
    pub test: Option<String>,
    /// The schedule's seed.
    pub seed: u64,
    /// The scheduling step (one goroutine running from one scheduling point
    /// to the next) the operation ran in.
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
    /// The line's position in its schedule's trace, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The per-schedule id of the object operated on (module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obj: Option<u64>,
    /// The step of the operation this one synchronizes with (module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_step: Option<u64>,
    /// The `seq` of the operation this one synchronizes with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_seq: Option<u64>,
    /// The goroutine a `go` created, or the receiver of a rendezvous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<u64>,
    /// `"full"` (the schedule as explored) or `"shrunk"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The schedule's `GORO_REPLAY` text form (shrunk traces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
}

impl TraceStep {
    /// Writes the step as one JSON line.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::trace::TraceStep;
    ///
    /// let mut buf = Vec::new();
    /// TraceStep::default().write_json_line(&mut buf).unwrap();
    /// assert!(buf.ends_with(b"}\n"));
    /// ```
    pub fn write_json_line<W: Write>(&self, mut w: W) -> io::Result<()> {
        serde_json::to_writer(&mut w, self)?;
        w.write_all(b"\n")
    }

    /// Whether the line belongs to a shrunk schedule's trace.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::trace::TraceStep;
    ///
    /// let s = TraceStep { schedule: Some("shrunk".into()), ..TraceStep::default() };
    /// assert!(s.is_shrunk());
    /// assert!(!TraceStep::default().is_shrunk());
    /// ```
    pub fn is_shrunk(&self) -> bool {
        self.schedule.as_deref() == Some("shrunk")
    }
}

/// Reads trace lines, skipping lines that do not parse or carry another
/// schema (a trace is an aid; a damaged line must not hide the rest).
///
/// # Examples
///
/// ```
/// use goro_analyzer::trace::read_trace;
///
/// assert!(read_trace(&b"not json\n"[..]).unwrap().is_empty());
/// ```
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_without_the_new_fields_still_parses() {
        let old = r#"{"schema":"goro-trace/1","test":null,"seed":1,"step":2,"goroutine":1,"goroutine_name":null,"op":"send","file":"a.rs","line":1,"column":1}"#;
        let t = read_trace(old.as_bytes()).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].obj, t[0].from_step, t[0].schedule.as_deref()),
            (None, None, None)
        );
    }
}
