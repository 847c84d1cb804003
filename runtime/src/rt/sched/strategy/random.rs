//! `Random`: uniform among the goroutines that can run, at every step.

use goro_analyzer::event::Gid;

use super::{below, mix2};

/// The goroutine to run at `step` among `ready` (at least two): a draw
/// from `(seed, step)` alone, so the strategy keeps no state.
pub(crate) fn choose(seed: u64, step: u64, ready: &[Gid]) -> Gid {
    ready[below(mix2(seed, step), ready.len())]
}
