//! JSON Lines: the analyzer's own schema, one finding per line.

use super::Entry;

/// The entries as JSON Lines in the [`crate::finding::SCHEMA`] schema, one
/// finding per line, readable back with [`crate::finding::read_json_lines`].
///
/// # Examples
///
/// ```
/// # use goro_analyzer::finding::{Finding, FindingKind, Site, SCHEMA};
/// # let site = Site { file: "src/lib.rs".into(), line: 3, column: 1, goroutine: 1,
/// #     goroutine_name: None, op: "close".into(), frames: vec![] };
/// # let finding = Finding { schema: SCHEMA.into(), kind: FindingKind::DoubleClose,
/// #     observed: true, message: "close of closed channel".into(), primary: site,
/// #     related: vec![], goroutines: vec![], notes: vec![], help: String::new(),
/// #     seed: 1, schedule: 0, test: None, expected: false, shrink: None,
/// #     strategy: None };
/// use goro_analyzer::finding::read_json_lines;
/// use goro_analyzer::render::{gather, json_lines};
///
/// let text = json_lines(&gather(vec![finding.clone()]));
/// let (back, bad) = read_json_lines(text.as_bytes()).unwrap();
/// assert_eq!(back, vec![finding]);
/// assert!(bad.is_empty());
/// ```
pub fn json_lines(entries: &[Entry]) -> String {
    let mut buf = Vec::new();
    for e in entries {
        // Writing plain data into memory cannot fail.
        let _ = e.finding.write_json_line(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}
