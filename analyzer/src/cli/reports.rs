//! Reading the JSON Lines reports test processes wrote.

use std::path::{Path, PathBuf};

use crate::finding::{read_json_lines, Finding};

/// Every finding in the given report files and directories (their `*.jsonl`
/// files, in name order), and a warning per line or file that could not be
/// read: a corrupt or truncated line (a test process killed mid-write) costs
/// that line only.
pub(crate) fn read_reports(paths: &[PathBuf]) -> (Vec<Finding>, Vec<String>) {
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    for path in paths {
        let files = if path.is_dir() {
            match jsonl_files(path) {
                Ok(f) => f,
                Err(e) => {
                    warnings.push(format!("cannot list {}: {e}", path.display()));
                    continue;
                }
            }
        } else {
            vec![path.clone()]
        };
        for file in files {
            read_file(&file, &mut findings, &mut warnings);
        }
    }
    (findings, warnings)
}

/// Every schedule trace (`*.trace`) in `dir`, in file name order; traces
/// that cannot be read are skipped (they only explain findings).
pub(crate) fn read_traces(dir: &Path) -> Vec<crate::trace::TraceStep> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|f| std::fs::File::open(f).ok())
        .filter_map(|f| crate::trace::read_trace(std::io::BufReader::new(f)).ok())
        .flatten()
        .collect()
}

/// The traces for `cargo race report --format html`: those in each
/// directory, the `NAME.trace` beside each `NAME.jsonl` report, and the
/// trace files given by name.
pub(crate) fn traces_for(paths: &[PathBuf], traces: &[PathBuf]) -> Vec<crate::trace::TraceStep> {
    let mut files: Vec<PathBuf> = traces.to_vec();
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(read_traces(p));
        } else {
            let beside = p.with_extension("trace");
            if beside.is_file() && !files.contains(&beside) {
                files.push(beside);
            }
        }
    }
    for f in files {
        if let Ok(file) = std::fs::File::open(&f) {
            if let Ok(steps) = crate::trace::read_trace(std::io::BufReader::new(file)) {
                out.extend(steps);
            }
        }
    }
    out
}

fn jsonl_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn read_file(file: &Path, findings: &mut Vec<Finding>, warnings: &mut Vec<String>) {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            warnings.push(format!("cannot read the report {}: {e}", file.display()));
            return;
        }
    };
    // Line by line, so that one line that is not UTF-8 costs only itself.
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let Ok(line) = std::str::from_utf8(line) else {
            warnings.push(format!(
                "{}:{}: skipped a corrupt report line: not UTF-8",
                file.display(),
                i + 1
            ));
            continue;
        };
        match read_json_lines(line.as_bytes()) {
            Ok((good, bad)) => {
                findings.extend(good);
                for b in bad {
                    warnings.push(format!(
                        "{}:{}: skipped a corrupt report line: {}",
                        file.display(),
                        i + 1,
                        b.error
                    ));
                }
            }
            Err(e) => warnings.push(format!("{}:{}: {e}", file.display(), i + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_lines_are_reported_and_skipped_keeping_the_rest() {
        let dir = std::env::temp_dir().join(format!("goro-reports-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = r#"{"schema":"goro-finding/1","kind":"double-close","observed":true,"message":"m","primary":{"file":"a.rs","line":1,"column":1,"goroutine":1,"goroutine_name":null,"op":"close"},"related":[],"goroutines":[],"notes":[],"help":"","seed":1,"schedule":0}"#;
        let mut text = Vec::new();
        text.extend_from_slice(good.as_bytes());
        text.extend_from_slice(b"\n{\"schema\":\"goro-fin\n\xff\xfe\n");
        text.extend_from_slice(good.replace("a.rs", "b.rs").as_bytes());
        text.extend_from_slice(b"\n{\"truncated\":");
        std::fs::write(dir.join("goro-1.jsonl"), &text).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a report").unwrap();

        let (findings, warnings) = read_reports(std::slice::from_ref(&dir));
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[1].primary.file, "b.rs");
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0]
                .contains("goro-1.jsonl:2: skipped a corrupt report line: EOF while parsing"),
            "{}",
            warnings[0]
        );
        assert!(warnings[1].contains("goro-1.jsonl:3:") && warnings[1].contains("UTF-8"));
        assert!(warnings[2].contains("goro-1.jsonl:5:"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
