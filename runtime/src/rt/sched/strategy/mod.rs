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
//! One file per strategy: `random`, `pct`, `portfolio` (random and PCT in
//! turn, the default), `exhaustive` (every schedule, depth first) and
//! `replay`.
//!
//! **The clock.** While goroutines can run and a timer is pending, the
//! scheduler offers one more option besides the ready goroutines: [`CLOCK`],
//! "time passes to the next timer now" (Go's clock runs while goroutines
//! do). It is the last entry of `ready` when offered, never the first, and
//! every strategy sees it as one more option ([`Chooser::offer_clock`] says
//! how far the next timer is): `Random` takes it as if each step lasted a time
//! drawn per schedule, `Pct` ranks it below every goroutine, `Replay` takes
//! it when its entry says so. Taking it is recorded like any choice (`t` in
//! the text form); it does not change which goroutine counts as the last to
//! have run.

/// The option "advance the virtual clock to the next timer", offered in
/// `ready` beside the goroutines. Not a goroutine: ids are dense from 1 and
/// never reach it under detection.
pub(crate) const CLOCK: Gid = Gid::from_index(CLOCK_ID as usize - 1);

/// [`CLOCK`] as a record entry (`t` in the text form).
pub(crate) const CLOCK_ID: u32 = u32::MAX - 1;

/// What a strategy knows of the clock when it is offered.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Clock {
    /// How far the next timer is.
    pub(crate) distance: Duration,
    /// Steps taken since the clock last moved.
    pub(crate) lag: u64,
}

use std::time::Duration;

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

pub(crate) mod dpor;
pub(crate) mod exhaustive;
pub(crate) mod footprint;
mod pct;
pub(crate) mod portfolio;
mod random;
mod record;
pub(crate) mod replay;

pub(crate) use record::Record;

use goro_analyzer::env::Strategy;
use goro_analyzer::event::Gid;

/// The seed of schedule `index` under `strategy` from base seed `base`:
/// [`schedule_seed`], but a portfolio's seeds also name their member
/// strategy (see [`portfolio`]).
pub(crate) fn seed_for(strategy: Strategy, base: u64, index: u32) -> u64 {
    match strategy {
        Strategy::Portfolio => portfolio::seed(base, index),
        _ => schedule_seed(base, index),
    }
}

/// Which strategy picks.
enum Pick {
    Random,
    Pct(pct::Pct),
    Replay(replay::Replay),
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
    /// The clock, when it is offered.
    clock: Clock,
    record: Record,
    /// The partial-order reduction's log of this schedule, when the
    /// exhaustive search reduces (see [`dpor`]).
    dpor: Option<Box<dpor::Run>>,
}

impl Chooser {
    fn new(seed: u64, pick: Pick) -> Self {
        Chooser {
            seed,
            pick,
            last: None,
            clock: Clock::default(),
            record: Record::default(),
            dpor: None,
        }
    }

    /// Keeps the log the partial-order reduction needs (see [`dpor`]),
    /// with the sleep set `install` to put in place where the schedule
    /// leaves the path it replays.
    pub(crate) fn with_dpor(mut self, install: Option<(u32, Vec<footprint::Sleeper>)>) -> Self {
        self.dpor = Some(Box::new(dpor::Run::new(install)));
        self
    }

    /// The reduction's log, when kept.
    pub(crate) fn dpor(&mut self) -> Option<&mut dpor::Run> {
        self.dpor.as_deref_mut()
    }

    /// The reduction's log, when kept, taken out at the end.
    pub(crate) fn take_dpor(&mut self) -> Option<Box<dpor::Run>> {
        self.dpor.take()
    }

    /// The clock fires timers with no choice made (forced, or nothing else
    /// could run): a step of its own for the reduction.
    pub(crate) fn clock_step(&mut self) {
        if let Some(d) = self.dpor.as_deref_mut() {
            d.open_step(CLOCK_ID, None);
        }
    }

    pub(crate) fn random(seed: u64) -> Self {
        Chooser::new(seed, Pick::Random)
    }

    /// PCT with `depth - 1` change points spread over `expected_steps`.
    pub(crate) fn pct(seed: u64, depth: u32, expected_steps: u64) -> Self {
        Chooser::new(seed, Pick::Pct(pct::Pct::new(seed, depth, expected_steps)))
    }

    /// The chooser of a seeded strategy for the schedule with `seed` (from
    /// [`seed_for`]); PCT spreads its change points over `expected_steps`.
    /// `Exhaustive` is not seeded: its explorer ([`exhaustive`]) hands
    /// each schedule a replay of a prefix; given here, it runs as random.
    pub(crate) fn seeded(strategy: Strategy, seed: u64, expected_steps: u64) -> Self {
        match strategy {
            Strategy::Pct { depth } => Chooser::pct(seed, depth, expected_steps),
            Strategy::Portfolio => match portfolio::member(seed) {
                portfolio::Member::Random => Chooser::random(seed),
                portfolio::Member::Pct(depth) => Chooser::pct(seed, depth, expected_steps),
            },
            Strategy::Random | Strategy::Exhaustive { .. } => Chooser::random(seed),
        }
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

    /// The clock is offered at the next [`Chooser::choose`].
    pub(crate) fn offer_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// Picks the goroutine to run at `step` among `ready` (non-empty).
    ///
    /// `is_ready` answers in constant time whether a goroutine is in
    /// `ready` (the scheduler keeps each one's position).
    #[inline(always)]
    pub(crate) fn choose(
        &mut self,
        step: u64,
        ready: &[Gid],
        is_ready: &dyn Fn(Gid) -> bool,
    ) -> Gid {
        // One goroutine, no reduction's log (it logs every step), no
        // clock: no choice, no draw, no record (PCT sees every step: its
        // change points are step indices). Inline, at every caller: a third
        // of a ping-pong's steps.
        if let &[g] = ready {
            if g != CLOCK
                && self.dpor.is_none()
                && matches!(self.pick, Pick::Random | Pick::Replay(_))
            {
                self.last = Some(g);
                return g;
            }
        }
        self.choose_many(step, ready, is_ready)
    }

    /// [`Chooser::choose`] but for its inline case.
    #[inline(never)]
    fn choose_many(&mut self, step: u64, ready: &[Gid], is_ready: &dyn Fn(Gid) -> bool) -> Gid {
        // The common case of a detected run, without the reduction's log
        // or the clock: what `choose_among` does for it, with none of its
        // other cases' checks.
        if self.dpor.is_none() && ready.last().is_some_and(|&g| g != CLOCK) {
            if let Pick::Random = self.pick {
                return self.choose_random(step, ready, is_ready);
            }
        }
        self.choose_among(step, ready, is_ready)
    }

    /// [`Chooser::choose`] by `Random` among two or more goroutines, no
    /// clock offered, no reduction: the draw and its record.
    #[inline]
    fn choose_random(&mut self, step: u64, ready: &[Gid], is_ready: &dyn Fn(Gid) -> bool) -> Gid {
        let g = ready[below(mix2(self.seed, step), ready.len())];
        let last = self.last.filter(|&l| is_ready(l));
        let default = last.unwrap_or(ready[0]);
        if g == default {
            self.record.choices.push(replay::DEFAULT);
        } else {
            if last.is_some() {
                self.record
                    .preemptions
                    .push(self.record.choices.len() as u32);
            }
            self.record.choices.push(record_id(g));
        }
        self.last = Some(g);
        g
    }

    /// [`Chooser::choose`], every case.
    #[inline(never)]
    fn choose_among(&mut self, step: u64, ready: &[Gid], is_ready: &dyn Fn(Gid) -> bool) -> Gid {
        let index = self.record.options.len() as u32;
        if let Some(d) = self.dpor.as_deref_mut() {
            d.close_step();
        }
        let g = match &mut self.pick {
            // PCT sees every step: its change points are step indices.
            // It never takes the clock: time passes only when forced.
            Pick::Pct(p) => match ready.split_last() {
                Some((&last, goroutines)) if last == CLOCK => p.choose(step, goroutines),
                _ => p.choose(step, ready),
            },
            // One candidate: no choice, no draw, no record.
            _ if ready.len() == 1 => {
                if let Some(d) = self.dpor.as_deref_mut() {
                    if d.asleep(record_id(ready[0])) {
                        d.block(index);
                    }
                }
                ready[0]
            }
            Pick::Random => random::choose(self.seed, step, ready, self.clock),
            Pick::Replay(r) => match self.dpor.as_deref_mut() {
                Some(d) => {
                    let (g, all_asleep) =
                        r.choose_awake(self.last, ready, is_ready, &|g| d.asleep(record_id(g)));
                    if all_asleep {
                        d.block(index);
                    }
                    g
                }
                None => r.choose(self.last, ready, is_ready),
            },
        };
        if let Some(d) = self.dpor.as_deref_mut() {
            let choice = (ready.len() > 1).then_some(index);
            if let Some(i) = choice {
                let default = replay::default_choice(self.last, ready, is_ready);
                d.sched_point(
                    i,
                    ready.iter().map(|&r| record_id(r)).collect(),
                    record_id(default),
                );
            }
            d.open_step(record_id(g), choice);
        }
        if ready.len() > 1 {
            if let Pick::Replay(_) = self.pick {
                let d = replay::default_choice(self.last, ready, is_ready);
                let mut other: Vec<u32> = ready
                    .iter()
                    .filter(|&&r| r != d)
                    .map(|&r| record_id(r))
                    .collect();
                other.sort_unstable();
                if self.last.is_some_and(is_ready) {
                    self.record
                        .preempting
                        .push(self.record.options.len() as u32);
                }
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
                // Time passing preempts nobody: the goroutine that ran
                // last runs on by default after the timers fired.
                if last_ready && g != CLOCK {
                    self.record
                        .preemptions
                        .push(self.record.choices.len() as u32);
                }
                self.record.choices.push(record_id(g));
            }
        }
        if g != CLOCK {
            self.last = Some(g);
        }
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
                if let Some(d) = self.dpor.as_deref_mut() {
                    d.draw_point(self.record.options.len() as u32);
                }
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

    /// `choose`'s shortcuts (one candidate; `Random` among several) pick
    /// and record what the general path does, so seeds and replays are
    /// unchanged by them. Ready sets of one to four of six goroutines, in
    /// varying order, the previous goroutine ready or not.
    #[test]
    fn the_shortcuts_choose_and_record_as_the_general_path() {
        let mut preempted = 0;
        for seed in 0..40u64 {
            let mut fast = Chooser::random(seed);
            let mut slow = Chooser::random(seed);
            for step in 1..300u64 {
                let x = mix2(seed ^ 0x7e57, step);
                let mut ready: Vec<Gid> = Vec::new();
                for k in 0..1 + (x % 4) {
                    let g = Gid::from_index(((x >> (8 * k + 8)) % 6) as usize);
                    if !ready.contains(&g) {
                        ready.push(g);
                    }
                }
                let is_ready = |g: Gid| ready.contains(&g);
                let a = fast.choose(step, &ready, &is_ready);
                let b = slow.choose_among(step, &ready, &is_ready);
                assert_eq!(a, b, "seed {seed} step {step} ready {ready:?}");
            }
            let (f, s) = (fast.into_record(), slow.into_record());
            assert_eq!(format!("{f:?}"), format!("{s:?}"), "seed {seed}");
            preempted += f.preemptions.len();
        }
        assert!(preempted > 0, "some choices preempt");
    }

    #[test]
    fn pct_demotes_a_goroutine_that_spins_while_another_waits() {
        let mut c = Chooser::pct(1, 1, 100);
        let (g1, g2) = (Gid::MAIN, Gid::from_index(1));
        c.on_spawn(g1, 10);
        c.on_spawn(g2, 20);
        let both = |g: Gid| g == g1 || g == g2;
        let first = c.choose(1, &[g1, g2], &both);
        let other = if first == g1 { g2 } else { g1 };
        let steps = u64::from(pct::SPIN_STEPS);
        for step in 2..=steps {
            assert_eq!(c.choose(step, &[g1, g2], &both), first, "step {step}");
        }
        assert_eq!(c.choose(steps + 1, &[g1, g2], &both), other);
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
    /// Offers the clock, `distance` away and passed over for `lag` steps,
    /// beside main, and says whether `c` took it.
    fn takes_clock(c: &mut Chooser, step: u64, distance: Duration, lag: u64) -> bool {
        c.offer_clock(Clock { distance, lag });
        let offered = |g: Gid| g == Gid::MAIN || g == CLOCK;
        c.choose(step, &[Gid::MAIN, CLOCK], &offered) == CLOCK
    }

    #[test]
    fn random_lets_time_pass_once_the_steps_have_lasted_as_long_as_the_way() {
        let ns = Duration::from_nanos;
        let (mut early, mut late) = (0, 0);
        for seed in 0..200 {
            let mut c = Chooser::random(seed);
            // Right after the clock moved, a goroutine runs first.
            assert!(!takes_clock(&mut c, 1, ns(1), 0));
            // A second away, a thousand steps are not enough.
            assert!(!takes_clock(&mut c, 2, Duration::from_secs(1), 1_000));
            if takes_clock(&mut c, 3, ns(1), 1) {
                early += 1;
            } else {
                late += 1;
            }
        }
        // Some schedules fire a 1 ns timer before the next step, others
        // let the work run on.
        assert!(early > 0 && late > 0, "{early} early, {late} late");
    }

    #[test]
    fn the_clock_is_recorded_and_replayed_and_preempts_nobody() {
        let g2 = Gid::from_index(1);
        let both = |g: Gid| g == Gid::MAIN || g == g2;
        // A replay that takes the clock at its second choice point.
        let mut r = Chooser::replay(0, vec![replay::DEFAULT, CLOCK_ID]);
        assert_eq!(r.choose(1, &[Gid::MAIN, g2], &both), Gid::MAIN);
        assert!(takes_clock(&mut r, 2, Duration::ZERO, 0));
        // After the timers fired, the goroutine that ran last runs on by
        // default: taking the clock switched away from nobody.
        assert_eq!(r.choose(3, &[g2, Gid::MAIN], &both), Gid::MAIN);
        let record = r.into_record();
        assert_eq!(
            record.choices.to_vec(),
            [replay::DEFAULT, CLOCK_ID, replay::DEFAULT]
        );
        assert!(record.preemptions.is_empty(), "{record:?}");
    }
}
