//! `Pct`: probabilistic concurrency testing (Burckhardt et al., ASPLOS
//! 2010). Each goroutine gets a priority drawn from `(seed, its spawn
//! path)`; the highest-priority ready goroutine runs, and at `depth - 1`
//! change points (step indices) the one that would run is demoted below
//! every initial priority.

use goro_analyzer::event::Gid;

use super::{below, mix2};

/// PCT's state for one schedule.
pub(crate) struct Pct {
    seed: u64,
    /// Steps at which the running goroutine's priority drops.
    change_points: Vec<u64>,
    /// Priority of each goroutine (by [`Gid::index`]); higher runs first.
    prio: Vec<u64>,
    /// Next low priority to hand out at a change point.
    next_low: u64,
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
            next_low: u64::from(depth.max(1)),
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
            self.next_low = self.next_low.saturating_sub(1);
            self.prio[g.index()] = self.next_low;
            g = best(&self.prio);
        }
        g
    }
}
