//! `Pct`: probabilistic concurrency testing (Burckhardt et al., ASPLOS
//! 2010). Each goroutine gets a priority drawn from `(seed, its spawn
//! path)`; the highest-priority ready goroutine runs, and at `depth - 1`
//! change points (step indices) the one that would run is demoted below
//! every initial priority.
//!
//! PCT assumes that the goroutine it favours eventually blocks or ends. One
//! that spins instead (polls a flag with `yield_now`, or a `select!` with
//! `default`, waiting for a goroutine of lower priority) would run alone
//! until the step limit. So a goroutine that runs [`SPIN_STEPS`] steps in
//! a row while another could run is demoted as at a change point. (Shuttle
//! demotes a task when it yields; here a yield is not told apart from an
//! operation's scheduling point.)

use goro_analyzer::event::Gid;

use super::{below, mix2};

/// Steps in a row a goroutine may run while another could, before it is
/// demoted: far more than a bug's stretch of starvation needs, far fewer
/// than the default step limit.
pub(crate) const SPIN_STEPS: u32 = 1_000;

/// The priority the first demotion hands out: below every initial
/// priority (at least 2^63), with room for any number of demotions.
const FIRST_LOW: u64 = 1 << 62;

/// PCT's state for one schedule.
pub(crate) struct Pct {
    seed: u64,
    /// Steps at which the running goroutine's priority drops.
    change_points: Vec<u64>,
    /// Priority of each goroutine (by [`Gid::index`]); higher runs first.
    prio: Vec<u64>,
    /// Next low priority to hand out at a change point or a demotion.
    next_low: u64,
    /// The goroutine of the previous step, and how many steps in a row it
    /// ran while another could.
    last: Option<Gid>,
    run: u32,
}

impl Pct {
    /// PCT with `depth - 1` change points spread over `expected_steps`.
    pub(crate) fn new(seed: u64, depth: u32, expected_steps: u64) -> Self {
        let k = expected_steps.max(1);
        let mut change_points: Vec<u64> = (1..depth.max(1))
            .map(|i| 1 + below(mix2(seed, 0x5043_5400 + u64::from(i)), k as usize) as u64)
            .collect();
        change_points.sort_unstable();
        Pct {
            seed,
            change_points,
            prio: Vec::new(),
            next_low: FIRST_LOW,
            last: None,
            run: 0,
        }
    }

    /// A goroutine was created with spawn path hash `path`.
    pub(crate) fn on_spawn(&mut self, gid: Gid, path: u64) {
        let i = gid.index();
        if self.prio.len() <= i {
            self.prio.resize(i + 1, 0);
        }
        // Initial priorities sit above every change-point priority.
        self.prio[i] = (mix2(self.seed, path) | (1 << 63)).max(1 << 32);
    }

    /// The goroutine to run at `step` among `ready` (non-empty). Called at
    /// every step, even a forced one: a change point is a step index.
    pub(crate) fn choose(&mut self, step: u64, ready: &[Gid]) -> Gid {
        let best = |prio: &[u64]| {
            *ready
                .iter()
                .max_by_key(|&&g| (prio.get(g.index()).copied().unwrap_or(0), g))
                .expect("ready is non-empty")
        };
        let mut g = best(&self.prio);
        while self.change_points.first() == Some(&step) {
            self.change_points.remove(0);
            // Demote the goroutine that would run: a priority change
            // point, below every initial priority.
            self.demote(g);
            g = best(&self.prio);
        }
        if Some(g) != self.last {
            self.run = 0;
        }
        if ready.len() > 1 {
            self.run += 1;
            if self.run > SPIN_STEPS {
                self.demote(g);
                g = best(&self.prio);
                self.run = 0;
            }
        }
        self.last = Some(g);
        g
    }

    /// Gives `g` a priority below every other one so far.
    fn demote(&mut self, g: Gid) {
        self.next_low = self.next_low.saturating_sub(1);
        self.prio[g.index()] = self.next_low;
    }
}
