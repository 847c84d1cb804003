//! Baselines: findings a project has accepted for now, so that CI fails
//! only on new ones.
//!
//! A finding is recorded by its kind and, for each site, its file, line and
//! the trimmed text of its source line. It matches a later finding of the
//! same kind whose sites have the same files and the same line texts, so an
//! edit elsewhere in the file that shifts lines keeps it matched; where a
//! text is unknown (the source could not be read) the exact line is
//! compared instead.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::FindingKind;
use crate::render::{Entry, Sources};

/// The schema tag of baseline files.
const SCHEMA: &str = "goro-baseline/1";

/// A baseline file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Baseline {
    schema: String,
    findings: Vec<Known>,
}

/// One accepted finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Known {
    kind: FindingKind,
    /// For people reading the file; not matched.
    #[serde(default)]
    message: String,
    sites: Vec<KnownSite>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct KnownSite {
    file: String,
    line: u32,
    /// The trimmed source line; empty when it could not be read.
    #[serde(default)]
    text: String,
}

impl KnownSite {
    fn matches(&self, other: &KnownSite) -> bool {
        self.file == other.file
            && if self.text.is_empty() || other.text.is_empty() {
                self.line == other.line
            } else {
                self.text == other.text
            }
    }
}

fn known(entry: &Entry, sources: &mut Sources) -> Known {
    let f = &entry.finding;
    let mut sites: Vec<KnownSite> = std::iter::once(&f.primary)
        .chain(&f.related)
        .map(|s| KnownSite {
            file: s.file.clone(),
            line: s.line,
            text: sources.line_text(&s.file, s.line).unwrap_or_default(),
        })
        .collect();
    if f.kind == FindingKind::DataRace {
        // A race is the same race whichever access came last.
        sites.sort_by(|a, b| (&a.file, &a.text, a.line).cmp(&(&b.file, &b.text, b.line)));
    }
    Known {
        kind: f.kind,
        message: f.message.clone(),
        sites,
    }
}

impl Baseline {
    /// Reads a baseline file.
    pub(crate) fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
        let b: Baseline = serde_json::from_str(&text)
            .map_err(|e| format!("the baseline {} is not valid: {e}", path.display()))?;
        if b.schema != SCHEMA {
            return Err(format!(
                "the baseline {} has schema `{}`, expected `{SCHEMA}`",
                path.display(),
                b.schema
            ));
        }
        Ok(b)
    }

    /// A baseline accepting these entries.
    pub(crate) fn of(entries: &[Entry], sources: &mut Sources) -> Baseline {
        let mut findings: Vec<Known> = entries.iter().map(|e| known(e, sources)).collect();
        findings.sort_by(|a, b| (a.kind, &a.sites).cmp(&(b.kind, &b.sites)));
        findings.dedup();
        Baseline {
            schema: SCHEMA.to_string(),
            findings,
        }
    }

    /// The number of accepted findings.
    pub(crate) fn len(&self) -> usize {
        self.findings.len()
    }

    /// Writes the baseline as pretty JSON (it is meant to be reviewed).
    pub(crate) fn save(&self, path: &Path) -> Result<(), String> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| format!("cannot serialize the baseline: {e}"))?;
        text.push('\n');
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write the baseline {}: {e}", path.display()))
    }

    /// Whether the baseline accepts `entry`.
    pub(crate) fn contains(&self, entry: &Entry, sources: &mut Sources) -> bool {
        let k = known(entry, sources);
        self.findings.iter().any(|b| {
            b.kind == k.kind
                && b.sites.len() == k.sites.len()
                && b.sites.iter().zip(&k.sites).all(|(x, y)| x.matches(y))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Site, SCHEMA as FINDING_SCHEMA};
    use crate::render::gather;

    fn finding(file: &str, lines: (u32, u32)) -> Finding {
        let site = |line, op: &str, g| Site {
            file: file.into(),
            line,
            column: 5,
            goroutine: g,
            goroutine_name: None,
            op: op.into(),
            frames: vec![],
        };
        Finding {
            schema: FINDING_SCHEMA.into(),
            kind: FindingKind::DataRace,
            observed: false,
            message: "data race".into(),
            primary: site(lines.0, "write", 3),
            related: vec![site(lines.1, "read", 2)],
            goroutines: vec![],
            notes: vec![],
            help: String::new(),
            seed: 1,
            schedule: 0,
            test: None,
            expected: false,
            shrink: None,
            strategy: None,
        }
    }

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("goro-baseline-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_baselined_race_survives_unrelated_lines_shifting_it() {
        let d = dir("shift");
        std::fs::write(d.join("a.rs"), "fn f() {\n    x.set(1);\n    x.get();\n}\n").unwrap();
        let mut sources = Sources::new(&d);
        let before = gather(vec![finding("a.rs", (2, 3))]);
        let baseline = Baseline::of(&before, &mut sources);
        let path = d.join("baseline.json");
        baseline.save(&path).unwrap();
        let baseline = Baseline::load(&path).unwrap();

        // Two lines added above: the same race, two lines down.
        std::fs::write(
            d.join("a.rs"),
            "// new\n// lines\nfn f() {\n    x.set(1);\n    x.get();\n}\n",
        )
        .unwrap();
        let mut sources = Sources::new(&d);
        let shifted = gather(vec![finding("a.rs", (4, 5))]);
        assert!(baseline.contains(&shifted[0], &mut sources));
        // The accesses swapped: still the same race.
        let swapped = gather(vec![finding("a.rs", (5, 4))]);
        assert!(baseline.contains(&swapped[0], &mut sources));

        // A different line of code is a new finding.
        std::fs::write(
            d.join("a.rs"),
            "// new\n// lines\nfn f() {\n    x.set(2);\n    x.get();\n}\n",
        )
        .unwrap();
        let mut sources = Sources::new(&d);
        assert!(!baseline.contains(&shifted[0], &mut sources));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn without_sources_the_exact_line_decides() {
        let mut sources = Sources::new("/nonexistent-goro-root");
        let baseline = Baseline::of(&gather(vec![finding("a.rs", (2, 3))]), &mut sources);
        assert!(baseline.contains(&gather(vec![finding("a.rs", (2, 3))])[0], &mut sources));
        assert!(!baseline.contains(&gather(vec![finding("a.rs", (4, 5))])[0], &mut sources));
        assert!(!baseline.contains(&gather(vec![finding("b.rs", (2, 3))])[0], &mut sources));
    }

    #[test]
    fn a_bad_baseline_file_is_an_error_naming_it() {
        let d = dir("bad");
        let path = d.join("b.json");
        std::fs::write(&path, "{ not json").unwrap();
        let e = Baseline::load(&path).unwrap_err();
        assert!(e.contains("b.json") && e.contains("not valid"), "{e}");
        std::fs::write(&path, r#"{"schema":"other/9","findings":[]}"#).unwrap();
        assert!(Baseline::load(&path).unwrap_err().contains("other/9"));
        assert!(Baseline::load(&d.join("missing.json"))
            .unwrap_err()
            .contains("cannot read"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
