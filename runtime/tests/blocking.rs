//! The blocking checks at the runtime level: what the detector says about
//! goroutines blocked on each kind of primitive, and minimal reproductions
//! of the detector's known gaps (ignored, each with the one-line reason).
//!
//! The buggy/fixed program pairs live in `goro-fixtures` (`blocking`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use goro::race::{explore, Config, Finding, FindingKind, Report};
use goro::sync::{Cond, Mutex, RwLock, WaitGroup};

fn config(schedules: u32) -> Config {
    Config::default().schedules(schedules).env(false)
}

/// The one finding of `report`, which must be of `kind`.
fn only(report: &Report, kind: FindingKind) -> &Finding {
    assert_eq!(report.findings().len(), 1, "{report}");
    let f = &report.findings()[0];
    assert_eq!(f.kind, kind, "{report}");
    f
}

/// Whether a note of `f` contains `s`.
fn noted(f: &Finding, s: &str) -> bool {
    f.notes.iter().any(|n| n.contains(s))
}

#[test]
fn a_leak_on_a_mutex_whose_holder_exited_says_it_can_never_be_woken() {
    let report = explore(config(10), || async {
        let m = Arc::new(Mutex::new(0));
        let guard = m.lock().await;
        // The holder exits without unlocking (its guard is never dropped).
        std::mem::forget(guard);
        let m2 = m.clone();
        goro::go!("late", async move {
            *m2.lock().await += 1;
        });
    });
    let f = only(&report, FindingKind::GoroutineLeak);
    assert_eq!(f.primary.op, "lock");
    assert_eq!(f.primary.goroutine_name.as_deref(), Some("late"));
    assert!(
        noted(f, "by goroutine 1, which has exited without unlocking it"),
        "{f:#?}"
    );
}

#[test]
fn a_leak_in_cond_wait_and_in_a_join_name_their_operations() {
    let report = explore(config(10), || async {
        let state = Arc::new((Mutex::new(false), Cond::new()));
        let s = state.clone();
        // Waits for a signal nobody sends.
        let waiter = goro::spawn(async move {
            let (mu, cond) = &*s;
            let mut ready = mu.lock().await;
            while !*ready {
                ready = cond.wait(ready).await;
            }
        });
        // Joins the waiter, so it leaks too.
        goro::go!("joiner", async move {
            waiter.await;
        });
    });
    let ops: Vec<&str> = report
        .findings()
        .iter()
        .map(|f| {
            assert_eq!(f.kind, FindingKind::GoroutineLeak, "{report}");
            f.primary.op.as_str()
        })
        .collect();
    assert!(ops.contains(&"cond wait"), "{report}");
    assert!(ops.contains(&"join"), "{report}");
    let join = report
        .findings()
        .iter()
        .find(|f| f.primary.op == "join")
        .expect("the joiner leaks");
    assert_eq!(join.primary.goroutine_name.as_deref(), Some("joiner"));
    assert_eq!(join.related[0].op, "go");
}

/// Go's "all goroutines are asleep": main and a goroutine each waiting for
/// the other to send first, on two channels.
async fn crossed_receives() {
    let (a, b) = (goro::chan::<()>(0), goro::chan::<()>(0));
    let (a2, b2) = (a.clone(), b.clone());
    goro::go!("peer", async move {
        a2.recv().await;
        b2.send(()).await;
    });
    b.recv().await;
    a.send(()).await;
}

#[test]
fn a_deadlock_is_reported_at_once_never_hangs() {
    let report =
        common::guarded(|| explore(config(50), crossed_receives)).expect("explore returns");
    let f = only(&report, FindingKind::Deadlock);
    assert!(f.observed);
    assert_eq!((f.primary.goroutine, f.primary.op.as_str()), (1, "recv"));
    assert_eq!(f.related.len(), 1);
    let peer = &f.related[0];
    assert_eq!(
        (peer.op.as_str(), peer.goroutine_name.as_deref()),
        ("recv", Some("peer"))
    );
    assert!(
        noted(f, "goroutine 2 [peer] is blocked receiving"),
        "{f:#?}"
    );
    assert!(noted(f, "goroutine 2 [peer] was created at"), "{f:#?}");
}

// ---------------------------------------------------------------------------
// Known gaps, reproduced minimally.
// ---------------------------------------------------------------------------

#[test]
fn a_deadlock_on_fresh_channels_spells_its_cycle() {
    // Neither goroutine completed an operation on either channel: the
    // edges come from the handles each still held when it was torn down.
    let report = explore(config(1), crossed_receives);
    let f = only(&report, FindingKind::Deadlock);
    assert!(
        noted(f, "wait-for cycle: goroutine 1 -> goroutine 2 -> 1"),
        "{f:#?}"
    );
    assert!(noted(f, "waiting for goroutine(s) 2 [peer]"), "{f:#?}");
    assert!(noted(f, "waiting for goroutine(s) 1"), "{f:#?}");
}

#[test]
fn a_deadlock_names_no_cycle_through_a_dropped_handle() {
    // Main sent on `work` once and dropped its handle: it used the channel
    // but can no longer send on it, so the worker waits for nobody.
    let report = explore(config(10), || async {
        let (work, done) = (goro::chan::<u32>(1), goro::chan::<()>(0));
        let (w, d) = (work.clone(), done.clone());
        goro::go!("worker", async move {
            w.recv().await;
            w.recv().await;
            d.send(()).await;
        });
        work.send(1).await;
        drop(work);
        done.recv().await;
    });
    let f = only(&report, FindingKind::Deadlock);
    assert!(!noted(f, "wait-for cycle"), "{f:#?}");
    assert!(noted(f, "goroutine 1 is blocked receiving"), "{f:#?}");
    assert!(noted(f, "waiting for goroutine(s) 2 [worker]"), "{f:#?}");
    assert!(
        noted(
            f,
            "no goroutine that could unblock the others is left running"
        ),
        "{f:#?}"
    );
}

#[test]
fn a_leaked_sleep_is_reported_at_the_users_sleep() {
    let line = line!() + 3;
    let report = explore(config(1), || async {
        goro::go!("sleeper", async {
            goro::time::sleep(Duration::from_secs(3600)).await;
        });
    });
    let f = only(&report, FindingKind::GoroutineLeak);
    assert_eq!(f.primary.op, "sleep");
    assert_eq!(
        (f.primary.file.as_str(), f.primary.line),
        (file!(), line),
        "{f:#?}"
    );
    // The start of the call's path, where rustc places a path call.
    assert_eq!(f.primary.column, 13, "{f:#?}");
}

#[test]
fn a_waitgroup_deadlock_counts_the_done_calls_still_missing() {
    let report = explore(config(1), || async {
        let wg = WaitGroup::new();
        wg.add(2);
        let w = wg.clone();
        goro::go!("late", async move {
            // After main parked in wait with the counter at 2.
            goro::time::sleep(Duration::from_secs(1)).await;
            w.done();
        });
        wg.wait().await;
    });
    let f = only(&report, FindingKind::Deadlock);
    assert!(
        noted(
            f,
            "goroutine 1 is blocked in WaitGroup.wait with the counter at 1 at"
        ),
        "{f:#?}"
    );
    assert!(!noted(f, "counter at 2"), "{f:#?}");
}

#[test]
fn an_empty_select_is_a_leak_not_a_hang() {
    let report = common::guarded(|| {
        explore(config(1), || async {
            goro::go!("idle", async {
                goro::select! {}
            });
        })
    })
    .expect("explore returns");
    let f = only(&report, FindingKind::GoroutineLeak);
    assert_eq!(f.primary.goroutine_name.as_deref(), Some("idle"));
    assert_eq!(f.primary.file, file!());
}

#[test]
fn a_ticker_does_not_hide_a_deadlock() {
    // Go's runtime never reports this (a timer is always pending). Main
    // waits on a channel nobody else holds: no timer can ever change that.
    let line = line!() + 7;
    let report = explore(config(1), || async {
        goro::go!("heartbeat", async {
            loop {
                goro::time::sleep(Duration::from_secs(1)).await;
            }
        });
        goro::chan::<()>(0).recv().await;
    });
    assert!(report.step_limited().is_empty(), "{report}");
    let f = only(&report, FindingKind::Deadlock);
    assert_eq!(
        (f.primary.goroutine, f.primary.op.as_str(), f.primary.line),
        (1, "recv", line),
        "{f:#?}"
    );
    assert!(f.related.is_empty(), "{f:#?}");
    assert!(
        f.message.starts_with("deadlock: main can never proceed"),
        "{f:#?}"
    );
    assert!(
        noted(
            f,
            "goroutine(s) 2 [heartbeat] still run (or wait for timers"
        ),
        "{f:#?}"
    );
}

// ---------------------------------------------------------------------------
// Goroutines still running when the grace period after main runs out: one
// verdict, a leak naming what each does, never the step limit.
// ---------------------------------------------------------------------------

#[test]
fn a_sleep_loop_still_running_after_main_is_leaked_sleeping() {
    // gobyexample's stateful goroutines: a worker that loops on a short
    // sleep. 60 s of grace at 1 ms a turn would outrun the step limit.
    let line = line!() + 5;
    let report = explore(config(3), || async {
        goro::go!("writer", async {
            loop {
                goro::yield_now().await;
                goro::time::sleep(Duration::from_millis(1)).await;
            }
        });
    });
    assert!(report.step_limited().is_empty(), "{report}");
    let f = only(&report, FindingKind::GoroutineLeak);
    assert_eq!(
        (
            f.primary.op.as_str(),
            f.primary.line,
            f.primary.file.as_str()
        ),
        ("sleep", line, file!()),
        "{f:#?}"
    );
    assert!(
        f.message
            .ends_with("[writer] leaked: still sleeping after main returned"),
        "{f:#?}"
    );
    assert_eq!(f.related[0].op, "go", "{f:#?}");
}

#[test]
fn a_spinning_goroutine_after_main_is_leaked_running() {
    let report = explore(config(3).max_steps(5_000), || async {
        goro::go!("spinner", async {
            loop {
                goro::yield_now().await;
            }
        });
    });
    assert!(report.step_limited().is_empty(), "{report}");
    let f = only(&report, FindingKind::GoroutineLeak);
    assert!(
        f.message
            .ends_with("[spinner] leaked: still running after main returned"),
        "{f:#?}"
    );
}

#[test]
fn a_goroutine_blocked_beside_one_still_running_is_not_claimed_stuck_forever() {
    let report = explore(config(3), || async {
        goro::go!("ticker", async {
            let ticks = goro::time::tick(Duration::from_millis(1));
            while ticks.recv().await.is_some() {}
        });
        let never = goro::chan::<u8>(0);
        goro::go!("waiter", clone(never), async move {
            never.recv().await;
        });
        goro::yield_now().await;
    });
    assert!(report.step_limited().is_empty(), "{report}");
    assert_eq!(report.findings().len(), 2, "{report}");
    let of = |name: &str| {
        report
            .findings()
            .iter()
            .find(|f| f.primary.goroutine_name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no leak of {name}:\n{report}"))
    };
    let ticker = of("ticker");
    assert!(ticker.message.contains("still ticking"), "{ticker:#?}");
    let waiter = of("waiter");
    assert!(
        waiter.message.ends_with(
            "still blocked receiving from a channel when the grace period after main ran out"
        ),
        "{waiter:#?}"
    );
    assert!(!noted(waiter, "can never be woken"), "{waiter:#?}");
}

#[test]
fn a_select_waiting_on_a_far_timer_after_main_is_leaked_waiting_for_it() {
    let report = explore(config(3), || async {
        let never = goro::chan::<u8>(0);
        goro::go!("poller", clone(never), async move {
            goro::select! {
                recv(never) -> _ => {},
                recv(goro::time::after(Duration::from_secs(3600))) -> _ => {},
            }
        });
    });
    let f = only(&report, FindingKind::GoroutineLeak);
    assert!(
        f.message.ends_with(
            "[poller] leaked: still waiting for a timer in a select over 2 channel operation(s) \
             after main returned"
        ),
        "{f:#?}"
    );
}

#[test]
fn goroutines_winding_down_after_main_are_not_cut_short() {
    // Twenty goroutines each take 100 steps to finish after main returned:
    // 2,000 steps in all, twice the 1,000 one goroutine may take after
    // main. The grace counts steps per goroutine, not in all.
    let report = explore(config(3), || async {
        for _ in 0..20 {
            goro::go!(async {
                for _ in 0..100 {
                    goro::yield_now().await;
                }
            });
        }
    });
    assert!(report.step_limited().is_empty(), "{report}");
    assert!(report.findings().is_empty(), "{report}");
}

// ---------------------------------------------------------------------------
// The proof that main can never be woken while others run: what it must
// find, and what it must not claim.
// ---------------------------------------------------------------------------

/// A goroutine that beats every second until `quit` closes (`None`: never).
fn heartbeat(quit: Option<goro::Receiver<()>>) {
    goro::go!("heartbeat", async move {
        loop {
            match &quit {
                Some(q) => goro::select! {
                    recv(goro::time::after(Duration::from_secs(1))) -> _ => {},
                    recv(q) -> _ => return,
                },
                None => goro::time::sleep(Duration::from_secs(1)).await,
            }
        }
    });
}

/// Explores `program` and asserts it ends in a deadlock proved while the
/// heartbeat still ran, with `blocked` goroutines blocked forever.
fn assert_stuck(report: &Report, blocked: usize) -> &Finding {
    assert!(report.step_limited().is_empty(), "{report}");
    let f = only(report, FindingKind::Deadlock);
    let want = format!("deadlock: main can never proceed ({blocked} goroutine(s) blocked forever");
    assert!(f.message.starts_with(&want), "{f:#?}");
    assert!(noted(f, "[heartbeat] still run"), "{f:#?}");
    f
}

#[test]
fn a_join_of_a_goroutine_stuck_forever_is_stuck_too() {
    let report = explore(config(20), || async {
        heartbeat(None);
        let worker = goro::spawn(async {
            goro::chan::<u8>(0).send(1).await;
        });
        worker.await;
    });
    let f = assert_stuck(&report, 2);
    assert_eq!(f.primary.op, "join", "{f:#?}");
    assert_eq!(f.related[0].op, "send", "{f:#?}");
}

#[test]
fn a_select_over_channels_only_main_holds_is_stuck() {
    let report = explore(config(20), || async {
        heartbeat(None);
        let (a, b) = (goro::chan::<u8>(0), goro::chan::<u8>(1));
        goro::select! {
            recv(a) -> _ => {},
            recv(b) -> _ => {},
        }
    });
    let f = assert_stuck(&report, 1);
    assert_eq!(f.primary.op, "select", "{f:#?}");
}

#[test]
fn a_receive_whose_senders_are_all_gone_is_stuck() {
    let report = explore(config(20), || async {
        heartbeat(None);
        let ch = goro::chan::<u8>(0);
        let rx = ch.receiver();
        drop(ch);
        rx.recv().await;
    });
    assert_stuck(&report, 1);
}

#[test]
fn a_channel_shared_through_an_arc_is_never_claimed_stuck() {
    // Main's handle is not in its own future: the heartbeat may use it.
    let report = explore(config(20), || async {
        let (quit, ch) = (goro::chan::<()>(0), Arc::new(goro::chan::<u8>(0)));
        heartbeat(Some(quit.receiver()));
        let c = ch.clone();
        goro::go!("late", async move {
            goro::time::sleep(Duration::from_secs(5)).await;
            c.send(1).await;
        });
        assert_eq!(ch.recv().await, Some(1));
        quit.close();
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn a_receive_from_a_timer_is_never_claimed_stuck() {
    let report = explore(config(20), || async {
        let quit = goro::chan::<()>(0);
        heartbeat(Some(quit.receiver()));
        goro::time::after(Duration::from_secs(10)).recv().await;
        quit.close();
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn operations_under_a_foreign_combinator_are_never_claimed_stuck() {
    // Main waits in two receives at once (not a goro select): the one it
    // alone holds cannot complete, the other can.
    let report = explore(config(20), || async {
        let quit = goro::chan::<()>(0);
        heartbeat(Some(quit.receiver()));
        let (own, shared) = (goro::chan::<u8>(0), goro::chan::<u8>(0));
        let tx = shared.sender();
        goro::go!("late", async move {
            goro::time::sleep(Duration::from_secs(5)).await;
            tx.send(1).await;
        });
        // The receive main alone holds parks last: the one the proof sees.
        let first = std::pin::pin!(shared.recv());
        let second = std::pin::pin!(own.recv());
        let _ = futures_util::future::select(first, second).await;
        quit.close();
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn a_wait_group_whose_done_callers_returned_is_stuck() {
    let line = line!() + 12;
    let report = explore(config(20), || async {
        heartbeat(None);
        let wg = WaitGroup::new();
        for skip in [false, true] {
            wg.add(1);
            goro::go!("worker", clone(wg), async move {
                if !skip {
                    wg.done();
                }
            });
        }
        wg.wait().await;
    });
    let f = assert_stuck(&report, 1);
    assert_eq!(
        (f.primary.goroutine, f.primary.op.as_str(), f.primary.line),
        (1, "wait", line),
        "{f:#?}"
    );
    // The workers have returned: main waits for none of them.
    assert!(!noted(f, "waiting for goroutine"), "{f:#?}");
    assert!(noted(f, "on a WaitGroup whose every handle"), "{f:#?}");
}

#[test]
fn a_wait_group_a_sleeping_worker_holds_is_never_claimed_stuck() {
    let report = explore(config(20), || async {
        let quit = goro::chan::<()>(0);
        heartbeat(Some(quit.receiver()));
        let wg = WaitGroup::new();
        wg.add(1);
        goro::go!("late", clone(wg), async move {
            goro::time::sleep(Duration::from_secs(5)).await;
            wg.done();
        });
        wg.wait().await;
        quit.close();
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn a_wait_group_held_by_a_goroutine_parked_elsewhere_is_never_claimed_stuck() {
    // The worker's handle is in its future but no parked operation borrows
    // it: the proof cannot see it, so it must not count on it.
    let report = explore(config(20), || async {
        let quit = goro::chan::<()>(0);
        heartbeat(Some(quit.receiver()));
        let (go, wg) = (goro::chan::<()>(0), WaitGroup::new());
        wg.add(1);
        goro::go!("worker", clone(go, wg), async move {
            go.recv().await;
            wg.done();
        });
        goro::go!("starter", clone(go), async move {
            goro::time::sleep(Duration::from_secs(5)).await;
            go.send(()).await;
        });
        drop(go);
        wg.wait().await;
        quit.close();
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn a_wait_group_shared_through_an_arc_is_never_claimed_stuck() {
    // Main's handle is not in its own future: another goroutine reaches it.
    let report = explore(config(20), || async {
        let quit = goro::chan::<()>(0);
        heartbeat(Some(quit.receiver()));
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let w = wg.clone();
        goro::go!("late", async move {
            goro::time::sleep(Duration::from_secs(5)).await;
            w.done();
        });
        wg.wait().await;
        quit.close();
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn a_receive_on_a_stopped_ticker_of_its_own_is_stuck_at_once() {
    // A year-long period: before the stopped ticker's next tick was due
    // (when it used to stop counting as live), the heartbeat runs the
    // schedule into the step limit.
    let line = line!() + 5;
    let report = explore(config(5), || async {
        heartbeat(None);
        let ticker = goro::time::Ticker::new(Duration::from_secs(365 * 24 * 3600));
        ticker.stop();
        ticker.receiver().recv().await;
    });
    let f = assert_stuck(&report, 1);
    assert_eq!(
        (f.primary.goroutine, f.primary.op.as_str(), f.primary.line),
        (1, "recv", line),
        "{f:#?}"
    );
}

#[test]
fn a_receive_on_a_fired_timer_of_its_own_is_stuck() {
    let report = explore(config(5), || async {
        heartbeat(None);
        let timer = goro::time::Timer::new(Duration::from_secs(5));
        timer.c().recv().await;
        // Fired and received: only a reset could send again.
        timer.c().recv().await;
    });
    let f = assert_stuck(&report, 1);
    assert_eq!(f.primary.op, "recv", "{f:#?}");
}

#[test]
fn a_receive_on_a_timer_another_goroutine_resets_is_never_claimed_stuck() {
    let report = explore(config(20), || async {
        let quit = goro::chan::<()>(0);
        heartbeat(Some(quit.receiver()));
        let timer = Arc::new(goro::time::Timer::new(Duration::from_secs(5)));
        assert!(timer.stop());
        let t = timer.clone();
        goro::go!("resetter", async move {
            goro::time::sleep(Duration::from_secs(5)).await;
            t.reset(Duration::from_millis(1));
        });
        assert!(timer.c().recv().await.is_some());
        quit.close();
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn a_receive_on_a_stopped_ticker_another_goroutine_resets_is_never_claimed_stuck() {
    // Main receives through a clone; the ticker itself went to a goroutine
    // that restarts it: it counts as a sender while it lives.
    let report = explore(config(20), || async {
        let ticker = goro::time::Ticker::new(Duration::from_secs(3600));
        ticker.stop();
        let ticks = ticker.receiver().clone();
        let done = goro::chan::<()>(0);
        goro::go!("resetter", clone(done), async move {
            goro::time::sleep(Duration::from_secs(5)).await;
            ticker.reset(Duration::from_millis(1));
            done.recv().await;
        });
        assert!(ticks.recv().await.is_some());
        done.close();
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn a_goroutine_left_on_a_stopped_ticker_leaks_blocked_not_ticking() {
    let line = line!() + 5;
    let report = explore(config(5), || async {
        let ticker = goro::time::Ticker::new(Duration::from_secs(3600));
        let ticks = ticker.receiver().clone();
        goro::go!("waiter", async move {
            ticks.recv().await;
        });
        goro::yield_now().await;
        drop(ticker);
    });
    assert!(report.step_limited().is_empty(), "{report}");
    let f = only(&report, FindingKind::GoroutineLeak);
    assert_eq!(
        (f.primary.op.as_str(), f.primary.line),
        ("recv", line),
        "{f:#?}"
    );
    assert!(
        f.message.ends_with(
            "[waiter] leaked: blocked forever receiving from a stopped or fired timer's channel"
        ),
        "{f:#?}"
    );
}

#[test]
fn read_locks_in_a_cycle_without_a_writer_are_no_inversion() {
    let report = explore(config(20), || async {
        let (a, b) = (Arc::new(RwLock::new(0)), Arc::new(Mutex::new(0)));
        let wg = WaitGroup::new();
        wg.add(2);
        let (a1, b1, w1) = (a.clone(), b.clone(), wg.clone());
        goro::go!("r1", async move {
            let x = a1.read().await;
            *b1.lock().await += *x;
            drop(x);
            w1.done();
        });
        let (a2, b2, w2) = (a.clone(), b.clone(), wg.clone());
        goro::go!("r2", async move {
            let mut y = b2.lock().await;
            *y += *a2.read().await;
            drop(y);
            w2.done();
        });
        wg.wait().await;
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn a_cancel_func_held_by_a_leaked_goroutine_is_lost() {
    let line = line!() + 2;
    let report = explore(config(1), || async {
        let (ctx, cancel) = goro::context::with_cancel(&goro::context::background());
        let never = goro::chan::<()>(0);
        let rx = never.receiver();
        goro::go!("holder", async move {
            rx.recv().await;
            drop(ctx);
            cancel.cancel();
        });
    });
    assert_eq!(report.findings().len(), 2, "{report}");
    assert!(report.has(FindingKind::GoroutineLeak), "{report}");
    let f = report
        .findings()
        .iter()
        .find(|f| f.kind == FindingKind::LostCancel)
        .expect("a lost cancel");
    // Made by main at `with_cancel`; it went with the leaked holder.
    assert_eq!(
        (f.primary.op.as_str(), f.primary.goroutine, f.primary.line),
        ("with_cancel", 1, line),
        "{f:#?}"
    );
    assert!(f.related.is_empty(), "no drop site of its own\n{f:#?}");
    assert!(
        noted(f, "goroutine 2 [holder] still held every CancelFunc clone"),
        "{f:#?}"
    );
}

#[test]
fn a_lost_cancel_names_its_maker_and_where_another_goroutine_dropped_it() {
    let made = line!() + 2;
    let report = explore(config(1), || async {
        let (ctx, cancel) = goro::context::with_cancel(&goro::context::background());
        let worker = goro::spawn(async move {
            drop(cancel);
        });
        worker.await;
        drop(ctx);
    });
    let f = only(&report, FindingKind::LostCancel);
    assert_eq!(
        (f.primary.op.as_str(), f.primary.goroutine, f.primary.line),
        ("with_cancel", 1, made),
        "{f:#?}"
    );
    assert_eq!(f.related.len(), 1, "{f:#?}");
    let dropped = &f.related[0];
    assert_eq!(
        (dropped.op.as_str(), dropped.goroutine),
        ("drop", 2),
        "{f:#?}"
    );
    assert_eq!(
        (dropped.file.as_str(), dropped.line),
        (file!(), made + 2),
        "{f:#?}"
    );
    assert!(
        noted(f, "dropped by goroutine 2 without cancel()"),
        "{f:#?}"
    );
}

#[test]
fn a_cancel_func_held_by_a_goroutine_that_calls_it_is_not_lost() {
    // The holder is only parked until main's send: it is torn down after
    // it called cancel, never holding it blocked forever.
    let report = explore(config(20), || async {
        let (ctx, cancel) = goro::context::with_cancel(&goro::context::background());
        let go = goro::chan::<()>(0);
        let rx = go.receiver();
        goro::go!("holder", async move {
            rx.recv().await;
            cancel.cancel();
        });
        go.send(()).await;
        ctx.done().recv().await;
    });
    assert!(report.findings().is_empty(), "{report}");
}
