//! The nine workloads of `shared/bench/WORKLOADS.md`, one module each.
//!
//! Every workload is an `async fn run(n: u64)` that runs inside the main
//! goroutine of `goro::run` and returns once all of its work is done. Each
//! one mirrors the Go function of the same name in `bench/go/`, statement by
//! statement: same goroutines, same channel capacities, same synchronization.
//! Each checks its result where the result is deterministic, so a broken
//! primitive cannot produce a fast but meaningless number.
//!
//! Only the workloads that need nothing but channels are here so far; the
//! others need `goro::sync`, `goro::context` and `goro::Shared`, which are
//! being written.

mod buffered;
mod pingpong;
mod select;

/// One of the nine workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Bounce an integer between two goroutines over two unbuffered channels.
    Pingpong,
    /// One producer, one consumer, a channel of capacity 1024.
    Buffered,
    /// A select over two always-ready channels and a default case.
    Select,
}

impl Workload {
    /// Every workload, in the order of WORKLOADS.md.
    pub const ALL: [Workload; 3] = [Workload::Pingpong, Workload::Buffered, Workload::Select];

    /// The name used on the command line and in the output line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Pingpong => "pingpong",
            Workload::Buffered => "buffered",
            Workload::Select => "select",
        }
    }

    /// The default N of WORKLOADS.md (shown in the usage text; compare.sh
    /// keeps its own copy to scale).
    pub fn default_n(self) -> u64 {
        match self {
            Workload::Buffered | Workload::Select => 10_000_000,
            Workload::Pingpong => 1_000_000,
        }
    }

    /// The workload called `name`, if any.
    pub fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Runs the workload with size `n`; must be awaited inside `goro::run`.
    pub async fn run(self, n: u64) {
        match self {
            Workload::Pingpong => pingpong::run(n).await,
            Workload::Buffered => buffered::run(n).await,
            Workload::Select => select::run(n).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every workload completes (and passes its own result check) at a small
    /// size on the production runtime.
    #[test]
    fn every_workload_runs_at_small_n() {
        for w in Workload::ALL {
            for n in [1, 100] {
                goro::run(async move { w.run(n).await });
            }
        }
    }
}
