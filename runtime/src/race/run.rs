//! `goro::run` under `GORO_RACE=1`: the whole program under the detector,
//! over `GORO_SCHEDULES` schedules (default 100, as for
//! [`explore`](super::explore)), and a process that exits with status 66
//! after printing the diagnostics when anything was found, as a Go program
//! built with `-race` does.
//!
//! `run`'s future runs once, so the other schedules are other runs of the
//! program. Schedule 0 runs in this process: its output is the program's.
//! Each schedule `i >= 1` runs in a re-execution of this executable with the
//! same arguments, stdin and stdout discarded (the program's output appears
//! once) and its schedule named in the environment; it writes its findings
//! as JSON Lines (the report format) into a directory this process then
//! merges, deduplicated by kind and sites as `explore` does, in schedule
//! order. Everything the program does outside goro (files, network) thus
//! happens once per schedule.
//!
//! Only a `run` on the process's main thread explores and exits: called from
//! another thread (a test under libtest, where a re-execution would run the
//! test binary again) it runs schedule 0 alone and reports, so a test
//! explores with [`explore`](super::explore) or `#[goro::test]`. A replay
//! (`GORO_REPLAY`) is one schedule, in this process (it still exits 66 on a
//! finding). Findings of `run` are not shrunk:
//! shrinking replays a schedule, and `run`'s future runs once.

use std::collections::HashSet;
use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use goro_analyzer::finding::FindingKey;
use goro_analyzer::Finding;

use super::config::Config;
use super::explore::{append_report, append_trace, current_test, resolve, schedule, Report};
use crate::rt::sched::{strategy, Ending, ScheduleResult};

/// The exit status of a program whose detected run found something: Go's
/// `-race` exit status.
pub(crate) const EXIT_FINDINGS: i32 = 66;

/// Set in a re-execution: the schedule index it runs.
const CHILD_SCHEDULE: &str = "GORO_RACE_CHILD_SCHEDULE";
/// Set in a re-execution: the directory it writes its findings to.
const CHILD_DIR: &str = "GORO_RACE_CHILD_DIR";

/// `goro::run` under `GORO_RACE=1`: see the module docs. Returns main's
/// output, exits with status 66 after printing the findings if there are
/// any, or panics, naming the caller of `goro::run`, when schedule 0 did
/// not let main return (a deadlock, a panic, the step limit).
#[track_caller]
pub(crate) fn run_detected<F>(fut: F) -> F::Output
where
    F: Future + 'static,
{
    let config = resolve(Config::default());
    if let Some((index, dir)) = child_role() {
        return run_child(&config, index, &dir, fut);
    }
    // A program's own main thread: a test thread must not exit the process.
    let program = std::thread::current().name() == Some("main");
    let (mut result, out) = schedule(&config, 0, fut);
    if config.trace && !result.findings.is_empty() {
        if let Some(dir) = &config.report_dir {
            append_trace(dir, current_test().as_deref(), &mut result.trace, None);
        }
    }
    let ending = result.ending.clone();
    let mut merged = Merged::default();
    merged.add(&config, 0, result.findings, &ending);
    if program && config.replay.is_none() && config.schedules > 1 {
        run_children(&config, &mut merged);
    }
    let report = merged.report;
    if let Some(dir) = &config.report_dir {
        append_report(dir, report.findings());
    }
    for failure in &merged.failures {
        eprintln!("goro race detector: {failure}");
    }
    if !report.findings().is_empty() || !report.step_limited().is_empty() {
        eprintln!("goro race detector:\n{report}");
    }
    match (ending, out) {
        (_, Some(v)) => {
            if program && !report.findings().is_empty() {
                // `exit` flushes stdout; Go's -race exits 66 the same way.
                std::process::exit(EXIT_FINDINGS);
            }
            v
        }
        (Ending::Panicked, None) => {
            let msg = report
                .findings()
                .iter()
                .rev()
                .find(|f| f.observed && f.schedule == 0)
                .map_or_else(|| "a goroutine panicked".to_string(), |f| f.message.clone());
            panic!("{msg}")
        }
        (Ending::StepLimit, None) => panic!(
            "goro: the program did not finish within {} steps under the detector \
             (a livelock?); raise GORO_MAX_STEPS",
            config.max_steps
        ),
        (Ending::Stuck(_), None) => panic!(
            "goro: fatal error: deadlock! (the main goroutine can never be woken, though other \
             goroutines still run)"
        ),
        (_, None) => panic!(
            "goro: fatal error: all goroutines are asleep - deadlock! (main goroutine blocked)"
        ),
    }
}

/// The findings of every schedule run so far, deduplicated.
#[derive(Default)]
struct Merged {
    report: Report,
    seen: HashSet<FindingKey>,
    /// Re-executions that ended without a report, in words.
    failures: Vec<String>,
}

impl Merged {
    fn add(&mut self, config: &Config, index: u32, findings: Vec<Finding>, ending: &Ending) {
        self.report.schedules_run += 1;
        if *ending == Ending::StepLimit {
            self.report
                .step_limited
                .push(strategy::schedule_seed(config.seed, index));
        }
        for mut f in findings {
            // What the seed means, as `explore` records it.
            f.strategy = Some(config.strategy.to_string());
            if self.seen.insert(f.key()) {
                self.report.findings.push(f);
            }
        }
    }
}

/// What a re-execution left: its findings and how its schedule ended, or
/// why it left nothing.
type Outcome = Result<(Vec<Finding>, Ending), String>;

/// Runs schedules 1.. of `config` in re-executions of this program, as
/// many at once as there are cores, and merges what they found in
/// schedule order.
fn run_children(config: &Config, merged: &mut Merged) {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            merged.failures.push(format!(
                "cannot find this program's executable to run schedules 1..{} ({e}); ran \
                 schedule 0 only",
                config.schedules
            ));
            return;
        }
    };
    let dir = scratch_dir();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        merged.failures.push(format!(
            "cannot create {} for the other schedules' reports ({e}); ran schedule 0 only",
            dir.display()
        ));
        return;
    }
    let indices: Vec<u32> = (1..config.schedules)
        .filter(|&i| config.shard.is_none_or(|s| s.runs(i)))
        .collect();
    let outcomes: Vec<Mutex<Option<Outcome>>> = indices.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicU32::new(0);
    let started = std::time::Instant::now();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(indices.len()) {
            s.spawn(|| loop {
                // A time budget stops starting schedules, never interrupts one.
                if config.time_budget.is_some_and(|b| started.elapsed() >= b) {
                    return;
                }
                let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&index) = indices.get(k) else { return };
                let outcome = run_child_process(&exe, &args, &dir, index);
                *outcomes[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
            });
        }
    });
    for (index, outcome) in indices.into_iter().zip(outcomes) {
        match outcome.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(Ok((findings, ending))) => merged.add(config, index, findings, &ending),
            Some(Err(why)) => merged.failures.push(format!("schedule {index}: {why}")),
            None => {}
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A directory of its own for this exploration's reports.
fn scratch_dir() -> PathBuf {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("goro-race-{}-{n}", std::process::id()))
}

/// Runs schedule `index` in a re-execution of `exe` and reads its report.
fn run_child_process(exe: &Path, args: &[OsString], dir: &Path, index: u32) -> Outcome {
    let out = Command::new(exe)
        .args(args)
        .env(CHILD_SCHEDULE, index.to_string())
        .env(CHILD_DIR, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {} again: {e}", exe.display()))?;
    let ending = match std::fs::read_to_string(ending_path(dir, index)) {
        Ok(s) if s.trim() == "step-limit" => Ending::StepLimit,
        Ok(_) => Ending::Completed,
        Err(_) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "the program, run again for this schedule, ended ({}) before its goro::run \
                 ran the schedule; its last stderr lines:\n{}",
                out.status,
                tail.join("\n")
            ));
        }
    };
    let path = findings_path(dir, index);
    let findings = match std::fs::File::open(&path) {
        Ok(f) => {
            let (good, bad) = goro_analyzer::finding::read_json_lines(std::io::BufReader::new(f))
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if let Some(b) = bad.first() {
                return Err(format!("{}:{}: {}", path.display(), b.line, b.error));
            }
            good
        }
        // No findings, no file.
        Err(_) => Vec::new(),
    };
    Ok((findings, ending))
}

fn findings_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{index}.jsonl"))
}

fn ending_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{index}.ending"))
}

/// The schedule and report directory of a re-execution, if this is one.
fn child_role() -> Option<(u32, PathBuf)> {
    let index = std::env::var(CHILD_SCHEDULE).ok()?.parse().ok()?;
    let dir = std::env::var_os(CHILD_DIR)?;
    Some((index, PathBuf::from(dir)))
}

/// A re-execution: runs schedule `index`, writes its findings and ending
/// into `dir`, and returns main's output for the program to go on (its
/// stdout is discarded), or exits when main did not return.
fn run_child<F>(config: &Config, index: u32, dir: &Path, fut: F) -> F::Output
where
    F: Future + 'static,
{
    let (mut result, out) = schedule(config, index, fut);
    write_child_report(config, index, dir, &mut result);
    match out {
        Some(v) => v,
        // The parent reads the report; this process has nothing to go on with.
        None => std::process::exit(0),
    }
}

fn write_child_report(config: &Config, index: u32, dir: &Path, result: &mut ScheduleResult) {
    if config.trace && !result.findings.is_empty() {
        if let Some(report_dir) = &config.report_dir {
            append_trace(report_dir, None, &mut result.trace, None);
        }
    }
    let mut buf = Vec::new();
    for f in &result.findings {
        // Serializing plain data cannot fail.
        let _ = f.write_json_line(&mut buf);
    }
    let ending = if result.ending == Ending::StepLimit {
        "step-limit"
    } else {
        "end"
    };
    // The ending goes last: its presence says the findings are complete.
    let written = std::fs::write(findings_path(dir, index), &buf)
        .and_then(|()| std::fs::write(ending_path(dir, index), ending));
    if let Err(e) = written {
        eprintln!(
            "goro::race: cannot write schedule {index}'s report into {}: {e}",
            dir.display()
        );
    }
}
