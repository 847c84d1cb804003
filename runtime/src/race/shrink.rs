//! Shrinking: the shortest schedule that still shows a finding.
//!
//! A schedule that found something is a choice sequence
//! (`rt::sched::strategy::replay`). Right after the finding, while the
//! program is at hand, the shrinker replays edits of that sequence and
//! keeps an edit when the replay shows the same finding (same
//! [`FindingKey`]: kind and sites) in no more steps and at a lower cost,
//! the cost being, in order: preemptions, steps, non-default choices.
//!
//! The edits: first the schedule with no choice at all (every goroutine
//! runs until it blocks). Then delta debugging over the choice sequence:
//! removing preemptions (a switch away from a goroutine that could run on
//! becomes "run on"), in halves, then quarters, ... down to one at a time.
//! Removal keeps the positions of the original's switches, and a bug may
//! need a switch where the original made none; so then a
//! preemption-bounded search (CHESS) from the sequential schedule tries
//! every schedule that deviates from it at one choice point, then at two.
//! Last, removal again, over preemptions and then the remaining non-default
//! choices, which also truncates the sequence. A replay that reaches a
//! recorded choice that is no longer possible takes the default there, so
//! every edit is a valid schedule.
//!
//! Work is bounded by a number of replays ([`Config::shrink`]) and of
//! replayed steps (2,000,000 per finding), not by time, so the shrunk
//! schedule is a pure function of the program and the seed. Each replay
//! also stops at the original's step count. The shrinker never
//! changes which findings an exploration reports; it only annotates them.

use goro_analyzer::finding::{FindingKey, Shrink};

use super::config::Config;
use crate::rt::sched::strategy::replay::{encode, DEFAULT};
use crate::rt::sched::strategy::Record;
use crate::rt::sched::{Ending, ScheduleResult};

/// A schedule the shrinker holds: what it chose and what that cost.
#[derive(Clone)]
pub(crate) struct Candidate {
    pub(crate) record: Record,
    pub(crate) steps: u64,
}

impl Candidate {
    fn cost(&self) -> (usize, u64, usize) {
        let non_default = self.record.choices.iter().filter(|&c| c != DEFAULT).count();
        (self.record.preemptions.len(), self.steps, non_default)
    }
}

/// The most preemptions the bounded search tries (CHESS's observation:
/// most concurrency bugs need at most two).
const SEARCH_PREEMPTIONS: usize = 2;

/// The one-deviation schedules the search extends to two, at most (each
/// holds its record: memory for long programs).
const SEARCH_FRONTIER: usize = 32;

/// Steps all the replays of one finding may take together: with the
/// replay count, what bounds shrinking a long schedule (a livelock at the
/// step limit). A count of steps, so the result stays deterministic.
const STEP_BUDGET: u64 = 2_000_000;

/// One shrinking: the finding, the budget, the best schedule so far.
struct Shrinker<'a> {
    key: &'a FindingKey,
    replay: &'a mut dyn FnMut(Vec<u32>, u64) -> ScheduleResult,
    /// The original's steps: no replay may run longer.
    max_steps: u64,
    step_limited: bool,
    budget: u32,
    steps_left: u64,
    replays: u32,
    best: Candidate,
}

impl Shrinker<'_> {
    /// Replays `choices`: the schedule it ran, and whether it shows the
    /// finding within the original's steps. `None` once the budget is
    /// spent.
    fn run(&mut self, choices: Vec<u32>) -> Option<(Candidate, bool)> {
        if self.budget == 0 || self.steps_left == 0 {
            self.budget = 0;
            return None;
        }
        self.budget -= 1;
        self.replays += 1;
        let r = (self.replay)(choices, self.max_steps);
        self.steps_left = self.steps_left.saturating_sub(r.steps);
        // Stopped at the cap: longer than the original, unless that
        // itself hit the step limit.
        let shows = (r.ending != Ending::StepLimit || self.step_limited)
            && r.findings.iter().any(|f| f.key() == *self.key);
        let c = Candidate {
            record: r.record,
            steps: r.steps,
        };
        Some((c, shows))
    }

    /// Replays `choices` and keeps the result if it shows the finding at a
    /// lower cost. Whether it was kept.
    fn attempt(&mut self, choices: Vec<u32>) -> bool {
        match self.run(choices) {
            Some((c, true)) if c.cost() < self.best.cost() => {
                self.best = c;
                true
            }
            _ => false,
        }
    }

    /// Sets chunks of `phase`'s positions to the default, in halves down
    /// to singles, keeping each edit that still shows the finding.
    fn remove(&mut self, phase: Phase) {
        let mut chunk = phase.positions(&self.best).len().div_ceil(2).max(1);
        loop {
            let mut i = 0;
            loop {
                let positions = phase.positions(&self.best);
                if i >= positions.len() || self.budget == 0 {
                    break;
                }
                let mut choices = self.best.record.choices.to_vec();
                for &p in &positions[i..(i + chunk).min(positions.len())] {
                    choices[p] = DEFAULT;
                }
                // Kept: the choices before the first edited one are
                // unchanged, so the next positions start at `i` again.
                if !self.attempt(choices) {
                    i += chunk;
                }
            }
            if chunk == 1 || self.budget == 0 {
                return;
            }
            chunk = chunk.div_ceil(2);
        }
    }

    /// Preemption-bounded search from the schedule with no choice: every
    /// schedule that deviates from the default at one choice point, then
    /// at two, in order of position, while that could beat the best.
    /// Removal keeps the original's positions; this finds a bug that
    /// needs a switch somewhere the original did not make one.
    fn search(&mut self, base: Candidate) {
        // (schedule, position of its last deviation + 1)
        let mut frontier = vec![(base, 0usize)];
        for k in 1..=SEARCH_PREEMPTIONS {
            if self.best.record.preemptions.len() < k || self.budget == 0 {
                return;
            }
            let mut next = Vec::new();
            for (c, from) in &frontier {
                for j in *from..c.record.options.len() {
                    for &g in &c.record.options[j] {
                        let mut choices: Vec<u32> = c.record.choices.iter().take(j).collect();
                        choices.push(g);
                        let Some((run, shows)) = self.run(choices) else {
                            return;
                        };
                        if shows && run.cost() < self.best.cost() {
                            self.best = run;
                            if self.best.record.preemptions.len() <= k {
                                // Nothing with k deviations beats it by
                                // much: stop searching this depth.
                                return;
                            }
                        } else if k < SEARCH_PREEMPTIONS && next.len() < SEARCH_FRONTIER {
                            next.push((run, j + 1));
                        }
                    }
                }
            }
            frontier = next;
        }
    }
}

/// Shrinks the schedule `original` that found `key`. `replay(choices,
/// max_steps)` runs one schedule following `choices`, stopping after
/// `max_steps`. Returns the shrunk schedule and its summary.
pub(crate) fn shrink(
    config: &Config,
    key: &FindingKey,
    original: &ScheduleResult,
    replay: &mut dyn FnMut(Vec<u32>, u64) -> ScheduleResult,
) -> (Candidate, Shrink) {
    let mut s = Shrinker {
        key,
        replay,
        max_steps: original.steps,
        step_limited: original.ending == Ending::StepLimit,
        budget: config.shrink_replays,
        steps_left: STEP_BUDGET,
        replays: 0,
        best: Candidate {
            record: original.record.clone(),
            steps: original.steps,
        },
    };
    let (preempts, _, choices) = s.best.cost();
    if preempts > 0 || choices > 0 {
        // Nothing at all chosen: the sequential schedule.
        if let Some((base, shows)) = s.run(Vec::new()) {
            if shows && base.cost() < s.best.cost() {
                s.best = base;
            } else {
                s.remove(Phase::Preemptions);
                s.search(base);
            }
        }
        s.remove(Phase::Preemptions);
        s.remove(Phase::Choices);
    }
    let summary = Shrink {
        original_steps: original.steps,
        original_preemptions: original.record.preemptions.len() as u64,
        steps: s.best.steps,
        preemptions: s.best.record.preemptions.len() as u64,
        schedule: encode(&s.best.record.choices.to_vec()),
        replays: s.replays,
    };
    (s.best, summary)
}

/// Which choices a pass sets to the default.
#[derive(Clone, Copy)]
enum Phase {
    Preemptions,
    Choices,
}

impl Phase {
    fn positions(self, c: &Candidate) -> Vec<usize> {
        match self {
            Phase::Preemptions => c.record.preemptions.iter().map(|p| p as usize).collect(),
            Phase::Choices => (c.record.choices.iter().enumerate())
                .filter(|&(_, v)| v != DEFAULT)
                .map(|(i, _)| i)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use goro_analyzer::trace::{read_trace, TraceStep};

    use super::super::explore::{explore_inner, schedule, schedule_with};
    use super::*;
    use crate::rt::sched::strategy::{seed_for, Chooser};

    /// A program with a buffered hand-off, a lock passed between two
    /// goroutines, and a double close (the finding).
    async fn program() {
        let ch = crate::chan::<u32>(1);
        let mu = std::sync::Arc::new(crate::sync::Mutex::new(0u32));
        let wg = crate::sync::WaitGroup::new();
        for _ in 0..2 {
            wg.add(1);
            let (tx, mu, wg) = (ch.clone(), mu.clone(), wg.clone());
            crate::go!(async move {
                *mu.lock().await += 1;
                let _ = tx.try_send(1);
                wg.done();
            });
        }
        wg.wait().await;
        let _ = ch.recv().await;
        ch.close();
        ch.close();
    }

    fn config() -> Config {
        Config::default().schedules(10).seed(3).env(false)
    }

    #[test]
    fn a_recorded_schedule_replays_to_the_same_run() {
        let config = config();
        for index in 0..config.schedules {
            let (a, _) = schedule(&config, index, program());
            let seed = seed_for(config.strategy, config.seed, index);
            let chooser = Chooser::replay(seed, a.record.choices.to_vec());
            let (b, _) = schedule_with(&config, index, chooser, program());
            assert_eq!(a.trace_hash, b.trace_hash, "schedule {index}");
            assert_eq!(a.record.choices, b.record.choices);
            assert_eq!(a.record.preemptions, b.record.preemptions);
            assert_eq!(a.steps, b.steps);
        }
    }

    #[test]
    fn the_sequential_schedule_has_no_choice_entries_and_no_preemption() {
        let (r, _) = schedule_with(&config(), 0, Chooser::replay(1, Vec::new()), program());
        assert!(r.record.preemptions.is_empty());
        assert!(r.record.choices.iter().all(|c| c == DEFAULT));
        assert!(!r.findings.is_empty(), "a double close in any schedule");
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("goro-shrink-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn read(dir: &std::path::Path) -> Vec<TraceStep> {
        let path = dir.join(format!("goro-{}.trace", std::process::id()));
        let f = std::fs::File::open(&path).expect("a trace file");
        read_trace(std::io::BufReader::new(f)).expect("readable")
    }

    #[test]
    fn traces_mark_full_and_shrunk_schedules_and_link_synchronizing_lines() {
        let dir = scratch("trace");
        let mut config = config().schedules(1);
        config.trace = true;
        config.report_dir = Some(dir.clone());
        let report = explore_inner(&config, program);
        let shrink = report.findings()[0].shrink.clone().expect("shrunk");
        let lines = read(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        let full: Vec<&TraceStep> = lines.iter().filter(|s| !s.is_shrunk()).collect();
        let shrunk: Vec<&TraceStep> = lines.iter().filter(|s| s.is_shrunk()).collect();
        assert!(full.iter().all(|s| s.schedule.as_deref() == Some("full")));
        assert!(!shrunk.is_empty());
        assert!(shrunk
            .iter()
            .all(|s| s.replay.as_deref() == Some(shrink.schedule.as_str())));
        for trace in [&full, &shrunk] {
            // seq numbers the lines of one schedule.
            for (i, s) in trace.iter().enumerate() {
                assert_eq!(s.seq, Some(i as u64));
            }
            let line = |seq: u64| trace[seq as usize];
            // Lines `op` linked to a line `from`.
            let linked = |op: &str, from: &str| -> Vec<(&TraceStep, &TraceStep)> {
                trace
                    .iter()
                    .filter(|s| s.op == op)
                    .filter_map(|s| s.from_seq.map(|f| (*s, line(f))))
                    .filter(|(_, f)| f.op == from)
                    .collect()
            };
            // The receive follows a send on the same channel.
            let recv = linked("recv", "send");
            assert_eq!(recv.len(), 1, "{trace:#?}");
            assert_eq!(recv[0].1.op, "send");
            assert_eq!(recv[0].0.obj, recv[0].1.obj);
            assert!(recv[0].0.obj.is_some());
            assert_eq!(recv[0].0.from_step, Some(recv[0].1.step));
            // The second lock follows the first unlock.
            let lock = linked("lock", "unlock");
            assert_eq!(lock.len(), 1, "{trace:#?}");
            assert_eq!(lock[0].1.op, "unlock");
            assert_eq!(lock[0].0.obj, lock[0].1.obj);
            // The second close follows the first.
            let close = linked("close of closed channel", "close");
            assert_eq!(close.len(), 1, "{trace:#?}");
            assert_eq!(close[0].1.op, "close");
            // The blocked wait completes after the last `done`.
            let wait = linked("acquire", "wg.add");
            assert_eq!(wait.len(), 1, "{trace:#?}");
            assert_eq!(wait[0].0.obj, wait[0].1.obj);
            // Each worker's `go` names it.
            let created: Vec<u64> = trace
                .iter()
                .filter(|s| s.op == "go")
                .filter_map(|s| s.peer)
                .collect();
            assert_eq!(created, [2, 3]);
        }
    }

    #[test]
    fn shrinking_is_bounded_by_its_replay_count() {
        for n in [0, 1, 3] {
            let report = explore_inner(&config().shrink(n), program);
            for f in report.findings() {
                match (&f.shrink, n) {
                    (None, 0) => {}
                    (Some(s), n) if n > 0 => assert!(s.replays <= n, "{s:?}"),
                    other => panic!("{other:?}"),
                }
            }
        }
    }
}
