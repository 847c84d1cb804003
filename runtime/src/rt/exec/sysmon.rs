//! Go's `sysmon`, reduced to the one job goro needs: a goroutine woken
//! into the `runnext` slot of a worker that then stays in one poll for a
//! long time (a goroutine busy-waiting on an atomic) must still run. Wakes
//! into `runnext` wake nobody (see `worker::schedule`), so a monitor
//! thread looks every millisecond: a worker that is not idle and has
//! polled nothing since the last look is stuck; its `runnext` goroutine
//! goes to the global queue (which wakes a worker), and if its queue holds
//! goroutines, a worker is woken to steal them. It backs off to 10 ms while
//! every worker is idle.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::Shared;

const FAST: Duration = Duration::from_millis(1);
const SLOW: Duration = Duration::from_millis(10);

/// Starts the monitor of `shared`; it ends at shutdown (unpark it then).
pub(super) fn start(shared: Arc<Shared>) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("goro-sysmon".into())
        .spawn(move || {
            let mut last: Vec<usize> = vec![usize::MAX; shared.slots.len()];
            let mut interval = FAST;
            while !shared.is_shut_down() {
                std::thread::park_timeout(interval);
                let idle = shared.idle.parked();
                if idle.len() == shared.slots.len() {
                    interval = (interval * 2).min(SLOW);
                    continue;
                }
                interval = FAST;
                for (i, slot) in shared.slots.iter().enumerate() {
                    let t = slot.ticks.load(Ordering::Relaxed);
                    let stuck = t == last[i] && !idle.contains(&i);
                    last[i] = t;
                    if !stuck {
                        continue;
                    }
                    // Go's `retake`, for the one goroutine a stuck worker
                    // holds back: its `runnext` goes to the global queue.
                    if let Some(r) = slot.runnext.take() {
                        shared.push_global(r);
                    } else if !slot.stealer.is_empty() {
                        shared.wakep();
                    }
                }
            }
        })
        .unwrap_or_else(|e| panic!("goro::run: cannot start the monitor thread: {e}"))
}
