//! End-to-end tests of `cargo race` on a fleet: partitions, schedule shards,
//! the nextest runner and `cargo race report merge`, on the buggy crate of
//! tests/data/buggy, and the GitHub Actions workflow of docs/ci.
//!
//! One test function runs everything in sequence: every cargo invocation
//! on the nested crate costs time, and they all share one build (the
//! target directory this test was built in, as tests/cli.rs does).
#![cfg(feature = "cli")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

mod common;

use common::{buggy, code, scratch, target_dir};

/// Every `cargo race` argument list this file ran, for the workflow check.
static RAN: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());

/// `cargo race ARGS` in the buggy crate, with a clean `GORO_*` environment.
fn cargo_race(args: &[&str], env: &[(&str, &str)]) -> Output {
    cargo_race_in(&buggy(), args, env)
}

/// `path` relative to `from` (both absolute).
fn relative(path: &Path, from: &Path) -> PathBuf {
    let (p, f): (Vec<_>, Vec<_>) = (path.components().collect(), from.components().collect());
    let common = p.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut r = PathBuf::new();
    for _ in common..f.len() {
        r.push("..");
    }
    for c in &p[common..] {
        r.push(c);
    }
    r
}

/// `cargo race ARGS` in `dir`, recorded for the workflow check.
fn cargo_race_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    RAN.lock()
        .unwrap()
        .push(args.iter().map(|a| a.to_string()).collect());
    common::cargo_race_in(dir, args, env)
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Stdout's lines, sorted: JSON Lines compared as sets of lines.
fn sorted_lines(o: &Output) -> Vec<String> {
    let mut l: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    l.sort();
    l
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The exploration settings every share of one run shares.
const EXPLORE: [&str; 4] = ["--schedules", "8", "--seed", "3"];

#[test]
fn shares_merge_into_what_one_unsharded_run_reports() {
    // (`common::cargo_race_in` pins the nested crate to the workspace's
    // locked versions before its first run.)
    let scratch = scratch("fleet");
    let dir = |name: &str| scratch.join(name);

    // One unsharded run, kept for merging.
    let whole = dir("whole");
    let run = |extra: &[&str], report: &Path, env: &[(&str, &str)]| {
        let mut args = vec!["test"];
        args.extend(EXPLORE);
        args.extend(extra);
        args.extend(["--report-dir", s(report), "--format", "json"]);
        cargo_race(&args, env)
    };
    let unsharded = run(&[], &whole, &[]);
    assert_eq!(code(&unsharded), 1, "{}", text(&unsharded));
    assert!(
        whole.join("run.json").is_file(),
        "the end marker is written"
    );
    let expected = sorted_lines(&unsharded);
    assert_eq!(expected.len(), 2, "a data race and a double close");
    // Merging the one share gives the run's own output.
    let merged = cargo_race(&["report", "merge", s(&whole), "--format", "json"], &[]);
    assert_eq!(code(&merged), 1);
    assert_eq!(sorted_lines(&merged), expected);

    // Three hash partitions: every test in exactly one, together the run.
    for k in 1..=3 {
        let p = format!("hash:{k}/3");
        let out = run(
            &["--partition", &p],
            &dir("parts").join(format!("p{k}")),
            &[],
        );
        assert!([0, 1].contains(&code(&out)), "{}", text(&out));
    }
    let merged = cargo_race(
        &["report", "merge", s(&dir("parts")), "--format", "json"],
        &[],
    );
    assert_eq!(code(&merged), 1, "{}", text(&merged));
    assert_eq!(
        sorted_lines(&merged),
        expected,
        "partitions merged == unsharded"
    );

    // A missing partition, or one without its end marker, is named.
    let two = cargo_race(
        &[
            "report",
            "merge",
            s(&dir("parts").join("p1")),
            s(&dir("parts").join("p2")),
        ],
        &[],
    );
    assert_eq!(code(&two), 2);
    assert!(
        text(&two).contains("missing share(s) of the run: partition hash:3/3"),
        "{}",
        text(&two)
    );
    std::fs::remove_file(dir("parts").join("p3/run.json")).unwrap();
    let unfinished = cargo_race(&["report", "merge", s(&dir("parts"))], &[]);
    assert_eq!(code(&unfinished), 2);
    assert!(
        text(&unfinished).contains("p3 has no run.json end marker"),
        "{}",
        text(&unfinished)
    );

    // Four schedule shards: every test, a quarter of each exploration's
    // schedules; merged, exactly the unsharded findings and seeds.
    for k in 1..=4 {
        let sh = format!("{k}/4");
        let out = run(
            &["--schedule-shard", &sh],
            &dir("shards").join(format!("s{k}")),
            &[],
        );
        assert!([0, 1].contains(&code(&out)), "{}", text(&out));
        // racy_counter asks for 20 schedules, overridden to 8: 2 per shard.
        assert!(
            text(&out).contains("tests::racy_counter 2"),
            "{}",
            text(&out)
        );
    }
    let merged = cargo_race(
        &["report", "merge", s(&dir("shards")), "--format", "json"],
        &[],
    );
    assert_eq!(code(&merged), 1, "{}", text(&merged));
    assert_eq!(
        sorted_lines(&merged),
        expected,
        "shards merged == unsharded"
    );
    assert!(
        text(&merged).contains("tests::racy_counter 8"),
        "{}",
        text(&merged)
    );

    // The exhaustive strategy: each exploring test's verdict is printed.
    let exhaustive = cargo_race(
        &[
            "test",
            "--strategy",
            "exhaustive",
            "--schedules",
            "2000",
            "clean_handoff",
        ],
        &[],
    );
    assert_eq!(code(&exhaustive), 0, "{}", text(&exhaustive));
    assert!(
        text(&exhaustive).contains("tests::clean_handoff: exhaustive search complete: all "),
        "{}",
        text(&exhaustive)
    );
    // Its shares, merged, keep the verdict (shard 1 walks the whole tree;
    // the others run nothing).
    let verdict = |o: &Output| -> String {
        text(o)
            .lines()
            .find(|l| l.starts_with("cargo race: tests::clean_handoff: exhaustive search "))
            .unwrap_or_else(|| panic!("no verdict:\n{}", text(o)))
            .to_string()
    };
    for k in 1..=2 {
        let out = cargo_race(
            &[
                "test",
                "--strategy",
                "exhaustive",
                "--schedules",
                "2000",
                "--schedule-shard",
                &format!("{k}/2"),
                "--report-dir",
                s(&dir("exhaustive").join(format!("s{k}"))),
                "clean_handoff",
            ],
            &[],
        );
        assert_eq!(code(&out), 0, "{}", text(&out));
    }
    let merged = cargo_race(&["report", "merge", s(&dir("exhaustive"))], &[]);
    assert_eq!(code(&merged), 0, "{}", text(&merged));
    assert_eq!(
        verdict(&merged),
        verdict(&exhaustive),
        "merged == unsharded"
    );

    // A failing test in one shard: the merged run fails with its code, as
    // the unsharded run does.
    let only_clean = ["clean"];
    let failing_whole = run(&only_clean, &dir("fail-whole"), &[("BUGGY_FAIL", "1")]);
    assert_eq!(code(&failing_whole), 101, "{}", text(&failing_whole));
    let a = run(
        &["clean", "--schedule-shard", "1/2"],
        &dir("fail").join("a"),
        &[],
    );
    assert_eq!(code(&a), 0, "{}", text(&a));
    let b = run(
        &["clean", "--schedule-shard", "2/2"],
        &dir("fail").join("b"),
        &[("BUGGY_FAIL", "1")],
    );
    assert_eq!(code(&b), 101, "{}", text(&b));
    let merged = cargo_race(&["report", "merge", s(&dir("fail"))], &[]);
    assert_eq!(code(&merged), 101, "{}", text(&merged));
    assert!(text(&merged).contains("the test run failed (exit code 101)"));

    // nextest as the runner, from an archive as on a fleet: the same
    // findings, under the same test names.
    let archive = scratch.join("tests.tar.zst");
    let status = Command::new(env!("CARGO"))
        .args(["nextest", "archive", "--archive-file", s(&archive)])
        .current_dir(buggy())
        .env("CARGO_TARGET_DIR", target_dir())
        .status()
        .expect("cargo nextest runs");
    assert!(status.success(), "cargo nextest archive");
    let nextest = run(
        &[
            "--runner",
            "nextest",
            "--archive-file",
            s(&archive),
            "--workspace-remap",
            ".",
        ],
        &dir("nextest"),
        &[],
    );
    assert_eq!(code(&nextest), 1, "{}", text(&nextest));
    assert_eq!(sorted_lines(&nextest), expected, "nextest == cargo test");
    // nextest partitions itself; the partitions still merge into the run.
    for k in 1..=2 {
        let p = format!("hash:{k}/2");
        let out = run(
            &[
                "--runner",
                "nextest",
                "--archive-file",
                s(&archive),
                "--workspace-remap",
                ".",
                "--partition",
                &p,
            ],
            &dir("nextest-parts").join(format!("n{k}")),
            &[],
        );
        assert!([0, 1].contains(&code(&out)), "{}", text(&out));
    }
    let merged = cargo_race(
        &[
            "report",
            "merge",
            s(&dir("nextest-parts")),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(sorted_lines(&merged), expected, "nextest partitions merged");

    // A time budget: every exploring test runs at least one schedule, and
    // the count each got is printed and recorded. (Run from a subdirectory
    // with a relative --report-dir: the test processes run in the package
    // directory, and must still write there.)
    let src = buggy().join("src");
    let rel = relative(&dir("budget"), &src);
    let budget = cargo_race_in(
        &src,
        &[
            "test",
            "--time-budget",
            "1s",
            "--report-dir",
            s(&rel),
            "--color",
            "never",
        ],
        &[],
    );
    assert_eq!(code(&budget), 1, "{}", text(&budget));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir("budget").join("run.json")).unwrap())
            .unwrap();
    assert_eq!(record["tests_selected"], 4);
    for t in [
        "tests::racy_counter",
        "tests::double_close",
        "tests::clean_handoff",
    ] {
        let n = record["schedule_counts"][t].as_u64().unwrap_or(0);
        assert!(n >= 1, "{t} ran {n} schedules: {record}");
        assert!(
            text(&budget).contains(&format!("{t} {n}")),
            "{}",
            text(&budget)
        );
    }

    // The workflow's merge job: a baseline of the run's findings accepts
    // them; SARIF and annotations render the merged run.
    let baseline = scratch.join("race-baseline.json");
    let out = cargo_race(
        &[
            "report",
            "merge",
            s(&dir("parts")),
            s(&dir("parts").join("p3")),
            "--baseline",
            s(&baseline),
            "--update-baseline",
        ],
        &[],
    );
    // p3 lost its marker above: the merge refuses before touching anything.
    assert_eq!(code(&out), 2);
    let out = cargo_race(
        &[
            "report",
            "merge",
            s(&dir("shards")),
            "--baseline",
            s(&baseline),
            "--update-baseline",
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let sarif = scratch.join("race.sarif");
    let out = cargo_race(
        &[
            "report",
            "merge",
            s(&dir("shards")),
            "--baseline",
            s(&baseline),
            "--format",
            "sarif",
            "--output",
            s(&sarif),
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "baselined: {}", text(&out));
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let out = cargo_race(
        &["report", "merge", s(&dir("shards")), "--format", "github"],
        &[],
    );
    assert_eq!(code(&out), 1);
    let annotations = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("::error file=src/lib.rs,"))
        .count();
    assert_eq!(annotations, 2, "{}", text(&out));
    // What the workflow runs with `--output findings.jsonl`.
    let out = cargo_race(
        &[
            "test",
            "--schedules",
            "1",
            "--seed",
            "1",
            "double_close",
            "--format",
            "json",
            "--output",
            s(&scratch.join("findings.jsonl")),
        ],
        &[],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));

    check_workflow();
    let _ = std::fs::remove_dir_all(&scratch);
}

/// The workflow is well-formed YAML (a structural check: serde_yaml is not
/// a dependency) with the three jobs wired together, and each `cargo race`
/// command in it uses only subcommands and options this test runs.
fn check_workflow() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ci/github-actions.yml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    assert!(!yaml.contains('\t'), "YAML forbids tabs in indentation");
    let mut in_block = None::<usize>;
    for (i, line) in yaml.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if let Some(block) = in_block {
            if indent > block {
                continue;
            }
            in_block = None;
        }
        assert_eq!(indent % 2, 0, "line {}: odd indentation: {line}", i + 1);
        let item = body.strip_prefix("- ").unwrap_or(body);
        let mapping = item
            .split_once(": ")
            .map(|(k, _)| k)
            .or_else(|| item.strip_suffix(':'));
        assert!(
            mapping.is_some_and(|k| !k.is_empty() && !k.contains(' ')) || body.starts_with("- "),
            "line {}: neither a mapping entry nor a list item: {line}",
            i + 1
        );
        if item.ends_with(": |") {
            in_block = Some(indent);
        }
        for open in ["${{", "[", "{"] {
            let close = match open {
                "${{" => "}}",
                "[" => "]",
                _ => "}",
            };
            assert_eq!(
                body.matches(open).count(),
                body.matches(close).count(),
                "line {}: unbalanced {open}: {line}",
                i + 1
            );
        }
    }
    for key in [
        "\non:\n",
        "\njobs:\n",
        "\n  build:\n",
        "\n  race:\n",
        "\n  merge:\n",
        "needs: build",
        "needs: race",
        "cargo nextest archive",
        "github/codeql-action/upload-sarif",
        "security-events: write",
        "matrix:",
    ] {
        assert!(yaml.contains(key), "the workflow has {key:?}");
    }

    let ran = RAN.lock().unwrap();
    let ran_flags: BTreeSet<&str> = ran
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|a| a.starts_with("--"))
        .collect();
    let ran_commands: BTreeSet<String> = ran.iter().map(|a| subcommand(a)).collect();
    let mut commands = 0;
    for line in yaml.lines() {
        let Some(at) = line
            .find("cargo race ")
            .map(|i| i + "cargo race ".len())
            .or_else(|| {
                line.find("cargo-race race ")
                    .map(|i| i + "cargo-race race ".len())
            })
        else {
            continue;
        };
        if line.trim_start().starts_with('#') {
            continue;
        }
        let args: Vec<String> = line[at..]
            .split(" || ")
            .next()
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        commands += 1;
        assert!(
            ran_commands.contains(&subcommand(&args)),
            "the workflow runs `cargo race {}`, which this test never does",
            subcommand(&args)
        );
        for flag in args.iter().filter(|a| a.starts_with("--")) {
            assert!(
                ran_flags.contains(flag.as_str()),
                "the workflow uses {flag}, which this test never passes"
            );
        }
    }
    assert_eq!(commands, 3, "a test per share and two merges");
}

/// `test` or `report merge`: the subcommand words of an argument list.
fn subcommand(args: &[String]) -> String {
    match args.first().map(String::as_str) {
        Some("report") if args.get(1).is_some_and(|a| a == "merge") => "report merge".into(),
        Some(a) => a.to_string(),
        None => String::new(),
    }
}
