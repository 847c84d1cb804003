//! The Go a Go programmer reaches for: each idiom in production and under
//! the detector (edges modelled, no false finding, the bug still found).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use goro::race::{explore, Config, FindingKind};

fn cfg(n: u32) -> Config {
    init();
    Config::default().schedules(n).env(false)
}

/// How many panics carrying [`QUIET`] reached the hook goro chains to
/// (what would have printed them).
static PRINTED: AtomicUsize = AtomicUsize::new(0);
const QUIET: &str = "recovered-quietly";

/// Every test calls this first, so that the counting hook is installed
/// before goro's, which chains to it.
fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let std_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = format!("{info}");
            if msg.contains(QUIET) {
                PRINTED.fetch_add(1, Ordering::SeqCst);
            }
            std_hook(info)
        }));
    });
}

/// `mu.TryLock()`, `rw.TryLock()`, `rw.TryRLock()`.
mod try_lock {
    use super::*;
    use goro::sync::{Mutex, RwLock};

    #[test]
    fn production_never_blocks() {
        init();
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

/// `defer func() { recover() }()`.
mod recover {
    use super::*;

    #[test]
    fn production_catches_quietly_and_goes_on() {
        init();
        let got = goro::run(async {
            let ch = goro::chan::<String>(0);
            let tx = ch.clone();
            goro::go!("survivor", async move {
                let r = goro::recover(async {
                    let v: Vec<u8> = Vec::new();
                    if v.is_empty() {
                        panic!("{QUIET} in production");
                    }
                })
                .await;
                tx.send(r.unwrap_err().to_string()).await;
            });
            ch.recv().await.unwrap()
        });
        assert!(got.contains("go_idioms.rs"), "{got}");
        assert!(got.ends_with("recovered-quietly in production"), "{got}");
        assert_eq!(
            PRINTED.load(Ordering::SeqCst),
            0,
            "a recovered panic printed"
        );
    }

    #[test]
    fn detector_no_finding_and_edges_still_hold() {
        let report = explore(cfg(50), || async {
            let x = Arc::new(goro::Shared::new(0));
            let done = goro::chan::<()>(0);
            let (x2, tx) = (x.clone(), done.clone());
            goro::go!(async move {
                let r = goro::recover(async {
                    x2.set(1);
                    panic!("{QUIET} under the detector");
                })
                .await;
                assert!(r.is_err());
                tx.send(()).await;
            });
            done.recv().await;
            assert_eq!(x.get(), 1);
        });
        assert!(report.findings().is_empty(), "{report}");
        assert_eq!(
            PRINTED.load(Ordering::SeqCst),
            0,
            "a recovered panic printed"
        );
    }

    #[test]
    fn a_joiner_that_recovers_a_send_on_closed_is_no_finding() {
        // The child's panic reaches its top and the join rethrows it: the
        // joiner recovering it handles it, as Go's recover() would in the
        // goroutine itself.
        let handled = |recovering: bool| {
            explore(cfg(20), move || async move {
                let ch = goro::chan::<u32>(1);
                ch.close();
                let h = goro::spawn(async move { ch.send(1).await });
                if recovering {
                    assert!(goro::recover(h).await.is_err());
                } else {
                    h.await;
                }
            })
        };
        let report = handled(true);
        assert!(report.findings().is_empty(), "{report}");
        let report = handled(false);
        assert!(report.has(FindingKind::SendOnClosed), "{report}");
        assert!(!report.has(FindingKind::Panic), "reported once: {report}");
    }

    #[test]
    fn a_recovered_send_racing_with_the_close_is_still_a_finding() {
        // Nothing orders the close before the send: whichever comes first,
        // Go's race detector reports the pair, recovered or not.
        let report = explore(cfg(50), || async {
            let ch = goro::chan::<u32>(1);
            let tx = ch.clone();
            let h = goro::spawn(async move {
                let _ = goro::recover(async { tx.send(1).await }).await;
            });
            ch.close();
            h.await;
        });
        assert!(report.has(FindingKind::SendOnClosed), "{report}");
        assert!(report.findings().iter().all(|f| !f.observed), "{report}");
    }

    #[test]
    fn an_unrecovered_panic_is_still_a_finding() {
        let report = explore(cfg(5), || async {
            let h = goro::spawn(async {
                let _ = goro::recover(async { 1 }).await;
                panic!("not recovered");
            });
            h.await;
        });
        assert!(report.has(FindingKind::Panic), "{report}");
    }
}

/// Go's closure capture: `go!(clone(a, b), async move { .. })`.
mod go_clone {
    use super::*;
    use goro::sync::WaitGroup;

    async fn fan_out(racy: bool) -> u64 {
        let total = Arc::new(goro::Shared::new(0u64));
        let mu = Arc::new(goro::sync::Mutex::new(()));
        let wg = WaitGroup::new();
        for _ in 0..2 {
            wg.add(1);
            goro::go!("adder", clone(total, mu, wg), async move {
                let g = if racy { None } else { Some(mu.lock().await) };
                total.set(total.get() + 1);
                drop(g);
                wg.done();
            });
        }
        wg.wait().await;
        total.get()
    }

    #[test]
    fn production_each_goroutine_gets_its_own_handles() {
        init();
        assert_eq!(goro::run(fan_out(false)), 2);
        let n = goro::run(async {
            let ch = goro::chan::<i32>(1);
            goro::go!(clone(ch), async move { ch.send(7).await });
            // Main's `ch` is still usable: only the clone moved.
            ch.recv().await
        });
        assert_eq!(n, Some(7));
    }

    #[test]
    fn detector_sees_the_same_edges_and_the_same_bug() {
        let fixed = explore(cfg(50), || async {
            assert_eq!(fan_out(false).await, 2);
        });
        assert!(fixed.findings().is_empty(), "{fixed}");
        let buggy = explore(cfg(50), || async {
            fan_out(true).await;
        });
        assert!(buggy.has(FindingKind::DataRace), "{buggy}");
    }
}

/// `var done = make(chan bool)` at package level, `defer wg.Done()`,
/// `defer cancel()`.
mod package_level_and_defer {
    use super::*;
    use goro::context;
    use goro::sync::WaitGroup;
    use goro::{Chan, PerRun};
    use std::sync::LazyLock;

    static DONE: PerRun<Chan<bool>> = PerRun::new(|| goro::chan(0));

    async fn worker() {
        DONE.get().send(true).await;
    }

    async fn main_waits_for_worker() {
        goro::go!(worker());
        assert_eq!(DONE.get().recv().await, Some(true));
    }

    #[test]
    fn production_per_run_statics_and_guards() {
        init();
        static BUF: PerRun<Chan<i32>> = PerRun::new(|| goro::chan(1));
        for _ in 0..3 {
            goro::run(async {
                main_waits_for_worker().await;
                // Fresh per run: the value left by the last run is gone.
                assert!(BUF.get().try_recv().is_err());
                BUF.get().send(1).await;
                let wg = WaitGroup::new();
                wg.add(2);
                goro::go!(clone(wg), async move {
                    let _done = wg.done_on_drop();
                    let _ = goro::recover(async {
                        let _inner = wg.done_on_drop();
                        panic!("{QUIET}: the guard still counts down");
                    })
                    .await;
                });
                wg.wait().await;
                let (ctx, cancel) = context::with_cancel(&context::background());
                {
                    let _cancel = cancel.on_drop();
                }
                assert!(ctx.err().is_some());
            });
        }
    }

    #[test]
    fn detector_per_run_static_replays_and_guards_are_edges() {
        let report = explore(cfg(50), || async {
            main_waits_for_worker().await;
            let x = Arc::new(goro::Shared::new(0));
            let wg = WaitGroup::new();
            wg.add(1);
            goro::go!(clone(wg, x), async move {
                let _done = wg.done_on_drop();
                x.set(1);
            });
            wg.wait().await;
            assert_eq!(x.get(), 1);
            let (_ctx, cancel) =
                context::with_timeout(&context::background(), std::time::Duration::from_secs(1));
            let _cancel = cancel.on_drop();
        });
        assert!(report.findings().is_empty(), "{report}");
    }

    #[test]
    fn detector_still_finds_the_forgotten_done_and_cancel() {
        let report = explore(cfg(20), || async {
            let wg = WaitGroup::new();
            wg.add(1);
            goro::go!(clone(wg), async move {
                let _keep = wg; // no done: Go's forgotten wg.Done()
            });
            wg.wait().await;
        });
        assert!(
            report.has(FindingKind::Deadlock) || report.has(FindingKind::GoroutineLeak),
            "{report}"
        );
        let report = explore(cfg(5), || async {
            let (_ctx, cancel) = context::with_cancel(&context::background());
            drop(cancel);
        });
        assert!(report.has(FindingKind::LostCancel), "{report}");
    }

    /// A `LazyLock` channel outlives the schedule that made it: the next
    /// schedule is refused, at the place the channel was made.
    #[test]
    fn detector_refuses_a_channel_from_another_run() {
        static STALE: LazyLock<Chan<i32>> = LazyLock::new(|| goro::chan(1));
        let report = explore(cfg(3), || async {
            STALE.send(1).await;
            STALE.recv().await;
        });
        let f = report
            .findings()
            .iter()
            .find(|f| f.kind == FindingKind::Panic)
            .unwrap_or_else(|| panic!("no panic finding: {report}"));
        assert!(
            f.message.contains("belongs to another run"),
            "{}",
            f.message
        );
        assert!(f.primary.file.ends_with("go_idioms.rs"), "{:?}", f.primary);
    }
}

/// `results[i] = r` from one goroutine per index.
mod shared_slice {
    use super::*;
    use goro::sync::WaitGroup;
    use goro::SharedSlice;

    async fn fill(same_index: bool) -> Vec<usize> {
        let results = Arc::new(SharedSlice::new(vec![0; 3]));
        let wg = WaitGroup::new();
        for i in 0..3 {
            wg.add(1);
            goro::go!(clone(results, wg), async move {
                let at = if same_index { 0 } else { i };
                results.set(at, i + 1);
                wg.done();
            });
        }
        wg.wait().await;
        (0..results.len()).map(|i| results.get(i)).collect()
    }

    #[test]
    fn production_distinct_indices() {
        init();
        assert_eq!(goro::run(fill(false)), [1, 2, 3]);
        let s = SharedSlice::new(vec![1]);
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.get(5))).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert_eq!(msg, "index out of range [5] with length 1");
    }

    #[test]
    fn detector_distinct_indices_are_race_free_the_same_index_races() {
        let fixed = explore(cfg(50), || async {
            assert_eq!(fill(false).await, [1, 2, 3]);
        });
        assert!(fixed.findings().is_empty(), "{fixed}");
        let buggy = explore(cfg(50), || async {
            fill(true).await;
        });
        let race = buggy
            .findings()
            .iter()
            .find(|f| f.kind == FindingKind::DataRace)
            .unwrap_or_else(|| panic!("no race: {buggy}"));
        assert!(
            race.primary.file.ends_with("go_idioms.rs"),
            "{:?}",
            race.primary
        );
    }
}

/// `time.Now()` as a wall-clock value.
mod wall_clock {
    use super::*;
    use goro::time::{self, Duration, Time};

    #[test]
    fn production_reads_the_system_clock() {
        init();
        goro::run(async {
            let sys = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let t = Time::now();
            assert!((t.unix() - sys).abs() <= 5, "{t} vs {sys}");
            assert_eq!(t.unix_nano() / 1_000_000_000, t.unix());
            time::sleep(Duration::from_millis(2)).await;
            assert!(Time::since(t) >= Duration::from_millis(1));
            assert!(Time::now() > t);
        });
    }

    #[test]
    fn detector_starts_every_schedule_at_the_playground_epoch() {
        let report = explore(cfg(20), || async {
            let ch = goro::chan::<String>(1);
            goro::go!(clone(ch), async move {
                time::sleep(Duration::from_secs(90)).await;
                ch.send(Time::now().to_string()).await;
            });
            assert_eq!(Time::now().to_string(), "2009-11-10 23:00:00 +0000 UTC");
            assert_eq!(
                ch.recv().await.unwrap(),
                "2009-11-10 23:01:30 +0000 UTC",
                "virtual and the same in every schedule"
            );
            assert_eq!(Time::since(Time::DETECT_EPOCH), Duration::from_secs(90));
            assert_eq!(Time::until(Time::DETECT_EPOCH), Duration::ZERO);
        });
        assert!(report.findings().is_empty(), "{report}");
    }
}

/// `time.NewTimer`, `t.Stop()`, `t.Reset(d)`, `time.AfterFunc`.
mod timer {
    use super::*;
    use goro::time::{self, after_func, Duration, Timer};

    #[test]
    fn production_go_return_values() {
        init();
        goro::run(async {
            let t = Timer::new(Duration::from_millis(2));
            assert!(t.c().recv().await.is_some());
            assert!(!t.stop(), "fired and received");
            assert!(!t.reset(Duration::from_millis(2)), "was not active");
            time::sleep(Duration::from_millis(20)).await;
            // Fired, value not received: still active (Go 1.23), discarded.
            assert!(t.stop());
            assert!(t.c().try_recv().is_err(), "no stale value after stop");
            let ran = Arc::new(goro::sync::atomic::AtomicBool::new(false));
            let r = ran.clone();
            let f = after_func(Duration::from_secs(3600), move || {
                let r = r.clone();
                async move { r.store(true) }
            });
            assert!(f.stop());
            let done = goro::chan::<()>(0);
            let tx = done.clone();
            let _g = after_func(Duration::from_millis(1), move || {
                let tx = tx.clone();
                async move { tx.send(()).await }
            });
            done.recv().await;
            assert!(!ran.load());
        });
    }

    /// Main writes, then arms; the receiver of the timer's value (or the
    /// `after_func` body) reads: ordered by arm -> fire -> receive.
    #[test]
    fn detector_arm_happens_before_receive_and_func() {
        let report = explore(cfg(50), || async {
            let x = Arc::new(goro::Shared::new(0));
            x.set(1);
            let t = Timer::new(Duration::from_millis(5));
            let c = t.c().clone();
            let h = goro::spawn(goro::recover(async move {
                c.recv().await;
            }));
            let done = goro::chan::<i32>(1);
            let (x2, tx) = (x.clone(), done.clone());
            let _f = after_func(Duration::from_millis(3), move || {
                let (x2, tx) = (x2.clone(), tx.clone());
                async move { tx.send(x2.get()).await }
            });
            assert_eq!(done.recv().await, Some(1));
            h.await.unwrap();
            let _ = x.get();
        });
        assert!(report.findings().is_empty(), "{report}");
    }

    #[test]
    fn detector_a_write_after_arming_still_races() {
        let report = explore(cfg(50), || async {
            let x = Arc::new(goro::Shared::new(0));
            let done = goro::chan::<()>(1);
            let (x2, tx) = (x.clone(), done.clone());
            let _f = after_func(Duration::from_millis(3), move || {
                let (x2, tx) = (x2.clone(), tx.clone());
                async move {
                    let _ = x2.get();
                    tx.send(()).await
                }
            });
            x.set(1); // after arming: nothing orders it with the read
            done.recv().await;
        });
        assert!(report.has(FindingKind::DataRace), "{report}");
    }

    #[test]
    fn detector_a_successful_stop_means_no_firing() {
        let report = explore(cfg(30), || async {
            let f = after_func(Duration::from_millis(5), || async {
                panic!("a stopped timer fired");
            });
            time::sleep(Duration::from_millis(1)).await;
            assert!(f.stop());
            let t = Timer::new(Duration::from_millis(5));
            assert!(t.stop());
            time::sleep(Duration::from_millis(20)).await;
            assert!(t.c().try_recv().is_err());
        });
        assert!(report.findings().is_empty(), "{report}");
    }
}

/// `runtime.Goexit()`.
mod goexit {
    use super::*;
    use goro::sync::{Mutex, WaitGroup};

    async fn exits_early(x: Arc<goro::Shared<i32>>, m: Arc<Mutex<i32>>) -> i32 {
        let wg = WaitGroup::new();
        wg.add(1);
        goro::go!("quitter", clone(wg, x, m), async move {
            let _done = wg.done_on_drop();
            let mut g = m.lock().await;
            *g += 1;
            x.set(1);
            // Passes through recover, as Go's recover() returns nil here.
            let _ = goro::recover(async { goro::goexit() }).await;
        });
        wg.wait().await;
        let v = *m.lock().await; // the guard was dropped: unlocked
        v + x.get()
    }

    #[test]
    fn production_runs_drops_and_is_not_a_panic() {
        init();
        let got = goro::run(async {
            let v = exits_early(Arc::new(goro::Shared::new(0)), Arc::new(Mutex::new(0))).await;
            assert_eq!(goro::num_goroutine(), 1);
            v
        });
        assert_eq!(got, 2);
    }

    #[test]
    fn detector_no_finding_and_the_done_guard_is_an_edge() {
        let report = explore(cfg(50), || async {
            let v = exits_early(Arc::new(goro::Shared::new(0)), Arc::new(Mutex::new(0))).await;
            assert_eq!(v, 2);
        });
        assert!(report.findings().is_empty(), "{report}");
    }

    #[test]
    fn joining_a_goroutine_that_exited_is_a_clear_panic() {
        let report = explore(cfg(3), || async {
            let h = goro::spawn(async {
                goro::goexit();
            });
            h.await;
        });
        let f = report
            .findings()
            .iter()
            .find(|f| f.kind == FindingKind::Panic)
            .unwrap_or_else(|| panic!("{report}"));
        assert!(f.message.contains("called goro::goexit"), "{}", f.message);
        assert!(f.primary.file.ends_with("go_idioms.rs"), "{:?}", f.primary);
    }
}

/// `ch = nil` to switch a `select` case off.
mod nil_channels {
    use super::*;
    use goro::Receiver;

    /// Go's merge of two channels, each set to nil once it is closed.
    async fn merge(a: Receiver<i32>, b: Receiver<i32>) -> i32 {
        let (mut a, mut b) = (Some(a), Some(b));
        let mut sum = 0;
        while a.is_some() || b.is_some() {
            goro::select! {
                recv(a.as_ref()) -> v => match v {
                    Some(v) => sum += v,
                    None => a = None,
                },
                recv(b) -> v => match v {
                    Some(v) => sum += v,
                    None => b = None,
                },
            }
        }
        sum
    }

    async fn two_producers() -> i32 {
        let (a, b) = (goro::chan::<i32>(0), goro::chan::<i32>(1));
        for (ch, base) in [(a.clone(), 1), (b.clone(), 10)] {
            goro::go!(async move {
                for i in 0..3 {
                    ch.send(base * (i + 1)).await;
                }
                ch.close();
            });
        }
        // A nil send case is never chosen (its value is dropped).
        let off: Option<goro::Chan<i32>> = None;
        let got = goro::select! {
            send(off, 99) => unreachable!("nil send chosen"),
            default => 0,
        };
        got + merge(a.receiver(), b.receiver()).await
    }

    #[test]
    fn production_merge_switches_closed_cases_off() {
        init();
        assert_eq!(goro::run(two_producers()), 66);
    }

    #[test]
    fn detector_merge_has_no_finding_and_an_all_nil_select_deadlocks() {
        let fixed = explore(cfg(50), || async {
            assert_eq!(two_producers().await, 66);
        });
        assert!(fixed.findings().is_empty(), "{fixed}");
        // The bug: both cases switched off and no default, as Go's
        // `select` on only nil channels: blocked forever.
        let buggy = explore(cfg(5), || async {
            let a: Option<Receiver<i32>> = None;
            let b: Option<goro::Chan<i32>> = None;
            goro::select! {
                recv(a) -> _ => {},
                send(b, 1) => {},
            }
        });
        assert!(buggy.has(FindingKind::Deadlock), "{buggy}");
    }
}
