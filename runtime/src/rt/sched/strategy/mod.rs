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
//!
//! Whatever the strategy, the [`Chooser`] records the choice sequence it
//! took (a push per real choice), which `Replay` follows again: the
//! shrinker (`race::shrink`) and `GORO_REPLAY` replay explicit schedules.
//! One file per strategy: `random`, `pct`, `replay`.

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

use goro_analyzer::event::Gid;

mod pct;
mod random;
pub(crate) mod replay;

/// Which strategy picks.
enum Pick {
    Random,
    Pct(pct::Pct),
    Replay(replay::Replay),
}

/// The choice sequence a schedule took (see [`replay`]), recorded as it
/// runs: one push per choice point, so that a schedule that finds
/// something can be replayed and shrunk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// One entry per choice point.
    pub(crate) choices: Vec<u32>,
    /// The indices in `choices` of the preemptions: steps that switched
    /// away from a goroutine that could have run on.
    pub(crate) preemptions: Vec<u32>,
    /// Replaying only (what the shrinker searches): at each choice point,
    /// the choices other than the default that it offered.
    pub(crate) options: Vec<Vec<u32>>,
}

/// A goroutine as a record entry: its number (records are text, and ids
/// past `u32::MAX` do not occur under detection).
fn record_id(g: Gid) -> u32 {
    u32::try_from(g.get()).unwrap_or(u32::MAX)
}

/// The strategy's state for one schedule, and the record of what it chose.
pub(crate) struct Chooser {
    seed: u64,
    pick: Pick,
    /// The goroutine that ran the previous step (`None`: none yet).
    last: Option<Gid>,
    record: Record,
}

impl Chooser {
    fn new(seed: u64, pick: Pick) -> Self {
        Chooser {
            seed,
            pick,
            last: None,
            record: Record::default(),
        }
    }

    pub(crate) fn random(seed: u64) -> Self {
        Chooser::new(seed, Pick::Random)
    }

    /// PCT with `depth - 1` change points spread over `expected_steps`.
    pub(crate) fn pct(seed: u64, depth: u32, expected_steps: u64) -> Self {
        Chooser::new(seed, Pick::Pct(pct::Pct::new(seed, depth, expected_steps)))
    }

    /// Follows `choices` (see [`replay`]); `seed` only names the schedule.
    pub(crate) fn replay(seed: u64, choices: Vec<u32>) -> Self {
        Chooser::new(seed, Pick::Replay(replay::Replay::new(choices)))
    }

    /// The schedule's seed.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// What was chosen so far.
    pub(crate) fn into_record(self) -> Record {
        self.record
    }

    /// A goroutine was created with spawn path hash `path`.
    pub(crate) fn on_spawn(&mut self, gid: Gid, path: u64) {
        if let Pick::Pct(p) = &mut self.pick {
            p.on_spawn(gid, path);
        }
    }

    /// Picks the goroutine to run at `step` among `ready` (non-empty).
    ///
    /// `is_ready` answers in constant time whether a goroutine is in
    /// `ready` (the scheduler keeps each one's position).
    pub(crate) fn choose(
        &mut self,
        step: u64,
        ready: &[Gid],
        is_ready: &dyn Fn(Gid) -> bool,
    ) -> Gid {
        let g = match &mut self.pick {
            // PCT sees every step: its change points are step indices.
            Pick::Pct(p) => p.choose(step, ready),
            // One candidate: no choice, no draw, no record.
            _ if ready.len() == 1 => ready[0],
            Pick::Random => random::choose(self.seed, step, ready),
            Pick::Replay(r) => r.choose(self.last, ready, is_ready),
        };
        if ready.len() > 1 {
            if let Pick::Replay(_) = self.pick {
                let d = replay::default_choice(self.last, ready, is_ready);
                let mut other: Vec<u32> = ready
                    .iter()
                    .filter(|&&r| r != d)
                    .map(|&r| record_id(r))
                    .collect();
                other.sort_unstable();
                self.record.options.push(other);
            }
            // Recorded as "the default" when it is one, so that a replay
            // of the record reads which choices mattered.
            let last_ready = self.last.is_some_and(is_ready);
            let default = if last_ready {
                self.last.expect("ready")
            } else {
                replay::default_choice(self.last, ready, is_ready)
            };
            if g == default {
                self.record.choices.push(replay::DEFAULT);
            } else {
                if last_ready {
                    self.record
                        .preemptions
                        .push(self.record.choices.len() as u32);
                }
                self.record.choices.push(record_id(g));
            }
        }
        self.last = Some(g);
        g
    }

    /// A choice in `0..n` for the running goroutine; `seeded` is the
    /// seeded strategies' draw (in range), which a replay ignores.
    pub(crate) fn draw(&mut self, n: usize, seeded: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let v = match &mut self.pick {
            Pick::Replay(r) => {
                self.record.options.push((1..n as u32).collect());
                r.draw(n)
            }
            _ => seeded,
        };
        self.record
            .choices
            .push(if v == 0 { replay::DEFAULT } else { v as u32 });
        v
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
        let (g1, g2) = (Gid::MAIN, Gid::from_index(1));
        c.on_spawn(g1, 10);
        c.on_spawn(g2, 20);
        let both = |g: Gid| g == g1 || g == g2;
        let first = c.choose(1, &[g1, g2], &both);
        for step in 2..50 {
            assert_eq!(c.choose(step, &[g1, g2], &both), first);
        }
    }
}
