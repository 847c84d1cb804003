// Ported from Go: Copyright 2009 The Go Authors, under the BSD-style
// licence in tests/LICENSE-GO.

//! Go's race-detector tests of `select`, ported from
//! `src/runtime/race/testdata/select_test.go` (golang/go). See
//! `support` for the conventions.

use crate::support::{no_race, race, var};

// TestNoRaceSelect1 (select_test.go)
#[test]
fn no_race_select1() {
    no_race(|| async {
        let x = var(0);
        let compl = goro::chan::<bool>(0);
        let c = goro::chan::<bool>(0);
        let c1 = goro::chan::<bool>(0);
        {
            let (x, compl, c, c1) = (x.clone(), compl.clone(), c.clone(), c1.clone());
            goro::go!(async move {
                x.set(1);
                goro::select! {
                    send(c, true) => {},
                    send(c1, true) => {},
                }
                compl.send(true).await;
            });
        }
        goro::select! {
            recv(c) => {},
            send(c1, true) => {},
        }
        x.set(2);
        compl.recv().await;
    });
}

// TestNoRaceSelect2 (select_test.go)
#[test]
fn no_race_select2() {
    no_race(|| async {
        let x = var(0);
        let compl = goro::chan::<bool>(0);
        let c = goro::chan::<bool>(0);
        let c1 = goro::chan::<bool>(0);
        {
            let (x, compl, c, c1) = (x.clone(), compl.clone(), c.clone(), c1.clone());
            goro::go!(async move {
                goro::select! {
                    recv(c) => {},
                    recv(c1) => {},
                }
                x.set(1);
                compl.send(true).await;
            });
        }
        x.set(2);
        c.close();
        goro::yield_now().await;
        compl.recv().await;
    });
}

// TestNoRaceSelect3 (select_test.go)
#[test]
fn no_race_select3() {
    no_race(|| async {
        let x = var(0);
        let compl = goro::chan::<bool>(0);
        let c = goro::chan::<bool>(10);
        let c1 = goro::chan::<bool>(0);
        {
            let (x, compl, c, c1) = (x.clone(), compl.clone(), c.clone(), c1.clone());
            goro::go!(async move {
                x.set(1);
                goro::select! {
                    send(c, true) => {},
                    recv(c1) => {},
                }
                compl.send(true).await;
            });
        }
        c.recv().await;
        x.set(2);
        compl.recv().await;
    });
}

/// `type Task struct { f func(); done chan bool }`
type Task = (Box<dyn FnOnce() + Send>, goro::Chan<bool>);

// TestNoRaceSelect4 (select_test.go)
#[test]
fn no_race_select4() {
    no_race(|| async {
        let queue = goro::chan::<Task>(0);
        let dummy = goro::chan::<bool>(0);
        {
            let queue = queue.clone();
            goro::go!(async move {
                loop {
                    goro::select! {
                        recv(queue) -> t => {
                            let (f, done) = t.unwrap();
                            f();
                            done.send(true).await;
                        },
                    }
                }
            });
        }
        let doit = |f: Box<dyn FnOnce() + Send>| {
            let (queue, dummy) = (queue.clone(), dummy.clone());
            async move {
                let done = goro::chan::<bool>(1);
                goro::select! {
                    send(queue, (f, done.clone())) => {},
                    recv(dummy) => {},
                }
                goro::select! {
                    recv(done) => {},
                    recv(dummy) => {},
                }
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

// TestNoRaceSelect5 (select_test.go)
#[test]
fn no_race_select5() {
    no_race(|| async {
        let test = |sel: bool, need_sched: bool| async move {
            let x = var(0);
            let ch = goro::chan::<bool>(0);
            let c1 = goro::chan::<bool>(0);
            let done = goro::chan::<bool>(2);
            {
                let (x, ch, c1, done) = (x.clone(), ch.clone(), c1.clone(), done.clone());
                goro::go!(async move {
                    if need_sched {
                        goro::yield_now().await;
                    }
                    x.set(1);
                    if sel {
                        goro::select! {
                            send(ch, true) => {},
                            recv(c1) => {},
                        }
                    } else {
                        ch.send(true).await;
                    }
                    done.send(true).await;
                });
            }
            {
                let (x, ch, c1, done) = (x.clone(), ch.clone(), c1.clone(), done.clone());
                goro::go!(async move {
                    if sel {
                        goro::select! {
                            recv(ch) => {},
                            recv(c1) => {},
                        }
                    } else {
                        ch.recv().await;
                    }
                    x.set(1);
                    done.send(true).await;
                });
            }
            done.recv().await;
            done.recv().await;
        };
        test(true, true).await;
        test(true, false).await;
        test(false, true).await;
        test(false, false).await;
    });
}

// TestRaceSelect1 (select_test.go)
#[test]
fn race_select1() {
    race(|| async {
        let x = var(0);
        let compl = goro::chan::<bool>(2);
        let c = goro::chan::<bool>(0);
        let c1 = goro::chan::<bool>(0);
        {
            let c = c.clone();
            goro::go!(async move {
                c.recv().await;
                c.recv().await;
            });
        }
        let f = || {
            let (x, compl, c, c1) = (x.clone(), compl.clone(), c.clone(), c1.clone());
            async move {
                goro::select! {
                    send(c, true) => {},
                    send(c1, true) => {},
                }
                x.set(1);
                compl.send(true).await;
            }
        };
        goro::go!(f());
        goro::go!(f());
        compl.recv().await;
        compl.recv().await;
    });
}

// TestRaceSelect2 (select_test.go)
#[test]
fn race_select2() {
    race(|| async {
        let x = var(0);
        let compl = goro::chan::<bool>(0);
        let c = goro::chan::<bool>(0);
        let c1 = goro::chan::<bool>(0);
        {
            let (x, compl, c, c1) = (x.clone(), compl.clone(), c.clone(), c1.clone());
            goro::go!(async move {
                x.set(1);
                goro::select! {
                    recv(c) => {},
                    recv(c1) => {},
                }
                compl.send(true).await;
            });
        }
        c.close();
        x.set(2);
        compl.recv().await;
    });
}

// TestRaceSelect3 (select_test.go)
#[test]
fn race_select3() {
    race(|| async {
        let x = var(0);
        let compl = goro::chan::<bool>(0);
        let c = goro::chan::<bool>(0);
        let c1 = goro::chan::<bool>(0);
        {
            let (x, compl, c, c1) = (x.clone(), compl.clone(), c.clone(), c1.clone());
            goro::go!(async move {
                x.set(1);
                goro::select! {
                    send(c, true) => {},
                    send(c1, true) => {},
                }
                compl.send(true).await;
            });
        }
        x.set(2);
        goro::select! {
            recv(c) => {},
        }
        compl.recv().await;
    });
}

// TestRaceSelect4 (select_test.go)
#[test]
fn race_select4() {
    race(|| async {
        let done = goro::chan::<bool>(1);
        let x = var(0);
        {
            let (done, x) = (done.clone(), x.clone());
            goro::go!(async move {
                goro::select! {
                    default => x.set(2),
                }
                done.send(true).await;
            });
        }
        let _ = x.get();
        done.recv().await;
    });
}

// TestRaceSelect5 (select_test.go)
#[test]
fn race_select5() {
    race(|| async {
        let done = goro::chan::<bool>(1);
        let c1 = goro::chan::<bool>(1);
        let c2 = goro::chan::<bool>(0);
        let x = var(0);
        let y = var(0);
        {
            let (done, c1, c2, x, y) = (done.clone(), c1.clone(), c2.clone(), x.clone(), y.clone());
            goro::go!(async move {
                goro::select! {
                    send(c1, true) => x.set(1),
                    send(c2, true) => y.set(1),
                }
                done.send(true).await;
            });
        }
        let _ = x.get();
        let _ = y.get();
        done.recv().await;
    });
}
