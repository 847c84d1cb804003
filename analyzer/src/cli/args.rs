//! The command line, declared with clap's derive API so that `--help` is
//! generated from the same declarations that parse.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env::{self, Shard, Strategy};

/// The exit codes, shown by `--help` and documented in the README.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0    no unexpected finding, and every test passed
  1    unexpected findings (not expected by their test, not in the baseline)
  2    usage or environment error: a bad option value, no cargo project, no cargo,
       an unreadable baseline, or cargo itself rejecting the test invocation
  *    otherwise the test run's own failure code (101 when a test failed)";

/// Runs tests under goro's race, leak and deadlock detector, and gates CI on
/// what it finds.
#[derive(Debug, Parser)]
#[command(
    name = "cargo race",
    bin_name = "cargo race",
    version,
    after_help = EXIT_CODES,
    disable_help_subcommand = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Build and run the tests under the detector, then report every finding.
    ///
    /// Runs `cargo test` (the cargo that `$CARGO` names, else `cargo` on the PATH) with
    /// GORO_RACE=1, a fresh GORO_REPORT_DIR and the exploration settings, streams its
    /// output, then gathers the findings every test process wrote, deduplicates them
    /// across tests, renders them and prints a summary.
    #[command(after_help = EXIT_CODES)]
    Test(TestArgs),
    /// Rerun one test under one schedule: the seed a finding names.
    ///
    /// Runs `cargo test TEST` with GORO_SEED=SEED GORO_SCHEDULES=1 GORO_TRACE=1 and prints
    /// what that schedule finds. The test process shrinks each finding's schedule and
    /// replays the shortest one; this prints that shrunk schedule step by step (--full:
    /// the original schedule), its GORO_REPLAY value, and how much it shrank. The same
    /// seed gives the same schedule as long as the test's code and strategy are
    /// unchanged; pass the run's --strategy if it set one, and --schedule for a finding
    /// of an exhaustive search (its seed does not name its schedule). Each finding's
    /// `reproduce:` line is this command, filled in.
    #[command(after_help = EXIT_CODES)]
    Replay(ReplayArgs),
    /// Render findings from existing report files (JSON Lines) or directories of them.
    ///
    /// For reports collected elsewhere, e.g. GORO_REPORT_DIR of a test run you drove
    /// yourself. Exits 1 on unexpected findings, 2 on bad usage, else 0. `cargo race
    /// report merge` merges the shares of a run spread over a CI fleet.
    Report(ReportArgs),
}

/// `cargo race test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    #[command(flatten)]
    pub cargo: CargoArgs,
    #[command(flatten)]
    pub explore: ExploreArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Replay one finding instead: the same as `cargo race replay --seed SEED TEST`.
    #[arg(long, num_args = 2, value_names = ["SEED", "TEST"], help_heading = "Exploration")]
    pub replay: Option<Vec<String>>,
    /// Run only the tests whose name contains this (as `cargo test` takes it).
    #[arg(value_name = "TESTNAME")]
    pub filter: Option<String>,
    /// Arguments for the test binaries (after `--`), e.g. `--exact`, `--test-threads 1`.
    #[arg(last = true, value_name = "ARGS")]
    pub test_args: Vec<String>,
}

/// `cargo race replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The seed a finding's reproduce line names.
    #[arg(long, value_parser = parse_seed, allow_hyphen_values = true)]
    pub seed: u64,
    /// The strategy of the run that found it, if it set one.
    #[arg(long, value_parser = parse_strategy, help_heading = "Exploration")]
    pub strategy: Option<Strategy>,
    /// Print the original schedule's trace, not the shrunk one's.
    #[arg(long, help_heading = "Exploration")]
    pub full: bool,
    /// Replay this explicit schedule (a finding's GORO_REPLAY value) instead.
    #[arg(long, value_parser = parse_schedule, help_heading = "Exploration")]
    pub schedule: Option<String>,
    #[command(flatten)]
    pub cargo: CargoArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The test to replay (its name as `cargo test` filters by it).
    #[arg(value_name = "TEST")]
    pub test: String,
    /// Arguments for the test binaries (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    pub test_args: Vec<String>,
}

/// `cargo race report`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCommand>,
    /// Report files (`*.jsonl`), schedule traces (`*.trace`, drawn by --format html) or
    /// directories holding them; a report's `NAME.trace` beside it is read too.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// The directory the findings' file names are relative to (the workspace root
    /// of the run that wrote them); defaults to the current directory.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `cargo race report merge`.
#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// Merge the report directories of the partitions and schedule shards of one run.
    ///
    /// Each PATH is a directory that `cargo race test --report-dir` wrote (it ends with
    /// the run.json end marker), or a directory of such directories (one per CI job).
    /// Findings are deduplicated exactly as one unsharded run would (keeping, for each,
    /// the lowest schedule index, then seed, then test name), and the exit code is the
    /// unsharded run's: 1 on unexpected findings, else the first failing shard's test
    /// run code, else 0. Each exhaustive exploration's verdict (complete or incomplete,
    /// with its schedule count) is printed per test as the unsharded run prints it;
    /// several verdicts under one test name (two explorations) are complete together
    /// only if each is. A missing shard, or a directory without its end marker, is an
    /// error (2) naming it.
    #[command(after_help = EXIT_CODES)]
    Merge(MergeArgs),
}

/// `cargo race report merge`.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Report directories of `cargo race test --report-dir`, or directories of them.
    #[arg(value_name = "DIR", required = true)]
    pub paths: Vec<PathBuf>,
    /// The directory the findings' file names are relative to (the workspace root
    /// of the runs that wrote them); defaults to the current directory.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options passed through to `cargo test`.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Cargo test options (passed through)")]
pub(crate) struct CargoArgs {
    /// Package(s) to test.
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    pub package: Vec<String>,
    /// Test every package in the workspace.
    #[arg(long)]
    pub workspace: bool,
    /// Exclude packages from --workspace.
    #[arg(long, value_name = "SPEC")]
    pub exclude: Vec<String>,
    /// Features to activate (space or comma separated).
    #[arg(short = 'F', long, value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Activate all features.
    #[arg(long)]
    pub all_features: bool,
    /// Do not activate the `default` feature.
    #[arg(long)]
    pub no_default_features: bool,
    /// Build in release mode, with optimizations.
    #[arg(short = 'r', long)]
    pub release: bool,
    /// Build with this profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Build for this target triple.
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// Directory for all generated artifacts.
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Test only this package's library.
    #[arg(long)]
    pub lib: bool,
    /// Test only the named binary.
    #[arg(long, value_name = "NAME")]
    pub bin: Vec<String>,
    /// Test all binaries.
    #[arg(long)]
    pub bins: bool,
    /// Test only the named integration test target.
    #[arg(long = "test", value_name = "NAME")]
    pub test_target: Vec<String>,
    /// Test all integration test targets.
    #[arg(long)]
    pub tests: bool,
    /// Test only this library's documentation.
    #[arg(long)]
    pub doc: bool,
    /// Run all tests even when one test binary fails.
    #[arg(long)]
    pub no_fail_fast: bool,
    /// Number of parallel build jobs.
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<String>,
    /// Require Cargo.lock to be up to date.
    #[arg(long)]
    pub locked: bool,
    /// Run without accessing the network.
    #[arg(long)]
    pub offline: bool,
    /// Require Cargo.lock and cache to be up to date.
    #[arg(long)]
    pub frozen: bool,
    /// Do not print cargo log messages.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Use verbose output (-vv very verbose).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Exploration settings, exported to every test as GORO_* variables.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Exploration")]
pub(crate) struct ExploreArgs {
    /// Schedules each detected test runs (GORO_SCHEDULES; at least 1).
    #[arg(long, value_name = "N", value_parser = parse_schedules)]
    pub schedules: Option<u32>,
    /// Base seed of the schedules (GORO_SEED; decimal or 0x hex).
    #[arg(long, value_name = "S", value_parser = parse_seed, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Scheduling strategy (GORO_STRATEGY): portfolio (the default), random,
    /// pct, pct:DEPTH, exhaustive or exhaustive:PREEMPTIONS (every schedule,
    /// --schedules being the budget; prints a complete/incomplete verdict
    /// per test).
    #[arg(long, value_name = "STRATEGY", value_parser = parse_strategy)]
    pub strategy: Option<Strategy>,
}

/// Running one share of the work on each machine of a CI fleet.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Fleet")]
pub(crate) struct FleetArgs {
    /// Run only partition K of N of the tests: `hash:K/N` (by a stable hash of the
    /// test name) or `count:K/N` (round-robin over the sorted test names). Each test
    /// lands in exactly one partition, the same on every machine.
    #[arg(long, value_name = "hash:K/N|count:K/N", value_parser = parse_partition)]
    pub partition: Option<Partition>,
    /// Run every test, but only share K of N of each exploration's schedules
    /// (GORO_SCHEDULE_SHARD): schedule i runs in shard i % N + 1, with the seed it
    /// has in an unsharded run.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub schedule_shard: Option<Shard>,
    /// The test runner: cargo (`cargo test`), nextest (`cargo nextest run`), or auto
    /// (nextest when `cargo nextest --version` works, else cargo).
    #[arg(long, value_enum, value_name = "RUNNER", default_value_t = Runner::Cargo)]
    pub runner: Runner,
    /// Explore schedules until this much time has passed (e.g. 90s, 10m, 1h),
    /// spread evenly over the selected tests (GORO_TEST_TIME_BUDGET per test); every
    /// exploring test runs at least one schedule. Without --schedules there is no
    /// schedule limit. The schedules each test got are printed and recorded.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub time_budget: Option<Duration>,
    /// Keep this run's reports in DIR (which must be empty or absent), ending with a
    /// run.json end marker, for `cargo race report merge`.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// With nextest: run the tests of this `cargo nextest archive` (passed through).
    #[arg(long, value_name = "FILE")]
    pub archive_file: Option<PathBuf>,
    /// With nextest and --archive-file: where the archived workspace is checked out
    /// (passed through as --workspace-remap).
    #[arg(long, value_name = "DIR", requires = "archive_file")]
    pub workspace_remap: Option<PathBuf>,
}

/// `--runner`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Runner {
    /// `cargo test`.
    #[default]
    Cargo,
    /// `cargo nextest run`.
    Nextest,
    /// nextest when installed, else cargo.
    Auto,
}

/// How `--partition` assigns tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PartitionKind {
    /// By a stable hash of the test name.
    Hash,
    /// Round-robin over the sorted test names.
    Count,
}

/// `--partition hash:K/N` or `count:K/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Partition {
    pub kind: PartitionKind,
    pub shard: Shard,
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            PartitionKind::Hash => "hash",
            PartitionKind::Count => "count",
        };
        write!(f, "{kind}:{}", self.shard)
    }
}

/// `hash:K/N` or `count:K/N`.
pub(crate) fn parse_partition(s: &str) -> Result<Partition, String> {
    let bad = || "expected hash:K/N or count:K/N with 1 <= K <= N".to_string();
    let (kind, shard) = s.trim().split_once(':').ok_or_else(bad)?;
    let kind = match kind {
        "hash" => PartitionKind::Hash,
        "count" => PartitionKind::Count,
        _ => return Err(bad()),
    };
    let shard = shard.parse::<Shard>().map_err(|_| bad())?;
    Ok(Partition { kind, shard })
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse::<Shard>().map_err(|a| format!("expected {a}"))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    env::parse_duration(s).map_err(|a| format!("expected {a}"))
}

/// How and where findings are written.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub(crate) struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the findings to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Findings recorded in FILE do not fail the run (matched by kind, file and
    /// source text, so unrelated edits that shift lines keep them matched).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write this run's findings to the --baseline FILE, accepting them.
    #[arg(long, requires = "baseline")]
    pub update_baseline: bool,
    /// Also show findings that do not fail the run (expected by their test, or
    /// in the baseline).
    #[arg(long)]
    pub show_expected: bool,
    /// Coloring: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// rustc-style diagnostics with source snippets, then a summary table.
    Human,
    /// JSON Lines: one finding per line, the goro-finding/1 schema.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands: one `::error file=..` annotation per finding.
    Github,
    /// One self-contained HTML page (write it with --output): a summary table and, per
    /// finding, a sequence diagram of its schedule (from the *.trace files beside the
    /// reports; `cargo race test` records them for this format), its graphs and sources.
    Html,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Color on a terminal, unless NO_COLOR is set.
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

// The value parsers are the `GORO_*` contract's own (`crate::env`), so a
// value `cargo race` accepts is one the runtime accepts.

/// A seed: decimal or 0x-prefixed hex, as GORO_SEED takes it.
pub(crate) fn parse_seed(s: &str) -> Result<u64, String> {
    env::parse_seed(s).map_err(|a| format!("expected {a}"))
}

fn parse_schedules(s: &str) -> Result<u32, String> {
    env::parse_schedules(s).map_err(|a| format!("expected {a}"))
}

/// `random`, `pct` or `pct:DEPTH` with DEPTH >= 1, as GORO_STRATEGY takes it.
fn parse_strategy(s: &str) -> Result<Strategy, String> {
    env::parse_strategy(s).map_err(|a| format!("expected {a}"))
}

/// A schedule's text form, as far as its alphabet: the test process
/// checks the rest and names any bad entry.
fn parse_schedule(s: &str) -> Result<String, String> {
    let t = s.trim();
    if !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '_' | 't' | 'x' | ','))
    {
        Ok(t.to_string())
    } else {
        Err("expected a schedule as a finding's GORO_REPLAY names it, e.g. `_x3,2`".into())
    }
}

impl CargoArgs {
    /// The options as `cargo test` arguments.
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let many = |flag: &str, values: &[String], a: &mut Vec<String>| {
            for v in values {
                a.push(flag.to_string());
                a.push(v.clone());
            }
        };
        many("--package", &self.package, &mut a);
        many("--exclude", &self.exclude, &mut a);
        many("--features", &self.features, &mut a);
        many("--bin", &self.bin, &mut a);
        many("--test", &self.test_target, &mut a);
        let flags = [
            (self.workspace, "--workspace"),
            (self.all_features, "--all-features"),
            (self.no_default_features, "--no-default-features"),
            (self.release, "--release"),
            (self.lib, "--lib"),
            (self.bins, "--bins"),
            (self.tests, "--tests"),
            (self.doc, "--doc"),
            (self.no_fail_fast, "--no-fail-fast"),
            (self.locked, "--locked"),
            (self.offline, "--offline"),
            (self.frozen, "--frozen"),
            (self.quiet, "--quiet"),
        ];
        for (on, flag) in flags {
            if on {
                a.push(flag.to_string());
            }
        }
        let opts = [
            ("--profile", self.profile.clone()),
            (
                "--manifest-path",
                self.manifest_path
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            ),
            ("--target", self.target.clone()),
            (
                "--target-dir",
                self.target_dir
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            ),
            ("--jobs", self.jobs.clone()),
        ];
        for (flag, v) in opts {
            if let Some(v) = v {
                a.push(flag.to_string());
                a.push(v);
            }
        }
        for _ in 0..self.verbose {
            a.push("--verbose".into());
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cargo_options_pass_through() {
        let cli = Cli::try_parse_from([
            "cargo race",
            "test",
            "-p",
            "svc",
            "--features",
            "a b",
            "--release",
            "--manifest-path",
            "x/Cargo.toml",
            "--schedules",
            "50",
            "cache",
            "--",
            "--exact",
        ])
        .unwrap();
        let Command::Test(t) = cli.command else {
            panic!("not test")
        };
        assert_eq!(
            t.cargo.to_args(),
            [
                "--package",
                "svc",
                "--features",
                "a b",
                "--release",
                "--manifest-path",
                "x/Cargo.toml"
            ]
        );
        assert_eq!(t.explore.schedules, Some(50));
        assert_eq!(t.filter.as_deref(), Some("cache"));
        assert_eq!(t.test_args, ["--exact"]);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["cargo race", "test", "--schedules", "0"][..],
            &["cargo race", "test", "--seed", "-3"],
            &["cargo race", "test", "--strategy", "pct:0"],
            &["cargo race", "test", "--format", "xml"],
            &["cargo race", "test", "--update-baseline"],
            &["cargo race", "replay", "t"],
            &["cargo race", "test", "--partition", "mod:1/2"],
            &["cargo race", "test", "--partition", "hash:3/2"],
            &["cargo race", "test", "--schedule-shard", "0/2"],
            &["cargo race", "test", "--time-budget", "10"],
            &["cargo race", "test", "--runner", "make"],
            &["cargo race", "test", "--workspace-remap", "."],
            &["cargo race", "report", "merge"],
            &[
                "cargo race",
                "replay",
                "--seed",
                "1",
                "--schedule",
                "a;b",
                "t",
            ],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        }
    }

    #[test]
    fn fleet_options_parse() {
        let cli = Cli::try_parse_from([
            "cargo race",
            "test",
            "--partition",
            "count:2/3",
            "--schedule-shard",
            "1/4",
            "--time-budget",
            "10m",
            "--runner",
            "nextest",
            "--report-dir",
            "r",
        ])
        .unwrap();
        let Command::Test(t) = cli.command else {
            panic!("not test")
        };
        let p = t.fleet.partition.unwrap();
        assert_eq!(p.to_string(), "count:2/3");
        assert_eq!(t.fleet.schedule_shard.unwrap().to_string(), "1/4");
        assert_eq!(t.fleet.time_budget, Some(Duration::from_secs(600)));
        assert_eq!(t.fleet.runner, Runner::Nextest);

        // `report merge` is a subcommand; `report PATH` still renders files.
        let cli = Cli::try_parse_from(["cargo race", "report", "merge", "a", "b"]).unwrap();
        let Command::Report(r) = cli.command else {
            panic!("not report")
        };
        let Some(ReportCommand::Merge(m)) = r.command else {
            panic!("not merge")
        };
        assert_eq!(m.paths, [PathBuf::from("a"), PathBuf::from("b")]);
        let cli = Cli::try_parse_from(["cargo race", "report", "x.jsonl"]).unwrap();
        let Command::Report(r) = cli.command else {
            panic!("not report")
        };
        assert!(r.command.is_none());
        assert_eq!(r.paths, [PathBuf::from("x.jsonl")]);
    }

    #[test]
    fn seeds_and_strategies_parse_as_the_runtime_reads_them() {
        assert_eq!(parse_seed("0x10"), Ok(16));
        assert_eq!(parse_seed("42"), Ok(42));
        assert!(parse_seed("x").is_err());
        assert_eq!(parse_strategy("pct:4"), Ok(Strategy::Pct { depth: 4 }));
        assert!(parse_strategy("random").is_ok());
        assert!(parse_strategy("fifo").is_err());
    }
}
