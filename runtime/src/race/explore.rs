//! Running programs under the detecting scheduler.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use goro_analyzer::finding::FindingKey;
use goro_analyzer::{Finding, FindingKind};

use super::config::{Config, Strategy};
use super::shrink;
use super::verdict::{Reduction, Verdict};
use crate::rt::goroutine::{self as g, Goroutine, JoinSlot, Panicked, RunState, Sink};
use crate::rt::sched::strategy::dpor::Dpor;
use crate::rt::sched::strategy::exhaustive::Dfs;
use crate::rt::sched::strategy::replay::encode;
use crate::rt::sched::strategy::Chooser;
use crate::rt::sched::{self, strategy, Ending, ScheduleConfig, ScheduleResult};

/// What an exploration found.
///
/// # Examples
///
/// ```
/// use goro::race::{explore, Config, FindingKind};
///
/// let report = explore(Config::default().schedules(5).env(false), || async {
///     let ch = goro::chan::<i32>(1);
///     ch.close();
///     ch.close(); // close of closed channel
/// });
/// assert_eq!(report.schedules_run(), 5);
/// assert!(report.has(FindingKind::DoubleClose));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub(super) findings: Vec<Finding>,
    pub(super) schedules_run: u32,
    pub(super) trace_hashes: Vec<u64>,
    pub(super) step_limited: Vec<u64>,
    pub(super) verdict: Option<Verdict>,
}

impl Report {
    /// Every distinct finding (deduplicated by kind and sites across
    /// schedules), each with the seed and schedule index that first exposed
    /// it, in the order they were found.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Whether a finding of `kind` was found.
    pub fn has(&self, kind: FindingKind) -> bool {
        self.findings.iter().any(|f| f.kind == kind)
    }

    /// How many schedules ran.
    pub fn schedules_run(&self) -> u32 {
        self.schedules_run
    }

    /// The trace hash of each schedule, in order: the same seed gives the
    /// same hash, so a mismatch between two runs means non-determinism.
    pub fn trace_hashes(&self) -> &[u64] {
        &self.trace_hashes
    }

    /// Seeds of the schedules that hit the step limit before main returned
    /// (a livelock, or a program longer than `max_steps`). After main
    /// returned, goroutines still running at the end of the grace period
    /// are leaks instead (see [`Config::grace`]).
    pub fn step_limited(&self) -> &[u64] {
        &self.step_limited
    }

    /// Whether an exhaustive exploration ran every schedule (`None` for
    /// the sampling strategies, which never can).
    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_ref()
    }

    pub(crate) fn findings_mut(&mut self) -> &mut [Finding] {
        &mut self.findings
    }
}

/// A finding as plain text (`cargo race` renders richer diagnostics).
pub(crate) fn render(f: &Finding) -> String {
    Rendered(f).to_string()
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{}", Rendered(finding))?;
        }
        for seed in &self.step_limited {
            writeln!(
                f,
                "note: the schedule with seed {seed} reached the step limit before main returned \
                 (a livelock, or raise max_steps / GORO_MAX_STEPS)"
            )?;
        }
        if let Some(v) = &self.verdict {
            writeln!(f, "exhaustive search {v}")?;
        }
        write!(
            f,
            "{} finding(s) in {} schedule(s)",
            self.findings.len(),
            self.schedules_run
        )
    }
}

/// A plain-text rendering of a finding (`cargo race` renders richer ones).
struct Rendered<'a>(&'a Finding);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        let how = if x.observed { "observed" } else { "predicted" };
        writeln!(f, "{}[{how}]: {}", x.kind, x.message)?;
        for (i, s) in std::iter::once(&x.primary).chain(&x.related).enumerate() {
            let arrow = if i == 0 { "-->" } else { "..." };
            let name = s
                .goroutine_name
                .as_deref()
                .map(|n| format!(" [{n}]"))
                .unwrap_or_default();
            writeln!(
                f,
                "  {arrow} {}: {} by goroutine {}{name}",
                s.location(),
                s.op,
                s.goroutine
            )?;
        }
        for n in &x.notes {
            writeln!(f, "   = note: {n}")?;
        }
        writeln!(f, "   = help: {}", x.help)?;
        // The seed names a sampled schedule under its strategy; an
        // exhaustive search's schedule is named by its choices only.
        match (x.strategy.as_deref().map(str::parse), &x.shrink) {
            (Some(Ok(Strategy::Exhaustive { .. })), Some(s)) => write!(
                f,
                "   = reproduce: GORO_SEED={} GORO_SCHEDULES=1 GORO_REPLAY={} (schedule {} of \
                 its run)",
                x.seed, s.schedule, x.schedule
            )?,
            (Some(Ok(s @ (Strategy::Random | Strategy::Pct { .. }))), _) => write!(
                f,
                "   = reproduce: GORO_SEED={} GORO_SCHEDULES=1 GORO_STRATEGY={s} (schedule {} \
                 of its run)",
                x.seed, x.schedule
            )?,
            _ => write!(
                f,
                "   = reproduce: GORO_SEED={} GORO_SCHEDULES=1 (schedule {} of its run)",
                x.seed, x.schedule
            )?,
        }
        if let Some(s) = &x.shrink {
            write!(
                f,
                "\n   = shortest: GORO_SEED={} GORO_REPLAY={} ({})",
                x.seed,
                s.schedule,
                s.summary()
            )?;
        }
        Ok(())
    }
}

/// A runtime for what goroutines await that is not goro's (tokio I/O and
/// timers): driven by its own thread while the detecting scheduler runs.
fn outside_world() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("goro-detect-io")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("goro::race: cannot start the I/O runtime: {e}"))
    })
}

/// One schedule of `main`: its result, and main's output if it returned.
pub(super) fn schedule<Fut>(
    config: &Config,
    index: u32,
    main: Fut,
) -> (ScheduleResult, Option<Fut::Output>)
where
    Fut: Future + 'static,
{
    let seed = strategy::seed_for(config.strategy, config.seed, index);
    let chooser = match &config.replay {
        Some(choices) => Chooser::replay(seed, choices.clone()),
        None => Chooser::seeded(config.strategy, seed, config.max_steps.min(10_000)),
    };
    schedule_with(config, index, chooser, main)
}

/// [`schedule`] with the strategy given.
pub(super) fn schedule_with<Fut>(
    config: &Config,
    index: u32,
    chooser: Chooser,
    main: Fut,
) -> (ScheduleResult, Option<Fut::Output>)
where
    Fut: Future + 'static,
{
    let seed = chooser.seed();
    let run = RunState::new();
    let prev_run = g::set_thread_run(Some(run.clone()));
    let id = run.next_id();
    let slot: Arc<JoinSlot<Fut::Output>> = JoinSlot::new(run.clone());
    let main = Goroutine::new(
        run.clone(),
        id,
        Some("main".into()),
        Sink::Join(slot.clone()),
        main,
    );
    let output = std::cell::RefCell::new(None);
    let _io = outside_world().enter();
    let result = sched::run_schedule(
        ScheduleConfig {
            seed,
            index,
            chooser,
            max_steps: config.max_steps,
            grace: config.grace,
            trace: config.trace,
        },
        id,
        Box::pin(main),
        &|| {
            // Main's own panic ends the schedule like any other.
            match slot.try_take() {
                Some(Ok(v)) => *output.borrow_mut() = Some(v),
                Some(Err(Panicked { crash, .. })) => return Some(crash),
                None => {}
            }
            run.take_panic()
        },
    );
    g::set_thread_run(prev_run);
    let out = output.into_inner();
    (result, out)
}

/// Runs the program that `program` makes under `config.schedules` schedules
/// of the detecting scheduler, and returns every distinct finding with the
/// seed that exposed it.
///
/// `program` is called once per schedule to make a fresh main goroutine.
/// Each schedule runs goroutines one at a time on this thread, on virtual
/// time, choosing who runs at every goro operation with the seeded strategy:
/// the same seed gives the same schedule, trace and findings. A goroutine
/// panic is a finding and ends its schedule. With `GORO_REPORT_DIR` set,
/// findings are also appended there as JSON Lines.
///
/// # Panics
///
/// If a `GORO_*` environment variable has a bad value (and `config.env` is
/// on): the message names the variable, the value and what is accepted.
///
/// # Examples
///
/// ```
/// use goro::race::{explore, Config};
///
/// let report = explore(Config::default().schedules(20).seed(1).env(false), || async {
///     let ch = goro::chan(0);
///     let tx = ch.clone();
///     goro::go!(async move { tx.send(1).await });
///     assert_eq!(ch.recv().await, Some(1));
/// });
/// assert!(report.findings().is_empty());
/// ```
pub fn explore<F, Fut>(config: Config, program: F) -> Report
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    let config = resolve(config);
    let report = explore_inner(&config, program);
    if let Some(dir) = &config.report_dir {
        append_report(dir, &report.findings);
    }
    report
}

/// `explore` with settings already resolved, writing no report file.
pub(crate) fn explore_inner<F, Fut>(config: &Config, program: F) -> Report
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    if let (Strategy::Exhaustive { preemptions }, None) = (config.strategy, &config.replay) {
        return explore_exhaustive(config, preemptions, program);
    }
    let mut run = Exploration::new(config);
    let mut out_of_time = false;
    for index in 0..config.schedules {
        // A shard runs its share of the indices; the seed of schedule
        // `index` is the same in every shard, so the shards together run
        // exactly the unsharded exploration.
        if config.shard.is_some_and(|s| !s.runs(index)) {
            continue;
        }
        if run.out_of_time() {
            out_of_time = true;
            break;
        }
        let (result, _) = schedule(config, index, program());
        run.take(index, result, &program);
    }
    run.finish(out_of_time, None)
}

/// What the schedules of one exploration found so far.
struct Exploration<'c> {
    config: &'c Config,
    report: Report,
    seen: HashSet<FindingKey>,
    test: Option<String>,
    started: std::time::Instant,
}

impl<'c> Exploration<'c> {
    fn new(config: &'c Config) -> Self {
        Exploration {
            config,
            report: Report::default(),
            seen: HashSet::new(),
            test: current_test(),
            started: std::time::Instant::now(),
        }
    }

    /// A time budget (wall clock, the one thing here that is not virtual)
    /// stops starting schedules, never interrupts one.
    fn out_of_time(&self) -> bool {
        self.report.schedules_run > 0
            && self
                .config
                .time_budget
                .is_some_and(|b| self.started.elapsed() >= b)
    }

    /// Takes in the result of schedule `index`: its trace, its new
    /// findings (shrunk), its step limit.
    fn take<F, Fut>(&mut self, index: u32, mut result: ScheduleResult, program: &F)
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
    {
        let config = self.config;
        if config.trace && !result.findings.is_empty() {
            if let Some(dir) = &config.report_dir {
                append_trace(dir, self.test.as_deref(), &mut result.trace, None);
            }
        }
        shrink_new_findings(
            config,
            index,
            program,
            &mut result,
            &self.seen,
            self.test.as_deref(),
        );
        for f in &mut result.findings {
            f.test = self.test.clone();
            // What the seed means: `cargo race` prints the replay command
            // for it (an exhaustive schedule replays by its schedule).
            f.strategy = Some(config.strategy.to_string());
        }
        self.report.schedules_run += 1;
        self.report.trace_hashes.push(result.trace_hash);
        if result.ending == Ending::StepLimit {
            self.report
                .step_limited
                .push(strategy::seed_for(config.strategy, config.seed, index));
        }
        for f in result.findings {
            if self.seen.insert(f.key()) {
                self.report.findings.push(f);
            }
        }
    }

    fn finish(mut self, out_of_time: bool, verdict: Option<Verdict>) -> Report {
        if let Some(dir) = &self.config.report_dir {
            append_schedule_count(
                dir,
                self.test,
                self.report.schedules_run,
                out_of_time,
                verdict.as_ref(),
            );
        }
        self.report.verdict = verdict;
        self.report
    }
}

/// The exhaustive exploration (see `strategy::exhaustive`): schedules
/// replayed from the depth-first walk until the walk ends (`complete`) or
/// the schedule or time budget runs out (`incomplete`). `config.schedules`
/// is the budget. A schedule shard other than the first runs nothing: the
/// walk cannot be split by index.
fn explore_exhaustive<F, Fut>(config: &Config, bound: Option<u32>, program: F) -> Report
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    let mut run = Exploration::new(config);
    if config.shard.is_some_and(|s| s.index != 1) {
        return run.finish(false, None);
    }
    let mut walk = if config.dpor {
        Walk::Dpor(Dpor::new(bound))
    } else {
        Walk::Dfs(Dfs::new(bound))
    };
    let mut index = 0u32;
    let mut stopped = None;
    let mut out_of_time = false;
    let mut step_cut = 0u32;
    while !walk.done() {
        if index >= config.schedules || run.out_of_time() {
            out_of_time = index < config.schedules;
            let (open, shallowest) = walk.open();
            let budget = if out_of_time {
                "the time budget (GORO_TEST_TIME_BUDGET) ran out".to_string()
            } else {
                format!(
                    "the budget of {} schedules (Config::schedules, GORO_SCHEDULES) ran out",
                    config.schedules
                )
            };
            stopped = Some(format!(
                "{budget} with untried choices left at {open} choice point(s) of the last \
                 schedule, the shallowest at its choice {}",
                shallowest.map_or(0, |d| d + 1)
            ));
            break;
        }
        let Some(chooser) =
            walk.next_schedule(strategy::seed_for(config.strategy, config.seed, index))
        else {
            break;
        };
        let (mut result, _) = schedule_with(config, index, chooser, program());
        walk.record(&mut result);
        if result.ending == Ending::StepLimit {
            step_cut += 1;
        }
        let schedule = encode(&result.record.choices.to_vec());
        let unshrunk = goro_analyzer::Shrink {
            original_steps: result.steps,
            original_preemptions: result.record.preemptions.len() as u64,
            steps: result.steps,
            preemptions: result.record.preemptions.len() as u64,
            schedule: schedule.clone(),
            replays: 0,
        };
        for f in &mut result.findings {
            f.notes.push(format!(
                "found by the exhaustive search (schedule {index}): `GORO_REPLAY={schedule}` \
                 replays it; its seed does not"
            ));
        }
        run.take(index, result, &program);
        // Not shrunk (shrinking off): the schedule as found is its replay.
        for f in &mut run.report.findings {
            if f.shrink.is_none() {
                f.shrink = Some(unshrunk.clone());
            }
        }
        index += 1;
    }
    if let Some(j) = walk.diverged() {
        stopped = Some(format!(
            "a replay met choice point {} differently from the schedule it replayed: the \
             program depends on something outside goro's control (real time, real \
             randomness, state kept across schedules), so its schedules cannot be enumerated",
            j + 1
        ));
    } else if stopped.is_none() && step_cut > 0 {
        stopped = Some(format!(
            "{step_cut} schedule(s) reached the step limit ({} steps), so the choices past it \
             were not explored (raise max_steps / GORO_MAX_STEPS)",
            config.max_steps
        ));
    }
    let verdict = Verdict {
        complete: stopped.is_none(),
        schedules: index,
        pruned: walk.pruned(),
        preemptions: bound,
        stopped,
        reduction: walk.reduction(),
    };
    run.finish(out_of_time, Some(verdict))
}

/// The exhaustive search's walk: every schedule, or one per trace.
enum Walk {
    Dfs(Dfs),
    Dpor(Dpor),
}

impl Walk {
    fn done(&self) -> bool {
        match self {
            Walk::Dfs(w) => w.done(),
            Walk::Dpor(w) => w.done(),
        }
    }

    fn open(&self) -> (usize, Option<usize>) {
        match self {
            Walk::Dfs(w) => w.open(),
            Walk::Dpor(w) => w.open(),
        }
    }

    /// The chooser of the next schedule (named by `seed`), if any is left.
    fn next_schedule(&mut self, seed: u64) -> Option<Chooser> {
        match self {
            Walk::Dfs(w) => w.next_schedule().map(|c| Chooser::replay(seed, c)),
            Walk::Dpor(w) => w
                .next_schedule()
                .map(|(c, install)| Chooser::replay(seed, c).with_dpor(install)),
        }
    }

    fn record(&mut self, result: &mut ScheduleResult) {
        match self {
            Walk::Dfs(w) => w.record(&result.record),
            Walk::Dpor(w) => {
                let run = result
                    .dpor
                    .take()
                    .expect("a reduced schedule keeps its log");
                w.record(&result.record, &run);
            }
        }
    }

    fn diverged(&self) -> Option<usize> {
        match self {
            Walk::Dfs(w) => w.diverged(),
            Walk::Dpor(w) => w.diverged(),
        }
    }

    fn pruned(&self) -> u64 {
        match self {
            Walk::Dfs(w) => w.pruned(),
            Walk::Dpor(w) => w.pruned(),
        }
    }

    fn reduction(&self) -> Option<Reduction> {
        match self {
            Walk::Dfs(_) => None,
            Walk::Dpor(w) => Some(Reduction {
                skipped: w.reduced(),
                redundant: w.redundant(),
            }),
        }
    }
}

/// Shrinks the schedule of each finding of `result` that `seen` does not
/// hold yet (see `race::shrink`), filling its `shrink`, and with
/// `GORO_TRACE` appends the shrunk schedule's trace. Nothing when replaying
/// an explicit schedule or when shrinking is off.
fn shrink_new_findings<F, Fut>(
    config: &Config,
    index: u32,
    program: &F,
    result: &mut ScheduleResult,
    seen: &HashSet<FindingKey>,
    test: Option<&str>,
) where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    if config.replay.is_some() || config.shrink_replays == 0 {
        return;
    }
    let seed = strategy::seed_for(config.strategy, config.seed, index);
    let mut quiet = config.clone();
    quiet.trace = false;
    for i in 0..result.findings.len() {
        let key = result.findings[i].key();
        if seen.contains(&key) || result.findings[..i].iter().any(|f| f.key() == key) {
            continue;
        }
        let (best, summary) = shrink::shrink(config, &key, result, &mut |choices, cap| {
            quiet.max_steps = cap;
            schedule_with(&quiet, index, Chooser::replay(seed, choices), program()).0
        });
        if config.trace {
            if let Some(dir) = &config.report_dir {
                let chooser = Chooser::replay(seed, best.record.choices.to_vec());
                let (mut r, _) = schedule_with(config, index, chooser, program());
                append_trace(dir, test, &mut r.trace, Some(&summary.schedule));
            }
        }
        result.findings[i].shrink = Some(summary);
    }
}

/// Runs every schedule of `config` twice and compares their traces: the
/// determinism self-check (madsim's). A program that reads real time, real
/// randomness, or state shared across schedules (a `static` counter) makes
/// the same seed diverge, and replaying a seed then shows something else.
///
/// # Errors
///
/// The first schedule whose two runs differ, with its seed.
///
/// # Examples
///
/// ```
/// use goro::race::{check_determinism, Config};
///
/// let config = Config::default().schedules(20).env(false);
/// check_determinism(&config, || async {
///     let ch = goro::chan(1);
///     let tx = ch.clone();
///     goro::go!(async move { tx.send(1).await });
///     ch.recv().await;
/// })
/// .expect("goro programs are deterministic under a seed");
/// ```
pub fn check_determinism<F, Fut>(config: &Config, program: F) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    let config = resolve(config.clone());
    for index in 0..config.schedules {
        let (a, _) = schedule(&config, index, program());
        let (b, _) = schedule(&config, index, program());
        if a.trace_hash != b.trace_hash {
            return Err(format!(
                "schedule {index} (seed {}) ran differently twice: the program depends on \
                 something outside goro's control (real time, real randomness, state kept \
                 across schedules)",
                strategy::seed_for(config.strategy, config.seed, index)
            ));
        }
    }
    Ok(())
}

pub(super) fn resolve(config: Config) -> Config {
    if !config.use_env {
        return config;
    }
    match config.with_env() {
        Ok(c) => c,
        Err(e) => panic!("goro::race: {e}"),
    }
}

/// The test running on this thread: libtest names each test's thread after
/// the test (`module::name`); `None` outside a test.
pub(super) fn current_test() -> Option<String> {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_string)
}

/// Appends a schedule's trace to `goro-<pid>.trace` in `dir`: the full
/// schedule's, or (`shrunk` naming it) a shrunk schedule's.
pub(super) fn append_trace(
    dir: &Path,
    test: Option<&str>,
    trace: &mut [goro_analyzer::trace::TraceStep],
    shrunk: Option<&str>,
) {
    let mut buf = Vec::new();
    for step in trace.iter_mut() {
        step.test = test.map(str::to_string);
        step.schedule = Some(if shrunk.is_some() { "shrunk" } else { "full" }.to_string());
        step.replay = shrunk.map(str::to_string);
        let _ = step.write_json_line(&mut buf);
    }
    append_file(dir, "trace", &buf, "the trace");
}

/// Appends how many schedules this exploration ran to
/// `goro-<pid>.schedules` in `dir`, for `cargo race` to report per test
/// (what a time budget or a schedule shard left of `GORO_SCHEDULES`).
fn append_schedule_count(
    dir: &Path,
    test: Option<String>,
    schedules: u32,
    out_of_time: bool,
    verdict: Option<&Verdict>,
) {
    let count = goro_analyzer::env::ScheduleCount {
        test,
        schedules,
        out_of_time,
        verdict: verdict.map(ToString::to_string),
    };
    let mut buf = Vec::new();
    if count.write_json_line(&mut buf).is_ok() {
        append_file(
            dir,
            goro_analyzer::env::SCHEDULE_COUNT_EXT,
            &buf,
            "the schedule count",
        );
    }
}

/// Appends findings as JSON Lines to `goro-<pid>.jsonl` in `dir`.
pub(super) fn append_report(dir: &Path, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let mut buf = Vec::new();
    for f in findings {
        // Serializing plain data cannot fail.
        let _ = f.write_json_line(&mut buf);
    }
    append_file(dir, "jsonl", &buf, "findings");
}

/// Appends `buf` to this process's file `goro-<pid>.<ext>` in `dir` (one
/// write, so lines from concurrent tests do not interleave). A failure is
/// reported on stderr: what was found stays in the returned report.
fn append_file(dir: &Path, ext: &str, buf: &[u8], what: &str) {
    let path = dir.join(format!("goro-{}.{ext}", std::process::id()));
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?
            .write_all(buf)
    });
    if let Err(e) = written {
        eprintln!(
            "goro::race: cannot append {what} to {}: {e}",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use goro_analyzer::env::Shard;

    use super::*;

    async fn racy() {
        let x = Arc::new(crate::Shared::new(0));
        let done = crate::chan::<()>(2);
        for _ in 0..2 {
            let (x, done) = (x.clone(), done.clone());
            crate::go!(async move {
                x.set(x.get() + 1);
                done.send(()).await;
            });
        }
        done.recv().await;
        done.recv().await;
    }

    #[test]
    fn shards_run_disjoint_schedules_with_the_unsharded_seeds() {
        let base = Config::default().schedules(7).seed(9).env(false);
        let whole = explore_inner(&base, racy);
        let mut ran = 0;
        for k in 1..=3 {
            let config = Config {
                shard: Some(Shard { index: k, count: 3 }),
                ..base.clone()
            };
            let part = explore_inner(&config, racy);
            ran += part.schedules_run();
            // Schedule i runs in shard i % 3 + 1, as it ran unsharded.
            let mine: Vec<u64> = (0..7)
                .filter(|i| i % 3 == k - 1)
                .map(|i| whole.trace_hashes()[i as usize])
                .collect();
            assert_eq!(part.trace_hashes(), mine, "shard {k}/3");
        }
        assert_eq!(ran, 7);
    }

    /// A plain access takes a fast path (`sched::access`) that hashes it
    /// without building its event, unless a trace wants the event: both
    /// must give the schedule the same identity.
    #[test]
    fn a_traced_schedule_hashes_plain_accesses_as_an_untraced_one() {
        let plain = Config::default().seed(3).env(false);
        let traced = Config {
            trace: true,
            ..plain.clone()
        };
        let mut hashes = std::collections::HashSet::new();
        for index in 0..20 {
            let (a, _) = schedule(&plain, index, racy());
            let (b, _) = schedule(&traced, index, racy());
            assert!(
                b.trace.iter().any(|s| s.op.starts_with("write")),
                "{:?}",
                b.trace
            );
            assert_eq!(a.trace_hash, b.trace_hash, "schedule {index}");
            hashes.insert(a.trace_hash);
        }
        // The accesses are in the hash: schedules that order them
        // differently differ.
        assert!(hashes.len() > 1);
    }

    /// Three goroutines loop over one `Shared` at five sites, one of them
    /// under a lock every third turn: same-epoch runs that continue, end
    /// at a lock, a send or a write at another site, and resume.
    async fn looping_racers() {
        let x = Arc::new(crate::Shared::new(0u64));
        let m = Arc::new(crate::sync::Mutex::new(()));
        let done = crate::chan::<()>(3);
        for k in 0..3u64 {
            let (x, m, done) = (x.clone(), m.clone(), done.clone());
            crate::go!(async move {
                for i in 0..6 {
                    x.set(x.get() + k);
                    x.set(k);
                    if i % 3 == k {
                        let _g = m.lock().await;
                        x.set(i);
                    }
                    let _ = x.get();
                }
                done.send(()).await;
            });
        }
        for _ in 0..3 {
            done.recv().await;
        }
        x.set(0);
    }

    /// The fast path of a plain access (`sched::access`: hashed, then
    /// taken by the engine's same-epoch run or recorded, no event built)
    /// and the whole event a trace takes give the same findings, sites and
    /// goroutines included, and the same schedule.
    #[test]
    fn a_traced_schedule_finds_what_an_untraced_one_finds() {
        let plain = Config::default().seed(5).env(false);
        let traced = Config {
            trace: true,
            ..plain.clone()
        };
        let mut races = 0;
        for index in 0..30 {
            let (a, _) = schedule(&plain, index, looping_racers());
            let (b, _) = schedule(&traced, index, looping_racers());
            assert!(!b.trace.is_empty());
            assert_eq!(a.trace_hash, b.trace_hash, "schedule {index}");
            assert_eq!(a.findings, b.findings, "schedule {index}");
            races += a
                .findings
                .iter()
                .filter(|f| f.kind == FindingKind::DataRace)
                .count();
        }
        assert!(races > 0);
    }

    #[test]
    fn a_spent_time_budget_still_runs_one_schedule() {
        let config = Config {
            time_budget: Some(Duration::from_nanos(1)),
            ..Config::default().schedules(1_000).env(false)
        };
        assert_eq!(explore_inner(&config, racy).schedules_run(), 1);
    }

    // ---- The scheduler's step path against itself: a step taken at a
    // scheduling point (`sched::step_here`) gives the schedules that
    // yielding gives. ----

    /// Main and two echo goroutines over unbuffered channels; the echoes race
    /// on a counter as they start (what they do in the loop is ordered through
    /// main).
    async fn echoes() {
        let ping = crate::chan::<u64>(0);
        let pong = crate::chan::<u64>(0);
        let x = Arc::new(crate::Shared::new(0u64));
        for _ in 0..2 {
            let (rx, tx, x) = (ping.receiver(), pong.sender(), x.clone());
            crate::go!(async move {
                x.set(x.get() + 1);
                while let Some(v) = rx.recv().await {
                    tx.send(v + 1).await;
                }
            });
        }
        for i in 0..12 {
            ping.send(i).await;
            pong.recv().await;
        }
        ping.close();
    }

    /// Three producers behind a mutex, two buffered channels, a consumer's
    /// `select!` (draws), a `yield_now`, and a goroutine left blocked (a leak).
    async fn mixed() {
        let a = crate::chan::<u32>(2);
        let b = crate::chan::<u32>(1);
        let m = Arc::new(crate::sync::Mutex::new(0u32));
        for k in 0..3u32 {
            let (a, b, m) = (a.clone(), b.clone(), m.clone());
            crate::go!(async move {
                for i in 0..4u32 {
                    *m.lock().await += 1;
                    crate::yield_now().await;
                    if (i + k) % 2 == 0 {
                        a.send(i).await;
                    } else {
                        b.send(i).await;
                    }
                }
            });
        }
        for _ in 0..12 {
            crate::select! {
                recv(a) -> _v => {},
                recv(b) -> _v => {},
            }
        }
        let stuck = crate::chan::<u32>(0);
        crate::go!(async move {
            stuck.recv().await;
        });
    }

    /// A goroutine panics while the others still run.
    async fn panics() {
        let c = crate::chan::<u32>(1);
        let tx = c.clone();
        crate::go!(async move {
            for i in 0..5 {
                tx.send(i).await;
            }
            panic!("boom");
        });
        for _ in 0..8 {
            c.recv().await;
        }
    }

    /// Runs `program` under `schedules` schedules of each strategy, steps
    /// chosen in place (`true`) or by yielding.
    fn run_in_place<Fut: std::future::Future + 'static>(
        in_place: bool,
        program: fn() -> Fut,
    ) -> Vec<(u32, Report)> {
        sched::CHOOSE_IN_PLACE.with(|c| c.set(in_place));
        let out = ["random", "pct", "portfolio"]
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let config = Config::default()
                    .schedules(25)
                    .seed(11 + i as u64)
                    .strategy(s.parse().expect("a strategy"))
                    .env(false);
                (i as u32, explore(config, program))
            })
            .collect();
        sched::CHOOSE_IN_PLACE.with(|c| c.set(true));
        out
    }

    fn same_schedules<Fut: std::future::Future + 'static>(program: fn() -> Fut) -> usize {
        let (placed, yielded) = (run_in_place(true, program), run_in_place(false, program));
        let mut findings = 0;
        for ((s, a), (_, b)) in placed.iter().zip(&yielded) {
            assert_eq!(a.trace_hashes(), b.trace_hashes(), "strategy {s}");
            assert_eq!(
                format!("{:?}", a.findings()),
                format!("{:?}", b.findings()),
                "strategy {s}"
            );
            findings += a.findings().len();
        }
        findings
    }

    #[test]
    fn steps_chosen_in_place_schedule_as_yielding_does() {
        assert!(same_schedules(echoes) > 0, "the echoes' race is found");
        assert!(same_schedules(mixed) > 0, "the leak is found");
        assert!(same_schedules(panics) > 0, "the panic is found");
    }
}
