//! GitHub Actions workflow commands: one annotation per finding.

use super::{reproduce, site_label, Entry};

/// One `::error` (or, for findings that do not fail the run, `::warning`)
/// workflow command per entry, at its primary site, so that GitHub shows it
/// on the pull request's diff.
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
/// #     seed: 1, schedule: 0, test: None, expected: false, shrink: None,
/// #     strategy: None };
/// use goro_analyzer::render::{gather, github_annotations};
///
/// let text = github_annotations(&gather(vec![finding]));
/// assert!(text.starts_with(
///     "::error file=src/lib.rs,line=3,col=9,title=double-close::close of closed channel"
/// ));
/// ```
pub fn github_annotations(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        let f = &e.finding;
        let p = &f.primary;
        let mut message = format!("{}\n{} at {}", f.message, site_label(p), p.location());
        for r in &f.related {
            message.push_str(&format!("\n{} at {}", site_label(r), r.location()));
        }
        if !f.help.is_empty() {
            message.push_str(&format!("\nhelp: {}", f.help));
        }
        message.push_str(&format!("\nreproduce: {}", reproduce(e)));
        out.push_str(&format!(
            "::{} file={},line={},col={},title={}::{}\n",
            if e.status.fails() { "error" } else { "warning" },
            property(&p.file),
            p.line,
            p.column,
            property(f.kind.as_str()),
            data(&message)
        ));
    }
    out
}

/// Escapes a command's message, as the Actions toolkit does.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property (`file=..`): also `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_one_command_per_line() {
        assert_eq!(data("a\nb%c\r"), "a%0Ab%25c%0D");
        assert_eq!(property("C:/a,b.rs"), "C%3A/a%2Cb.rs");
    }
}
