//! Running cargo: locating the project, and the test run itself.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// The cargo to run: `$CARGO` (set when cargo runs a subcommand), else
/// `cargo` on the PATH.
pub(crate) fn cargo() -> OsString {
    std::env::var_os("CARGO")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "cargo".into())
}

/// What `cargo metadata` says about the project.
#[derive(Debug)]
pub(crate) struct Project {
    /// Where rustc's file names are relative to.
    pub workspace_root: PathBuf,
    /// Where build output goes; the report directory is made inside it.
    pub target_directory: PathBuf,
}

/// The error for a cargo that cannot be started.
pub(crate) fn spawn_error(cargo: &OsString, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!(
            "cannot run `{}`: not found; install Rust's cargo or point $CARGO at it",
            cargo.to_string_lossy()
        )
    } else {
        format!("cannot run `{}`: {e}", cargo.to_string_lossy())
    }
}

/// Locates the cargo project (the one `--manifest-path` names, else the
/// one around the current directory).
pub(crate) fn project(manifest_path: Option<&Path>) -> Result<Project, String> {
    let cargo = cargo();
    let mut cmd = Command::new(&cargo);
    cmd.args(["metadata", "--format-version", "1", "--no-deps"]);
    if let Some(m) = manifest_path {
        cmd.arg("--manifest-path").arg(m);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error(&cargo, &e))?;
    let which = match manifest_path {
        Some(m) => m.display().to_string(),
        None => "the current directory".to_string(),
    };
    if !out.status.success() {
        // cargo's own first error line says what is wrong (no Cargo.toml,
        // a manifest that does not parse).
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .map(|l| l.trim_start_matches("error:").trim())
            .unwrap_or("cargo metadata failed");
        return Err(format!("{which} is not a cargo project: {why}"));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cannot read `cargo metadata` output for {which}: {e}"))?;
    let path = |k: &str| {
        meta[k]
            .as_str()
            .map(PathBuf::from)
            .ok_or_else(|| format!("`cargo metadata` for {which} has no {k}"))
    };
    Ok(Project {
        workspace_root: path("workspace_root")?,
        target_directory: path("target_directory")?,
    })
}

/// Where the test run's own stdout goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TestStdout {
    /// Our stdout: the findings come after it.
    Stdout,
    /// Our stderr, because stdout carries JSON or SARIF that a tool reads.
    Stderr,
}

/// Runs `cmd` (the `cargo test`), streaming its output. On a terminal a
/// spinner counts tests and findings so far (lines print above it);
/// otherwise the output passes straight through.
pub(crate) fn run_tests(
    mut cmd: Command,
    stdout: TestStdout,
    report_dir: &Path,
) -> std::io::Result<ExitStatus> {
    cmd.stdin(Stdio::null());
    if !std::io::stderr().is_terminal() {
        cmd.stdout(match stdout {
            TestStdout::Stdout => Stdio::inherit(),
            TestStdout::Stderr => Stdio::from(std::io::stderr()),
        });
        return cmd.spawn()?.wait();
    }

    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .enumerate()
    .filter_map(|(i, r)| r.map(|r| (i == 0, r)))
    .map(|(is_stdout, r)| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(r);
            let mut buf = Vec::new();
            while matches!(r.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
                let line = String::from_utf8_lossy(&buf).into_owned();
                if tx.send((is_stdout, line)).is_err() {
                    break;
                }
                buf.clear();
            }
        })
    })
    .collect();
    drop(tx);

    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} cargo race: {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    let mut counts = Counts::default();
    let mut findings = 0usize;
    let mut last_scan = Instant::now();
    pb.set_message(counts.message(findings));
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok((is_stdout, line)) => {
                counts.observe(&line);
                pb.suspend(|| {
                    // A closed stdout (`| head`) must not stop the run.
                    let _ = if is_stdout && stdout == TestStdout::Stdout {
                        std::io::stdout().write_all(line.as_bytes())
                    } else {
                        std::io::stderr().write_all(line.as_bytes())
                    };
                });
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if last_scan.elapsed() > Duration::from_millis(500) {
            findings = count_report_lines(report_dir);
            last_scan = Instant::now();
        }
        pb.set_message(counts.message(findings));
    }
    for r in readers {
        let _ = r.join();
    }
    pb.finish_and_clear();
    child.wait()
}

/// Findings written so far: lines of the report directory's `*.jsonl`.
fn count_report_lines(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .filter_map(|p| std::fs::read(p).ok())
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .sum()
}

/// Test results seen in libtest's output.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    passed: usize,
    failed: usize,
}

impl Counts {
    /// Counts one line of output: libtest prints `test NAME ... ok`.
    pub(crate) fn observe(&mut self, line: &str) {
        let line = line.trim_end();
        if !line.starts_with("test ") {
            return;
        }
        if line.ends_with(" ... ok") {
            self.passed += 1;
        } else if line.ends_with(" ... FAILED") {
            self.failed += 1;
        }
    }

    fn message(&self, findings: usize) -> String {
        if self.passed + self.failed == 0 {
            format!("building and running tests, {findings} finding(s) so far")
        } else {
            format!(
                "{} passed, {} failed, {findings} finding(s) so far",
                self.passed, self.failed
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_lines_are_counted() {
        let mut c = Counts::default();
        for l in [
            "running 3 tests\n",
            "test cache::hits ... ok\n",
            "test pool::drain ... FAILED\n",
            "test result: FAILED. 1 passed; 1 failed\n",
            "test slow ... ignored\n",
        ] {
            c.observe(l);
        }
        assert_eq!(
            c,
            Counts {
                passed: 1,
                failed: 1
            }
        );
        assert_eq!(c.message(2), "1 passed, 1 failed, 2 finding(s) so far");
    }

    #[test]
    fn a_missing_cargo_says_so() {
        let e = std::io::Error::from(std::io::ErrorKind::NotFound);
        let msg = spawn_error(&"/no/cargo".into(), &e);
        assert!(
            msg.starts_with("cannot run `/no/cargo`: not found"),
            "{msg}"
        );
    }
}
