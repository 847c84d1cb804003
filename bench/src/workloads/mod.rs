//! The nine workloads of `bench/WORKLOADS.md`, one module each, and
//! goro's own `instrument`.
//!
//! Every workload is an `async fn run(n: u64)` that runs inside the main
//! goroutine of `goro::run` and returns once all of its work is done. Each of
//! the nine mirrors the Go function of the same name in `bench/go/`, statement
//! by statement: same goroutines, same channel capacities, same
//! synchronization. `instrument` has no Go twin: it measures what
//! `#[goro::instrument]` costs a call, and times its own parts.
//! Each checks its result where the result is deterministic, so a broken
//! primitive cannot produce a fast but meaningless number.

mod buffered;
pub(crate) mod fanout;
mod fanout_ctx;
mod instrument;
mod mutex;
mod pingpong;
mod racy_counter;
mod select;
mod spawn;
mod spawn_park;

use std::time::Duration;

/// What a workload that times its own parts reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Extra {
    /// The time to report as `wall_s` (and to derive `ns_per_op` from),
    /// instead of the time around the whole workload.
    pub wall: Duration,
    /// `key=value` fields, space-separated, for the end of the line.
    pub fields: String,
}

/// One of the workloads.
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
    /// goro only: N calls of a `#[goro::instrument]` function against the
    /// same function without it. ns per instrumented call, plus the plain
    /// call and the difference.
    Instrument,
}

impl Workload {
    /// Every workload: the nine of `bench/WORKLOADS.md` in its order, then goro's own.
    pub const ALL: [Workload; 10] = [
        Workload::Spawn,
        Workload::SpawnPark,
        Workload::Pingpong,
        Workload::Buffered,
        Workload::Fanout,
        Workload::FanoutCtx,
        Workload::Mutex,
        Workload::Select,
        Workload::RacyCounter,
        Workload::Instrument,
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
            Workload::Instrument => "instrument",
        }
    }

    /// The default N of `bench/WORKLOADS.md` (shown in the usage text; compare.sh
    /// keeps its own copy to scale).
    pub fn default_n(self) -> u64 {
        match self {
            Workload::Buffered | Workload::Mutex | Workload::Select => 10_000_000,
            // Calls of a few ns: enough of them to rise above the noise.
            Workload::Instrument => 50_000_000,
            _ => 1_000_000,
        }
    }

    /// The workload called `name`, if any.
    pub fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Runs the workload with size `n`; must be awaited inside `goro::run`.
    /// A workload that times its own parts returns them.
    pub async fn run(self, n: u64) -> Option<Extra> {
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
            Workload::Instrument => {
                let m = instrument::measure(n);
                return Some(Extra {
                    wall: m.wall,
                    fields: instrument::extra_fields(&m),
                });
            }
        }
        None
    }
}

pub(crate) use buffered::triangle;
/// The goroutine count of `mutex`.
pub(crate) use mutex::GOROUTINES as MUTEX_GOROUTINES;

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
