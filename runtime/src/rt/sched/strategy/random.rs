//! `Random`: uniform among the goroutines that can run, at every step.
//!
//! The clock (`CLOCK`, offered last in `ready`) is taken apart, as if each
//! step lasted a time `work` drawn per schedule from [`WORK`]: once the
//! steps since the clock last moved have lasted about as long as the way to
//! the next timer (between half and one and a half times as long, drawn at
//! each step, so that the timer lands at different points of the work),
//! time passes to it. So a 1 ns timer fires before the work after it in
//! some schedules (`work` > 0) and after it in others (`work` = 0: only the
//! scheduler's forced firing moves the clock), while a timer a second away
//! never fires before a few thousand steps of work, as in Go.

use std::time::Duration;

use goro_analyzer::event::Gid;

use super::{below, mix2, Clock, CLOCK};

/// Salt of the draw of `work`, apart from the goroutine draws.
const CLOCK_SALT: u64 = 0xc10c_0000_0000_0001;

/// How long a step lasts, one value per schedule.
const WORK: [Duration; 6] = [
    Duration::ZERO,
    Duration::from_nanos(1),
    Duration::from_nanos(10),
    Duration::from_nanos(100),
    Duration::from_micros(1),
    Duration::from_micros(10),
];

/// The goroutine to run at `step` among `ready` (at least two), or
/// `CLOCK` when it is offered (last; `clock` says how far and since when)
/// and due: a function of `(seed, step)` and of `clock` alone, so the
/// strategy keeps no state.
#[inline]
pub(crate) fn choose(seed: u64, step: u64, ready: &[Gid], clock: Clock) -> Gid {
    let ready = match ready.split_last() {
        Some((&last, goroutines)) if last == CLOCK => {
            let work = WORK[below(mix2(seed, CLOCK_SALT), WORK.len())];
            let worked = work.as_nanos() * u128::from(clock.lag);
            // worked >= distance * (1/2 + u), u uniform in [0, 1), in
            // fixed point (2^65 is 2 * 2^64).
            let u = u128::from(mix2(seed ^ CLOCK_SALT, step));
            let need = clock.distance.as_nanos().saturating_mul((1 << 64) + 2 * u);
            if !work.is_zero() && worked.saturating_mul(1 << 65) >= need {
                return CLOCK;
            }
            goroutines
        }
        _ => ready,
    };
    if ready.len() == 1 {
        return ready[0];
    }
    ready[below(mix2(seed, step), ready.len())]
}
