//! `select!`: case forms, control flow in arms, operand evaluation, commit
//! semantics, closed channels, blocking, fairness (of ready and parked
//! cases), send on closed, and cancellation.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use common::{assert_sequence, panic_message, poll_once, poll_then_drop, run_panic_report};
use futures_util::FutureExt;
use goro::{Chan, TryRecvError, TrySendError};
use tokio::time::{sleep, timeout};

/// Only used to check that something does *not* happen (never a bound on
/// speed).
const SHORT: Duration = Duration::from_millis(20);

/// A channel that a goroutine closes after `after`: stands in for
/// `time::after`, which is written elsewhere.
fn closed_after(after: Duration) -> goro::Receiver<()> {
    let ch = goro::chan::<()>(0);
    let tx = ch.sender();
    goro::go!(async move {
        sleep(after).await;
        tx.close();
    });
    ch.receiver()
}

// ------------------------------------------------------------------ the forms

#[test]
fn every_case_form_compiles_and_runs() {
    goro::run(async {
        let a = goro::chan::<i32>(1);
        let b = goro::chan::<i32>(1);

        a.try_send(1).unwrap();
        let v = goro::select! {
            recv(a) -> v => v,
        };
        assert_eq!(v, Some(1));

        a.try_send(2).unwrap();
        let hit = AtomicU32::new(0);
        goro::select! {
            recv(a) => { hit.fetch_add(1, Ordering::SeqCst); }
        }
        assert_eq!(hit.load(Ordering::SeqCst), 1);
        assert!(a.is_empty(), "a recv case without binding still receives");

        goro::select! {
            send(b, 3) => {},
        }
        assert_eq!(b.try_recv(), Ok(3));

        // Block arms with and without commas, expression arms, patterns.
        a.try_send(4).unwrap();
        let got = goro::select! {
            recv(b) -> _ => unreachable!("b is empty"),
            recv(a) -> mut v => {
                v = v.map(|x| x * 10);
                v
            }
            send(b, 0) => None,
        };
        assert!(got == Some(40) || b.try_recv() == Ok(0), "{got:?}");

        let d = goro::select! {
            recv(a) -> v => v.unwrap_or(-1),
            default => -2
        };
        assert!(d == -2 || d == 4);

        let only = goro::select! {
            default => "only default",
        };
        assert_eq!(only, "only default");
    });
}

#[test]
fn default_runs_when_nothing_is_ready_and_leaves_nothing_behind() {
    let a = goro::chan::<i32>(0);
    let b = goro::chan::<i32>(0);
    let r = goro::run({
        let (a, b) = (a.clone(), b.clone());
        async move {
            goro::select! {
                recv(a) -> v => format!("recv {v:?}"),
                send(b, 1) => "sent".to_string(),
                default => "default".to_string(),
            }
        }
    });
    assert_eq!(r, "default");
    // No parked receive on `a`, no parked send on `b`.
    assert_eq!(a.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_ready_case_always_beats_default() {
    goro::run(async {
        let a = goro::chan::<u32>(1);
        for i in 0..1000 {
            a.try_send(i).unwrap();
            let v = goro::select! {
                recv(a) -> v => v,
                default => None,
            };
            assert_eq!(v, Some(i));
        }
    });
}

#[test]
fn empty_select_blocks_forever() {
    goro::run(async {
        let r = timeout(SHORT, async {
            goro::select! {}
        })
        .await;
        assert!(r.is_err(), "select! {{}} returned");
    });
}

#[test]
fn single_case_selects_block_until_ready() {
    goro::run(async {
        let ch = goro::chan::<&str>(0);
        let tx = ch.clone();
        goro::go!(async move {
            sleep(SHORT).await;
            tx.send("late").await;
        });
        let v = goro::select! { recv(ch) -> v => v };
        assert_eq!(v, Some("late"));

        let rx = ch.clone();
        let h = goro::spawn(async move {
            sleep(SHORT).await;
            rx.recv().await
        });
        goro::select! { send(ch, "sent") => {} }
        assert_eq!(h.await, Some("sent"));
    });
}

#[test]
fn ten_cases_pick_the_ready_one() {
    goro::run(async {
        let c: Vec<Chan<usize>> = (0..10).map(|_| goro::chan(1)).collect();
        let mut counts = [0u32; 10];
        for round in 0..1010 {
            let all = round >= 10;
            for (k, ch) in c.iter().enumerate() {
                if all || k == round {
                    ch.try_send(k).unwrap();
                }
            }
            let (arm, v) = goro::select! {
                recv(c[0]) -> v => (0, v),
                recv(c[1]) -> v => (1, v),
                recv(c[2]) -> v => (2, v),
                recv(c[3]) -> v => (3, v),
                recv(c[4]) -> v => (4, v),
                recv(c[5]) -> v => (5, v),
                recv(c[6]) -> v => (6, v),
                recv(c[7]) -> v => (7, v),
                recv(c[8]) -> v => (8, v),
                recv(c[9]) -> v => (9, v),
            };
            assert_eq!(v, Some(arm), "arm {arm} got another channel's value");
            if !all {
                assert_eq!(arm, round);
            }
            counts[arm] += 1;
            // Exactly one case committed: nine values are left.
            let left: usize = c.iter().map(|ch| ch.len()).sum();
            assert_eq!(left, if all { 9 } else { 0 });
            for ch in &c {
                while ch.try_recv().is_ok() {}
            }
        }
        assert!(
            counts.iter().all(|&n| n > 0),
            "some case never chosen: {counts:?}"
        );
    });
}

#[test]
fn ten_mixed_cases_commit_exactly_one() {
    goro::run(async {
        let r: Vec<Chan<usize>> = (0..5).map(|_| goro::chan(1)).collect();
        let s: Vec<Chan<usize>> = (0..5).map(|_| goro::chan(1)).collect();
        let mut sends = 0;
        for round in 0..500 {
            for (k, ch) in r.iter().enumerate() {
                ch.try_send(k).unwrap();
            }
            let arm = goro::select! {
                recv(r[0]) -> _ => 0,
                send(s[0], round) => 5,
                recv(r[1]) -> _ => 1,
                send(s[1], round) => 6,
                recv(r[2]) -> _ => 2,
                send(s[2], round) => 7,
                recv(r[3]) -> _ => 3,
                send(s[3], round) => 8,
                recv(r[4]) -> _ => 4,
                send(s[4], round) => 9,
            };
            let recv_left: usize = r.iter().map(|c| c.len()).sum();
            let sent: usize = s.iter().map(|c| c.len()).sum();
            // One receive leaves 4 values and sends none; one send leaves all
            // 5 and sends 1.
            let want = if arm >= 5 { (5, 1) } else { (4, 0) };
            assert_eq!(
                (recv_left, sent),
                want,
                "round {round}: not exactly one commit"
            );
            if arm >= 5 {
                sends += 1;
                assert_eq!(s[arm - 5].try_recv(), Ok(round));
            } else {
                assert!(r[arm].is_empty());
            }
            for c in r.iter().chain(&s) {
                while c.try_recv().is_ok() {}
            }
        }
        assert!(sends > 0 && sends < 500);
    });
}

#[test]
fn handles_and_references_as_operands() {
    goro::run(async {
        let ch = goro::chan::<i32>(2);
        let tx = ch.sender();
        let rx = ch.receiver();
        goro::select! { send(tx, 1) => {} }
        goro::select! { send(&tx, 2) => {} }
        assert_eq!(goro::select! { recv(rx) -> v => v }, Some(1));
        assert_eq!(goro::select! { recv(&rx) -> v => v }, Some(2));
        // Temporaries live until the select is over.
        goro::select! { send(ch.sender(), 3) => {} }
        assert_eq!(goro::select! { recv(ch.receiver()) -> v => v }, Some(3));
        let by_ref = &&ch;
        goro::select! { send(by_ref, 4) => {} }
        assert_eq!(goro::select! { recv(by_ref) -> v => v }, Some(4));
    });
}

// --------------------------------------------------------------- control flow

#[derive(Debug, PartialEq)]
enum Stop {
    Closed,
    Negative(i32),
}

/// Every arm form of control flow, in an async fn.
async fn consume(ch: Chan<i32>, done: Chan<()>, out: Chan<i32>) -> Result<Vec<i32>, Stop> {
    let mut seen = Vec::new();
    loop {
        goro::select! {
            recv(ch) -> v => {
                let v = v.ok_or(Stop::Closed)?;
                if v < 0 {
                    return Err(Stop::Negative(v));
                }
                if v % 2 == 1 {
                    continue;
                }
                if v == 100 {
                    break;
                }
                goro::yield_now().await;
                out.send(v).await;
                seen.push(v);
            }
            recv(done) => return Ok(seen),
        }
    }
    seen.push(-1);
    Ok(seen)
}

#[test]
fn arms_can_return_question_mark_break_continue_and_await() {
    goro::run(async {
        let case = |vals: &[i32], close: bool, done: bool| {
            let ch = goro::chan::<i32>(16);
            for &v in vals {
                ch.try_send(v).unwrap();
            }
            if close {
                ch.close();
            }
            let d = goro::chan::<()>(0);
            if done {
                d.close();
            }
            (ch, d, goro::chan::<i32>(16))
        };
        let (ch, d, out) = case(&[2, 3, 4, 100, 6], false, false);
        assert_eq!(
            consume(ch.clone(), d, out.clone()).await,
            Ok(vec![2, 4, -1])
        );
        assert_eq!(ch.try_recv(), Ok(6), "break left the loop at once");
        assert_eq!(
            (out.try_recv(), out.try_recv()),
            (Ok(2), Ok(4)),
            ".await in an arm"
        );

        let (ch, d, out) = case(&[2, -5, 8], false, false);
        assert_eq!(consume(ch, d, out).await, Err(Stop::Negative(-5)));

        let (ch, d, out) = case(&[2], true, false);
        assert_eq!(consume(ch, d, out).await, Err(Stop::Closed));

        let (ch, d, out) = case(&[], false, true);
        assert_eq!(consume(ch, d, out).await, Ok(vec![]));
    });
}

#[test]
fn expression_arms_can_await_and_use_question_mark() {
    async fn forward(from: Chan<i32>, to: Chan<i32>) -> Option<()> {
        goro::select! {
            recv(from) -> v => to.send(v?).await,
        }
        Some(())
    }
    goro::run(async {
        let (a, b) = (goro::chan(1), goro::chan(1));
        a.try_send(5).unwrap();
        assert_eq!(forward(a.clone(), b.clone()).await, Some(()));
        assert_eq!(b.try_recv(), Ok(5));
        a.close();
        assert_eq!(forward(a, b).await, None);
    });
}

// ------------------------------------------------------------------ operands

/// Records the order in which select operands are evaluated.
#[derive(Default)]
struct Log(Mutex<Vec<&'static str>>);

impl Log {
    fn op<T>(&self, what: &'static str, x: T) -> T {
        self.0.lock().unwrap().push(what);
        x
    }
    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[test]
fn operands_are_evaluated_once_in_order_even_when_blocking() {
    goro::run(async {
        let log = Log::default();
        let (a, b, c) = (
            goro::chan::<i32>(0),
            goro::chan::<i32>(0),
            goro::chan::<i32>(0),
        );
        let tx = c.clone();
        goro::go!(async move {
            // The select parks and is polled again before this arrives.
            sleep(SHORT).await;
            tx.send(3).await;
        });
        let v = goro::select! {
            recv(log.op("recv a", &a)) -> v => v,
            send(log.op("send b", &b), log.op("value b", 10)) => None,
            recv(log.op("recv c", c.receiver())) -> v => v,
        };
        assert_eq!(v, Some(3));
        assert_eq!(log.take(), ["recv a", "send b", "value b", "recv c"]);
        // The losing send's value was evaluated but not sent.
        assert!(timeout(SHORT, b.recv()).await.is_err());
    });
}

#[test]
fn operands_are_evaluated_once_with_default() {
    goro::run(async {
        let log = Log::default();
        let (a, b) = (goro::chan::<i32>(1), goro::chan::<i32>(0));
        a.try_send(1).unwrap();
        let v = goro::select! {
            send(log.op("send b", &b), log.op("value b", 2)) => 0,
            recv(log.op("recv a", &a)) -> v => v.unwrap(),
            default => -1,
        };
        assert_eq!(v, 1);
        assert_eq!(log.take(), ["send b", "value b", "recv a"]);
        // Arms are not operands: only the chosen one ran, once.
        let runs = AtomicU32::new(0);
        goro::select! {
            recv(log.op("recv b", &b)) => { runs.fetch_add(1, Ordering::SeqCst); },
            default => { runs.fetch_add(10, Ordering::SeqCst); }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 10);
        assert_eq!(log.take(), ["recv b"]);
    });
}

// ------------------------------------------------------------ commit only one

#[test]
fn send_case_commits_only_if_chosen_when_both_ready() {
    goro::run(async {
        let a = goro::chan::<u32>(1);
        let b = goro::chan::<u32>(1);
        let (mut recvs, mut sends) = (0, 0);
        for i in 0..1000 {
            a.try_send(i).unwrap();
            let chose_recv = goro::select! {
                recv(a) -> v => { assert_eq!(v, Some(i)); true }
                send(b, i) => false,
            };
            if chose_recv {
                recvs += 1;
                assert_eq!(b.len(), 0, "round {i}: the losing send was sent");
            } else {
                sends += 1;
                assert_eq!(a.len(), 1, "round {i}: the losing recv received");
                assert_eq!(b.try_recv(), Ok(i));
                assert_eq!(a.try_recv(), Ok(i));
            }
            assert!(a.is_empty() && b.is_empty());
        }
        assert!(recvs > 0 && sends > 0, "recvs {recvs}, sends {sends}");
    });
}

#[test]
fn losing_send_case_is_not_sent_when_the_recv_arrives_first() {
    goro::run(async {
        let (a, b) = (goro::chan::<u32>(0), goro::chan::<u32>(0));
        let tx = a.clone();
        goro::go!(async move {
            sleep(SHORT).await;
            tx.send(1).await;
        });
        let r = goro::select! {
            recv(a) -> v => v,
            send(b, 2) => None,
        };
        assert_eq!(r, Some(1));
        // `b`'s offer was withdrawn: a receiver now finds nothing.
        assert!(
            timeout(SHORT, b.recv()).await.is_err(),
            "losing send delivered"
        );
    });
}

#[test]
fn losing_recv_case_is_withdrawn_when_the_send_is_taken_first() {
    goro::run(async {
        let (a, b) = (goro::chan::<u32>(0), goro::chan::<u32>(0));
        let rx = b.clone();
        let h = goro::spawn(async move {
            sleep(SHORT).await;
            rx.recv().await
        });
        let r = goro::select! {
            recv(a) -> v => v,
            send(b, 2) => None,
        };
        assert_eq!(r, None);
        assert_eq!(h.await, Some(2));
        // No receive is left parked on `a`.
        assert_eq!(a.try_send(5), Err(TrySendError::Full(5)));
    });
}

/// Main selects between receiving from a producer and sending to a
/// consumer, on other threads; the producer is itself in a select. Each of
/// main's selects must commit exactly one side: the producer's values arrive
/// exactly once and in order, and the consumer gets exactly what main's send
/// cases committed.
///
/// `recv_first` puts receive cases first in main's and the consumer's
/// selects (the order a blocked select registers them in): that exposes a
/// core bug, see the ignored test. With send cases first the consumer loops
/// on `recv` and ends at close.
///
/// Repeated because the race it looks for (a case committed by one
/// counterparty while the select is still registering its other cases) is
/// narrow.
fn racing_counterparties(recv_first: bool, rounds: usize) {
    for cap in [0, 1].repeat(rounds) {
        let (got_a, sent_b, produced, consumed) = goro::run(async move {
            let a = goro::chan::<u32>(cap);
            let b = goro::chan::<u32>(cap);
            let stop = goro::chan::<()>(0);
            let (pa, ps) = (a.clone(), stop.clone());
            let producer = goro::spawn(async move {
                let mut next = 0u32;
                loop {
                    goro::select! {
                        send(pa, next) => next += 1,
                        recv(ps) => return next,
                    }
                }
            });
            let (cb, cs) = (b.clone(), stop.clone());
            let consumer = goro::spawn(async move {
                let mut got = Vec::new();
                if recv_first {
                    loop {
                        goro::select! {
                            recv(cb) -> v => got.push(v.unwrap()),
                            recv(cs) => break,
                        }
                    }
                } else {
                    while let Some(v) = cb.recv().await {
                        got.push(v);
                    }
                }
                got
            });
            let (mut got_a, mut sent_b) = (Vec::new(), Vec::new());
            for i in 0..2000u32 {
                if recv_first {
                    goro::select! {
                        recv(a) -> v => got_a.push(v.unwrap()),
                        send(b, i) => sent_b.push(i),
                    }
                } else {
                    goro::select! {
                        send(b, i) => sent_b.push(i),
                        recv(a) -> v => got_a.push(v.unwrap()),
                    }
                }
            }
            stop.close();
            if !recv_first {
                b.close();
            }
            let produced = producer.await;
            let mut consumed = consumer.await;
            // What the producer sent but main never took is still buffered,
            // and so is what main sent but the consumer never took.
            while let Ok(v) = a.try_recv() {
                got_a.push(v);
            }
            while let Ok(v) = b.try_recv() {
                consumed.push(v);
            }
            (got_a, sent_b, produced, consumed)
        });
        assert_sequence(&got_a, produced, &format!("cap {cap}"));
        assert_eq!(consumed, sent_b, "cap {cap}");
    }
}

#[test]
fn racing_counterparties_commit_exactly_one_case() {
    racing_counterparties(false, 15);
}

#[test]
fn racing_counterparties_commit_exactly_one_case_recv_registered_first() {
    racing_counterparties(true, 60);
}

// -------------------------------------------------------------------- closed

#[test]
fn recv_on_closed_channel_yields_none() {
    goro::run(async {
        let c = goro::chan::<i32>(2);
        c.try_send(1).unwrap();
        c.close();
        assert_eq!(goro::select! { recv(c) -> v => v }, Some(1), "drain first");
        assert_eq!(goro::select! { recv(c) -> v => v }, None);
        // A closed channel is ready: it beats default.
        let v = goro::select! {
            recv(c) -> v => v,
            default => Some(-1),
        };
        assert_eq!(v, None);
    });
}

#[test]
fn close_wakes_a_blocked_select_with_none() {
    goro::run(async {
        let (a, b) = (goro::chan::<i32>(0), goro::chan::<i32>(0));
        let tx = b.clone();
        goro::go!(async move {
            sleep(SHORT).await;
            tx.close();
        });
        let r = goro::select! {
            recv(a) -> v => ("a", v),
            recv(b) -> v => ("b", v),
        };
        assert_eq!(r, ("b", None));
    });
}

#[test]
fn select_with_a_timer_channel() {
    goro::run(async {
        let never = goro::chan::<i32>(0);
        let timer = closed_after(Duration::from_millis(5));
        let r = goro::select! {
            recv(never) -> v => v,
            recv(timer) => Some(-1),
        };
        assert_eq!(r, Some(-1));
    });
}

#[test]
fn send_case_on_closed_channel_panics() {
    // Chosen at once: a closed channel's send case is ready (and wins even
    // over default, as in Go).
    goro::run(async {
        let c = goro::chan::<i32>(1);
        c.close();
        let err = AssertUnwindSafe(async {
            goro::select! {
                send(c, 1) => {},
                default => {},
            }
        })
        .catch_unwind()
        .await
        .expect_err("send on a closed channel in select must panic");
        assert_eq!(panic_message(&*err), "send on closed channel");
    });
}

#[test]
fn parked_send_case_panics_when_closed() {
    let (a, b) = (goro::chan::<i32>(0), goro::chan::<i32>(0));
    let mut sel = Box::pin(async {
        goro::select! {
            send(a, 1) => "a",
            recv(b) => "b",
        }
    });
    assert!(poll_once(&mut sel).is_pending());
    a.close();
    let err = catch_unwind(AssertUnwindSafe(|| poll_once(&mut sel)))
        .expect_err("a parked send case woken by close must panic");
    assert_eq!(panic_message(&*err), "send on closed channel");
    drop(sel);
    // The other case was withdrawn.
    assert_eq!(b.try_send(1), Err(TrySendError::Full(1)));
}

#[test]
fn send_on_closed_in_select_is_reported_at_the_select() {
    let line = Arc::new(AtomicU32::new(0));
    let at = line.clone();
    let r = run_panic_report(move || {
        goro::run(async move {
            let c = goro::chan::<i32>(0);
            c.close();
            goro::go!("selector", async move {
                at.store(line!() + 1, Ordering::SeqCst);
                goro::select! {
                    send(c, 1) => {},
                }
            });
            std::future::pending::<()>().await;
        });
    });
    let select_line = line.load(Ordering::SeqCst);
    assert_eq!(r.name.as_deref(), Some("selector"));
    assert_eq!(r.message, "send on closed channel");
    assert_eq!(r.file, file!());
    // Go points at the case; the select! invocation or the case line will do.
    assert!(
        (select_line..=select_line + 1).contains(&r.line),
        "reported at line {}, select at {select_line}",
        r.line
    );
}

// ----------------------------------------------------------------- fairness

#[test]
fn fairness_two_ready_recv_cases() {
    goro::run(async {
        let (a, b) = (goro::chan::<()>(1), goro::chan::<()>(1));
        a.try_send(()).unwrap();
        b.try_send(()).unwrap();
        let (mut na, mut nb) = (0u32, 0u32);
        for _ in 0..10_000 {
            goro::select! {
                recv(a) => { na += 1; a.try_send(()).unwrap(); }
                recv(b) => { nb += 1; b.try_send(()).unwrap(); }
            }
        }
        assert_eq!(na + nb, 10_000);
        // A fair coin lands 20 standard deviations inside these bounds.
        assert!((4000..=6000).contains(&na), "a chosen {na} of 10000");
        assert!((4000..=6000).contains(&nb), "b chosen {nb} of 10000");
    });
}

#[test]
fn fairness_two_ready_send_cases() {
    goro::run(async {
        let (a, b) = (goro::chan::<()>(1), goro::chan::<()>(1));
        let (mut na, mut nb) = (0u32, 0u32);
        for _ in 0..10_000 {
            goro::select! {
                send(a, ()) => na += 1,
                send(b, ()) => nb += 1,
            }
            while a.try_recv().is_ok() || b.try_recv().is_ok() {}
        }
        assert!((4000..=6000).contains(&na), "a chosen {na} of 10000");
        assert!((4000..=6000).contains(&nb), "b chosen {nb} of 10000");
    });
}

#[test]
fn fairness_three_ready_cases_of_mixed_kinds() {
    goro::run(async {
        let (r, s) = (goro::chan::<()>(1), goro::chan::<()>(1));
        let closed = goro::chan::<()>(0);
        closed.close();
        let mut n = [0u32; 3];
        for _ in 0..9000 {
            let _ = r.try_send(());
            goro::select! {
                recv(r) => n[0] += 1,
                send(s, ()) => n[1] += 1,
                recv(closed) => n[2] += 1,
            }
            let _ = s.try_recv();
        }
        for (i, &k) in n.iter().enumerate() {
            assert!((2400..=3600).contains(&k), "case {i} chosen {k} of 9000");
        }
    });
}

/// A parked select with two sends on one channel: the receiver that comes
/// later completes each equally often (Go's `TestPseudoRandomSend`).
#[test]
fn fairness_parked_send_cases_on_one_channel() {
    let c = goro::chan::<usize>(0);
    let mut n = [0u32; 2];
    for _ in 0..10_000 {
        let mut sel = Box::pin(async {
            goro::select! {
                send(c, 0) => {},
                send(c, 1) => {},
            }
        });
        assert!(poll_once(&mut sel).is_pending());
        n[c.try_recv().unwrap()] += 1;
        assert_eq!(poll_once(&mut sel), Poll::Ready(()));
    }
    for (i, &k) in n.iter().enumerate() {
        assert!(
            (4000..=6000).contains(&k),
            "case {i} completed {k} of 10000"
        );
    }
}

/// A parked select with three receives on one channel: the sender that
/// comes later completes each equally often.
#[test]
fn fairness_parked_recv_cases_on_one_channel() {
    let c = goro::chan::<u32>(0);
    let mut n = [0u32; 3];
    for _ in 0..9000 {
        let mut sel = Box::pin(async {
            goro::select! {
                recv(c) => 0,
                recv(c) => 1,
                recv(c) => 2,
            }
        });
        assert!(poll_once(&mut sel).is_pending());
        c.try_send(7).unwrap();
        let Poll::Ready(i) = poll_once(&mut sel) else {
            panic!("the notified select did not complete");
        };
        n[i] += 1;
    }
    for (i, &k) in n.iter().enumerate() {
        assert!((2400..=3600).contains(&k), "case {i} completed {k} of 9000");
    }
}

// ------------------------------------------------------------- cancellation

#[test]
fn select_dropped_while_parked_commits_nothing() {
    goro::run(async {
        let (a, b) = (goro::chan::<u32>(0), goro::chan::<u32>(0));
        let r = timeout(SHORT, async {
            goro::select! {
                recv(a) -> v => v,
                send(b, 1) => None,
            }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(a.try_send(5), Err(TrySendError::Full(5)), "phantom receive");
        assert_eq!(b.try_recv(), Err(TryRecvError::Empty), "phantom send");
    });
}

#[test]
fn select_dropped_after_its_recv_was_claimed_gives_the_value_back() {
    let (a, b) = (goro::chan::<i32>(0), goro::chan::<i32>(0));
    let mut sel = Box::pin(async {
        goro::select! {
            recv(a) -> v => v,
            recv(b) -> v => v,
        }
    });
    assert!(poll_once(&mut sel).is_pending());
    a.try_send(1).unwrap(); // in flight to the select's recv(a)
                            // The select has not run yet, so it may still be notified on `b` too;
                            // whatever was sent must survive its drop.
    let b_sent = b.try_send(2).is_ok();
    drop(sel);
    assert_eq!(
        a.try_recv(),
        Ok(1),
        "value sent to a dropped select was lost"
    );
    if b_sent {
        assert_eq!(
            b.try_recv(),
            Ok(2),
            "value sent to a dropped select was lost"
        );
    }
    assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn select_completes_with_the_case_claimed_while_parked() {
    let (a, b) = (goro::chan::<i32>(0), goro::chan::<i32>(0));
    let mut sel = Box::pin(async {
        goro::select! {
            send(a, 1) => "a",
            send(b, 2) => "b",
        }
    });
    assert!(poll_once(&mut sel).is_pending());
    assert_eq!(b.try_recv(), Ok(2));
    assert_eq!(
        a.try_recv(),
        Err(TryRecvError::Empty),
        "both sends committed"
    );
    assert_eq!(poll_once(&mut sel), Poll::Ready("b"));
}

#[test]
fn select_dropped_after_its_send_was_taken_sends_once() {
    let (a, b) = (goro::chan::<i32>(0), goro::chan::<i32>(0));
    let mut sel = Box::pin(async {
        goro::select! {
            send(a, 1) => "a",
            send(b, 2) => "b",
        }
    });
    assert!(poll_once(&mut sel).is_pending());
    assert_eq!(a.try_recv(), Ok(1));
    drop(sel);
    assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
}

/// A consumer whose selects are often dropped (abandoned after one poll, or
/// timed out) while a producer sends `0..n`: nothing lost, duplicated or
/// reordered.
#[test]
fn selects_dropped_mid_flight_lose_nothing() {
    for cap in [0, 1, 4] {
        let got = goro::run(async move {
            let ch = goro::chan::<u32>(cap);
            let never = goro::chan::<u32>(0);
            let tx = ch.sender();
            goro::go!(async move {
                for i in 0..3000 {
                    tx.send(i).await;
                    if i % 5 == 0 {
                        goro::yield_now().await;
                    }
                }
                tx.close();
            });
            let mut got = Vec::new();
            let mut i = 0u32;
            loop {
                i += 1;
                let sel = Box::pin(async {
                    goro::select! {
                        recv(ch) -> v => v,
                        recv(never) -> v => v,
                    }
                });
                let r = match i % 3 {
                    0 => Some(sel.await),
                    1 => timeout(Duration::from_micros(1), sel).await.ok(),
                    _ => poll_then_drop(sel).await,
                };
                match r {
                    Some(Some(v)) => got.push(v),
                    Some(None) => break,
                    None => {}
                }
            }
            got
        });
        assert_sequence(&got, 3000, &format!("cap {cap}"));
    }
}

/// Go's select never matches a send case with a receive case of the same
/// select: with nobody else on `ch` it blocks. It must park, not spin.
#[test]
fn select_with_send_and_recv_on_one_channel_parks() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ch = goro::chan::<i32>(0);
        let mut sel = Box::pin(async {
            goro::select! {
                recv(ch) -> v => v,
                send(ch, 1) => None,
            }
        });
        let _ = tx.send(poll_once(&mut sel).is_pending());
    });
    // A spinning poll never returns; the thread is leaked in that case.
    let pending = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("select! spun instead of parking");
    assert!(pending);
}
