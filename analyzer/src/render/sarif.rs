//! SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

use std::path::{Component, Path};

use serde_json::{json, Value};

use super::{goroutine_name, kind_description, reproduce, site_label, Entry};
use super::{Sources, Status};
use crate::finding::{FindingKind, Site};

/// The schema the output declares.
const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The entries as one SARIF 2.1.0 log: one run of `cargo-race`, one rule per
/// finding kind, one result per entry with its primary location, related
/// locations (the other sites, where each goroutine was created) and, when
/// a finding has sites in more than one goroutine (the two sides of a data
/// race), a code flow with one thread flow per goroutine.
///
/// File names stay relative to the source root (`uriBaseId: SRCROOT`), so
/// that code scanning maps them onto the repository. Results that do not fail
/// the run carry `suppressions` (expected by their test) or
/// `baselineState: unchanged` (in the baseline).
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
/// use goro_analyzer::render::{gather, sarif, Sources};
///
/// let log = sarif(&gather(vec![finding]), &mut Sources::new("/work"));
/// assert_eq!(log["version"], "2.1.0");
/// let result = &log["runs"][0]["results"][0];
/// assert_eq!(result["ruleId"], "double-close");
/// assert_eq!(
///     result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
///     "src/lib.rs"
/// );
/// ```
pub fn sarif(entries: &[Entry], sources: &mut Sources) -> Value {
    let rules: Vec<Value> = FindingKind::ALL.iter().map(|&k| rule(k)).collect();
    let results: Vec<Value> = entries.iter().map(|e| result(e, sources)).collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "cargo-race",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://example.invalid/goro",
                    "rules": rules,
                }
            },
            "originalUriBaseIds": {
                "SRCROOT": { "uri": dir_uri(sources.root()) }
            },
            "results": results,
        }]
    })
}

fn rule(kind: FindingKind) -> Value {
    let name: String = kind
        .as_str()
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    json!({
        "id": kind.as_str(),
        "name": name,
        "shortDescription": { "text": kind_description(kind) },
        "fullDescription": { "text": kind_description(kind) },
        "help": {
            "text": format!(
                "{} Run `cargo race test` to reproduce; each finding names the seed \
                 that replays its schedule.",
                kind_description(kind)
            )
        },
        "defaultConfiguration": { "level": "error" },
        "properties": { "tags": ["concurrency", "goro"] }
    })
}

fn result(entry: &Entry, sources: &mut Sources) -> Value {
    let f = &entry.finding;
    let rule_index = FindingKind::ALL
        .iter()
        .position(|&k| k == f.kind)
        .unwrap_or(0);
    let mut related = Vec::new();
    for s in &f.related {
        related.push((s.clone(), site_label(s)));
    }
    for g in &f.goroutines {
        if let Some(site) = g.creation_site() {
            related.push((
                site,
                format!("{} created here", goroutine_name(g.id, g.name.as_deref())),
            ));
        }
    }
    let related: Vec<Value> = related
        .iter()
        .enumerate()
        .map(|(i, (site, message))| {
            let mut loc = location(site, message, sources);
            loc["id"] = json!(i + 1);
            loc
        })
        .collect();

    let mut message = f.message.clone();
    if !f.help.is_empty() {
        message.push_str(&format!("\nhelp: {}", f.help));
    }
    message.push_str(&format!("\nreproduce: {}", reproduce(entry)));

    let mut r = json!({
        "ruleId": f.kind.as_str(),
        "ruleIndex": rule_index,
        "level": if entry.status.fails() { "error" } else { "warning" },
        "message": { "text": message },
        "locations": [location(&f.primary, &site_label(&f.primary), sources)],
        "relatedLocations": related,
        "partialFingerprints": { "goroFinding/v1": fingerprint(entry, sources) },
        "properties": {
            "observed": f.observed,
            "seed": f.seed,
            "schedule": f.schedule,
            "tests": entry.tests,
            "notes": f.notes,
        }
    });
    if let Some(flow) = code_flow(entry, sources) {
        r["codeFlows"] = json!([flow]);
    }
    match entry.status {
        Status::Unexpected => {}
        Status::Expected => {
            r["suppressions"] = json!([{
                "kind": "inSource",
                "justification": "expected by its test"
            }]);
        }
        Status::Known => r["baselineState"] = json!("unchanged"),
    }
    r
}

/// One thread flow per goroutine, in the order the sites happened: the
/// related sites (the earlier access, the close) before the primary one.
fn code_flow(entry: &Entry, sources: &mut Sources) -> Option<Value> {
    let f = &entry.finding;
    let ordered: Vec<&Site> = f
        .related
        .iter()
        .chain(std::iter::once(&f.primary))
        .collect();
    let mut goroutines: Vec<u64> = Vec::new();
    for s in &ordered {
        if !goroutines.contains(&s.goroutine) {
            goroutines.push(s.goroutine);
        }
    }
    if ordered.len() < 2 || goroutines.len() < 2 {
        return None;
    }
    let thread_flows: Vec<Value> = goroutines
        .iter()
        .map(|&g| {
            let locations: Vec<Value> = ordered
                .iter()
                .enumerate()
                .filter(|(_, s)| s.goroutine == g)
                .map(|(i, s)| {
                    json!({
                        "location": location(s, &site_label(s), sources),
                        "executionOrder": i + 1,
                        "nestingLevel": 0,
                    })
                })
                .collect();
            let name = ordered
                .iter()
                .find(|s| s.goroutine == g)
                .and_then(|s| s.goroutine_name.as_deref());
            json!({
                "id": format!("goroutine-{g}"),
                "message": { "text": goroutine_name(g, name) },
                "locations": locations,
            })
        })
        .collect();
    Some(json!({
        "message": { "text": "the sites no happens-before edge orders, one thread flow per goroutine" },
        "threadFlows": thread_flows,
    }))
}

fn location(site: &Site, message: &str, sources: &mut Sources) -> Value {
    let mut region = json!({
        "startLine": site.line.max(1),
        "startColumn": site.column.max(1),
    });
    if let Some(text) = sources.line_text(&site.file, site.line) {
        region["snippet"] = json!({ "text": text });
    }
    let artifact = if Path::new(&site.file).is_absolute() {
        json!({ "uri": file_uri(Path::new(&site.file)) })
    } else {
        json!({ "uri": encode(&site.file.replace('\\', "/")), "uriBaseId": "SRCROOT" })
    };
    json!({
        "physicalLocation": { "artifactLocation": artifact, "region": region },
        "message": { "text": message },
    })
}

/// A stable identity for code scanning to track a finding across commits:
/// the kind and, per site, its file and trimmed source line (its line
/// number when the source cannot be read), so that unrelated edits that
/// shift lines keep it the same alert.
pub(crate) fn fingerprint(entry: &Entry, sources: &mut Sources) -> String {
    let f = &entry.finding;
    let mut parts: Vec<String> = std::iter::once(&f.primary)
        .chain(&f.related)
        .map(|s| {
            let text = sources
                .line_text(&s.file, s.line)
                .unwrap_or_else(|| s.line.to_string());
            format!("{}\u{1f}{}", s.file, text)
        })
        .collect();
    if f.kind == FindingKind::DataRace {
        parts.sort();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a: stable across Rust versions.
    for b in f.kind.as_str().bytes().chain(parts.join("\u{1e}").bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn dir_uri(dir: &Path) -> String {
    let mut uri = file_uri(dir);
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

fn file_uri(path: &Path) -> String {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut s = String::from("file://");
    for c in abs.components() {
        match c {
            Component::RootDir => {}
            Component::Prefix(p) => {
                s.push('/');
                s.push_str(&p.as_os_str().to_string_lossy().replace('\\', "/"));
                continue;
            }
            other => {
                s.push('/');
                s.push_str(&encode(&other.as_os_str().to_string_lossy()));
                continue;
            }
        }
    }
    if abs.components().count() <= 1 {
        s.push('/');
    }
    s
}

/// Percent-encodes what may not appear in a URI path.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_absolute_and_encoded() {
        assert_eq!(dir_uri(Path::new("/a b/c")), "file:///a%20b/c/");
        assert_eq!(dir_uri(Path::new("/")), "file:///");
        assert_eq!(encode("src/a+b.rs"), "src/a%2Bb.rs");
    }
}
