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
        if self.complete {
            write!(
                f,
                "complete: all {} schedule(s) explored ({bound}; no partial-order reduction)",
                self.schedules
            )
        } else {
            write!(
                f,
                "incomplete: {} ({} schedule(s) explored, {bound})",
                self.stopped.as_deref().unwrap_or("stopped early"),
                self.schedules
            )
        }
    }
}
