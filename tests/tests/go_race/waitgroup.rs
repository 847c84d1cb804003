// Ported from Go: Copyright 2009 The Go Authors, under the BSD-style
// licence in tests/LICENSE-GO.

//! Go's race-detector tests of `sync.WaitGroup`, ported from
//! `src/runtime/race/testdata/waitgroup_test.go` (golang/go). See
//! `support` for the conventions.

use std::sync::Arc;

use crate::support::{expect, ms, no_race, ns, race, recover, var};
use goro::race::FindingKind;
use goro::sync::WaitGroup;
use goro::Shared;

/// `var data [P]int`: one variable per element.
fn array(p: usize) -> Arc<Vec<Shared<i32>>> {
    Arc::new((0..p).map(|_| Shared::new(0)).collect())
}

/// `data[p]++`
fn incr(x: &Shared<i32>) {
    x.set(x.get() + 1);
}

// TestNoRaceWaitGroup (waitgroup_test.go)
#[test]
fn no_race_wait_group() {
    no_race(|| async {
        let x = var(0);
        let wg = WaitGroup::new();
        let n = 1;
        for i in 0..n {
            wg.add(1);
            let j = i;
            let (x, wg) = (x.clone(), wg.clone());
            goro::go!(async move {
                x.set(j);
                wg.done();
            });
        }
        wg.wait().await;
    });
}

// TestRaceWaitGroup (waitgroup_test.go)
#[test]
fn race_wait_group() {
    race(|| async {
        let x = var(0);
        let wg = WaitGroup::new();
        let n = 2;
        for i in 0..n {
            wg.add(1);
            let j = i;
            let (x, wg) = (x.clone(), wg.clone());
            goro::go!(async move {
                x.set(j);
                wg.done();
            });
        }
        wg.wait().await;
    });
}

// TestNoRaceWaitGroup2 (waitgroup_test.go)
#[test]
fn no_race_wait_group2() {
    no_race(|| async {
        let x = var(0);
        let wg = WaitGroup::new();
        wg.add(1);
        {
            let (x, wg) = (x.clone(), wg.clone());
            goro::go!(async move {
                x.set(1);
                wg.done();
            });
        }
        wg.wait().await;
        x.set(2);
    });
}

// TestRaceWaitGroupAsMutex (waitgroup_test.go): incrementing counter in Add
// and locking wg's mutex
#[test]
fn race_wait_group_as_mutex() {
    race(|| async {
        let x = var(0);
        let wg = WaitGroup::new();
        let c = goro::chan::<bool>(2);
        for v in [1, 2] {
            let (x, wg, c) = (x.clone(), wg.clone(), c.clone());
            goro::go!(async move {
                wg.wait().await;
                goro::time::sleep(ms(100)).await;
                wg.add(1);
                x.set(v);
                wg.add(-1);
                c.send(true).await;
            });
        }
        c.recv().await;
        c.recv().await;
    });
}

// TestRaceWaitGroupWrongWait (waitgroup_test.go): incorrect usage, Add is
// too late.
#[test]
fn race_wait_group_wrong_wait() {
    race(|| async {
        let c = goro::chan::<bool>(2);
        let x = var(0);
        let wg = WaitGroup::new();
        for v in [1, 2] {
            let (c, x, wg) = (c.clone(), x.clone(), wg.clone());
            goro::go!(async move {
                wg.add(1);
                goro::yield_now().await;
                x.set(v);
                wg.done();
                c.send(true).await;
            });
        }
        wg.wait().await;
        c.recv().await;
        c.recv().await;
    });
}

// TestRaceWaitGroupWrongAdd (waitgroup_test.go): Go reports the Add racing
// with the Wait; goro reports it as WaitGroup misuse.
#[test]
fn race_wait_group_wrong_add() {
    expect(FindingKind::WaitGroupMisuse, || async {
        let c = goro::chan::<bool>(2);
        let wg = WaitGroup::new();
        for _ in 0..2 {
            let (c, wg) = (c.clone(), wg.clone());
            goro::go!(async move {
                wg.add(1);
                goro::time::sleep(ms(100)).await;
                wg.done();
                c.send(true).await;
            });
        }
        goro::time::sleep(ms(50)).await;
        wg.wait().await;
        c.recv().await;
        c.recv().await;
    });
}

// TestNoRaceWaitGroupMultipleWait (waitgroup_test.go)
#[test]
fn no_race_wait_group_multiple_wait() {
    no_race(|| async {
        let c = goro::chan::<bool>(2);
        let wg = WaitGroup::new();
        for _ in 0..2 {
            let (c, wg) = (c.clone(), wg.clone());
            goro::go!(async move {
                wg.wait().await;
                c.send(true).await;
            });
        }
        wg.wait().await;
        c.recv().await;
        c.recv().await;
    });
}

// TestNoRaceWaitGroupMultipleWait2 (waitgroup_test.go)
#[test]
fn no_race_wait_group_multiple_wait2() {
    no_race(|| async {
        let c = goro::chan::<bool>(2);
        let wg = WaitGroup::new();
        wg.add(2);
        for _ in 0..2 {
            let (c, wg) = (c.clone(), wg.clone());
            goro::go!(async move {
                wg.done();
                wg.wait().await;
                c.send(true).await;
            });
        }
        wg.wait().await;
        c.recv().await;
        c.recv().await;
    });
}

// TestNoRaceWaitGroupMultipleWait3 (waitgroup_test.go)
#[test]
fn no_race_wait_group_multiple_wait3() {
    no_race(|| async {
        const P: usize = 3;
        let data = array(P);
        let done = goro::chan::<bool>(P);
        let wg = WaitGroup::new();
        wg.add(P as isize);
        for p in 0..P {
            let (data, wg) = (data.clone(), wg.clone());
            goro::go!(async move {
                data[p].set(42);
                wg.done();
            });
        }
        for _ in 0..P {
            let (data, wg, done) = (data.clone(), wg.clone(), done.clone());
            goro::go!(async move {
                wg.wait().await;
                for d in data.iter() {
                    let _ = d.get();
                }
                done.send(true).await;
            });
        }
        for _ in 0..P {
            done.recv().await;
        }
    });
}

// TestRaceWaitGroup2 (waitgroup_test.go): correct usage but still a race
#[test]
fn race_wait_group2() {
    race(|| async {
        let x = var(0);
        let wg = WaitGroup::new();
        wg.add(2);
        for v in [1, 2] {
            let (x, wg) = (x.clone(), wg.clone());
            goro::go!(async move {
                x.set(v);
                wg.done();
            });
        }
        wg.wait().await;
    });
}

/// Whether a recovered panic is the one of a negative WaitGroup counter.
fn is_negative_counter(payload: &(dyn std::any::Any + Send)) -> bool {
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied());
    msg == Some("sync: negative WaitGroup counter")
}

// TestNoRaceWaitGroupPanicRecover (waitgroup_test.go)
// Go's race detector reports no race here and neither does goro; the
// negative counter's panic is recovered, so it is no finding either.
#[test]
fn no_race_wait_group_panic_recover() {
    no_race(|| async {
        let x = var(0);
        let wg = WaitGroup::new();
        let err = recover(async {
            x.set(1);
            wg.add(-1);
        })
        .await;
        if !err.as_deref().is_some_and(is_negative_counter) {
            panic!("Unexpected panic");
        }
        x.set(2);
    });
}

// TestNoRaceWaitGroupPanicRecover2 (waitgroup_test.go)
// As above: no race, and the recovered negative counter no finding.
#[test]
fn no_race_wait_group_panic_recover2() {
    no_race(|| async {
        let x = var(0);
        let wg = WaitGroup::new();
        let ch = goro::chan::<bool>(1);
        let f = {
            let (x, ch) = (x.clone(), ch.clone());
            async move {
                x.set(2);
                ch.send(true).await;
            }
        };
        {
            let x = x.clone();
            goro::go!(async move {
                recover(async {
                    x.set(1);
                    wg.add(-1);
                })
                .await;
                goro::go!(f);
            });
        }
        ch.recv().await;
    });
}

// TestNoRaceWaitGroupTransitive (waitgroup_test.go)
#[test]
fn no_race_wait_group_transitive() {
    no_race(|| async {
        let x = var(0);
        let y = var(0);
        let wg = WaitGroup::new();
        wg.add(2);
        {
            let (x, wg) = (x.clone(), wg.clone());
            goro::go!(async move {
                x.set(42);
                wg.done();
            });
        }
        {
            let (y, wg) = (y.clone(), wg.clone());
            goro::go!(async move {
                goro::time::sleep(ns(10_000_000)).await;
                y.set(42);
                wg.done();
            });
        }
        wg.wait().await;
        let _ = x.get();
        let _ = y.get();
    });
}

// TestNoRaceWaitGroupReuse (waitgroup_test.go)
#[test]
fn no_race_wait_group_reuse() {
    no_race(|| async {
        const P: usize = 3;
        let data = array(P);
        let wg = WaitGroup::new();
        for _try in 0..3 {
            wg.add(P as isize);
            for p in 0..P {
                let (data, wg) = (data.clone(), wg.clone());
                goro::go!(async move {
                    incr(&data[p]);
                    wg.done();
                });
            }
            wg.wait().await;
            for d in data.iter() {
                incr(d);
            }
        }
    });
}

// TestNoRaceWaitGroupReuse2 (waitgroup_test.go)
#[test]
fn no_race_wait_group_reuse2() {
    no_race(|| async {
        const P: usize = 3;
        let data = array(P);
        let wg = WaitGroup::new();
        for _try in 0..3 {
            wg.add(P as isize);
            for p in 0..P {
                let (data, wg) = (data.clone(), wg.clone());
                goro::go!(async move {
                    incr(&data[p]);
                    wg.done();
                });
            }
            let done = goro::chan::<bool>(0);
            {
                let (data, wg, done) = (data.clone(), wg.clone(), done.clone());
                goro::go!(async move {
                    wg.wait().await;
                    for d in data.iter() {
                        incr(d);
                    }
                    done.send(true).await;
                });
            }
            wg.wait().await;
            done.recv().await;
            for d in data.iter() {
                incr(d);
            }
        }
    });
}

// TestRaceWaitGroupReuse (waitgroup_test.go): Go reports the next round's
// Add racing with the previous round's Wait; goro reports it as WaitGroup
// misuse.
#[test]
fn race_wait_group_reuse() {
    expect(FindingKind::WaitGroupMisuse, || async {
        const P: usize = 3;
        const T: usize = 3;
        let done = goro::chan::<bool>(T);
        let wg = WaitGroup::new();
        for _try in 0..T {
            let data = array(P);
            wg.add(P as isize);
            for p in 0..P {
                let (data, wg) = (data.clone(), wg.clone());
                goro::go!(async move {
                    goro::time::sleep(ms(50)).await;
                    incr(&data[p]);
                    wg.done();
                });
            }
            {
                let (data, wg, done) = (data.clone(), wg.clone(), done.clone());
                goro::go!(async move {
                    wg.wait().await;
                    for d in data.iter() {
                        incr(d);
                    }
                    done.send(true).await;
                });
            }
            goro::time::sleep(ms(100)).await;
            wg.wait().await;
        }
        for _ in 0..T {
            done.recv().await;
        }
    });
}

// TestNoRaceWaitGroupConcurrentAdd (waitgroup_test.go)
#[test]
fn no_race_wait_group_concurrent_add() {
    no_race(|| async {
        const P: usize = 4;
        let waiting = goro::chan::<bool>(P);
        let wg = WaitGroup::new();
        for _ in 0..P {
            let (waiting, wg) = (waiting.clone(), wg.clone());
            goro::go!(async move {
                wg.add(1);
                waiting.send(true).await;
                wg.done();
            });
        }
        for _ in 0..P {
            waiting.recv().await;
        }
        wg.wait().await;
    });
}
