//! `Portfolio`: random and PCT of depths 1 to 3 in turn, one member
//! strategy per schedule (as shuttle's `PortfolioRunner` runs several
//! schedulers side by side, here interleaved over the schedule indices).
//!
//! Random finds bugs that need many preemptions spread anywhere; PCT finds
//! bugs that need a few goroutines to stay unscheduled for a long stretch,
//! which random reaches with a probability that falls exponentially in the
//! length of the stretch. No single one is best on every program.
//!
//! The member is a function of the schedule's *seed* (`seed % 6`: 0, 2 and
//! 4 random, 1, 3 and 5 PCT of depth 1, 2 and 3), so that a reported seed
//! replays its member with `GORO_SEED=<seed> GORO_SCHEDULES=1` like any
//! other. The seed of schedule `i > 0` is the usual `(base, i)` mix with
//! its residue modulo 6 set to `(base + i) % 6`, so consecutive schedules
//! rotate through the six slots: among any 6 consecutive schedules, 3 are
//! random and one is PCT of each depth.

use super::mix2;

/// The strategy a portfolio schedule runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Member {
    Random,
    Pct(u32),
}

/// The member named by a schedule's seed.
pub(crate) fn member(seed: u64) -> Member {
    match seed % 6 {
        1 => Member::Pct(1),
        3 => Member::Pct(2),
        5 => Member::Pct(3),
        _ => Member::Random,
    }
}

/// The seed of schedule `index` of a portfolio exploration with base seed
/// `base`. Schedule 0 runs with `base` itself, as with every strategy.
pub(crate) fn seed(base: u64, index: u32) -> u64 {
    if index == 0 {
        return base;
    }
    let slot = (base % 6 + u64::from(index) % 6) % 6;
    // `>> 3` keeps `* 6 + slot` below 2^64; the mix keeps 61 fresh bits.
    (mix2(base, u64::from(index)) >> 3) * 6 + slot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_rotate_over_consecutive_schedules() {
        for base in [0u64, 1, 5, 7, u64::MAX] {
            let members: Vec<Member> = (0..12).map(|i| member(seed(base, i))).collect();
            for w in members.windows(6) {
                let random = w.iter().filter(|&&m| m == Member::Random).count();
                assert_eq!(random, 3, "base {base}: {members:?}");
                for d in 1..=3 {
                    assert!(w.contains(&Member::Pct(d)), "base {base}: {members:?}");
                }
            }
        }
    }

    #[test]
    fn schedule_zero_runs_the_base_seed() {
        assert_eq!(seed(42, 0), 42);
        assert_eq!(member(seed(42, 0)), member(42));
        assert_ne!(seed(42, 1), seed(42, 7));
    }
}
