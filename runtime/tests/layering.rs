//! The runtime's layering, checked on its sources: the model (`src/rt/`)
//! sits under the public modules and never names them, and detection has one
//! door (`src/rt/detect.rs`): only it builds the detector's events, and only
//! it (and the schedule driver) reaches the scheduler.

use std::fs;
use std::path::{Path, PathBuf};

/// The crate's `src/` directory.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as (path relative to `src/`, text).
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries =
            fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                let rel = path.strip_prefix(src()).expect("under src/");
                out.push((rel.to_string_lossy().replace('\\', "/"), text));
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no sources under {}", dir.display());
    out
}

/// The code of `text`, line by line (1-based), without comments: what a
/// doc comment mentions is not a dependency.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let code = match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        };
        (!code.trim().is_empty()).then_some((i + 1, code))
    })
}

/// Whether `code` names a path starting `crate::` (not `foo_crate::`).
fn crate_paths(code: &str) -> impl Iterator<Item = &str> {
    code.match_indices("crate::").filter_map(move |(at, _)| {
        let before = code[..at].chars().next_back();
        let word = before.is_some_and(|c| c.is_alphanumeric() || c == '_');
        (!word).then(|| &code[at + "crate::".len()..])
    })
}

/// Whether `code` has `word` as a whole identifier.
fn has_word(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[test]
fn the_model_never_names_the_public_modules() {
    let rt = src().join("rt");
    let mut bad = Vec::new();
    for (file, text) in sources(&rt) {
        for (line, code) in code_lines(&text) {
            // Inside the model, `crate::` may only lead back into it.
            if crate_paths(code).any(|rest| !rest.starts_with("rt::")) {
                bad.push(format!("{file}:{line}: {}", code.trim()));
            }
            if code.contains("super::super::") {
                bad.push(format!("{file}:{line}: {}", code.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "src/rt/ must not reach the public modules (chan, context, time, sync, select, ...):\n{}",
        bad.join("\n")
    );
}

/// Files allowed to touch the scheduler directly: the door, the scheduler
/// itself, and the drivers that configure, run and shrink schedules (they
/// are no primitives: they sit above the model, not beside it).
fn may_use_sched(file: &str) -> bool {
    const DRIVERS: [&str; 4] = [
        "race/explore.rs",
        "race/run.rs",
        "race/shrink.rs",
        "race/config.rs",
    ];
    file == "rt/detect.rs" || file.starts_with("rt/sched/") || DRIVERS.contains(&file)
}

#[test]
fn only_the_detect_door_builds_events() {
    let mut bad = Vec::new();
    for (file, text) in sources(&src()) {
        // The scheduler consumes events (and emits its own End and Panic).
        if file == "rt/detect.rs" || file.starts_with("rt/sched/") {
            continue;
        }
        for (line, code) in code_lines(&text) {
            let imports_op = code.trim_start().starts_with("use ") && has_word(code, "Op");
            if code.contains("Op::") || imports_op {
                bad.push(format!("{file}:{line}: {}", code.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "events are built only in src/rt/detect.rs (add a typed hook there):\n{}",
        bad.join("\n")
    );
}

#[test]
fn primitives_reach_the_scheduler_only_through_the_detect_door() {
    let mut bad = Vec::new();
    for (file, text) in sources(&src()) {
        if may_use_sched(&file) {
            continue;
        }
        for (line, code) in code_lines(&text) {
            let imports_sched = code.trim_start().starts_with("use ") && has_word(code, "sched");
            if code.contains("sched::") || imports_sched {
                bad.push(format!("{file}:{line}: {}", code.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "primitives go through src/rt/detect.rs, never to the scheduler directly:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_scans_see_what_they_look_for() {
    // The checks above would pass vacuously on a wrong directory or a
    // comment filter that dropped code.
    let all = sources(&src());
    let detect = &all
        .iter()
        .find(|(f, _)| f == "rt/detect.rs")
        .expect("rt/detect.rs exists")
        .1;
    assert!(code_lines(detect).any(|(_, c)| c.contains("Op::ChanSend")));
    assert!(all.iter().any(|(f, _)| f == "rt/sched/mod.rs"));
    assert!(all.iter().any(|(f, _)| f == "chan/mod.rs"));
    let facade = &all.iter().find(|(f, _)| f == "time.rs").expect("time.rs").1;
    assert!(code_lines(facade).any(|(_, c)| crate_paths(c).any(|r| r.starts_with("rt::"))));
    assert!(code_lines("let x = 1; // Op::End").all(|(_, c)| !c.contains("Op::")));
    assert_eq!(crate_paths("use crate::chan::X; foo_crate::y").count(), 1);
    assert!(has_word("use goro_analyzer::event::{Loc, Op};", "Op"));
    assert!(!has_word("use crate::rt::chan::Op2;", "Op"));
}
