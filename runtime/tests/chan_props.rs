//! Property tests of channels under random mixes of capacity, senders,
//! receivers, ways to send and receive, and close policy.
//!
//! Properties, for every scenario:
//! - no loss and no duplication: every value sent is received exactly once;
//! - per-sender FIFO: each receiver sees each sender's values in increasing
//!   order;
//! - close: after close every receiver ends with `None` and stays there;
//!   never closed, the channel ends empty and open.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use goro::{TryRecvError, TrySendError};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Close {
    /// Never closed: receivers are abandoned when main returns, as in Go.
    Never,
    /// Main closes once every sender has returned.
    AfterAllSends,
    /// The last sender to finish closes, right after its last send.
    ByLastSender,
}

#[derive(Debug, Clone, Copy)]
enum SendHow {
    Send,
    /// `try_send`, falling back to `send` when full: two non-blocking sides
    /// of an unbuffered channel would never meet (as in Go).
    TrySend,
    Select,
}

#[derive(Debug, Clone, Copy)]
enum RecvHow {
    Recv,
    /// `try_recv`, falling back to `recv` when empty (see `TrySend`).
    TryRecv,
    Stream,
    Select,
}

#[derive(Debug, Clone)]
struct Scenario {
    cap: usize,
    /// Items and method per sender.
    senders: Vec<(u32, SendHow)>,
    receivers: Vec<RecvHow>,
    close: Close,
    receivers_first: bool,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let send_how = prop_oneof![
        Just(SendHow::Send),
        Just(SendHow::TrySend),
        Just(SendHow::Select)
    ];
    let recv_how = prop_oneof![
        Just(RecvHow::Recv),
        Just(RecvHow::TryRecv),
        Just(RecvHow::Stream),
        Just(RecvHow::Select)
    ];
    let close = prop_oneof![
        Just(Close::Never),
        Just(Close::AfterAllSends),
        Just(Close::ByLastSender)
    ];
    (
        0usize..4,
        prop::collection::vec((0u32..60, send_how), 1..=4),
        prop::collection::vec(recv_how, 1..=4),
        close,
        any::<bool>(),
    )
        .prop_map(
            |(cap, senders, receivers, close, receivers_first)| Scenario {
                cap,
                senders,
                receivers,
                close,
                receivers_first,
            },
        )
}

type Value = (u32, u32);

struct Outcome {
    /// What each receiver got, in order.
    logs: Vec<Vec<Value>>,
    /// Per receiver: ended with `None` and stayed closed (close policies).
    ended_closed: Vec<bool>,
    /// Never closed: `try_recv` at the end, and `is_closed`.
    end_state: Option<(Result<Value, TryRecvError>, bool)>,
}

async fn send_one(how: SendHow, tx: &goro::Sender<Value>, v: Value) {
    match how {
        SendHow::Send => tx.send(v).await,
        SendHow::TrySend => match tx.try_send(v) {
            Ok(()) => {}
            Err(TrySendError::Full(v)) => {
                goro::yield_now().await;
                tx.send(v).await;
            }
            Err(TrySendError::Closed(_)) => panic!("sent after close"),
        },
        SendHow::Select => {
            let never = goro::chan::<()>(0);
            goro::select! {
                send(tx, v) => {},
                recv(never) => unreachable!("nobody sends on it"),
            }
        }
    }
}

async fn recv_one(how: RecvHow, rx: &mut goro::Receiver<Value>) -> Option<Value> {
    match how {
        RecvHow::Recv => rx.recv().await,
        RecvHow::TryRecv => match rx.try_recv() {
            Ok(v) => Some(v),
            Err(TryRecvError::Closed) => None,
            Err(TryRecvError::Empty) => {
                goro::yield_now().await;
                rx.recv().await
            }
        },
        RecvHow::Stream => StreamExt::next(rx).await,
        RecvHow::Select => {
            let never = goro::chan::<Value>(0);
            // `*rx`: select! takes handles and shared references to them.
            goro::select! {
                recv(*rx) -> v => v,
                recv(never) -> _ => unreachable!("nobody sends on it"),
            }
        }
    }
}

fn run_scenario(sc: Scenario) -> Outcome {
    goro::run(async move {
        // A hang is a failure, not a stuck suite.
        tokio::time::timeout(Duration::from_secs(10), play(sc))
            .await
            .expect("scenario hung")
    })
}

async fn play(sc: Scenario) -> Outcome {
    let ch = goro::chan::<Value>(sc.cap);
    let total: u32 = sc.senders.iter().map(|s| s.0).sum();
    let received = Arc::new(AtomicU32::new(0));
    let logs: Vec<Arc<Mutex<Vec<Value>>>> = sc.receivers.iter().map(|_| Arc::default()).collect();

    let spawn_receivers = || {
        sc.receivers
            .iter()
            .zip(&logs)
            .map(|(&how, log)| {
                let mut rx = ch.receiver();
                let (log, received) = (log.clone(), received.clone());
                goro::spawn(async move {
                    while let Some(v) = recv_one(how, &mut rx).await {
                        log.lock().unwrap().push(v);
                        received.fetch_add(1, Ordering::SeqCst);
                    }
                    // Closed and drained stays so.
                    rx.recv().await.is_none()
                        && rx.try_recv() == Err(TryRecvError::Closed)
                        && recv_one(how, &mut rx).await.is_none()
                })
            })
            .collect::<Vec<_>>()
    };
    let live_senders = Arc::new(AtomicUsize::new(sc.senders.len()));
    let spawn_senders = || {
        sc.senders
            .iter()
            .enumerate()
            .map(|(id, &(n, how))| {
                let tx = ch.sender();
                let live = live_senders.clone();
                let close = sc.close;
                goro::spawn(async move {
                    for seq in 0..n {
                        send_one(how, &tx, (id as u32, seq)).await;
                    }
                    if live.fetch_sub(1, Ordering::SeqCst) == 1 && close == Close::ByLastSender {
                        tx.close();
                    }
                })
            })
            .collect::<Vec<_>>()
    };
    let (recvs, sends) = if sc.receivers_first {
        let r = spawn_receivers();
        (r, spawn_senders())
    } else {
        let s = spawn_senders();
        (spawn_receivers(), s)
    };

    for h in sends {
        h.await;
    }
    let mut ended_closed = Vec::new();
    let mut end_state = None;
    match sc.close {
        Close::Never => {
            common::wait_until("every value was received", || {
                received.load(Ordering::SeqCst) >= total
            })
            .await;
            end_state = Some((ch.try_recv(), ch.is_closed()));
            // The receivers stay blocked; the end of main drops them.
            drop(recvs);
        }
        Close::AfterAllSends | Close::ByLastSender => {
            if sc.close == Close::AfterAllSends {
                ch.close();
            }
            for h in recvs {
                ended_closed.push(h.await);
            }
        }
    }
    Outcome {
        logs: logs.iter().map(|l| l.lock().unwrap().clone()).collect(),
        ended_closed,
        end_state,
    }
}

proptest! {
    // Modest on purpose: each case is a whole program on a fresh runtime,
    // and the suite must stay fast on a 2-core machine.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn channels_deliver_every_value_once_in_sender_order(sc in scenario()) {
        let out = run_scenario(sc.clone());

        // No loss, no duplication.
        let mut count: BTreeMap<Value, u32> = BTreeMap::new();
        for log in &out.logs {
            for &v in log {
                *count.entry(v).or_default() += 1;
            }
        }
        for (id, &(n, _)) in sc.senders.iter().enumerate() {
            for seq in 0..n {
                let c = count.remove(&(id as u32, seq)).unwrap_or(0);
                prop_assert_eq!(c, 1, "value ({}, {}) received {} times", id, seq, c);
            }
        }
        prop_assert!(count.is_empty(), "values never sent: {:?}", count);

        // Per-sender FIFO as each receiver sees it.
        for (r, log) in out.logs.iter().enumerate() {
            let mut last: BTreeMap<u32, u32> = BTreeMap::new();
            for &(id, seq) in log {
                if let Some(prev) = last.insert(id, seq) {
                    prop_assert!(prev < seq, "receiver {} saw sender {}: {} then {}", r, id, prev, seq);
                }
            }
        }

        // Close semantics.
        match sc.close {
            Close::Never => {
                prop_assert_eq!(out.end_state, Some((Err(TryRecvError::Empty), false)));
            }
            _ => {
                prop_assert_eq!(out.ended_closed.len(), sc.receivers.len());
                prop_assert!(out.ended_closed.iter().all(|&c| c), "{:?}", out.ended_closed);
            }
        }
    }
}
