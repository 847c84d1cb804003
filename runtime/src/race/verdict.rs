//! The verdict of an exhaustive exploration: whether it ran every schedule.

use std::fmt;

/// Whether an exploration with [`Strategy::Exhaustive`](super::Strategy)
/// ran every schedule of the program (up to its preemption bound), so that
/// "no finding" means none in any schedule, or stopped short.
///
/// # Examples
///
/// ```
/// use goro::race::{explore, Config, Strategy};
///
/// let config = Config::default()
///     .env(false)
///     .schedules(1_000)
///     .strategy(Strategy::Exhaustive { preemptions: None });
/// let report = explore(config, || async {
///     let ch = goro::chan::<u32>(1);
///     let tx = ch.clone();
///     goro::go!(async move { tx.send(1).await });
///     ch.recv().await;
/// });
/// let verdict = report.verdict().expect("an exhaustive run has a verdict");
/// assert!(verdict.complete);
/// assert!(verdict.to_string().starts_with("complete"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Every schedule up to the bound ran.
    pub complete: bool,
    /// How many schedules ran.
    pub schedules: u32,
    /// Options left untried because they would pass the preemption bound
    /// (each one a whole subtree of schedules).
    pub pruned: u64,
    /// The preemption bound (`None`: unbounded).
    pub preemptions: Option<u32>,
    /// Why the exploration stopped short, when it did: the schedule budget,
    /// the time budget, or schedules cut by the step limit.
    pub stopped: Option<String>,
    /// What partial-order reduction left out (`None`: the search ran
    /// without it, `GORO_DPOR=0`).
    pub reduction: Option<Reduction>,
}

/// What the partial-order reduction of an exhaustive search left out: the
/// schedules it did not run differ from one it ran only in the order of
/// independent steps (steps that touch no common object, or only read
/// it), so they reach the same findings.
///
/// # Examples
///
/// ```
/// use goro::race::{explore, Config, Strategy};
///
/// let config = Config::default()
///     .env(false)
///     .strategy(Strategy::Exhaustive { preemptions: None });
/// // Two goroutines on two channels of their own: one trace.
/// let report = explore(config, || async {
///     for _ in 0..2 {
///         let ch = goro::chan::<u8>(1);
///         goro::go!(async move {
///             ch.send(1).await;
///             ch.recv().await;
///         });
///     }
/// });
/// let verdict = report.verdict().expect("a verdict");
/// assert_eq!(verdict.schedules, 1);
/// assert!(verdict.reduction.expect("reduced").skipped > 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reduction {
    /// Options at scheduling choice points left untried (each a whole
    /// subtree of schedules the unreduced search would have run).
    pub skipped: u64,
    /// Schedules run in part for nothing: from some point on, every
    /// goroutine that could run was known to repeat an explored order
    /// (they still ran to their end, and count in `schedules`).
    pub redundant: u32,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = match self.preemptions {
            Some(b) => format!(
                "at most {b} preemption(s) per schedule, {} option(s) past the bound pruned",
                self.pruned
            ),
            None => "no preemption bound".to_string(),
        };
        let reduction = match (self.reduction, self.preemptions) {
            (None, _) => "no partial-order reduction".to_string(),
            (Some(r), bound) => format!(
                "partial-order reduction: {} option(s) left untried as reorderings of \
                 independent steps, {} schedule(s) redundant part of the way{}",
                r.skipped,
                r.redundant,
                if bound.is_some() {
                    "; with a preemption bound the reduction may also skip a schedule \
                     within the bound that only one past it leads to (GORO_DPOR=0 walks \
                     every bounded schedule)"
                } else {
                    ""
                }
            ),
        };
        if self.complete {
            let upto = if self.reduction.is_some() {
                " up to the order of independent steps"
            } else {
                ""
            };
            write!(
                f,
                "complete: all {} schedule(s) explored{upto} ({bound}; {reduction})",
                self.schedules
            )
        } else {
            write!(
                f,
                "incomplete: {} ({} schedule(s) explored, {bound}; {reduction})",
                self.stopped.as_deref().unwrap_or("stopped early"),
                self.schedules
            )
        }
    }
}
