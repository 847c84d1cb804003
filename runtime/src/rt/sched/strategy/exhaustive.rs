//! `Exhaustive`: every schedule of a program, by a depth-first walk of its
//! choice tree, optionally bounded in preemptions (CHESS, Musuvathi and
//! Qadeer, PLDI 2007).
//!
//! A node of the tree is a choice point (see [`replay`](super::replay)): a
//! step where several goroutines could run, or a draw among several values.
//! Its children are the default choice and the others it offered. Each
//! schedule is a replay: the first replays nothing (every choice is the
//! default), and each next one replays the path to the deepest choice point
//! with an untried option, takes that option there, and the defaults below
//! it, whose choice points join the path as it runs. The walk is stateless,
//! as loom's and CHESS's are: the program runs again from the start for
//! each schedule, so it must be deterministic (goro's schedules are).
//!
//! With a preemption bound `b`, an option that preempts (switches away from
//! a goroutine that could have run on) is tried only while the path above
//! it preempts fewer than `b` times; the others are counted as pruned.
//! Taking the clock (time passes to the next timer) preempts nobody and is
//! never pruned.
//!
//! This walk has no partial-order reduction (`GORO_DPOR=0`): two schedules
//! that differ only in the order of independent steps both run, so the
//! count of schedules is the number of paths through the choice tree. The
//! default walk, [`dpor`](super::dpor), runs one per Mazurkiewicz trace
//! (about).

use super::replay::DEFAULT;
use super::{Record, CLOCK_ID};

/// One choice point on the current path.
#[derive(Debug)]
struct Branch {
    /// What the current schedule takes here.
    taken: u32,
    /// Whether taking an option other than the default preempts.
    preempting: bool,
    /// Options not tried yet, the next one last.
    untried: Vec<u32>,
    /// How many options other than the default it offered: a replay that
    /// meets it with another count ran differently.
    offered: usize,
}

impl Branch {
    /// Whether what the current schedule takes here is a preemption: an
    /// option other than the default where the last goroutine could run
    /// on, the clock excepted (time passing switches away from nobody).
    fn preempts(&self) -> bool {
        self.preempting && self.taken != DEFAULT && self.taken != CLOCK_ID
    }
}

/// The depth-first walk's state across the schedules of one exploration.
#[derive(Debug, Default)]
pub(crate) struct Dfs {
    bound: Option<u32>,
    path: Vec<Branch>,
    started: bool,
    /// Options skipped because of the preemption bound.
    pruned: u64,
    /// A replay met its prefix's choice points differently: the program
    /// is not deterministic under goro, and the walk cannot be complete.
    diverged: Option<usize>,
}

impl Dfs {
    /// A walk bounded to `bound` preemptions per schedule (`None`: all).
    pub(crate) fn new(bound: Option<u32>) -> Self {
        Dfs {
            bound,
            ..Dfs::default()
        }
    }

    /// The choices of the next schedule to run, or `None` once every
    /// schedule (within the bound) has run.
    pub(crate) fn next_schedule(&mut self) -> Option<Vec<u32>> {
        if !self.started {
            self.started = true;
            return Some(Vec::new());
        }
        while let Some(b) = self.path.last_mut() {
            if let Some(option) = b.untried.pop() {
                b.taken = option;
                return Some(self.path.iter().map(|b| b.taken).collect());
            }
            self.path.pop();
        }
        None
    }

    /// Takes in what the schedule just run (a replay of
    /// [`Dfs::next_schedule`]'s choices) met past its replayed prefix: new
    /// choice points, each with the options it offered.
    pub(crate) fn record(&mut self, record: &Record) {
        let mut preemptions = self.path.iter().filter(|b| b.preempts()).count() as u32;
        let known = self.path.len();
        if self.diverged.is_none() {
            self.diverged = self
                .path
                .iter()
                .enumerate()
                .find(|(j, b)| record.options.get(*j).map(Vec::len) != Some(b.offered))
                .map(|(j, _)| j);
        }
        let choices = record.choices.to_vec();
        for (j, options) in record.options.iter().enumerate().skip(known) {
            let preempting = record.preempting.binary_search(&(j as u32)).is_ok();
            let taken = choices.get(j).copied().unwrap_or(DEFAULT);
            let allowed = !preempting || self.bound.is_none_or(|b| preemptions < b);
            // Time passing preempts nobody: the clock is always allowed.
            let (mut untried, past): (Vec<u32>, Vec<u32>) = options
                .iter()
                .copied()
                .filter(|&o| o != taken)
                .partition(|&o| allowed || o == CLOCK_ID);
            self.pruned += past.len() as u64;
            // Popped from the end: the lowest option is tried first.
            untried.reverse();
            if preempting && taken != DEFAULT && taken != CLOCK_ID {
                preemptions += 1;
            }
            self.path.push(Branch {
                taken,
                preempting,
                untried,
                offered: options.len(),
            });
        }
    }

    /// Whether every schedule (within the bound) has been handed out.
    pub(crate) fn done(&self) -> bool {
        self.started && self.path.iter().all(|b| b.untried.is_empty())
    }

    /// The first choice point (0-based) at which a replay ran differently
    /// from the schedule it replays, if one did.
    pub(crate) fn diverged(&self) -> Option<usize> {
        self.diverged
    }

    /// Options the preemption bound skipped so far.
    pub(crate) fn pruned(&self) -> u64 {
        self.pruned
    }

    /// How many choice points on the current path still have an untried
    /// option, and the depth of the shallowest: where the walk would go on.
    pub(crate) fn open(&self) -> (usize, Option<usize>) {
        let open: Vec<usize> = self
            .path
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.untried.is_empty())
            .map(|(i, _)| i)
            .collect();
        (open.len(), open.first().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of a schedule that met choice points with these option
    /// sets, taking the default at each (what a replay does past its
    /// prefix), each preempting as given.
    fn met(choices: &[u32], points: &[(&[u32], bool)]) -> Record {
        let mut c = choices.to_vec();
        c.resize(points.len(), DEFAULT);
        Record {
            choices: c[..].into(),
            preemptions: Default::default(),
            options: points.iter().map(|(o, _)| o.to_vec()).collect(),
            preempting: (0..points.len() as u32)
                .filter(|&j| points[j as usize].1)
                .collect(),
        }
    }

    #[test]
    fn walks_every_path_of_a_fixed_tree_once() {
        // Two choice points of two options each, whatever was chosen:
        // 4 paths.
        let mut dfs = Dfs::new(None);
        let mut seen = Vec::new();
        while let Some(prefix) = dfs.next_schedule() {
            dfs.record(&met(&prefix, &[(&[2], false), (&[3], false)]));
            seen.push(prefix);
        }
        assert_eq!(seen, vec![vec![], vec![DEFAULT, 3], vec![2], vec![2, 3],]);
    }

    #[test]
    fn a_replay_that_meets_other_choice_points_is_caught() {
        let mut dfs = Dfs::new(None);
        let first = dfs.next_schedule().unwrap();
        dfs.record(&met(&first, &[(&[2], false), (&[3], false)]));
        assert_eq!(dfs.diverged(), None);
        let second = dfs.next_schedule().unwrap();
        // The replay offers three options where the first run offered one.
        dfs.record(&met(&second, &[(&[2, 4, 5], false), (&[3], false)]));
        assert_eq!(dfs.diverged(), Some(0));
    }

    #[test]
    fn the_preemption_bound_prunes_options_past_it() {
        // Three preempting choice points: bound 1 keeps the schedules with
        // at most one preemption (1 + 3), and prunes the rest.
        let mut dfs = Dfs::new(Some(1));
        let mut runs = 0;
        while let Some(prefix) = dfs.next_schedule() {
            dfs.record(&met(&prefix, &[(&[2], true), (&[2], true), (&[2], true)]));
            runs += 1;
        }
        assert_eq!(runs, 4);
        assert_eq!(dfs.pruned(), 3);
    }

    #[test]
    fn taking_the_clock_does_not_count_toward_the_preemption_bound() {
        // Two preempting choice points offering a goroutine (2) and the
        // clock. Bound 0: no goroutine switch, but the clock at either
        // point, or at both: 4 schedules.
        let mut dfs = Dfs::new(Some(0));
        let mut seen = Vec::new();
        while let Some(prefix) = dfs.next_schedule() {
            dfs.record(&met(
                &prefix,
                &[(&[2, CLOCK_ID], true), (&[2, CLOCK_ID], true)],
            ));
            seen.push(prefix);
        }
        assert_eq!(
            seen,
            vec![
                vec![],
                vec![DEFAULT, CLOCK_ID],
                vec![CLOCK_ID],
                vec![CLOCK_ID, CLOCK_ID],
            ]
        );
        // Option 2 was pruned at the first point once and at the second
        // point under each of the two first choices.
        assert_eq!(dfs.pruned(), 3);
    }
}
