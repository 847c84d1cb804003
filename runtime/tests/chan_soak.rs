//! A soak of the production channel paths under contention and
//! cancellation: producers and consumers on several workers, over an
//! unbuffered and a buffered channel, through plain operations and
//! `select!`s that are awaited, timed out, or dropped after one poll.
//! Every value must arrive exactly once, and each consumer must see each
//! producer's values in the order they were sent.
//!
//! Producers know exactly what they sent: a send either completes or loses
//! a `select!` against a timer (a select commits exactly one case), so a
//! producer retries the same value until one of its sends commits.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::poll_then_drop;
use goro::{Receiver, Sender};
use tokio::time::timeout;

/// Values a producer sends (the pair is `(producer, seq)`).
type Item = (u32, u32);

/// Producers per channel and values each sends.
const PRODUCERS: u32 = 3;
const PER: u32 = 1500;
const CONSUMERS: usize = 4;

/// Sends `0..PER` as `(p, seq)` on `tx`, mixing plain sends, selects that
/// race a short timer, and selects with `default` (retried after a yield).
async fn produce(p: u32, tx: Sender<Item>) {
    let mut seq = 0;
    let mut round = p;
    while seq < PER {
        round = round.wrapping_add(1);
        let sent = match round % 4 {
            0 | 1 => {
                tx.send((p, seq)).await;
                true
            }
            2 => goro::select! {
                send(tx, (p, seq)) => true,
                recv(goro::time::after(Duration::from_micros(20))) -> _ => false,
            },
            _ => goro::select! {
                send(tx, (p, seq)) => true,
                default => false,
            },
        };
        if sent {
            seq += 1;
        } else {
            goro::yield_now().await;
        }
    }
}

/// One receive from whichever of `u` and `b` is still open, in a way picked
/// by `i`: `None` when it was cancelled, `Some(None)` when both are closed
/// and drained (the channel that reported closed is switched off).
async fn receive_one(
    i: usize,
    u: &mut Option<Receiver<Item>>,
    b: &mut Option<Receiver<Item>>,
) -> Option<Option<Item>> {
    loop {
        if u.is_none() && b.is_none() {
            return Some(None);
        }
        // Which channel reported the close, if one did.
        let (r, closed_u) = match i % 6 {
            // A select over both, awaited, timed out, or dropped after one
            // poll (a hand-off it never got to see goes to someone else).
            0..=2 => {
                let sel = Box::pin(async {
                    goro::select! {
                        recv(u.as_ref()) -> v => (v, true),
                        recv(b.as_ref()) -> v => (v, false),
                    }
                });
                let r = match i % 6 {
                    0 => Some(sel.await),
                    1 => timeout(Duration::from_micros(5), sel).await.ok(),
                    _ => poll_then_drop(sel).await,
                };
                match r {
                    Some((v, closed_u)) => (Some(v), closed_u),
                    None => return None,
                }
            }
            // A select that gives up on a timer.
            3 => goro::select! {
                recv(u.as_ref()) -> v => (Some(v), true),
                recv(b.as_ref()) -> v => (Some(v), false),
                recv(goro::time::after(Duration::from_micros(30))) -> _ => (None, false),
            },
            // A plain receive, timed out or dropped after one poll.
            _ => {
                let on_u = u.is_some();
                let rx = u.as_ref().or(b.as_ref()).expect("one is open");
                let r = if i % 2 == 0 {
                    timeout(Duration::from_micros(5), rx.recv()).await.ok()
                } else {
                    poll_then_drop(Box::pin(rx.recv())).await
                };
                (r, on_u)
            }
        };
        match r {
            None => return None,
            Some(Some(v)) => return Some(Some(v)),
            Some(None) => {
                if closed_u {
                    *u = None;
                } else {
                    *b = None;
                }
            }
        }
    }
}

/// Receives until both channels are closed and drained.
async fn consume(c: usize, u: Receiver<Item>, b: Receiver<Item>) -> Vec<Item> {
    let (mut u, mut b) = (Some(u), Some(b));
    let mut got = Vec::new();
    let mut i = c;
    loop {
        i = i.wrapping_add(1);
        match receive_one(i, &mut u, &mut b).await {
            Some(Some(v)) => got.push(v),
            Some(None) => return got,
            None => {}
        }
    }
}

/// Runs one soak: producers `0..PRODUCERS` on the unbuffered channel,
/// `PRODUCERS..2 * PRODUCERS` on one of capacity `cap`.
fn soak(cap: usize) -> Vec<Vec<Item>> {
    goro::run(async move {
        let u = goro::chan::<Item>(0);
        let b = goro::chan::<Item>(cap);
        let producers: Vec<_> = (0..2 * PRODUCERS)
            .map(|p| {
                let tx = if p < PRODUCERS {
                    u.sender()
                } else {
                    b.sender()
                };
                goro::spawn(produce(p, tx))
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|c| goro::spawn(consume(c, u.receiver(), b.receiver())))
            .collect();
        for h in producers {
            h.await;
        }
        u.close();
        b.close();
        let mut out = Vec::new();
        for h in consumers {
            out.push(h.await);
        }
        out
    })
}

fn check(per_consumer: &[Vec<Item>], ctx: &str) {
    check_some(per_consumer, 2 * PRODUCERS, ctx);
}

/// [`check`] for producers `0..producers`.
fn check_some(per_consumer: &[Vec<Item>], producers: u32, ctx: &str) {
    let mut seen = vec![vec![0u32; PER as usize]; producers as usize];
    for (c, got) in per_consumer.iter().enumerate() {
        let mut last = BTreeMap::new();
        for &(p, s) in got {
            seen[p as usize][s as usize] += 1;
            if let Some(prev) = last.insert(p, s) {
                assert!(
                    prev < s,
                    "{ctx}: consumer {c} saw producer {p} reordered: {prev} then {s}"
                );
            }
        }
    }
    for (p, row) in seen.iter().enumerate() {
        for (s, &n) in row.iter().enumerate() {
            assert_eq!(n, 1, "{ctx}: value ({p}, {s}) received {n} times");
        }
    }
}

#[test]
fn channels_and_selects_under_cancellation_deliver_every_value_once_in_order() {
    for cap in [1, 3, 64] {
        let got = soak(cap);
        check(&got, &format!("buffered cap {cap}"));
    }
}

/// The unbuffered hand-off under cancellation: plain receives awaited,
/// timed out, or dropped after one poll (a dropped notified receive passes
/// its reservation on), mixed with `select!` receives. Plain sends.
fn handoff_soak() -> Vec<Vec<Item>> {
    goro::run(async move {
        let u = goro::chan::<Item>(0);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = u.sender();
                goro::spawn(async move {
                    for seq in 0..PER {
                        tx.send((p, seq)).await;
                        if seq % 5 == 0 {
                            goro::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|c| {
                let rx = u.receiver();
                goro::spawn(async move {
                    let mut got = Vec::new();
                    let mut i = c;
                    loop {
                        i = i.wrapping_add(1);
                        let r = match i % 5 {
                            0 | 1 => Some(rx.recv().await),
                            2 => timeout(Duration::from_micros(5), rx.recv()).await.ok(),
                            3 => poll_then_drop(Box::pin(rx.recv())).await,
                            _ => goro::select! {
                                recv(rx) -> v => Some(v),
                                recv(goro::time::after(Duration::from_micros(30))) -> _ => None,
                            },
                        };
                        match r {
                            Some(Some(v)) => got.push(v),
                            Some(None) => return got,
                            None => {}
                        }
                    }
                })
            })
            .collect();
        for h in producers {
            h.await;
        }
        u.close();
        let mut out = Vec::new();
        for h in consumers {
            out.push(h.await);
        }
        out
    })
}

#[test]
fn the_unbuffered_hand_off_under_cancellation_delivers_every_value_once_in_order() {
    for round in 0..3 {
        let got = handoff_soak();
        check_some(&got, PRODUCERS, &format!("hand-off round {round}"));
    }
}
