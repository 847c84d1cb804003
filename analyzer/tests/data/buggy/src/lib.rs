//! A hit counter and a shutdown path with the bugs `cargo race` must report.

use std::sync::atomic::{AtomicU64, Ordering};

/// A counter shared without synchronization, as a plain Go variable would
/// be: the storage is atomic so the program stays memory-safe, and each
/// access is announced to the detector as a plain read or write.
#[derive(Default)]
pub struct Counter {
    hits: AtomicU64,
}

impl Counter {
    /// Reads the count (a plain read, as far as the detector knows).
    #[track_caller]
    pub fn get(&self) -> u64 {
        goro::race::read(&self.hits);
        self.hits.load(Ordering::Relaxed)
    }

    /// Sets the count (a plain write).
    #[track_caller]
    pub fn set(&self, v: u64) {
        goro::race::write(&self.hits);
        self.hits.store(v, Ordering::Relaxed);
    }
}

/// Counts a hit: read, add one, write back, with no lock.
pub fn record_hit(counter: &Counter) {
    counter.set(counter.get() + 1);
}

/// Stops a worker twice: the second close panics.
pub fn shutdown_twice(stop: &goro::Chan<()>) {
    stop.close();
    stop.close();
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use goro::race::{explore, Config, FindingKind};

    use super::*;

    #[test]
    fn racy_counter() {
        let report = explore(Config::default().schedules(20), || async {
            let counter = Arc::new(Counter::default());
            let done = goro::chan::<()>(2);
            for _ in 0..2 {
                let (counter, done) = (counter.clone(), done.clone());
                goro::go!("worker", async move {
                    record_hit(&counter);
                    done.send(()).await;
                });
            }
            done.recv().await;
            done.recv().await;
        });
        assert!(report.has(FindingKind::DataRace), "{report}");
    }

    #[test]
    fn double_close() {
        let report = explore(Config::default().schedules(3), || async {
            let stop = goro::chan::<()>(0);
            shutdown_twice(&stop);
        });
        assert!(report.has(FindingKind::DoubleClose), "{report}");
    }

    #[test]
    fn clean_handoff() {
        let report = explore(Config::default().schedules(20), || async {
            let counter = Arc::new(Counter::default());
            let done = goro::chan::<()>(0);
            let (c, d) = (counter.clone(), done.clone());
            goro::go!(async move {
                record_hit(&c);
                d.send(()).await;
            });
            done.recv().await;
            record_hit(&counter);
        });
        assert!(report.findings().is_empty(), "{report}");
    }

    #[test]
    fn clean_fails_on_request() {
        // Lets the end-to-end tests see a failing test with no finding.
        assert!(std::env::var_os("BUGGY_FAIL").is_none(), "failing as asked");
    }
}
