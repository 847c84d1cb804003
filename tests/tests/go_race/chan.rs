// Ported from Go: Copyright 2009 The Go Authors, under the BSD-style
// licence in tests/LICENSE-GO.

//! Go's race-detector tests of channels, ported from
//! `src/runtime/race/testdata/chan_test.go` (golang/go). See
//! `support` for the conventions.

use std::sync::Arc;

use crate::support::{expect, ms, no_race, ns, race, recover, var};
use goro::race::FindingKind;

// TestNoRaceChanSync (chan_test.go)
#[test]
fn no_race_chan_sync() {
    no_race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(0);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.send(0).await;
            });
        }
        c.recv().await;
        v.set(2);
    });
}

// TestNoRaceChanSyncRev (chan_test.go)
#[test]
fn no_race_chan_sync_rev() {
    no_race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(0);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                c.send(0).await;
                v.set(2);
            });
        }
        v.set(1);
        c.recv().await;
    });
}

// TestNoRaceChanAsync (chan_test.go)
#[test]
fn no_race_chan_async() {
    no_race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(10);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.send(0).await;
            });
        }
        c.recv().await;
        v.set(2);
    });
}

// TestRaceChanAsyncRev (chan_test.go)
#[test]
fn race_chan_async_rev() {
    race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(10);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                c.send(0).await;
                v.set(1);
            });
        }
        v.set(2);
        c.recv().await;
    });
}

// TestNoRaceChanAsyncCloseRecv (chan_test.go)
#[test]
fn no_race_chan_async_close_recv() {
    no_race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(10);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.close();
            });
        }
        // func() { defer func() { recover(); v = 2 }(); <-c }()
        recover(async {
            c.recv().await;
        })
        .await;
        v.set(2);
    });
}

// TestNoRaceChanAsyncCloseRecv2 (chan_test.go)
#[test]
fn no_race_chan_async_close_recv2() {
    no_race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(10);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.close();
            });
        }
        let _ = c.recv().await;
        v.set(2);
    });
}

// TestNoRaceChanAsyncCloseRecv3 (chan_test.go)
#[test]
fn no_race_chan_async_close_recv3() {
    no_race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(10);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.close();
            });
        }
        while c.recv().await.is_some() {}
        v.set(2);
    });
}

// TestNoRaceChanSyncCloseRecv (chan_test.go)
#[test]
fn no_race_chan_sync_close_recv() {
    no_race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(0);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.close();
            });
        }
        recover(async {
            c.recv().await;
        })
        .await;
        v.set(2);
    });
}

// TestNoRaceChanSyncCloseRecv2 (chan_test.go)
#[test]
fn no_race_chan_sync_close_recv2() {
    no_race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(0);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.close();
            });
        }
        let _ = c.recv().await;
        v.set(2);
    });
}

// TestNoRaceChanSyncCloseRecv3 (chan_test.go)
#[test]
fn no_race_chan_sync_close_recv3() {
    no_race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(0);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.close();
            });
        }
        while c.recv().await.is_some() {}
        v.set(2);
    });
}

// TestRaceChanSyncCloseSend (chan_test.go)
#[test]
fn race_chan_sync_close_send() {
    race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(0);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.close();
            });
        }
        recover(async {
            c.send(0).await;
        })
        .await;
        v.set(2);
    });
}

// TestRaceChanAsyncCloseSend (chan_test.go)
#[test]
fn race_chan_async_close_send() {
    race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(10);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.close();
            });
        }
        recover(async {
            loop {
                c.send(0).await;
            }
        })
        .await;
        v.set(2);
    });
}

// TestRaceChanCloseClose (chan_test.go)
#[test]
fn race_chan_close_close() {
    race(|| async {
        let compl = goro::chan::<bool>(2);
        let v1 = var(0);
        let v2 = var(0);
        let c = goro::chan::<i32>(0);
        {
            let (compl, v1, v2, c) = (compl.clone(), v1.clone(), v2.clone(), c.clone());
            goro::go!(async move {
                let panicked = recover(async {
                    v1.set(1);
                    c.close();
                })
                .await;
                if panicked.is_some() {
                    v2.set(2);
                }
                compl.send(true).await;
            });
        }
        {
            let (compl, v1, v2, c) = (compl.clone(), v1.clone(), v2.clone(), c.clone());
            goro::go!(async move {
                let panicked = recover(async {
                    v2.set(1);
                    c.close();
                })
                .await;
                if panicked.is_some() {
                    v1.set(2);
                }
                compl.send(true).await;
            });
        }
        compl.recv().await;
        compl.recv().await;
    });
}

// TestRaceChanSendLen (chan_test.go)
#[test]
fn race_chan_send_len() {
    race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(10);
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.send(1).await;
            });
        }
        while c.is_empty() {
            goro::yield_now().await;
        }
        v.set(2);
    });
}

// TestRaceChanRecvLen (chan_test.go)
#[test]
fn race_chan_recv_len() {
    race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(10);
        c.send(1).await;
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.recv().await;
            });
        }
        while !c.is_empty() {
            goro::yield_now().await;
        }
        v.set(2);
    });
}

// TestRaceChanSendSend (chan_test.go)
#[test]
fn race_chan_send_send() {
    race(|| async {
        let compl = goro::chan::<bool>(2);
        let v1 = var(0);
        let v2 = var(0);
        let c = goro::chan::<i32>(1);
        {
            let (compl, v1, v2, c) = (compl.clone(), v1.clone(), v2.clone(), c.clone());
            goro::go!(async move {
                v1.set(1);
                goro::select! {
                    send(c, 1) => {},
                    default => v2.set(2),
                }
                compl.send(true).await;
            });
        }
        {
            let (compl, v1, v2, c) = (compl.clone(), v1.clone(), v2.clone(), c.clone());
            goro::go!(async move {
                v2.set(1);
                goro::select! {
                    send(c, 1) => {},
                    default => v1.set(2),
                }
                compl.send(true).await;
            });
        }
        compl.recv().await;
        compl.recv().await;
    });
}

// TestNoRaceChanPtr (chan_test.go)
#[test]
fn no_race_chan_ptr() {
    no_race(|| async {
        // type msg struct { x int }; c := make(chan *msg)
        let c = goro::chan::<Arc<goro::Shared<i32>>>(0);
        {
            let c = c.clone();
            goro::go!(async move {
                // &msg{1}: the literal's field is written here.
                let m = var(0);
                m.set(1);
                c.send(m).await;
            });
        }
        let m = c.recv().await.unwrap();
        m.set(2);
    });
}

// TestRaceChanWrongSend (chan_test.go)
#[test]
fn race_chan_wrong_send() {
    race(|| async {
        let v1 = var(0);
        let v2 = var(0);
        let c = goro::chan::<i32>(2);
        {
            let (v1, c) = (v1.clone(), c.clone());
            goro::go!(async move {
                v1.set(1);
                c.send(1).await;
            });
        }
        {
            let (v2, c) = (v2.clone(), c.clone());
            goro::go!(async move {
                v2.set(2);
                c.send(2).await;
            });
        }
        goro::time::sleep(ns(10_000_000)).await;
        if c.recv().await == Some(1) {
            v2.set(3);
        } else {
            v1.set(3);
        }
    });
}

// TestRaceChanWrongClose (chan_test.go)
#[test]
fn race_chan_wrong_close() {
    race(|| async {
        let v1 = var(0);
        let v2 = var(0);
        let c = goro::chan::<i32>(1);
        {
            let (v1, c) = (v1.clone(), c.clone());
            goro::go!(async move {
                recover(async {
                    v1.set(1);
                    c.send(1).await;
                })
                .await;
            });
        }
        {
            let (v2, c) = (v2.clone(), c.clone());
            goro::go!(async move {
                goro::time::sleep(ns(10_000_000)).await;
                v2.set(2);
                c.close();
            });
        }
        goro::time::sleep(ns(20_000_000)).await;
        if c.recv().await.is_some() {
            v2.set(2);
        } else {
            v1.set(2);
        }
    });
}

// TestRaceChanSendClose (chan_test.go): Go reports the close racing with the
// send; goro reports that as a send that may find the channel closed.
#[test]
fn race_chan_send_close() {
    expect(FindingKind::SendOnClosed, || async {
        let compl = goro::chan::<bool>(2);
        let c = goro::chan::<i32>(1);
        {
            let (compl, c) = (compl.clone(), c.clone());
            goro::go!(async move {
                recover(async {
                    c.send(1).await;
                })
                .await;
                compl.send(true).await;
            });
        }
        {
            let (compl, c) = (compl.clone(), c.clone());
            goro::go!(async move {
                goro::time::sleep(ms(10)).await;
                c.close();
                compl.send(true).await;
            });
        }
        compl.recv().await;
        compl.recv().await;
    });
}

// TestRaceChanSendSelectClose (chan_test.go)
#[test]
fn race_chan_send_select_close() {
    expect(FindingKind::SendOnClosed, || async {
        let compl = goro::chan::<bool>(2);
        let c = goro::chan::<i32>(1);
        let c1 = goro::chan::<i32>(0);
        {
            let (compl, c, c1) = (compl.clone(), c.clone(), c1.clone());
            goro::go!(async move {
                recover(async {
                    goro::time::sleep(ms(10)).await;
                    goro::select! {
                        send(c, 1) => {},
                        recv(c1) => {},
                    }
                })
                .await;
                compl.send(true).await;
            });
        }
        {
            let (compl, c) = (compl.clone(), c.clone());
            goro::go!(async move {
                c.close();
                compl.send(true).await;
            });
        }
        compl.recv().await;
        compl.recv().await;
    });
}

// TestRaceSelectReadWriteAsync (chan_test.go)
#[test]
fn race_select_read_write_async() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        let x = var(0);
        let c1 = goro::chan::<i32>(10);
        let c2 = goro::chan::<i32>(10);
        let c3 = goro::chan::<i32>(0);
        c2.send(1).await;
        {
            let (done, x, c1, c3) = (done.clone(), x.clone(), c1.clone(), c3.clone());
            goro::go!(async move {
                goro::select! {
                    send(c1, x.get()) => {}, // read of x races with...
                    send(c3, 1) => {},
                }
                done.send(true).await;
            });
        }
        goro::select! {
            recv(c2) -> v => x.set(v.unwrap_or_default()), // ... write to x here
            send(c3, 1) => {},
        }
        done.recv().await;
    });
}

// TestRaceSelectReadWriteSync (chan_test.go)
#[test]
fn race_select_read_write_sync() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        let x = var(0);
        let c1 = goro::chan::<i32>(0);
        let c2 = goro::chan::<i32>(0);
        let c3 = goro::chan::<i32>(0);
        // make c1 and c2 ready for communication
        {
            let c1 = c1.clone();
            goro::go!(async move {
                c1.recv().await;
            });
        }
        {
            let c2 = c2.clone();
            goro::go!(async move {
                c2.send(1).await;
            });
        }
        {
            let (done, x, c1, c3) = (done.clone(), x.clone(), c1.clone(), c3.clone());
            goro::go!(async move {
                goro::select! {
                    send(c1, x.get()) => {}, // read of x races with...
                    send(c3, 1) => {},
                }
                done.send(true).await;
            });
        }
        goro::select! {
            recv(c2) -> v => x.set(v.unwrap_or_default()), // ... write to x here
            send(c3, 1) => {},
        }
        done.recv().await;
    });
}

// TestNoRaceSelectReadWriteAsync (chan_test.go)
#[test]
fn no_race_select_read_write_async() {
    no_race(|| async {
        let done = goro::chan::<bool>(0);
        let x = var(0);
        let c1 = goro::chan::<i32>(0);
        let c2 = goro::chan::<i32>(0);
        {
            let (done, x, c1, c2) = (done.clone(), x.clone(), c1.clone(), c2.clone());
            goro::go!(async move {
                goro::select! {
                    send(c1, x.get()) => {}, // read of x does not race with...
                    send(c2, 1) => {},
                }
                done.send(true).await;
            });
        }
        goro::select! {
            recv(c1) -> v => x.set(v.unwrap_or_default()), // ... write to x here
            send(c2, 1) => {},
        }
        done.recv().await;
    });
}

// TestRaceChanReadWriteAsync (chan_test.go)
#[test]
fn race_chan_read_write_async() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        let c1 = goro::chan::<i32>(10);
        let c2 = goro::chan::<i32>(10);
        c2.send(10).await;
        let x = var(0);
        {
            let (done, c1, x) = (done.clone(), c1.clone(), x.clone());
            goro::go!(async move {
                c1.send(x.get()).await; // read of x races with...
                done.send(true).await;
            });
        }
        x.set(c2.recv().await.unwrap()); // ... write to x here
        done.recv().await;
    });
}

// TestRaceChanReadWriteSync (chan_test.go)
#[test]
fn race_chan_read_write_sync() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        let c1 = goro::chan::<i32>(0);
        let c2 = goro::chan::<i32>(0);
        // make c1 and c2 ready for communication
        {
            let c1 = c1.clone();
            goro::go!(async move {
                c1.recv().await;
            });
        }
        {
            let c2 = c2.clone();
            goro::go!(async move {
                c2.send(10).await;
            });
        }
        let x = var(0);
        {
            let (done, c1, x) = (done.clone(), c1.clone(), x.clone());
            goro::go!(async move {
                c1.send(x.get()).await; // read of x races with...
                done.send(true).await;
            });
        }
        x.set(c2.recv().await.unwrap()); // ... write to x here
        done.recv().await;
    });
}

// TestNoRaceChanReadWriteAsync (chan_test.go)
#[test]
fn no_race_chan_read_write_async() {
    no_race(|| async {
        let done = goro::chan::<bool>(0);
        let c1 = goro::chan::<i32>(10);
        let x = var(0);
        {
            let (done, c1, x) = (done.clone(), c1.clone(), x.clone());
            goro::go!(async move {
                c1.send(x.get()).await; // read of x does not race with...
                done.send(true).await;
            });
        }
        x.set(c1.recv().await.unwrap()); // ... write to x here
        done.recv().await;
    });
}

/// `type Task struct { f func(); done chan bool }`
type Task = (Box<dyn FnOnce() + Send>, goro::Chan<bool>);

// TestNoRaceProducerConsumerUnbuffered (chan_test.go)
#[test]
fn no_race_producer_consumer_unbuffered() {
    no_race(|| async {
        let queue = goro::chan::<Task>(0);
        {
            let queue = queue.clone();
            goro::go!(async move {
                let (f, done) = queue.recv().await.unwrap();
                f();
                done.send(true).await;
            });
        }
        let doit = |f: Box<dyn FnOnce() + Send>| {
            let queue = queue.clone();
            async move {
                let done = goro::chan::<bool>(1);
                queue.send((f, done.clone())).await;
                done.recv().await;
            }
        };
        let x = var(0);
        {
            let x = x.clone();
            doit(Box::new(move || x.set(1))).await;
        }
        let _ = x.get();
    });
}

// TestRaceChanItselfSend (chan_test.go)
#[test]
fn race_chan_itself_send() {
    race(|| async {
        let compl = goro::chan::<bool>(1);
        let c = var(goro::chan::<i32>(10));
        {
            let (compl, c) = (compl.clone(), c.clone());
            goro::go!(async move {
                c.get().send(0).await;
                compl.send(true).await;
            });
        }
        c.set(goro::chan::<i32>(20));
        compl.recv().await;
    });
}

// TestRaceChanItselfRecv (chan_test.go)
#[test]
fn race_chan_itself_recv() {
    race(|| async {
        let compl = goro::chan::<bool>(1);
        let c = var(goro::chan::<i32>(10));
        c.get().send(1).await;
        {
            let (compl, c) = (compl.clone(), c.clone());
            goro::go!(async move {
                c.get().recv().await;
                compl.send(true).await;
            });
        }
        goro::time::sleep(ns(10_000_000)).await;
        c.set(goro::chan::<i32>(20));
        compl.recv().await;
    });
}

// TestRaceChanItselfNil (chan_test.go)
#[test]
fn race_chan_itself_nil() {
    race(|| async {
        let c = var(Some(goro::chan::<i32>(10)));
        {
            let c = c.clone();
            goro::go!(async move {
                if let Some(c) = c.get() {
                    c.send(0).await;
                }
            });
        }
        goro::time::sleep(ns(10_000_000)).await;
        c.set(None);
    });
}

// TestRaceChanItselfClose (chan_test.go)
#[test]
fn race_chan_itself_close() {
    race(|| async {
        let compl = goro::chan::<bool>(1);
        let c = var(goro::chan::<i32>(0));
        {
            let (compl, c) = (compl.clone(), c.clone());
            goro::go!(async move {
                c.get().close();
                compl.send(true).await;
            });
        }
        c.set(goro::chan::<i32>(0));
        compl.recv().await;
    });
}

// TestRaceChanItselfLen (chan_test.go)
#[test]
fn race_chan_itself_len() {
    race(|| async {
        let compl = goro::chan::<bool>(1);
        let c = var(goro::chan::<i32>(0));
        {
            let (compl, c) = (compl.clone(), c.clone());
            goro::go!(async move {
                let _ = c.with(|c| c.len());
                compl.send(true).await;
            });
        }
        c.set(goro::chan::<i32>(0));
        compl.recv().await;
    });
}

// TestRaceChanItselfCap (chan_test.go)
#[test]
fn race_chan_itself_cap() {
    race(|| async {
        let compl = goro::chan::<bool>(1);
        let c = var(goro::chan::<i32>(0));
        {
            let (compl, c) = (compl.clone(), c.clone());
            goro::go!(async move {
                let _ = c.with(|c| c.cap());
                compl.send(true).await;
            });
        }
        c.set(goro::chan::<i32>(0));
        compl.recv().await;
    });
}

// TestRaceChanCloseLen (chan_test.go)
#[test]
fn race_chan_close_len() {
    race(|| async {
        let v = var(0);
        let c = goro::chan::<i32>(10);
        c.send(0).await;
        {
            let (v, c) = (v.clone(), c.clone());
            goro::go!(async move {
                v.set(1);
                c.close();
            });
        }
        goro::time::sleep(ns(10_000_000)).await;
        let _ = c.len();
        v.set(2);
    });
}

// TestRaceChanCloseSend (chan_test.go): Go reports the close racing with the
// send; goro reports a send that may find (or found) the channel closed.
#[test]
fn race_chan_close_send() {
    expect(FindingKind::SendOnClosed, || async {
        let compl = goro::chan::<bool>(1);
        let c = goro::chan::<i32>(10);
        {
            let (compl, c) = (compl.clone(), c.clone());
            goro::go!(async move {
                c.close();
                compl.send(true).await;
            });
        }
        c.send(0).await;
        compl.recv().await;
    });
}

// TestNoRaceChanMutex (chan_test.go)
#[test]
fn no_race_chan_mutex() {
    no_race(|| async {
        let done = goro::chan::<()>(0);
        let mtx = goro::chan::<()>(1);
        let data = var(0);
        {
            let (done, mtx, data) = (done.clone(), mtx.clone(), data.clone());
            goro::go!(async move {
                mtx.send(()).await;
                data.set(42);
                mtx.recv().await;
                done.send(()).await;
            });
        }
        mtx.send(()).await;
        data.set(43);
        mtx.recv().await;
        done.recv().await;
    });
}

// TestNoRaceSelectMutex (chan_test.go)
#[test]
fn no_race_select_mutex() {
    no_race(|| async {
        let done = goro::chan::<()>(0);
        let mtx = goro::chan::<()>(1);
        let aux = goro::chan::<bool>(0);
        let data = var(0);
        {
            let (done, mtx, aux, data) = (done.clone(), mtx.clone(), aux.clone(), data.clone());
            goro::go!(async move {
                goro::select! {
                    send(mtx, ()) => {},
                    recv(aux) => {},
                }
                data.set(42);
                goro::select! {
                    recv(mtx) => {},
                    recv(aux) => {},
                }
                done.send(()).await;
            });
        }
        goro::select! {
            send(mtx, ()) => {},
            recv(aux) => {},
        }
        data.set(43);
        goro::select! {
            recv(mtx) => {},
            recv(aux) => {},
        }
        done.recv().await;
    });
}

// TestRaceChanSem (chan_test.go)
#[test]
fn race_chan_sem() {
    race(|| async {
        let done = goro::chan::<()>(0);
        let mtx = goro::chan::<bool>(2);
        let data = var(0);
        {
            let (done, mtx, data) = (done.clone(), mtx.clone(), data.clone());
            goro::go!(async move {
                mtx.send(true).await;
                data.set(42);
                mtx.recv().await;
                done.send(()).await;
            });
        }
        mtx.send(true).await;
        data.set(43);
        mtx.recv().await;
        done.recv().await;
    });
}

// TestNoRaceChanWaitGroup (chan_test.go)
#[test]
fn no_race_chan_wait_group() {
    no_race(|| async {
        const N: usize = 10;
        let chan_wg = goro::chan::<bool>(N / 2);
        let data: Arc<Vec<goro::Shared<i32>>> =
            Arc::new((0..N).map(|_| goro::Shared::new(0)).collect());
        for i in 0..N {
            chan_wg.send(true).await;
            let (chan_wg, data) = (chan_wg.clone(), data.clone());
            goro::go!(async move {
                data[i].set(42);
                chan_wg.recv().await;
            });
        }
        for _ in 0..chan_wg.cap() {
            chan_wg.send(true).await;
        }
        for d in data.iter() {
            let _ = d.get();
        }
    });
}

// TestNoRaceBlockedSendSync (chan_test.go)
#[test]
fn no_race_blocked_send_sync() {
    no_race(|| async {
        let c = goro::chan::<Option<Arc<goro::Shared<i32>>>>(1);
        c.send(None).await;
        {
            let c = c.clone();
            goro::go!(async move {
                let i = var(0);
                i.set(42);
                c.send(Some(i)).await;
            });
        }
        // Give the sender time to actually block.
        goro::time::sleep(ms(10)).await;
        c.recv().await;
        let p = c.recv().await.flatten().unwrap();
        assert_eq!(p.get(), 42);
    });
}

// TestNoRaceBlockedSelectSendSync (chan_test.go)
#[test]
fn no_race_blocked_select_send_sync() {
    no_race(|| async {
        let c = goro::chan::<Option<Arc<goro::Shared<i32>>>>(1);
        c.send(None).await;
        {
            let c = c.clone();
            goro::go!(async move {
                let i = var(0);
                i.set(42);
                c.send(Some(i)).await;
            });
        }
        goro::time::sleep(ms(10)).await;
        c.recv().await;
        goro::select! {
            recv(c) -> p => assert_eq!(p.flatten().unwrap().get(), 42),
            recv(goro::chan::<i32>(0)) => {},
        }
    });
}
