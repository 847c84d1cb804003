//! The tokio twins: five workloads of `bench/WORKLOADS.md` written with
//! tokio's own primitives, as a Rust user would without goro, on a tokio
//! multi-thread runtime with one worker per core (goro's production
//! settings). `goro-bench <workload> <N> tokio` runs them; `compare.sh`
//! prints goro/tokio beside goro/Go.
//!
//! | workload | tokio twin |
//! |---|---|
//! | `pingpong` | two `mpsc::channel(1)` (tokio has no unbuffered channel) |
//! | `buffered` | `mpsc::channel(1024)` |
//! | `spawn` | `tokio::spawn` + awaiting every `JoinHandle` |
//! | `spawn_park` | N tasks parked in `watch::Receiver::changed`, released by dropping the sender |
//! | `mutex` | `tokio::sync::Mutex` |
//!
//! Like goro's main goroutine, the timed body runs in a task on a worker,
//! not on the thread that started the runtime.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Mutex, Notify};

use crate::workloads::{share, Workload};

/// The workloads that have a tokio twin.
pub const WORKLOADS: [Workload; 5] = [
    Workload::Spawn,
    Workload::SpawnPark,
    Workload::Pingpong,
    Workload::Buffered,
    Workload::Mutex,
];

/// Runs `w`'s tokio twin with size `n` and returns the wall time of its
/// body; `None` if `w` has no twin.
pub fn run(w: Workload, n: u64) -> Option<Duration> {
    if !WORKLOADS.contains(&w) {
        return None;
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("goro-bench: cannot start a tokio runtime");
    let wall = rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            match w {
                Workload::Spawn => spawn(n).await,
                Workload::SpawnPark => spawn_park(n).await,
                Workload::Pingpong => pingpong(n).await,
                Workload::Buffered => buffered(n).await,
                Workload::Mutex => mutex(n).await,
                _ => unreachable!("checked against WORKLOADS"),
            }
            start.elapsed()
        })
        .await
        .expect("goro-bench: the tokio twin panicked")
    });
    Some(wall)
}

/// Go's `WaitGroup` for the twins: a count and a wake-up when it hits zero.
struct Countdown {
    left: AtomicU64,
    zero: Notify,
}

impl Countdown {
    fn new(n: u64) -> Arc<Self> {
        Arc::new(Countdown {
            left: AtomicU64::new(n),
            zero: Notify::new(),
        })
    }

    fn done(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Stores a permit if `wait` is not parked yet.
            self.zero.notify_one();
        }
    }

    async fn wait(&self) {
        while self.left.load(Ordering::Acquire) != 0 {
            self.zero.notified().await;
        }
    }
}

async fn spawn(n: u64) {
    let handles: Vec<_> = (0..n).map(|_| tokio::spawn(async {})).collect();
    for h in handles {
        h.await.expect("spawn: a task panicked");
    }
}

async fn spawn_park(n: u64) {
    let (gate, rx) = watch::channel(());
    let started = Countdown::new(n);
    let exited = Countdown::new(n);
    for _ in 0..n {
        let mut rx = rx.clone();
        let (started, exited) = (started.clone(), exited.clone());
        tokio::spawn(async move {
            started.done();
            // Parks until the sender is dropped; nothing is ever sent.
            assert!(rx.changed().await.is_err(), "spawn_park: nothing is sent");
            exited.done();
        });
    }
    drop(rx);
    started.wait().await;
    drop(gate);
    exited.wait().await;
}

async fn pingpong(n: u64) {
    let (ping, mut rx) = mpsc::channel::<u64>(1);
    let (tx, mut pong) = mpsc::channel::<u64>(1);
    tokio::spawn(async move {
        while let Some(v) = rx.recv().await {
            if tx.send(v + 1).await.is_err() {
                break;
            }
        }
    });
    let mut v = 0;
    for _ in 0..n {
        ping.send(v)
            .await
            .expect("pingpong: the echo task is alive");
        v = pong.recv().await.expect("pingpong: pong is never closed");
    }
    drop(ping);
    assert_eq!(v, n, "pingpong: every round trip adds one");
}

async fn buffered(n: u64) {
    let (tx, mut rx) = mpsc::channel::<u64>(1024);
    tokio::spawn(async move {
        for i in 0..n {
            tx.send(i).await.expect("buffered: the consumer is alive");
        }
    });
    let mut sum = 0u64;
    while let Some(v) = rx.recv().await {
        sum = sum.wrapping_add(v);
    }
    assert_eq!(
        sum,
        crate::workloads::triangle(n),
        "buffered: every item arrives once"
    );
}

async fn mutex(n: u64) {
    const GOROUTINES: u64 = crate::workloads::MUTEX_GOROUTINES;
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..GOROUTINES)
        .map(|g| {
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..share(n, GOROUTINES, g) {
                    *counter.lock().await += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.expect("mutex: a task panicked");
    }
    assert_eq!(*counter.lock().await, n, "mutex: no increment is lost");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every twin completes (and passes its own result check) at small N;
    /// the others have none.
    #[test]
    fn every_twin_runs_at_small_n() {
        for w in Workload::ALL {
            for n in [1, 100] {
                assert_eq!(run(w, n).is_some(), WORKLOADS.contains(&w), "{}", w.name());
            }
        }
    }
}
