//! The nine workloads of `shared/bench/WORKLOADS.md`, one module each.
//!
//! Every workload is an `async fn run(n: u64)` that runs inside the main
//! goroutine of `goro::run` and returns once all of its work is done. Each
//! one mirrors the Go function of the same name in `bench/go/`, statement by
//! statement: same goroutines, same channel capacities, same synchronization.
//! Each checks its result where the result is deterministic, so a broken
//! primitive cannot produce a fast but meaningless number.

mod buffered;
mod fanout;
mod fanout_ctx;
mod mutex;
mod pingpong;
mod racy_counter;
mod select;
mod spawn;
mod spawn_park;

/// One of the nine workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Start N goroutines that each call `wg.done()`; wait for all.
    Spawn,
    /// Park N goroutines on one unbuffered channel, then close it.
    SpawnPark,
    /// Bounce an integer between two goroutines over two unbuffered channels.
    Pingpong,
    /// One producer, one consumer, a channel of capacity 1024.
    Buffered,
    /// The Go concurrency guide's fan-out/fan-in with 10 workers.
    Fanout,
    /// `Fanout` whose feeder selects against `ctx.done()`.
    FanoutCtx,
    /// 8 goroutines increment one mutex-protected counter.
    Mutex,
    /// A select over two always-ready channels and a default case.
    Select,
    /// 8 goroutines do unsynchronized read-modify-writes of one `Shared<i64>`.
    RacyCounter,
}

impl Workload {
    /// Every workload, in the order of WORKLOADS.md.
    pub const ALL: [Workload; 9] = [
        Workload::Spawn,
        Workload::SpawnPark,
        Workload::Pingpong,
        Workload::Buffered,
        Workload::Fanout,
        Workload::FanoutCtx,
        Workload::Mutex,
        Workload::Select,
        Workload::RacyCounter,
    ];

    /// The name used on the command line and in the output line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Spawn => "spawn",
            Workload::SpawnPark => "spawn_park",
            Workload::Pingpong => "pingpong",
            Workload::Buffered => "buffered",
            Workload::Fanout => "fanout",
            Workload::FanoutCtx => "fanout_ctx",
            Workload::Mutex => "mutex",
            Workload::Select => "select",
            Workload::RacyCounter => "racy_counter",
        }
    }

    /// The default N of WORKLOADS.md (shown in the usage text; compare.sh
    /// keeps its own copy to scale).
    pub fn default_n(self) -> u64 {
        match self {
            Workload::Buffered | Workload::Mutex | Workload::Select => 10_000_000,
            _ => 1_000_000,
        }
    }

    /// The workload called `name`, if any.
    pub fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Runs the workload with size `n`; must be awaited inside `goro::run`.
    pub async fn run(self, n: u64) {
        match self {
            Workload::Spawn => spawn::run(n).await,
            Workload::SpawnPark => spawn_park::run(n).await,
            Workload::Pingpong => pingpong::run(n).await,
            Workload::Buffered => buffered::run(n).await,
            Workload::Fanout => fanout::run(n).await,
            Workload::FanoutCtx => fanout_ctx::run(n).await,
            Workload::Mutex => mutex::run(n).await,
            Workload::Select => select::run(n).await,
            Workload::RacyCounter => racy_counter::run(n).await,
        }
    }
}

/// How many of `n` operations goroutine `i` of `k` performs: `n / k`, plus
/// one for the first `n % k` goroutines, so that the total is exactly `n`.
/// The Go twin's `share` computes the same split.
pub(crate) fn share(n: u64, k: u64, i: u64) -> u64 {
    n / k + u64::from(i < n % k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_n() {
        for n in [1, 7, 8, 9, 1_000_003] {
            assert_eq!((0..8).map(|i| share(n, 8, i)).sum::<u64>(), n);
        }
    }

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
