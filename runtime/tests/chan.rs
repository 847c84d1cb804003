//! Channels: rendezvous, buffering, close, the non-blocking operations, the
//! handles, `Stream`, many goroutines across threads, and cancel safety.
//!
//! Tests that play every counterparty themselves poll futures by hand with a
//! no-op waker (`poll_once`): channel operations need no runtime, and this
//! makes "is it parked?" and "what happens if it is dropped now?" exact.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{
    assert_sequence, panic_message, poll_here, poll_once, poll_then_drop, run_panic_report,
    wait_until,
};
use futures_util::{FutureExt, Stream, StreamExt};
use goro::{Chan, Receiver, Sender, TryRecvError, TrySendError};
use tokio::time::{sleep, timeout};

/// Long enough for a wrongly completing operation to show up, used only to
/// check that something does *not* happen (never a bound on speed).
const SHORT: Duration = Duration::from_millis(20);

const SEND_ON_CLOSED: &str = "send on closed channel";
const CLOSE_OF_CLOSED: &str = "close of closed channel";

fn poll_next_once<T>(rx: &mut Receiver<T>) -> Poll<Option<T>> {
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    Pin::new(rx).poll_next(&mut cx)
}

// ---------------------------------------------------------------- rendezvous

#[test]
fn unbuffered_send_cannot_complete_without_a_receiver() {
    goro::run(async {
        let ch = goro::chan::<i32>(0);
        assert!(
            timeout(SHORT, ch.send(1)).await.is_err(),
            "unbuffered send completed with no receiver"
        );
        // The abandoned send left nothing behind.
        assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(ch.try_send(2), Err(TrySendError::Full(2)));
        assert_eq!(ch.len(), 0);
    });
}

#[test]
fn unbuffered_send_completes_only_when_received() {
    let ch = goro::chan::<i32>(0);
    let mut send = ch.send(7);
    assert!(poll_once(&mut send).is_pending());
    assert!(
        poll_once(&mut send).is_pending(),
        "re-poll must stay parked"
    );
    assert_eq!(ch.len(), 0, "an unbuffered channel buffers nothing");
    let mut recv = ch.recv();
    assert_eq!(poll_once(&mut recv), Poll::Ready(Some(7)));
    assert_eq!(poll_once(&mut send), Poll::Ready(()));
}

#[test]
fn unbuffered_sender_goroutine_waits_for_the_receive() {
    goro::run(async {
        let ch = goro::chan::<u32>(0);
        let sent = Arc::new(AtomicBool::new(false));
        let (tx, flag) = (ch.clone(), sent.clone());
        let h = goro::spawn(async move {
            tx.send(7).await;
            flag.store(true, Ordering::SeqCst);
        });
        sleep(SHORT).await;
        assert!(
            !sent.load(Ordering::SeqCst),
            "send completed before any receive"
        );
        assert_eq!(ch.recv().await, Some(7));
        h.await;
        assert!(sent.load(Ordering::SeqCst));
    });
}

#[test]
fn unbuffered_try_send_succeeds_only_into_a_waiting_receiver() {
    goro::run(async {
        let ch = goro::chan::<u32>(0);
        assert_eq!(ch.try_send(1), Err(TrySendError::Full(1)));
        let rx = ch.clone();
        let h = goro::spawn(async move { rx.recv().await });
        // Retry until the receiver has parked: before that there is nobody
        // to take the value, and the value must come back each time.
        let deadline = std::time::Instant::now() + common::HANG;
        loop {
            match ch.try_send(5) {
                Ok(()) => break,
                Err(TrySendError::Full(5)) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
            assert!(
                std::time::Instant::now() < deadline,
                "receiver never parked"
            );
            goro::yield_now().await;
        }
        assert_eq!(h.await, Some(5));
        // Only one receiver was waiting: the next try fails again.
        assert_eq!(ch.try_send(6), Err(TrySendError::Full(6)));
    });
}

#[test]
fn unbuffered_ping_pong() {
    let n = goro::run(async {
        let ping = goro::chan::<u32>(0);
        let pong = goro::chan::<u32>(0);
        let (pi, po) = (ping.clone(), pong.clone());
        goro::go!(async move {
            while let Some(v) = pi.recv().await {
                po.send(v + 1).await;
            }
        });
        let mut v = 0;
        for _ in 0..1000 {
            ping.send(v).await;
            v = pong.recv().await.unwrap();
        }
        v
    });
    assert_eq!(n, 1000);
}

// ------------------------------------------------------------------ buffered

#[test]
fn buffered_send_waits_only_when_full() {
    let ch = goro::chan::<i32>(3);
    assert_eq!(ch.cap(), 3);
    for i in 0..3 {
        assert!(
            ch.send(i).now_or_never().is_some(),
            "buffered send waited with room"
        );
        assert_eq!(ch.len(), i as usize + 1);
    }
    let mut blocked = ch.send(3);
    assert!(
        poll_once(&mut blocked).is_pending(),
        "send on a full channel completed"
    );
    assert_eq!(ch.len(), 3);
    assert_eq!(ch.try_send(4), Err(TrySendError::Full(4)));
    assert_eq!(ch.try_recv(), Ok(0));
    // The parked sender's value moved into the freed slot, behind the others.
    assert_eq!(poll_once(&mut blocked), Poll::Ready(()));
    assert_eq!(ch.len(), 3);
    for want in 1..=3 {
        assert_eq!(ch.try_recv(), Ok(want));
    }
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    assert!(ch.is_empty());
}

#[test]
fn blocked_senders_are_served_in_order() {
    let ch = goro::chan::<i32>(1);
    ch.try_send(0).unwrap();
    let mut a = ch.send(1);
    let mut b = ch.send(2);
    let mut c = ch.send(3);
    for s in [&mut a, &mut b, &mut c] {
        assert!(poll_once(s).is_pending());
    }
    for want in 0..=3 {
        assert_eq!(ch.try_recv(), Ok(want));
    }
    for s in [&mut a, &mut b, &mut c] {
        assert_eq!(poll_once(s), Poll::Ready(()));
    }
}

#[test]
fn blocked_receivers_are_served_in_order() {
    for cap in [0, 2] {
        let ch = goro::chan::<i32>(cap);
        let mut a = ch.recv();
        let mut b = ch.recv();
        let mut c = ch.recv();
        for r in [&mut a, &mut b, &mut c] {
            assert!(poll_once(r).is_pending());
        }
        for v in 1..=3 {
            ch.try_send(v).unwrap();
        }
        assert_eq!(poll_once(&mut a), Poll::Ready(Some(1)));
        assert_eq!(poll_once(&mut b), Poll::Ready(Some(2)));
        assert_eq!(poll_once(&mut c), Poll::Ready(Some(3)));
    }
}

#[test]
fn buffered_fifo_between_goroutines() {
    for cap in [1, 8, 1000] {
        let got = goro::run(async move {
            let ch = goro::chan::<u32>(cap);
            let tx = ch.sender();
            goro::go!(async move {
                for i in 0..5000 {
                    tx.send(i).await;
                }
                tx.close();
            });
            let mut got = Vec::new();
            while let Some(v) = ch.recv().await {
                got.push(v);
            }
            got
        });
        assert_sequence(&got, 5000, &format!("cap {cap}"));
    }
}

// --------------------------------------------------------------------- close

#[test]
fn close_drains_buffer_then_none_forever() {
    goro::run(async {
        let ch = goro::chan::<i32>(3);
        ch.send(1).await;
        ch.send(2).await;
        assert!(!ch.is_closed());
        ch.close();
        assert!(ch.is_closed());
        assert_eq!(ch.len(), 2);
        assert_eq!(ch.recv().await, Some(1));
        assert_eq!(ch.try_recv(), Ok(2));
        for _ in 0..3 {
            assert_eq!(ch.recv().await, None);
            assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
        }
        assert_eq!(ch.len(), 0);
    });
}

#[test]
fn close_wakes_parked_receivers_with_none() {
    for cap in [0, 1] {
        let ch = goro::chan::<i32>(cap);
        let mut a = ch.recv();
        let mut b = ch.recv();
        assert!(poll_once(&mut a).is_pending());
        assert!(poll_once(&mut b).is_pending());
        ch.close();
        assert_eq!(poll_once(&mut a), Poll::Ready(None));
        assert_eq!(poll_once(&mut b), Poll::Ready(None));
    }
}

#[test]
fn close_wakes_blocked_receiver_goroutines() {
    goro::run(async {
        let ch = goro::chan::<i32>(0);
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let rx = ch.receiver();
                goro::spawn(async move { rx.recv().await })
            })
            .collect();
        sleep(SHORT).await;
        ch.close();
        for h in hs {
            assert_eq!(
                timeout(common::HANG, h)
                    .await
                    .expect("receiver stayed blocked"),
                None
            );
        }
    });
}

#[test]
fn close_wakes_a_parked_sender_which_panics() {
    for cap in [0, 1] {
        let ch = goro::chan::<i32>(cap);
        if cap == 1 {
            ch.try_send(0).unwrap();
        }
        let mut send = ch.send(1);
        assert!(poll_once(&mut send).is_pending());
        ch.close();
        let err = catch_unwind(AssertUnwindSafe(|| poll_once(&mut send)))
            .expect_err("a sender woken by close must panic");
        assert_eq!(panic_message(&*err), SEND_ON_CLOSED);
        // The blocked value was not delivered; buffered ones still drain.
        if cap == 1 {
            assert_eq!(ch.try_recv(), Ok(0));
        }
        assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    }
}

/// A parked send learns its outcome when polled again: in production it
/// has no waiter, and learns whether a receive took its value (done, even
/// if the channel was closed since) or the close failed it (panics), from
/// the channel: the last send claimed without the lock, any other under
/// it. A close after the take must not turn a delivered send into a
/// panic, nor may a failed one complete.
#[test]
fn a_send_taken_before_the_close_completes_and_one_failed_by_it_panics() {
    for cap in [0, 1] {
        let ch = goro::chan::<i32>(cap);
        if cap == 1 {
            ch.try_send(0).unwrap();
        }
        let mut taken = [ch.send(1), ch.send(2)];
        let mut failed = ch.send(3);
        for s in &mut taken {
            assert!(poll_once(s).is_pending());
        }
        assert!(poll_once(&mut failed).is_pending());
        // Plain receives: unbuffered, each claims the first parked send;
        // buffered, each takes the head and moves a parked send's value in.
        for (i, want) in [1 - cap as i32, 2 - cap as i32].into_iter().enumerate() {
            let mut r = ch.recv();
            assert_eq!(poll_once(&mut r), Poll::Ready(Some(want)), "cap {cap}");
            if i == 0 {
                assert!(
                    poll_once(&mut taken[1]).is_pending(),
                    "cap {cap}: the second send is still parked"
                );
            }
        }
        ch.close();
        // The first was not the last claimed: it reads its outcome under
        // the lock; the second without it.
        for (i, s) in taken.iter_mut().enumerate() {
            assert_eq!(
                poll_once(s),
                Poll::Ready(()),
                "cap {cap}: send {i}, taken before the close, completed"
            );
        }
        let err = catch_unwind(AssertUnwindSafe(|| poll_once(&mut failed)))
            .expect_err("a sender failed by the close must panic");
        assert_eq!(panic_message(&*err), SEND_ON_CLOSED, "cap {cap}");
        if cap == 1 {
            assert_eq!(ch.try_recv(), Ok(2), "the taken send's value drains");
        }
        assert_eq!(
            ch.try_recv(),
            Err(TryRecvError::Closed),
            "cap {cap}: 3 was sent"
        );
    }
}

#[test]
fn close_wakes_a_blocked_sender_goroutine_which_panics() {
    goro::run(async {
        let ch = goro::chan::<i32>(0);
        let tx = ch.sender();
        let h = goro::spawn(async move { tx.send(1).await });
        sleep(SHORT).await;
        ch.close();
        let err = AssertUnwindSafe(h).catch_unwind().await.unwrap_err();
        assert_eq!(panic_message(&*err), SEND_ON_CLOSED);
    });
}

#[test]
fn send_on_closed_channel_panics() {
    let ch = goro::chan::<i32>(1);
    ch.close();
    // Go panics at the send statement: creating the future is enough.
    let err = catch_unwind(AssertUnwindSafe(|| drop(ch.send(1)))).unwrap_err();
    assert_eq!(panic_message(&*err), SEND_ON_CLOSED);
    let err = catch_unwind(AssertUnwindSafe(|| {
        goro::run(async move {
            let tx = ch.sender();
            tx.send(2).await;
        })
    }))
    .unwrap_err();
    assert_eq!(panic_message(&*err), SEND_ON_CLOSED);
}

#[test]
fn close_of_closed_channel_panics() {
    let ch = goro::chan::<i32>(0);
    ch.close();
    let err = catch_unwind(AssertUnwindSafe(|| ch.close())).unwrap_err();
    assert_eq!(panic_message(&*err), CLOSE_OF_CLOSED);
    // Through any handle: it is one channel.
    let tx = ch.sender();
    let err = catch_unwind(AssertUnwindSafe(|| tx.close())).unwrap_err();
    assert_eq!(panic_message(&*err), CLOSE_OF_CLOSED);
}

/// The line recorded right before the operation under test, for the crash
/// line check: `#[track_caller]` must point at the user's call.
fn expect_line(at: &AtomicU32, line: u32) {
    at.store(line, Ordering::SeqCst);
}

#[test]
fn send_on_closed_is_reported_at_the_send_line() {
    let line = Arc::new(AtomicU32::new(0));
    let at = line.clone();
    let r = run_panic_report(move || {
        goro::run(async move {
            let ch = goro::chan::<i32>(1);
            ch.close();
            goro::go!("sender", async move {
                expect_line(&at, line!() + 1);
                ch.send(1).await;
            });
            std::future::pending::<()>().await;
        });
    });
    assert_eq!(r.name.as_deref(), Some("sender"));
    assert_eq!(r.message, SEND_ON_CLOSED);
    assert_eq!(
        (r.file.as_str(), r.line),
        (file!(), line.load(Ordering::SeqCst))
    );
}

#[test]
fn sender_woken_by_close_is_reported_at_the_send_line() {
    let line = Arc::new(AtomicU32::new(0));
    let at = line.clone();
    let r = run_panic_report(move || {
        goro::run(async move {
            let ch = goro::chan::<i32>(0);
            let parked = goro::chan::<()>(1);
            let (tx, p) = (ch.clone(), parked.clone());
            goro::go!("sender", async move {
                expect_line(&at, line!() + 1);
                let mut send = tx.send(1);
                assert!(poll_here(&mut send).await.is_pending());
                p.send(()).await;
                send.await;
            });
            parked.recv().await;
            ch.close();
            std::future::pending::<()>().await;
        });
    });
    assert_eq!(r.name.as_deref(), Some("sender"));
    assert_eq!(r.message, SEND_ON_CLOSED);
    assert_eq!(
        (r.file.as_str(), r.line),
        (file!(), line.load(Ordering::SeqCst))
    );
}

#[test]
fn close_of_closed_is_reported_at_the_second_close() {
    let line = Arc::new(AtomicU32::new(0));
    let at = line.clone();
    let r = run_panic_report(move || {
        goro::run(async move {
            let ch = goro::chan::<i32>(0);
            ch.close();
            goro::go!("closer", async move {
                expect_line(&at, line!() + 1);
                ch.close();
            });
            std::future::pending::<()>().await;
        });
    });
    assert_eq!(r.name.as_deref(), Some("closer"));
    assert_eq!(r.message, CLOSE_OF_CLOSED);
    assert_eq!(
        (r.file.as_str(), r.line),
        (file!(), line.load(Ordering::SeqCst))
    );
}

// ------------------------------------------------------ non-blocking, len/cap

#[test]
fn try_send_and_try_recv_report_full_empty_closed() {
    let ch = goro::chan::<String>(1);
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    ch.try_send("a".into()).unwrap();
    let full = ch.try_send("b".into()).unwrap_err();
    assert!(full.is_full() && !full.is_closed());
    assert!(matches!(&full, TrySendError::Full(v) if v == "b"));
    assert_eq!(full.into_inner(), "b", "the unsent value comes back");
    ch.close();
    let closed = ch.try_send("c".into()).unwrap_err();
    assert!(closed.is_closed() && !closed.is_full());
    assert_eq!(closed.into_inner(), "c");
    // Closed but not drained: the buffered value first.
    assert_eq!(ch.try_recv(), Ok("a".to_string()));
    assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn try_errors_display_and_are_errors() {
    fn is_error<E: std::error::Error>(e: &E) -> String {
        e.to_string()
    }
    let full: TrySendError<u8> = TrySendError::Full(1);
    let closed: TrySendError<u8> = TrySendError::Closed(1);
    let texts = [
        is_error(&full),
        is_error(&closed),
        is_error(&TryRecvError::Empty),
        is_error(&TryRecvError::Closed),
    ];
    for (i, t) in texts.iter().enumerate() {
        assert!(!t.is_empty());
        for u in &texts[i + 1..] {
            assert_ne!(t, u, "two different errors print the same");
        }
    }
    assert_eq!(format!("{full:?}"), "Full(..)");
    assert_eq!(format!("{closed:?}"), "Closed(..)");
}

#[test]
fn len_and_cap_follow_the_buffer() {
    let ch = goro::chan::<u8>(4);
    let (tx, rx) = (ch.sender(), ch.receiver());
    assert_eq!((ch.cap(), tx.cap(), rx.cap()), (4, 4, 4));
    for i in 1..=4 {
        tx.try_send(i).unwrap();
        assert_eq!(
            (ch.len(), tx.len(), rx.len()),
            (i as usize, i as usize, i as usize)
        );
    }
    assert!(!rx.is_empty());
    for i in (0..4).rev() {
        rx.try_recv().unwrap();
        assert_eq!(ch.len(), i);
    }
    assert!(ch.is_empty() && tx.is_empty());
    let unbuffered = goro::chan::<u8>(0);
    assert_eq!((unbuffered.cap(), unbuffered.len()), (0, 0));
    let mut parked = unbuffered.send(1);
    assert!(poll_once(&mut parked).is_pending());
    assert_eq!(unbuffered.len(), 0, "a parked sender is not buffered");
}

// ------------------------------------------------------------------- handles

#[test]
fn sender_and_receiver_handles_share_the_channel() {
    goro::run(async {
        let ch: Chan<i32> = goro::chan(2);
        let tx: Sender<i32> = ch.sender();
        let rx: Receiver<i32> = ch.receiver();
        let tx2 = tx.clone();
        let rx2 = rx.clone();
        let from_tx: Sender<i32> = ch.clone().into();
        let from_rx: Receiver<i32> = Receiver::from(ch.clone());
        tx.send(1).await;
        from_tx.send(2).await;
        assert_eq!(rx2.recv().await, Some(1));
        assert_eq!(from_rx.recv().await, Some(2));
        tx2.send(3).await;
        tx2.close();
        assert!(ch.is_closed() && rx.is_closed() && tx.is_closed());
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None);
    });
}

#[test]
fn handles_move_between_goroutines() {
    async fn produce(out: Sender<u32>, n: u32) {
        for i in 0..n {
            out.send(i).await;
        }
        out.close();
    }
    async fn total(inp: Receiver<u32>) -> u32 {
        let mut sum = 0;
        while let Some(v) = inp.recv().await {
            sum += v;
        }
        sum
    }
    let sum = goro::run(async {
        let ch = goro::chan(0);
        goro::go!(produce(ch.sender(), 100));
        goro::spawn(total(ch.receiver())).await
    });
    assert_eq!(sum, 4950);
}

#[test]
fn debug_output_names_the_handle() {
    let ch = goro::chan::<u8>(2);
    ch.try_send(1).unwrap();
    let s = format!("{ch:?}");
    assert!(
        s.starts_with("Chan") && s.contains("len: 1") && s.contains("cap: 2"),
        "{s}"
    );
    assert!(format!("{:?}", ch.sender()).starts_with("Sender"));
    assert!(format!("{:?}", ch.receiver()).starts_with("Receiver"));
}

// -------------------------------------------------------------------- Stream

#[test]
fn receiver_is_a_stream_that_ends_at_close() {
    let got = goro::run(async {
        let ch = goro::chan::<u32>(0);
        let tx = ch.sender();
        goro::go!(async move {
            for i in 0..50 {
                tx.send(i).await;
            }
            tx.close();
        });
        let mut rx = ch.receiver();
        let first = StreamExt::next(&mut rx).await;
        let rest: Vec<u32> = rx.collect().await;
        (first, rest)
    });
    assert_eq!(got.0, Some(0));
    assert_eq!(got.1, (1..50).collect::<Vec<_>>());
}

#[test]
fn stream_parks_and_is_woken() {
    let ch = goro::chan::<u32>(0);
    let mut rx = ch.receiver();
    assert_eq!(poll_next_once(&mut rx), Poll::Pending);
    assert_eq!(
        poll_next_once(&mut rx),
        Poll::Pending,
        "re-poll keeps one parked receive"
    );
    assert_eq!(
        ch.try_send(1),
        Ok(()),
        "the parked stream is a waiting receiver"
    );
    assert_eq!(
        ch.try_send(2),
        Err(TrySendError::Full(2)),
        "only one receive was parked"
    );
    assert_eq!(poll_next_once(&mut rx), Poll::Ready(Some(1)));
    ch.close();
    assert_eq!(poll_next_once(&mut rx), Poll::Ready(None));
}

#[test]
fn dropped_stream_gives_a_handed_value_back() {
    let ch = goro::chan::<u32>(0);
    let mut rx = ch.receiver();
    assert_eq!(poll_next_once(&mut rx), Poll::Pending);
    assert_eq!(ch.try_send(9), Ok(()));
    drop(rx);
    assert_eq!(
        ch.try_recv(),
        Ok(9),
        "value handed to a dropped stream was lost"
    );
    // A dropped, unclaimed parked stream leaves no phantom receiver.
    let mut rx = ch.receiver();
    assert_eq!(poll_next_once(&mut rx), Poll::Pending);
    drop(rx);
    assert_eq!(ch.try_send(10), Err(TrySendError::Full(10)));
}

// ---------------------------------------------------- many goroutines, threads

/// `senders` goroutines send disjoint, increasing sequences covering
/// `0..total` (sender `s` sends `s, s + senders, ...`); `receivers`
/// goroutines receive until close. Returns what each receiver got, in order.
fn many_to_many(cap: usize, senders: u64, receivers: usize, total: u64) -> Vec<Vec<u64>> {
    goro::run(async move {
        let ch = goro::chan::<u64>(cap);
        let sends: Vec<_> = (0..senders)
            .map(|s| {
                let tx = ch.sender();
                goro::spawn(async move {
                    let mut v = s;
                    while v < total {
                        tx.send(v).await;
                        v += senders;
                    }
                })
            })
            .collect();
        let recvs: Vec<_> = (0..receivers)
            .map(|_| {
                let rx = ch.receiver();
                goro::spawn(async move {
                    let mut got = Vec::new();
                    while let Some(v) = rx.recv().await {
                        got.push(v);
                    }
                    got
                })
            })
            .collect();
        for h in sends {
            h.await;
        }
        ch.close();
        let mut out = Vec::new();
        for h in recvs {
            out.push(h.await);
        }
        out
    })
}

/// Every value of `0..total` exactly once, and each receiver saw each
/// sender's values in increasing order.
fn assert_exactly_once_in_order(per_receiver: &[Vec<u64>], senders: u64, total: u64) {
    let mut seen = vec![false; total as usize];
    for got in per_receiver {
        let mut last: BTreeMap<u64, u64> = BTreeMap::new();
        for &v in got {
            assert!(v < total, "value {v} was never sent");
            assert!(!seen[v as usize], "value {v} received twice");
            seen[v as usize] = true;
            if let Some(prev) = last.insert(v % senders, v) {
                assert!(
                    prev < v,
                    "sender {} reordered: {prev} then {v}",
                    v % senders
                );
            }
        }
    }
    let missing: Vec<_> = (0..total).filter(|&v| !seen[v as usize]).take(10).collect();
    assert!(missing.is_empty(), "values lost, e.g. {missing:?}");
}

#[test]
fn many_senders_and_receivers_exchange_every_value_once() {
    for cap in [0, 1, 64] {
        let total = 100_000;
        let got = many_to_many(cap, 4, 4, total);
        assert_exactly_once_in_order(&got, 4, total);
    }
}

// ------------------------------------------------------------- cancel safety

#[test]
fn dropped_pending_recv_leaves_no_phantom_receiver() {
    for cap in [0, 1] {
        let ch = goro::chan::<i32>(cap);
        let mut r = ch.recv();
        assert!(poll_once(&mut r).is_pending());
        drop(r);
        if cap == 0 {
            assert_eq!(ch.try_send(1), Err(TrySendError::Full(1)));
        } else {
            ch.try_send(1).unwrap();
            assert_eq!(ch.try_recv(), Ok(1));
        }
    }
}

#[test]
fn dropped_pending_send_sends_nothing() {
    for cap in [0, 1] {
        let ch = goro::chan::<i32>(cap);
        if cap == 1 {
            ch.try_send(0).unwrap();
        }
        let mut s = ch.send(1);
        assert!(poll_once(&mut s).is_pending());
        drop(s);
        if cap == 1 {
            assert_eq!(ch.try_recv(), Ok(0));
        }
        assert_eq!(
            ch.try_recv(),
            Err(TryRecvError::Empty),
            "a withdrawn send delivered"
        );
        assert_eq!(ch.len(), 0);
    }
}

#[test]
fn dropped_recv_that_was_handed_a_value_gives_it_back_in_order() {
    for cap in [0, 1, 4] {
        let ch = goro::chan::<i32>(cap);
        let mut r = ch.recv();
        assert!(poll_once(&mut r).is_pending());
        ch.try_send(1).unwrap(); // handed to the parked receive
        if cap > 0 {
            ch.try_send(2).unwrap(); // buffered behind it
        }
        drop(r);
        assert_eq!(ch.try_recv(), Ok(1), "cap {cap}: value lost or reordered");
        if cap > 0 {
            assert_eq!(ch.try_recv(), Ok(2));
        }
        assert_eq!(
            ch.try_recv(),
            Err(TryRecvError::Empty),
            "cap {cap}: duplicated"
        );
    }
}

#[test]
fn dropped_recv_hands_its_value_to_the_next_parked_receiver() {
    let ch = goro::chan::<i32>(0);
    let mut a = ch.recv();
    assert!(poll_once(&mut a).is_pending());
    ch.try_send(1).unwrap();
    // The value waits in the channel for whichever receiver is polled: a
    // receive that arrives before the notified one runs may take it at once.
    let mut b = ch.recv();
    let early = poll_once(&mut b);
    drop(a);
    let got = if early.is_ready() {
        early
    } else {
        poll_once(&mut b)
    };
    assert_eq!(got, Poll::Ready(Some(1)));
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
}

/// A notified receive dropped before it collects passes its notification
/// to the next parked receive, which collects on the short path (the head
/// of the buffer, its reservation used up): the value arrives once, and
/// the channel's capacity is whole again afterwards (a reservation left
/// behind would let a buffered channel take a value too many, or keep an
/// unbuffered one's value from a fresh receive).
#[test]
fn a_receive_notified_in_place_of_a_dropped_one_collects_and_leaves_no_reservation() {
    for cap in [0, 1] {
        let ch = goro::chan::<i32>(cap);
        let mut a = ch.recv();
        let mut b = ch.recv();
        assert!(poll_once(&mut a).is_pending());
        assert!(poll_once(&mut b).is_pending());
        ch.try_send(1).unwrap(); // in flight to `a`
        drop(a); // passed on to `b`
        assert_eq!(poll_once(&mut b), Poll::Ready(Some(1)), "cap {cap}");
        assert_eq!(
            ch.try_recv(),
            Err(TryRecvError::Empty),
            "cap {cap}: duplicated"
        );
        for i in 0..cap as i32 {
            assert!(
                ch.try_send(10 + i).is_ok(),
                "cap {cap}: the buffer has room"
            );
        }
        assert!(
            ch.try_send(99).unwrap_err().is_full(),
            "cap {cap}: one value more than the capacity was taken"
        );
        for i in 0..cap as i32 {
            assert_eq!(ch.try_recv(), Ok(10 + i));
        }
        assert_eq!(ch.try_recv(), Err(TryRecvError::Empty), "cap {cap}");
    }
}

/// Two receives parked in order; 1 and 2 are handed to them; the first is
/// dropped. A goroutine that then receives twice on the second's side must
/// not see 2 before 1 (Go's FIFO: 1 was sent, and taken from the channel,
/// first).
#[test]
fn dropped_recv_give_back_does_not_reorder() {
    let ch = goro::chan::<i32>(0);
    let mut a = ch.recv();
    let mut b = ch.recv();
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    ch.try_send(1).unwrap();
    ch.try_send(2).unwrap();
    drop(a);
    let first = poll_once(&mut b);
    let second = ch.try_recv();
    assert_eq!(
        (first, second),
        (Poll::Ready(Some(1)), Ok(2)),
        "one receiver saw the sender's values out of order"
    );
}

/// Once a receive has observed the close (`None`), every later receive must
/// too: Go's `v, ok := <-ch` never yields ok == true after ok == false. The
/// value in flight to `a` is received exactly once, before any `None`.
#[test]
fn no_value_after_a_receive_saw_close() {
    let ch = goro::chan::<i32>(0);
    let mut a = ch.recv();
    let mut b = ch.recv();
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    ch.try_send(1).unwrap(); // in flight to `a`
    ch.close();
    let mut seen = vec![poll_once(&mut b)];
    drop(a);
    seen.push(Poll::Ready(ch.try_recv().ok()));
    seen.push(Poll::Ready(ch.try_recv().ok()));
    let values: Vec<Option<i32>> = seen
        .into_iter()
        .map(|p| match p {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("a receive on a closed channel blocked"),
        })
        .collect();
    assert_eq!(values.iter().flatten().count(), 1, "{values:?}");
    let first_none = values.iter().position(Option::is_none).unwrap();
    assert!(
        values[first_none..].iter().all(Option::is_none),
        "a value after a receive saw the close: {values:?}"
    );
}

/// `SendFuture` documents that a dropped send either sent nothing or, if a
/// receiver had already taken its value, completed: the value is received
/// exactly once either way.
#[test]
fn dropped_send_whose_value_was_taken_completed_exactly_once() {
    let ch = goro::chan::<i32>(0);
    let mut s = ch.send(1);
    assert!(poll_once(&mut s).is_pending());
    let taken = ch.try_recv();
    drop(s); // never returned Ready, but its value was taken
    assert_eq!(taken, Ok(1));
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty), "duplicated");
}

/// Counts drops, to check values are neither leaked nor dropped twice.
struct Tracked(u32, Arc<AtomicUsize>);
impl Drop for Tracked {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn values_are_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let t = |i| Tracked(i, drops.clone());
    let count = || drops.load(Ordering::SeqCst);
    {
        let ch = goro::chan::<Tracked>(3);
        ch.try_send(t(1)).unwrap();
        ch.try_send(t(2)).unwrap();
        let full = goro::chan::<Tracked>(0).try_send(t(3)).unwrap_err();
        assert_eq!(count(), 0, "try_send must give the value back, not drop it");
        drop(full);
        assert_eq!(count(), 1);
        let got = ch.try_recv().unwrap();
        assert_eq!(got.0, 1);
        drop(got);
        ch.close();
        assert_eq!(count(), 2, "closing drops nothing buffered");
    }
    assert_eq!(count(), 3, "a dropped channel drops its buffer");

    // A parked sender's value, when close wakes it, is dropped once.
    let before = count();
    let ch = goro::chan::<Tracked>(0);
    let mut s = ch.send(t(4));
    assert!(poll_once(&mut s).is_pending());
    ch.close();
    assert!(catch_unwind(AssertUnwindSafe(|| poll_once(&mut s))).is_err());
    drop(s);
    drop(ch);
    assert_eq!(count() - before, 1);

    // A withdrawn send's value is dropped once; a given-back one is kept.
    let before = count();
    let ch = goro::chan::<Tracked>(0);
    let mut s = ch.send(t(5));
    assert!(poll_once(&mut s).is_pending());
    drop(s);
    assert_eq!(count() - before, 1);
    let mut r = ch.recv();
    assert!(poll_once(&mut r).is_pending());
    ch.try_send(t(6)).unwrap();
    drop(r);
    assert_eq!(count() - before, 1, "a given-back value was dropped");
    assert_eq!(ch.try_recv().map(|v| v.0).ok(), Some(6));
    assert_eq!(count() - before, 2);
}

/// Producers send `(producer, seq)` for `seq in 0..per`; consumers receive
/// through a mix of plain, timed-out and abandoned receives until close.
fn cancel_stress(cap: usize, producers: u32, per: u32, consumers: usize) -> Vec<Vec<(u32, u32)>> {
    goro::run(async move {
        let ch = goro::chan::<(u32, u32)>(cap);
        let sends: Vec<_> = (0..producers)
            .map(|p| {
                let tx = ch.sender();
                goro::spawn(async move {
                    for seq in 0..per {
                        tx.send((p, seq)).await;
                        // Go quiet now and then so that receives time out.
                        if seq % 256 == 255 {
                            sleep(Duration::from_millis(2)).await;
                        } else if seq % 7 == 0 {
                            goro::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        let recvs: Vec<_> = (0..consumers)
            .map(|c| {
                let rx = ch.receiver();
                goro::spawn(async move {
                    let mut got = Vec::new();
                    let mut i = c;
                    loop {
                        i += 1;
                        let r = match i % 3 {
                            0 => Some(rx.recv().await),
                            1 => timeout(Duration::from_micros(1), rx.recv()).await.ok(),
                            _ => poll_then_drop(rx.recv()).await,
                        };
                        match r {
                            Some(Some(v)) => got.push(v),
                            Some(None) => break,
                            None => {}
                        }
                    }
                    got
                })
            })
            .collect();
        for h in sends {
            h.await;
        }
        ch.close();
        let mut out = Vec::new();
        for h in recvs {
            out.push(h.await);
        }
        out
    })
}

fn assert_multiset(per_consumer: &[Vec<(u32, u32)>], producers: u32, per: u32) {
    let mut seen = vec![vec![0u32; per as usize]; producers as usize];
    for got in per_consumer {
        for &(p, s) in got {
            seen[p as usize][s as usize] += 1;
        }
    }
    for (p, row) in seen.iter().enumerate() {
        for (s, &n) in row.iter().enumerate() {
            assert_eq!(n, 1, "value ({p}, {s}) received {n} times");
        }
    }
}

fn assert_per_producer_order(per_consumer: &[Vec<(u32, u32)>]) {
    for (c, got) in per_consumer.iter().enumerate() {
        let mut last = BTreeMap::new();
        for &(p, s) in got {
            if let Some(prev) = last.insert(p, s) {
                assert!(
                    prev < s,
                    "consumer {c} saw producer {p} reordered: {prev} then {s}"
                );
            }
        }
    }
}

#[test]
fn cancelled_receives_lose_duplicate_and_reorder_nothing_single_consumer() {
    for cap in [0, 1, 4] {
        let got = cancel_stress(cap, 3, 2000, 1);
        assert_multiset(&got, 3, 2000);
        assert_per_producer_order(&got);
    }
}

#[test]
fn cancelled_receives_lose_and_duplicate_nothing_many_consumers() {
    for cap in [0, 1, 4] {
        let got = cancel_stress(cap, 3, 2000, 3);
        assert_multiset(&got, 3, 2000);
    }
}

#[test]
fn cancelled_receives_keep_per_consumer_order_many_consumers() {
    for _ in 0..5 {
        for cap in [0, 1, 4] {
            let got = cancel_stress(cap, 3, 2000, 3);
            assert_multiset(&got, 3, 2000);
            assert_per_producer_order(&got);
        }
    }
}

/// On unbuffered `ch`: receive A parked and handed 0 (reserved for it, in
/// flight), and a send of 1 parked behind it.
#[allow(clippy::type_complexity)]
fn zero_handed_to_a_and_one_waiting(
    ch: &Chan<u32>,
) -> (
    Pin<Box<impl Future<Output = Option<u32>> + '_>>,
    Pin<Box<impl Future<Output = ()> + '_>>,
) {
    let mut a = Box::pin(ch.recv());
    assert!(poll_once(&mut a).is_pending(), "A parks");
    ch.try_send(0).expect("A is parked: the send completes");
    let mut later = Box::pin(ch.send(1));
    assert!(poll_once(&mut later).is_pending(), "1 waits for a receiver");
    (a, later)
}

/// The interleaving behind the per-consumer reordering of an earlier
/// hand-off (a value bound to a parked `recv`, taken without the lock): a
/// value is handed to parked receive A, a later value waits in a parked
/// send, consumer B receives, then A is dropped. B may wait, or get the
/// older value (0) at once; it must see 0 before 1, never 1 then 0.
#[test]
fn a_receive_dropped_after_a_hand_off_keeps_the_order_for_another() {
    for b_blocks in [false, true] {
        let ch = goro::chan::<u32>(0);
        let (a, mut later) = zero_handed_to_a_and_one_waiting(&ch);
        let mut got = Vec::new();
        let mut b = Box::pin(ch.recv());
        if b_blocks {
            if let Poll::Ready(v) = poll_once(&mut b) {
                got.push(v.expect("open"));
                b = Box::pin(ch.recv());
            }
        } else if let Ok(v) = ch.try_recv() {
            got.push(v);
        }
        drop(a);
        if b_blocks {
            if let Poll::Ready(v) = poll_once(&mut b) {
                got.push(v.expect("open"));
            }
        }
        while let Ok(v) = ch.try_recv() {
            got.push(v);
        }
        assert!(poll_once(&mut later).is_ready(), "1 was taken");
        assert_eq!(got, [0, 1], "B (b_blocks: {b_blocks}) saw both, in order");
    }
}

/// A receive that finds every value in flight reserved for notified
/// receivers and a sender parked does not wait (Go's receiver takes the
/// parked sender's value): it takes the oldest value, the sender's goes in
/// flight in its place and the send completes; the notified receiver gets
/// the sender's value. The same with the notified receiver dropped: its
/// reservation frees the value, nothing lost or reordered.
#[test]
fn a_receive_behind_values_in_flight_takes_the_oldest_for_a_parked_sender() {
    for drop_a in [false, true] {
        let ch = goro::chan::<u32>(0);
        let (mut a, mut later) = zero_handed_to_a_and_one_waiting(&ch);
        let mut b = Box::pin(ch.recv());
        assert_eq!(
            poll_once(&mut b),
            Poll::Ready(Some(0)),
            "B takes the oldest value at once"
        );
        assert!(
            poll_once(&mut later).is_ready(),
            "the parked send completed"
        );
        if drop_a {
            drop(a);
            assert_eq!(ch.try_recv(), Ok(1), "A's value is free once A is gone");
        } else {
            assert_eq!(poll_once(&mut a), Poll::Ready(Some(1)), "A gets the next");
            assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
        }
    }
}

/// Sends that lose a `select!` (to a ticker) are withdrawn without a trace:
/// the consumer sees exactly `0..n`, in order.
#[test]
fn sends_losing_a_select_are_not_sent() {
    for cap in [0, 2] {
        let got = goro::run(async move {
            let ch = goro::chan::<u32>(cap);
            let tick = goro::chan::<()>(0);
            let stop = goro::chan::<()>(0);
            let (t, s) = (tick.clone(), stop.clone());
            goro::go!(async move {
                loop {
                    goro::select! {
                        send(t, ()) => {},
                        recv(s) => break,
                    }
                }
            });
            let tx = ch.sender();
            let producer = goro::spawn(async move {
                let mut next = 0u32;
                while next < 3000 {
                    goro::select! {
                        send(tx, next) => next += 1,
                        recv(tick) => {}
                    }
                }
                tx.close();
            });
            let mut got = Vec::new();
            let mut i = 0u32;
            loop {
                i += 1;
                let r = if i % 2 == 0 {
                    Some(ch.recv().await)
                } else {
                    poll_then_drop(ch.recv()).await
                };
                match r {
                    Some(Some(v)) => got.push(v),
                    Some(None) => break,
                    None => {}
                }
            }
            producer.await;
            stop.close();
            got
        });
        assert_sequence(&got, 3000, &format!("cap {cap}"));
    }
}

#[test]
fn receivers_all_see_none_after_close_under_load() {
    goro::run(async {
        let ch = goro::chan::<u32>(2);
        let done = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let rx = ch.receiver();
                let done = done.clone();
                goro::spawn(async move {
                    let mut n = 0;
                    while rx.recv().await.is_some() {
                        n += 1;
                    }
                    // Closed and drained stays so.
                    assert_eq!(rx.recv().await, None);
                    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
                    done.fetch_add(1, Ordering::SeqCst);
                    n
                })
            })
            .collect();
        for i in 0..1000 {
            ch.send(i).await;
        }
        ch.close();
        let mut total = 0;
        for h in hs {
            total += h.await;
        }
        assert_eq!(total, 1000);
        wait_until("all receivers saw the close", || {
            done.load(Ordering::SeqCst) == 8
        })
        .await;
    });
}

// ------------------------------------------- re-polled with another waker

/// Counts its wake-ups.
struct Counter(AtomicUsize);

impl std::task::Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Counter>, std::task::Waker) {
    let c = Arc::new(Counter(AtomicUsize::new(0)));
    (c.clone(), std::task::Waker::from(c))
}

fn poll_with<F: std::future::Future + Unpin>(
    fut: &mut F,
    waker: &std::task::Waker,
) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// A parked receive polled again with another waker (it moved to another
/// task, or a combinator re-polled it) is woken through the new one.
#[test]
fn a_parked_recv_polled_with_a_new_waker_wakes_that_one() {
    for cap in [0, 2] {
        let ch = goro::chan::<u32>(cap);
        let (first, a) = counting_waker();
        let (second, b) = counting_waker();
        let mut r = ch.recv();
        assert!(poll_with(&mut r, &a).is_pending());
        assert!(poll_with(&mut r, &b).is_pending());
        assert!(ch.try_send(7).is_ok(), "cap {cap}: a receiver is parked");
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "cap {cap}: old waker");
        assert_eq!(second.0.load(Ordering::SeqCst), 1, "cap {cap}: new waker");
        assert_eq!(poll_with(&mut r, &b), Poll::Ready(Some(7)));
    }
}

/// The same for a parked send, completed by a receiver taking its value.
#[test]
fn a_parked_send_polled_with_a_new_waker_wakes_that_one() {
    for cap in [0, 1] {
        let ch = goro::chan::<u32>(cap);
        for i in 0..cap as u32 {
            ch.try_send(i).unwrap();
        }
        let (first, a) = counting_waker();
        let (second, b) = counting_waker();
        let mut s = ch.send(9);
        assert!(poll_with(&mut s, &a).is_pending());
        assert!(poll_with(&mut s, &b).is_pending());
        for i in 0..cap as u32 {
            assert_eq!(ch.try_recv(), Ok(i));
        }
        if cap == 0 {
            assert_eq!(ch.try_recv(), Ok(9), "the parked send's value");
        }
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "cap {cap}: old waker");
        assert_eq!(second.0.load(Ordering::SeqCst), 1, "cap {cap}: new waker");
        assert_eq!(poll_with(&mut s, &b), Poll::Ready(()));
        if cap > 0 {
            assert_eq!(ch.try_recv(), Ok(9), "moved into the buffer");
        }
    }
}
