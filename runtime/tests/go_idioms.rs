//! The Go a Go programmer reaches for: each idiom in production and under
//! the detector (edges modelled, no false finding, the bug still found).

use std::sync::Arc;

use goro::race::{explore, Config, FindingKind};

fn cfg(n: u32) -> Config {
    Config::default().schedules(n).env(false)
}

/// `mu.TryLock()`, `rw.TryLock()`, `rw.TryRLock()`.
mod try_lock {
    use super::*;
    use goro::sync::{Mutex, RwLock};

    #[test]
    fn production_never_blocks() {
        goro::run(async {
            let m = Arc::new(Mutex::new(0));
            let g = m.lock().await;
            let m2 = m.clone();
            let h = goro::spawn(async move { m2.try_lock().is_none() });
            assert!(h.await, "held by main: the try fails at once");
            drop(g);
            let l = RwLock::new(0);
            let r = l.try_read().expect("free");
            assert!(l.try_write().is_none());
            drop(r);
            *l.try_write().expect("free") += 1;
            assert_eq!(*l.try_read().unwrap(), 1);
        });
    }

    /// Main reads only when its try succeeded: the goroutine's unlock
    /// happens before that lock, whichever ran first.
    #[test]
    fn a_successful_try_is_an_acquire() {
        let report = explore(cfg(100), || async {
            let m = Arc::new(Mutex::new(()));
            let x = Arc::new(goro::Shared::new(0));
            let (m2, x2) = (m.clone(), x.clone());
            goro::go!(async move {
                let g = m2.lock().await;
                x2.set(1);
                goro::yield_now().await;
                drop(g);
            });
            loop {
                if let Some(g) = m.try_lock() {
                    let _ = x.get();
                    drop(g);
                    break;
                }
                goro::yield_now().await;
            }
            let l = Arc::new(RwLock::new(()));
            let y = Arc::new(goro::Shared::new(0));
            let (l2, y2) = (l.clone(), y.clone());
            let h = goro::spawn(async move {
                let w = l2.write().await;
                y2.set(1);
                drop(w);
            });
            loop {
                if let Some(r) = l.try_read() {
                    let _ = y.get();
                    drop(r);
                    break;
                }
                goro::yield_now().await;
            }
            h.await;
        });
        assert!(report.findings().is_empty(), "{report}");
    }

    /// Main reads whether or not its try succeeded: a failed try orders
    /// nothing, so the read races with the goroutine's write.
    #[test]
    fn a_failed_try_is_no_edge() {
        let report = explore(cfg(100), || async {
            let m = Arc::new(Mutex::new(()));
            let x = Arc::new(goro::Shared::new(0));
            let (m2, x2) = (m.clone(), x.clone());
            let h = goro::spawn(async move {
                let g = m2.lock().await;
                x2.set(1);
                goro::yield_now().await;
                drop(g);
            });
            goro::yield_now().await;
            let g = m.try_lock();
            let _ = x.get();
            drop(g);
            h.await;
        });
        assert!(report.has(FindingKind::DataRace), "{report}");
    }
}
