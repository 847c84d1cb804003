//! Who runs next: the seeded strategies of the detecting scheduler.
//!
//! Every choice is a pure function of the schedule's seed and of where the
//! program is, computed with splitmix64 (not a library RNG, whose stream may
//! change between versions): the same seed gives the same schedule on every
//! machine and every build.
//!
//! What an edit changes: `Random` draws its choice at step `n` from
//! `(seed, n)`, so an edit that adds or removes steps before a point shifts
//! the choices after it. `Pct` gives each goroutine a priority drawn from
//! `(seed, its spawn path)` (the chain of "k-th goroutine started by its
//! parent" from main), so an edit inside one goroutine leaves every other
//! goroutine's priority unchanged; only its `depth - 1` change points are
//! step indices and move with edits.

/// splitmix64: a fast, well-mixed 64-bit hash/PRNG step.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Combines two values into one well-mixed value.
pub(crate) fn mix2(a: u64, b: u64) -> u64 {
    mix(a ^ mix(b))
}

/// A uniform value in `0..n` from a mixed 64-bit value.
pub(crate) fn below(x: u64, n: usize) -> usize {
    ((u128::from(x) * n as u128) >> 64) as usize
}

/// The seed of schedule `index` of an exploration with base seed `base`.
/// Schedule 0 runs with `base` itself, so a reported seed replays with
/// `GORO_SEED=<seed> GORO_SCHEDULES=1`.
pub(crate) fn schedule_seed(base: u64, index: u32) -> u64 {
    if index == 0 {
        base
    } else {
        mix2(base, u64::from(index))
    }
}

/// The strategy's state for one schedule.
pub(crate) enum Chooser {
    Random {
        seed: u64,
    },
    Pct {
        seed: u64,
        /// Steps at which the running goroutine's priority drops.
        change_points: Vec<u64>,
        /// Priority of each goroutine (index gid - 1); higher runs first.
        prio: Vec<u64>,
        /// Next low priority to hand out at a change point.
        next_low: u64,
    },
}

impl Chooser {
    pub(crate) fn random(seed: u64) -> Self {
        Chooser::Random { seed }
    }

    /// PCT with `depth - 1` change points spread over `expected_steps`.
    pub(crate) fn pct(seed: u64, depth: u32, expected_steps: u64) -> Self {
        let k = expected_steps.max(1);
        let mut change_points: Vec<u64> = (1..depth.max(1))
            .map(|i| 1 + below(mix2(seed, 0x5043_5400 + u64::from(i)), k as usize) as u64)
            .collect();
        change_points.sort_unstable();
        Chooser::Pct {
            seed,
            change_points,
            prio: Vec::new(),
            next_low: u64::from(depth.max(1)),
        }
    }

    /// A goroutine was created with spawn path hash `path`.
    pub(crate) fn on_spawn(&mut self, gid: u64, path: u64) {
        if let Chooser::Pct { seed, prio, .. } = self {
            let i = (gid - 1) as usize;
            if prio.len() <= i {
                prio.resize(i + 1, 0);
            }
            // Initial priorities sit above every change-point priority.
            prio[i] = (mix2(*seed, path) | (1 << 63)).max(1 << 32);
        }
    }

    /// Picks the goroutine to run at `step` among `ready` (non-empty).
    pub(crate) fn choose(&mut self, step: u64, ready: &[u64]) -> u64 {
        match self {
            // One candidate: no draw (Random keeps no state to advance).
            Chooser::Random { .. } if ready.len() == 1 => ready[0],
            Chooser::Random { seed } => ready[below(mix2(*seed, step), ready.len())],
            Chooser::Pct {
                change_points,
                prio,
                next_low,
                ..
            } => {
                let best = |prio: &[u64]| {
                    *ready
                        .iter()
                        .max_by_key(|&&g| (prio.get((g - 1) as usize).copied().unwrap_or(0), g))
                        .expect("ready is non-empty")
                };
                let mut g = best(prio);
                while change_points.first() == Some(&step) {
                    change_points.remove(0);
                    // Demote the goroutine that would run: a priority change
                    // point, below every initial priority.
                    *next_low = next_low.saturating_sub(1);
                    prio[(g - 1) as usize] = *next_low;
                    g = best(prio);
                }
                g
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_in_range_and_spread() {
        let mut counts = [0u32; 3];
        for i in 0..30_000u64 {
            counts[below(mix(i), 3)] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn schedule_seeds_differ_and_repeat() {
        assert_eq!(schedule_seed(7, 3), schedule_seed(7, 3));
        assert_ne!(schedule_seed(7, 3), schedule_seed(7, 4));
        assert_ne!(schedule_seed(7, 3), schedule_seed(8, 3));
        assert_eq!(schedule_seed(7, 0), 7);
    }

    #[test]
    fn pct_runs_the_highest_priority_until_a_change_point() {
        let mut c = Chooser::pct(1, 1, 100);
        c.on_spawn(1, 10);
        c.on_spawn(2, 20);
        let first = c.choose(1, &[1, 2]);
        for step in 2..50 {
            assert_eq!(c.choose(step, &[1, 2]), first);
        }
    }
}
