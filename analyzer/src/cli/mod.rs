//! `cargo race`: runs tests under the detector and gates CI on what it
//! finds.
//!
//! The binary `cargo-race` is a thin wrapper around [`run`]; cargo invokes
//! it as `cargo-race race ARGS..` for `cargo race ARGS..`.
//!
//! The test processes and `cargo race` share no memory: each test process
//! that runs `goro::race::explore` appends its findings to
//! `$GORO_REPORT_DIR/goro-<pid>.jsonl` ([`crate::finding::SCHEMA`]), and
//! `cargo race` reads them once `cargo test` has finished.
//!
//! Whether a finding fails the run: a report line's `expected` field marks
//! findings its test declared (`#[goro::instrument(expect = "..")]`); an
//! absent field means unexpected. Unexpected findings fail the run unless
//! the `--baseline` file accepts them.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, ExitStatus};

use clap::error::ErrorKind;
use clap::Parser;

use crate::finding::Finding;
use crate::render::{self, Entry, RunOutcome, Sources, Status};

mod args;
mod baseline;
mod cargo;
mod reports;

use args::{CargoArgs, Cli, ColorChoice, Command, ExploreArgs, Format, OutputArgs};
use baseline::Baseline;
use cargo::TestStdout;

/// Exit code: no unexpected finding and the tests passed.
pub const EXIT_OK: i32 = 0;
/// Exit code: unexpected findings.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code: a usage or environment error.
pub const EXIT_USAGE: i32 = 2;

/// Runs `cargo race` with these arguments (the program name first, then
/// optionally `race`, as cargo passes it) and returns the exit code:
/// [`EXIT_OK`], [`EXIT_FINDINGS`], [`EXIT_USAGE`], or the failing test run's
/// own code. Errors are printed as one `error:` line on stderr; nothing
/// panics on bad input.
///
/// # Examples
///
/// ```
/// use goro_analyzer::cli::{run, EXIT_OK, EXIT_USAGE};
///
/// assert_eq!(run(["cargo-race", "race", "--version"]), EXIT_OK);
/// assert_eq!(run(["cargo-race", "race", "test", "--schedules", "none"]), EXIT_USAGE);
/// ```
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // `cargo race x` runs `cargo-race race x`; `cargo-race x` works too.
    if args.get(1).is_some_and(|a| a == "race") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    EXIT_OK
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    EXIT_USAGE
                }
                _ => {
                    // clap's first line says what is wrong; its usage block
                    // is one `--help` away.
                    let text = e.render().to_string();
                    let first = text.lines().next().unwrap_or("error: bad usage");
                    eprintln!("{first} (see `cargo race --help`)");
                    EXIT_USAGE
                }
            };
        }
    };
    let result = match cli.command {
        Command::Test(t) => match t.replay {
            Some(replay) => {
                let (seed, test) = (&replay[0], &replay[1]);
                match args::parse_seed(seed) {
                    Ok(seed) => test_run(&TestRun {
                        cargo: &t.cargo,
                        env: replay_env(seed, t.explore.strategy.as_deref()),
                        filter: Some(test.as_str()),
                        test_args: &t.test_args,
                        output: &t.output,
                        replay: Some((seed, test.as_str())),
                    }),
                    Err(e) => Err(format!("invalid value '{seed}' for '--replay': {e}")),
                }
            }
            None => test_run(&TestRun {
                cargo: &t.cargo,
                env: explore_env(&t.explore),
                filter: t.filter.as_deref(),
                test_args: &t.test_args,
                output: &t.output,
                replay: None,
            }),
        },
        Command::Replay(r) => test_run(&TestRun {
            cargo: &r.cargo,
            env: replay_env(r.seed, r.strategy.as_deref()),
            filter: Some(r.test.as_str()),
            test_args: &r.test_args,
            output: &r.output,
            replay: Some((r.seed, r.test.as_str())),
        }),
        Command::Report(r) => {
            let root = r
                .root
                .clone()
                .or_else(|| std::env::current_dir().ok())
                .unwrap_or_else(|| PathBuf::from("."));
            let missing: Vec<String> = r
                .paths
                .iter()
                .filter(|p| !p.exists())
                .map(|p| p.display().to_string())
                .collect();
            if missing.is_empty() {
                let (traces, paths): (Vec<PathBuf>, Vec<PathBuf>) = r
                    .paths
                    .iter()
                    .cloned()
                    .partition(|p| p.extension().is_some_and(|x| x == "trace"));
                let (findings, warnings) = reports::read_reports(&paths);
                let traces = if r.output.format == Format::Html {
                    reports::traces_for(&paths, &traces)
                } else {
                    Vec::new()
                };
                finish(
                    findings,
                    &traces,
                    &warnings,
                    RunOutcome::NotRun,
                    &root,
                    &r.output,
                    None,
                )
            } else {
                Err(format!(
                    "no such report file or directory: {}",
                    missing.join(", ")
                ))
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}

fn explore_env(e: &ExploreArgs) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    if let Some(n) = e.schedules {
        env.push(("GORO_SCHEDULES", n.to_string()));
    }
    if let Some(s) = e.seed {
        env.push(("GORO_SEED", s.to_string()));
    }
    if let Some(s) = &e.strategy {
        env.push(("GORO_STRATEGY", s.clone()));
    }
    env
}

/// One schedule, the one `seed` names: schedule 0 of an exploration runs
/// the base seed itself.
fn replay_env(seed: u64, strategy: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("GORO_SEED", seed.to_string()),
        ("GORO_SCHEDULES", "1".into()),
        ("GORO_TRACE", "1".into()),
    ];
    if let Some(s) = strategy {
        env.push(("GORO_STRATEGY", s.to_string()));
    }
    env
}

/// One `cargo test` under the detector.
struct TestRun<'a> {
    cargo: &'a CargoArgs,
    env: Vec<(&'static str, String)>,
    filter: Option<&'a str>,
    test_args: &'a [String],
    output: &'a OutputArgs,
    replay: Option<(u64, &'a str)>,
}

fn test_run(run: &TestRun<'_>) -> Result<i32, String> {
    let project = cargo::project(run.cargo.manifest_path.as_deref())?;
    // Read the baseline first: a typo in its name should not cost a test run.
    if let Some(path) = &run.output.baseline {
        if !run.output.update_baseline || path.exists() {
            Baseline::load(path)?;
        }
    }
    let report_dir = fresh_report_dir(&project.target_directory)?;

    let mut cmd = Process::new(cargo::cargo());
    cmd.arg("test").args(run.cargo.to_args());
    if let Some(f) = run.filter {
        cmd.arg(f);
    }
    if !run.test_args.is_empty() {
        cmd.arg("--").args(run.test_args);
    }
    cmd.env("GORO_RACE", "1")
        .env("GORO_REPORT_DIR", &report_dir);
    for (k, v) in &run.env {
        cmd.env(k, v);
    }
    if run.output.format == Format::Html {
        // The HTML report draws each finding's schedule from its trace.
        cmd.env("GORO_TRACE", "1");
    }
    let stdout = if machine_stdout(run.output) {
        TestStdout::Stderr
    } else {
        TestStdout::Stdout
    };
    let status = cargo::run_tests(cmd, stdout, &report_dir);
    let (findings, warnings) = reports::read_reports(std::slice::from_ref(&report_dir));
    let trace = if run.replay.is_some() || run.output.format == Format::Html {
        reports::read_traces(&report_dir)
    } else {
        Vec::new()
    };
    // The reports are read; a leftover directory would only fill target/.
    let _ = std::fs::remove_dir_all(&report_dir);
    let status = status.map_err(|e| cargo::spawn_error(&cargo::cargo(), &e))?;

    if let Some((seed, test)) = run.replay {
        let mut line = render::trace(&trace);
        line.push_str(&format!(
            "cargo race: replayed `{test}` with seed {seed} (one schedule): {} finding(s)",
            findings.len()
        ));
        if stdout == TestStdout::Stdout && run.output.output.is_none() {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    }
    let outcome = if status.success() {
        RunOutcome::Passed
    } else {
        RunOutcome::Failed(status.code())
    };
    let code = finish(
        findings,
        &trace,
        &warnings,
        outcome,
        &project.workspace_root,
        run.output,
        Some(status),
    )?;
    Ok(code)
}

/// A new, empty directory for this run's reports, inside the target
/// directory (so no temporary files leak elsewhere, and concurrent runs
/// never share one).
fn fresh_report_dir(target: &Path) -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = target
        .join("goro-race")
        .join(format!("run-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the report directory {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Whether stdout carries JSON or SARIF, which nothing else may interleave.
fn machine_stdout(out: &OutputArgs) -> bool {
    out.format != Format::Human && out.output.is_none()
}

fn use_color(out: &OutputArgs) -> bool {
    match out.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty())
                && out.output.is_none()
                && std::io::stdout().is_terminal()
        }
    }
}

/// Renders, summarises, applies the baseline and computes the exit code.
fn finish(
    findings: Vec<Finding>,
    traces: &[crate::trace::TraceStep],
    warnings: &[String],
    outcome: RunOutcome,
    root: &Path,
    out: &OutputArgs,
    status: Option<ExitStatus>,
) -> Result<i32, String> {
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let mut sources = Sources::new(root);
    let mut entries = render::gather(findings);

    if let Some(path) = &out.baseline {
        let baseline = if out.update_baseline {
            let accepted: Vec<Entry> = entries
                .iter()
                .filter(|e| e.status != Status::Expected)
                .cloned()
                .collect();
            let b = Baseline::of(&accepted, &mut sources);
            b.save(path)?;
            eprintln!(
                "cargo race: wrote {} finding(s) to the baseline {}",
                b.len(),
                path.display()
            );
            b
        } else {
            Baseline::load(path)?
        };
        for e in &mut entries {
            if e.status == Status::Unexpected && baseline.contains(e, &mut sources) {
                e.status = Status::Known;
            }
        }
    }

    let shown: Vec<Entry> = entries
        .iter()
        .filter(|e| out.show_expected || e.status.fails())
        .cloned()
        .collect();
    let summary = render::summary(&entries, outcome);
    let color = use_color(out);
    let body = match out.format {
        Format::Human => {
            let mut s = render::human(&shown, &mut sources, color);
            s.push_str(&summary);
            s
        }
        Format::Json => render::json_lines(&shown),
        Format::Sarif => {
            let log = render::sarif(&shown, &mut sources);
            let mut s = serde_json::to_string_pretty(&log)
                .map_err(|e| format!("cannot serialize SARIF: {e}"))?;
            s.push('\n');
            s
        }
        Format::Html => render::html(&shown, traces, &mut sources),
    };
    match &out.output {
        Some(path) => {
            std::fs::write(path, &body)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            print_out(&summary, false);
        }
        None => {
            print_out(&body, false);
            if out.format != Format::Human {
                print_out(&summary, true);
            }
        }
    }
    if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        print_out(&render::github_annotations(&shown), machine_stdout(out));
    }

    if entries.iter().any(|e| e.status.fails()) {
        return Ok(EXIT_FINDINGS);
    }
    Ok(match status {
        Some(s) => test_exit_code(s),
        None => EXIT_OK,
    })
}

/// Prints to stdout (or stderr); a closed pipe (`| head`) is not an error
/// worth a panic.
fn print_out(s: &str, to_stderr: bool) {
    let _ = if to_stderr {
        std::io::stderr().write_all(s.as_bytes())
    } else {
        let mut o = std::io::stdout().lock();
        o.write_all(s.as_bytes()).and_then(|()| o.flush())
    };
}

/// The test run's own code when it failed without unexpected findings.
/// cargo exits 101 when a test fails or the build breaks, and 1 when it
/// rejects its arguments: that is a usage error of ours (2), not a finding.
fn test_exit_code(status: ExitStatus) -> i32 {
    if status.success() {
        return EXIT_OK;
    }
    match status.code() {
        Some(1 | 2) => EXIT_USAGE,
        Some(c) => c,
        None => signal_code(status),
    }
}

#[cfg(unix)]
fn signal_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    // As a shell reports a command a signal ended.
    status.signal().map_or(101, |s| 128 + s)
}

#[cfg(not(unix))]
fn signal_code(_: ExitStatus) -> i32 {
    101
}
