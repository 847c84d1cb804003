//! rustc-style diagnostics through codespan-reporting.

use std::collections::HashMap;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic, Label, Severity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::termcolor::Ansi;
use codespan_reporting::term::{self, Chars, Config};

use super::{goroutine_name, reproduce, site_label, Entry, Sources, Status};
use crate::finding::Site;

/// Renders each entry as a rustc-style diagnostic: the real source lines,
/// the primary site and every related site labelled with its goroutine and
/// operation, each named goroutine's creation site, `= note:` lines (why no
/// happens-before edge orders the sites, where goroutines were created),
/// `= help:` and a reproduce line with the seed.
///
/// A site whose file cannot be read (or is shorter than the site's line)
/// is named in a note instead of a snippet; the diagnostic is still whole.
/// `color` adds ANSI colors.
///
/// # Examples
///
/// ```
/// # use goro_analyzer::finding::{Finding, FindingKind, Site, SCHEMA};
/// use goro_analyzer::render::{gather, human, Sources};
///
/// let dir = std::env::temp_dir().join(format!("goro-human-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("main.rs"), "fn main() {\n    ch.close();\n}\n").unwrap();
/// let site = Site { file: "main.rs".into(), line: 2, column: 5, goroutine: 1,
///     goroutine_name: None, op: "close".into(), frames: vec![] };
/// let finding = Finding { schema: SCHEMA.into(), kind: FindingKind::DoubleClose,
///     observed: true, message: "close of closed channel".into(), primary: site,
///     related: vec![], goroutines: vec![], notes: vec![],
///     help: "close a channel once, from its sender".into(),
///     seed: 3, schedule: 0, test: None, expected: false, shrink: None,
///     strategy: None };
///
/// let text = human(&gather(vec![finding]), &mut Sources::new(&dir), false);
/// assert!(text.contains("error[double-close]: close of closed channel"));
/// assert!(text.contains("ch.close()"), "the real source line is shown");
/// assert!(text.contains("^^^^^^^^^^ close by goroutine 1"));
/// assert!(text.contains("= help: close a channel once"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn human(entries: &[Entry], sources: &mut Sources, color: bool) -> String {
    let mut out = String::new();
    for entry in entries {
        out.push_str(&diagnostic(entry, sources, color));
    }
    out
}

/// One entry as a diagnostic.
fn diagnostic(entry: &Entry, sources: &mut Sources, color: bool) -> String {
    let f = &entry.finding;
    let mut files: SimpleFiles<String, String> = SimpleFiles::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut labels: Vec<Label<usize>> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // Looks a file up once per diagnostic; `None` when it cannot be read.
    let mut file_id = |file: &str, sources: &mut Sources| -> Result<usize, String> {
        if let Some(&id) = ids.get(file) {
            return Ok(id);
        }
        let text = sources.get(file).map_err(str::to_string)?.to_string();
        let id = files.add(file.to_string(), text);
        ids.insert(file.to_string(), id);
        Ok(id)
    };

    let sites = std::iter::once((true, &f.primary)).chain(f.related.iter().map(|s| (false, s)));
    for (primary, site) in sites {
        let message = site_label(site);
        match span_of(site, sources).and_then(|r| Ok((file_id(&site.file, sources)?, r))) {
            Ok((id, range)) => labels.push(
                if primary {
                    Label::primary(id, range)
                } else {
                    Label::secondary(id, range)
                }
                .with_message(message),
            ),
            Err(why) => notes.push(format!(
                "{}: {message} at {} ({why})",
                if primary { "primary" } else { "related" },
                site.location()
            )),
        }
    }

    // Where each goroutine the finding names was started: Go's report shows
    // it, and it is often where the missing synchronization belongs.
    for g in &f.goroutines {
        let Some(site) = g.creation_site() else {
            continue;
        };
        if let Ok(range) = span_of(&site, sources) {
            if let Ok(id) = file_id(&site.file, sources) {
                labels.push(Label::secondary(id, range).with_message(format!(
                    "{} created here",
                    goroutine_name(g.id, g.name.as_deref())
                )));
            }
        }
    }

    // Sites without a snippet come first: they stand in for the `-->` line.
    let mut all_notes = notes;
    all_notes.push(if f.observed {
        format!("observed in schedule {} of its exploration", f.schedule)
    } else {
        "predicted: happens-before allows this in some schedule; no run had to fail".to_string()
    });
    all_notes.extend(f.notes.iter().cloned());
    for site in std::iter::once(&f.primary).chain(&f.related) {
        if !site.frames.is_empty() {
            let chain: Vec<String> = site
                .frames
                .iter()
                .rev()
                .map(|fr| format!("{} ({}:{})", fr.function, fr.file, fr.line))
                .collect();
            all_notes.push(format!(
                "the {} at {} is in {}",
                site.op,
                site.location(),
                chain.join(", called from ")
            ));
        }
    }
    match entry.tests.as_slice() {
        [] => {}
        [one] => all_notes.push(format!("found by test `{one}`")),
        [first, rest @ ..] => all_notes.push(format!(
            "found by test `{first}` and {} other test(s)",
            rest.len()
        )),
    }
    match entry.status {
        Status::Unexpected => {}
        Status::Expected => all_notes.push("expected by its test: does not fail the run".into()),
        Status::Known => all_notes.push("in the baseline: does not fail the run".into()),
    }
    let mut rendered_notes: Vec<String> = all_notes
        .into_iter()
        .map(|n| format!("note: {n}"))
        .collect();
    if !f.help.is_empty() {
        rendered_notes.push(format!("help: {}", f.help));
    }
    rendered_notes.push(format!("reproduce: {}", reproduce(entry)));
    if let Some(s) = &f.shrink {
        // The replay above follows the shrunk schedule by default.
        rendered_notes.push(format!("shortest schedule: {}", s.summary()));
    }

    let severity = if entry.status.fails() {
        Severity::Error
    } else {
        Severity::Warning
    };
    let diagnostic = Diagnostic::new(severity)
        .with_code(f.kind.as_str())
        .with_message(&f.message)
        .with_labels(labels)
        .with_notes(rendered_notes);

    let config = Config {
        chars: Chars::ascii(),
        ..Config::default()
    };
    let rendered = if color {
        let mut w = Ansi::new(Vec::new());
        term::emit_to_write_style(&mut w, &config, &files, &diagnostic)
            .map(|()| String::from_utf8_lossy(&w.into_inner()).into_owned())
    } else {
        let mut s = String::new();
        term::emit_to_string(&mut s, &config, &files, &diagnostic).map(|()| s)
    };
    match rendered {
        Ok(s) => s,
        // The spans were checked against the text, so this is not expected;
        // still, a finding must never be lost to a rendering problem.
        Err(e) => format!(
            "error[{}]: {}\n  --> {}\n  = note: (snippet unavailable: {e})\n\n",
            f.kind,
            f.message,
            f.primary.location()
        ),
    }
}

/// The byte range a site's label covers: the expression starting at its
/// column. Findings carry a line and column, not a span, so the end is
/// found by scanning the source: a path or method chain with its balanced
/// brackets (`counter.set(counter.get() + 1)`, `tx.send(v).await`).
fn span_of(site: &Site, sources: &mut Sources) -> Result<Range<usize>, String> {
    let text = sources
        .get(&site.file)
        .map_err(|e| format!("source not available: {e}"))?;
    let line_index = usize::try_from(site.line)
        .ok()
        .and_then(|l| l.checked_sub(1))
        .ok_or_else(|| "no line number".to_string())?;
    let mut start = 0usize;
    let mut lines = text.split_inclusive('\n');
    for _ in 0..line_index {
        start += lines
            .next()
            .ok_or_else(|| format!("the source has no line {}", site.line))?
            .len();
    }
    let line = lines
        .next()
        .ok_or_else(|| format!("the source has no line {}", site.line))?;
    let line = line.trim_end_matches(['\n', '\r']);
    // Columns count characters from 1, as rustc's `Location::column` does.
    let col = usize::try_from(site.column).unwrap_or(1).max(1) - 1;
    let from = match line.char_indices().nth(col) {
        Some((i, _)) => i,
        // A column past the end (or none): label the line's text.
        None => line.len() - line.trim_start().len(),
    };
    let len = expr_len(&line[from..]).max(line[from..].chars().next().map_or(0, char::len_utf8));
    Ok(start + from..start + from + len)
}

/// The length of the expression at the start of `s`: identifiers, `.`,
/// `::`, `!`, `?` and `&`/`*` prefixes, with balanced `()`, `[]`, `{}`
/// groups; it stops at whitespace, an operator or punctuation outside a
/// group, or at the end of the line when a group does not close on it.
fn expr_len(s: &str) -> usize {
    let mut depth = 0usize;
    let mut end = 0usize;
    let mut in_str = false;
    let mut prev = '\0';
    for (i, c) in s.char_indices() {
        if in_str {
            if c == '"' && prev != '\\' {
                in_str = false;
            }
        } else {
            match c {
                '"' => in_str = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                _ if depth > 0 => {}
                c if c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '!' | '?') => {}
                '&' | '*' if end == 0 => {}
                _ => break,
            }
        }
        prev = c;
        end = i + c.len_utf8();
    }
    // A group left open at the end of the line: label only up to where it
    // opened, rather than a half expression.
    if depth > 0 {
        let open = s[..end].find(['(', '[', '{']).unwrap_or(end);
        return s[..open].trim_end().len().max(1).min(end);
    }
    s[..end].trim_end_matches(['.', ':']).len()
}

#[cfg(test)]
mod tests {
    use super::expr_len;

    fn expr(s: &str) -> &str {
        &s[..expr_len(s)]
    }

    #[test]
    fn expressions_end_where_the_call_chain_ends() {
        assert_eq!(
            expr("counter.set(counter.get() + 1);"),
            "counter.set(counter.get() + 1)"
        );
        assert_eq!(expr("tx.send(v).await;"), "tx.send(v).await");
        assert_eq!(expr("ch.close(); // again"), "ch.close()");
        assert_eq!(expr("goro::go!(\"w\", async move {"), "goro::go!");
        assert_eq!(expr("x = 1;"), "x");
        assert_eq!(expr("f(\")\");"), "f(\")\")");
        assert_eq!(expr("wg.add(1), other)"), "wg.add(1)");
    }
}
