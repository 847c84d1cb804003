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
//! On a CI fleet each machine runs one share (`--partition`,
//! `--schedule-shard`) with `--report-dir`, which keeps the reports and ends
//! with a `run.json` end marker; `cargo race report merge` renders the
//! shares exactly as one unsharded run.
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

use crate::env::{self, Strategy};
use crate::finding::Finding;
use crate::render::{self, Entry, RunOutcome, Sources, Status};

mod args;
mod baseline;
mod cargo;
mod fleet;
mod replay;
mod reports;

use args::{
    CargoArgs, Cli, ColorChoice, Command, ExploreArgs, FleetArgs, Format, MergeArgs, OutputArgs,
    ReportArgs, ReportCommand, Runner,
};
use baseline::Baseline;
use cargo::TestStdout;
use fleet::{ListError, RunRecord, TestEnd};

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
                        env: replay_env(seed, t.explore.strategy),
                        filter: Some(test.as_str()),
                        test_args: &t.test_args,
                        output: &t.output,
                        replay: Some((seed, test.as_str())),
                        fleet: &t.fleet,
                        explore: &t.explore,
                        full: false,
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
                fleet: &t.fleet,
                explore: &t.explore,
                full: false,
            }),
        },
        Command::Replay(r) => test_run(&TestRun {
            cargo: &r.cargo,
            env: replay::with_schedule(replay_env(r.seed, r.strategy), r.schedule.as_deref()),
            filter: Some(r.test.as_str()),
            test_args: &r.test_args,
            output: &r.output,
            replay: Some((r.seed, r.test.as_str())),
            fleet: &FleetArgs::default(),
            explore: &ExploreArgs::default(),
            full: r.full,
        }),
        Command::Report(ReportArgs {
            command: Some(ReportCommand::Merge(m)),
            ..
        }) => merge(&m),
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
                    "",
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
    let mut vars = Vec::new();
    if let Some(n) = e.schedules {
        vars.push((env::SCHEDULES, n.to_string()));
    }
    if let Some(s) = e.seed {
        vars.push((env::SEED, s.to_string()));
    }
    if let Some(s) = e.strategy {
        vars.push((env::STRATEGY, s.to_string()));
    }
    vars
}

/// One schedule, the one `seed` names: schedule 0 of an exploration runs
/// the base seed itself.
fn replay_env(seed: u64, strategy: Option<Strategy>) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        (env::SEED, seed.to_string()),
        (env::SCHEDULES, "1".into()),
        (env::TRACE, "1".into()),
    ];
    if let Some(s) = strategy {
        vars.push((env::STRATEGY, s.to_string()));
    }
    vars
}

/// One `cargo test` (or `cargo nextest run`) under the detector.
struct TestRun<'a> {
    cargo: &'a CargoArgs,
    env: Vec<(&'static str, String)>,
    filter: Option<&'a str>,
    test_args: &'a [String],
    output: &'a OutputArgs,
    replay: Option<(u64, &'a str)>,
    fleet: &'a FleetArgs,
    explore: &'a ExploreArgs,
    /// Replaying: print the original schedule's trace, not the shrunk one's.
    full: bool,
}

/// `--runner auto`: nextest when it answers `cargo nextest --version`.
fn resolve_runner(r: Runner) -> Runner {
    match r {
        Runner::Auto => {
            let ok = Process::new(cargo::cargo())
                .args(["nextest", "--version"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                Runner::Nextest
            } else {
                Runner::Cargo
            }
        }
        r => r,
    }
}

/// The end of a test run, as `cargo race` reports it.
fn test_end(status: ExitStatus) -> TestEnd {
    TestEnd {
        passed: status.success(),
        code: status.code(),
        exit: if status.success() {
            EXIT_OK
        } else {
            test_exit_code(status)
        },
    }
}

fn test_run(run: &TestRun<'_>) -> Result<i32, String> {
    let project = cargo::project(run.cargo.manifest_path.as_deref())?;
    // Read the baseline first: a typo in its name should not cost a test run.
    if let Some(path) = &run.output.baseline {
        if !run.output.update_baseline || path.exists() {
            Baseline::load(path)?;
        }
    }
    let fleet = run.fleet;
    let runner = resolve_runner(fleet.runner);
    if runner == Runner::Nextest && run.cargo.doc {
        return Err("nextest does not run doc tests: drop --doc, or use --runner cargo".into());
    }
    if runner == Runner::Cargo && fleet.archive_file.is_some() {
        return Err("--archive-file needs --runner nextest".into());
    }
    let report_dir = match &fleet.report_dir {
        Some(dir) => fleet::prepare_report_dir(dir)?,
        None => fresh_report_dir(&project.target_directory)?,
    };
    let mut env_vars = run.env.clone();
    env_vars.push((env::RACE, "1".into()));

    // Which tests run: a partition (listed here for cargo; nextest
    // partitions itself), and how many there are, to spread a time budget.
    let mut selected: Option<Vec<String>> = None;
    let mut tests_selected = None;
    let mut ended_early: Option<TestEnd> = None;
    if (fleet.partition.is_some() && runner == Runner::Cargo) || fleet.time_budget.is_some() {
        let listed = match runner {
            Runner::Nextest => {
                let mut cmd = Process::new(cargo::cargo());
                cmd.args(["nextest", "list"]);
                nextest_args(&mut cmd, run, true);
                cmd.args(["--message-format", "json"]);
                fleet::count_nextest_tests(cmd, test_end).map(|n| (None, n))
            }
            _ => {
                let mut cmd = Process::new(cargo::cargo());
                cmd.arg("test").args(run.cargo.to_args());
                if let Some(f) = run.filter {
                    cmd.arg(f);
                }
                cmd.arg("--")
                    .args(run.test_args)
                    .args(["--list", "--format", "terse"]);
                fleet::list_cargo_tests(cmd, test_end).map(|names| {
                    let names = match fleet.partition {
                        Some(p) => fleet::select(&names, p),
                        None => names,
                    };
                    let n = names.len();
                    (fleet.partition.map(|_| names), n)
                })
            }
        };
        match listed {
            Ok((names, n)) => {
                selected = names;
                tests_selected = Some(n);
            }
            Err(ListError::Spawn(e)) => return Err(cargo::spawn_error(&cargo::cargo(), &e)),
            Err(ListError::Output(e)) => return Err(e),
            // The build failed: the run ends there, as an unsharded one would.
            Err(ListError::Failed(end)) => ended_early = Some(end),
        }
    }
    if let Some(budget) = fleet.time_budget {
        let per_test =
            budget / u32::try_from(tests_selected.unwrap_or(1).max(1)).unwrap_or(u32::MAX);
        env_vars.push((
            env::TEST_TIME_BUDGET,
            env::format_duration(per_test.max(std::time::Duration::from_millis(1))),
        ));
        if run.explore.schedules.is_none() {
            // The budget, not a count, ends each exploration.
            env_vars.push((env::SCHEDULES, u32::MAX.to_string()));
        }
    }
    if let Some(s) = fleet.schedule_shard {
        env_vars.push((env::SCHEDULE_SHARD, s.to_string()));
    }
    if selected.as_ref().is_some_and(Vec::is_empty) && ended_early.is_none() {
        // `--exact` with no names would run every test.
        eprintln!(
            "cargo race: partition {} has no tests",
            fleet.partition.map(|p| p.to_string()).unwrap_or_default()
        );
        ended_early = Some(TestEnd::PASSED);
    }

    let mut cmd = Process::new(cargo::cargo());
    match runner {
        Runner::Nextest => {
            cmd.args(["nextest", "run"]);
            nextest_args(&mut cmd, run, false);
            if !run.cargo.no_fail_fast {
                // As `cargo test` runs every test of a binary: a failing
                // test must not hide the findings of the others.
                cmd.arg("--no-fail-fast");
            }
            if !run.test_args.is_empty() {
                cmd.arg("--").args(run.test_args);
            }
        }
        _ => {
            cmd.arg("test").args(run.cargo.to_args());
            match &selected {
                Some(names) => {
                    cmd.arg("--").args(run.test_args).arg("--exact").args(names);
                }
                None => {
                    if let Some(f) = run.filter {
                        cmd.arg(f);
                    }
                    if !run.test_args.is_empty() {
                        cmd.arg("--").args(run.test_args);
                    }
                }
            }
        }
    }
    cmd.env(env::REPORT_DIR, &report_dir);
    for (k, v) in &env_vars {
        cmd.env(k, v);
    }
    if run.output.format == Format::Html {
        // The HTML report draws each finding's schedule from its trace.
        cmd.env(env::TRACE, "1");
    }
    let stdout = if machine_stdout(run.output) {
        TestStdout::Stderr
    } else {
        TestStdout::Stdout
    };
    let status = match ended_early {
        Some(end) => Ok(end),
        None => cargo::run_tests(cmd, stdout, &report_dir).map(test_end),
    };
    let dirs = std::slice::from_ref(&report_dir);
    let (findings, warnings) = reports::read_reports(dirs);
    let counts = fleet::read_schedule_counts(dirs);
    let verdicts = fleet::read_verdicts(dirs);
    let trace = if run.replay.is_some() || run.output.format == Format::Html {
        reports::read_traces(&report_dir)
    } else {
        Vec::new()
    };
    let end = match status {
        Ok(end) => end,
        Err(e) => {
            if fleet.report_dir.is_none() {
                let _ = std::fs::remove_dir_all(&report_dir);
            }
            return Err(cargo::spawn_error(&cargo::cargo(), &e));
        }
    };
    if fleet.report_dir.is_some() {
        RunRecord::new(
            match runner {
                Runner::Nextest => "nextest",
                _ => "cargo",
            },
            fleet.partition,
            fleet.schedule_shard,
            (
                run.explore.schedules,
                run.explore.seed,
                run.explore.strategy.map(|s| s.to_string()),
            ),
            fleet.time_budget,
            tests_selected,
            end,
            findings.len(),
            counts.clone(),
        )
        .save(&report_dir)?;
    } else {
        // The reports are read; a leftover directory would only fill target/.
        let _ = std::fs::remove_dir_all(&report_dir);
    }

    if let Some((seed, test)) = run.replay {
        let mut line = replay::traces(&trace, &findings, run.full);
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
    let mut note = if fleet.time_budget.is_some() || fleet.schedule_shard.is_some() {
        fleet::schedule_count_note(&counts)
    } else {
        String::new()
    };
    note.push_str(&fleet::verdict_note(&verdicts));
    finish(
        findings,
        &trace,
        &warnings,
        outcome_of(end),
        &project.workspace_root,
        run.output,
        Some(end.exit),
        &note,
    )
}

fn outcome_of(end: TestEnd) -> RunOutcome {
    if end.passed {
        RunOutcome::Passed
    } else {
        RunOutcome::Failed(end.code)
    }
}

/// The options of `cargo nextest run` (or `list`): cargo's, renamed where
/// nextest names them differently, then the fleet's, then the filter.
fn nextest_args(cmd: &mut Process, run: &TestRun<'_>, listing: bool) {
    for a in run.cargo.to_args() {
        match a.as_str() {
            "--no-fail-fast" if listing => continue,
            "--jobs" => cmd.arg("--build-jobs"),
            "--quiet" => cmd.arg("--cargo-quiet"),
            "--verbose" => cmd.arg("--cargo-verbose"),
            _ => cmd.arg(a),
        };
    }
    if let Some(f) = &run.fleet.archive_file {
        cmd.arg("--archive-file").arg(f);
    }
    if let Some(d) = &run.fleet.workspace_remap {
        cmd.arg("--workspace-remap").arg(d);
    }
    if let Some(p) = run.fleet.partition {
        cmd.arg("--partition").arg(p.to_string());
    }
    if let Some(f) = run.filter {
        cmd.arg(f);
    }
}

/// `cargo race report merge`: the shares of one run, rendered as that run.
fn merge(m: &MergeArgs) -> Result<i32, String> {
    let root = m
        .root
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    let mut shares = fleet::load_shares(&m.paths)?;
    fleet::check_complete(&mut shares)?;
    let dirs: Vec<PathBuf> = shares.iter().map(|(d, _)| d.clone()).collect();
    let (findings, warnings) = reports::read_reports(&dirs);
    // The first failing share (in partition, then shard order) decides the
    // code, as the first failing test binary decides an unsharded run's.
    let end = shares
        .iter()
        .map(|(_, r)| r.test_run)
        .find(|e| !e.passed)
        .unwrap_or(TestEnd::PASSED);
    let mut note = if shares
        .iter()
        .any(|(_, r)| r.time_budget_ms.is_some() || r.schedule_shard.is_some())
    {
        let mut counts = std::collections::BTreeMap::new();
        for (_, r) in &shares {
            for (t, n) in &r.schedule_counts {
                *counts.entry(t.clone()).or_insert(0) += n;
            }
        }
        fleet::schedule_count_note(&counts)
    } else {
        String::new()
    };
    // Each exhaustive exploration's verdict, as the unsharded run prints
    // it (from the shares' schedule-count files).
    note.push_str(&fleet::verdict_note(&fleet::read_verdicts(&dirs)));
    eprintln!("cargo race: merged {} share(s)", shares.len());
    finish(
        findings,
        &[],
        &warnings,
        outcome_of(end),
        &root,
        &m.output,
        Some(end.exit),
        &note,
    )
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

/// Whether stdout carries JSON, SARIF or annotations, which nothing else
/// may interleave.
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
// One call per command, each passing what it has: a struct would only
// rename these eight.
#[allow(clippy::too_many_arguments)]
fn finish(
    findings: Vec<Finding>,
    traces: &[crate::trace::TraceStep],
    warnings: &[String],
    outcome: RunOutcome,
    root: &Path,
    out: &OutputArgs,
    test_exit: Option<i32>,
    note: &str,
) -> Result<i32, String> {
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let mut sources = Sources::new(root);
    let mut entries = render::gather(in_first_found_order(findings));

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
    let mut summary = render::summary(&entries, outcome);
    summary.push_str(note);
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
        Format::Github => render::github_annotations(&shown),
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
    if out.format != Format::Github
        && std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
    {
        print_out(&render::github_annotations(&shown), machine_stdout(out));
    }

    if entries.iter().any(|e| e.status.fails()) {
        return Ok(EXIT_FINDINGS);
    }
    Ok(test_exit.unwrap_or(EXIT_OK))
}

/// Findings in a total order that puts first, for each bug, the one a
/// single unsharded run reports: the lowest schedule index (each
/// exploration keeps its first), then seed, then test, then the whole
/// line. [`render::gather`] keeps the first of each, so the same findings
/// render the same whatever the order processes, partitions or shards
/// wrote them in.
fn in_first_found_order(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by_cached_key(|f| {
        let mut line = Vec::new();
        let _ = f.write_json_line(&mut line);
        (f.schedule, f.seed, f.test.clone(), line)
    });
    findings
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
