//! What the end-to-end tests of `cargo race` share: where the binary, the
//! test data and the nested `buggy` crate are, scratch directories, and one
//! way to run `cargo race` with a clean environment.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

pub const BIN: &str = env!("CARGO_BIN_EXE_cargo-race");

pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn buggy() -> PathBuf {
    data().join("buggy")
}

/// The target directory this test binary was built in.
pub fn target_dir() -> PathBuf {
    Path::new(BIN)
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in <target>/<profile>/")
        .to_path_buf()
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = target_dir()
        .join("goro-race-e2e")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `cargo race ARGS` in `dir`, with none of the variables it reads set
/// but those in `env`. `cargo race` itself must never panic.
pub fn cargo_race_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    static LOCK: Once = Once::new();
    LOCK.call_once(|| {
        // The workspace's lock file pins the buggy crate's dependencies to the
        // versions already built (and downloaded) for the workspace.
        let ws_lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
        std::fs::copy(ws_lock, buggy().join("Cargo.lock")).unwrap();
    });
    let mut cmd = Command::new(BIN);
    cmd.arg("race")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("GITHUB_ACTIONS")
        .env_remove("NO_COLOR")
        .env_remove("BUGGY_FAIL");
    for var in goro_analyzer::env::ALL {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cargo-race runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked at") || stderr.contains("failing as asked"),
        "cargo-race itself must never panic:\n{stderr}"
    );
    out
}

/// The exit code (the process was not killed).
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}
