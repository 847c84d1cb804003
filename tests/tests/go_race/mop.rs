// Ported from Go: Copyright 2009 The Go Authors, under the BSD-style
// licence in tests/LICENSE-GO.

//! Go's race-detector tests of plain memory operations ("mop"), ported from
//! `src/runtime/race/testdata/mop_test.go` (golang/go): the ones about
//! variables, struct fields, array elements, closures and function values
//! shared between goroutines. See `support` for the conventions.
//!
//! Go tracks each struct field and array element on its own, so a struct
//! becomes a struct of `Shared` fields and an array a `Vec` of `Shared`s; a
//! whole-struct (or whole-array) assignment writes every field (element).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::support::{no_race, race, recover, var};
use goro::sync::{Mutex, WaitGroup};
use goro::{Chan, Shared};

/// `type Point struct { x, y int }`
#[derive(Default)]
struct Point {
    x: Shared<i32>,
    y: Shared<i32>,
}

impl Point {
    /// `p = Point{x, y}`
    fn store(&self, x: i32, y: i32) {
        self.x.set(x);
        self.y.set(y);
    }

    /// `q := p`
    fn load(&self) -> (i32, i32) {
        (self.x.get(), self.y.get())
    }
}

/// `var a [n]int`
fn array(n: usize) -> Arc<Vec<Shared<i32>>> {
    Arc::new((0..n).map(|_| Shared::new(0)).collect())
}

static GLOBAL_X: Shared<i32> = Shared::new(0);
static GLOBAL_Y: Shared<i32> = Shared::new(0);

/// `GlobalFunc1` of mop_test.go; Go's `GlobalCh` is a package-level
/// channel, here passed in (a channel cannot be made in a `static`).
async fn global_func1(global_ch: Chan<i32>) {
    GLOBAL_Y.set(GLOBAL_X.get());
    global_ch.send(1).await;
}

/// `GlobalFunc2` of mop_test.go.
async fn global_func2(global_ch: Chan<i32>) {
    GLOBAL_X.set(1);
    global_ch.send(1).await;
}

// TestRaceIntRWGlobalFuncs (mop_test.go)
#[test]
fn race_int_rw_global_funcs() {
    race(|| async {
        let global_ch = goro::chan::<i32>(2);
        goro::go!(global_func1(global_ch.clone()));
        goro::go!(global_func2(global_ch.clone()));
        global_ch.recv().await;
        global_ch.recv().await;
    });
}

// TestRaceIntRWClosures (mop_test.go)
#[test]
fn race_int_rw_closures() {
    race(|| async {
        let (x, y) = (var(0), var(0));
        let ch = goro::chan::<i32>(2);
        {
            let (x, y, ch) = (x.clone(), y.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get());
                ch.send(1).await;
            });
        }
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(1);
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceIntRWClosures (mop_test.go)
#[test]
fn no_race_int_rw_closures() {
    no_race(|| async {
        let (x, y) = (var(0), var(0));
        let ch = goro::chan::<i32>(1);
        {
            let (x, y, ch) = (x.clone(), y.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get());
                ch.send(1).await;
            });
        }
        ch.recv().await;
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(1);
                ch.send(1).await;
            });
        }
        ch.recv().await;
    });
}

// TestRaceInt32RWClosures (mop_test.go)
#[test]
fn race_int32_rw_closures() {
    race(|| async {
        let (x, y) = (var(0i32), var(0i32));
        let ch = goro::chan::<bool>(2);
        {
            let (x, y, ch) = (x.clone(), y.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get());
                ch.send(true).await;
            });
        }
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(1);
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceCaseCondition (mop_test.go)
#[test]
fn race_case_condition() {
    race(|| async {
        let x = var(0);
        let ch = goro::chan::<i32>(2);
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(2);
                ch.send(1).await;
            });
        }
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                // switch x < 2 { case true: x = 1 }
                if x.get() < 2 {
                    x.set(1);
                }
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceCaseCondition2 (mop_test.go)
#[test]
fn race_case_condition2() {
    race(|| async {
        let x = var(0);
        let ch = goro::chan::<i32>(2);
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(2);
                ch.send(1).await;
            });
        }
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                if x.get() < 2 {
                    x.set(1);
                } else {
                    x.set(5);
                }
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceCaseBody (mop_test.go)
#[test]
fn race_case_body() {
    race(|| async {
        let (x, y) = (var(0), var(0));
        let ch = goro::chan::<i32>(2);
        {
            let (x, y, ch) = (x.clone(), y.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get());
                ch.send(1).await;
            });
        }
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                // switch { default: x = 1; case x == 100: x = -x }
                if x.get() == 100 {
                    x.set(-x.get());
                } else {
                    x.set(1);
                }
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRaceCaseFallthrough (mop_test.go)
#[test]
fn no_race_case_fallthrough() {
    no_race(|| async {
        let (x, y, z) = (var(0), var(0), var(0));
        let ch = goro::chan::<i32>(2);
        z.set(1);
        {
            let (x, y, ch) = (x.clone(), y.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get());
                ch.send(1).await;
            });
        }
        {
            let (x, z, ch) = (x.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                // switch { case z == 1: case z == 2: x = 2 }
                if z.get() == 1 {
                } else if z.get() == 2 {
                    x.set(2);
                }
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceCaseFallthrough (mop_test.go)
#[test]
fn race_case_fallthrough() {
    race(|| async {
        let (x, y, z) = (var(0), var(0), var(0));
        let ch = goro::chan::<i32>(2);
        z.set(1);
        {
            let (x, y, ch) = (x.clone(), y.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get());
                ch.send(1).await;
            });
        }
        {
            let (x, z, ch) = (x.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                // switch { case z == 1: fallthrough; case z == 2: x = 2 }
                if z.get() == 1 || z.get() == 2 {
                    x.set(2);
                }
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceForInit (mop_test.go)
#[test]
fn race_for_init() {
    race(|| async {
        let c = goro::chan::<i32>(0);
        let x = var(0);
        {
            let (c, x) = (c.clone(), x.clone());
            goro::go!(async move {
                c.send(x.get()).await;
            });
        }
        // for x = 42; false; {}
        x.set(42);
        c.recv().await;
    });
}

// TestNoRaceForInit (mop_test.go)
#[test]
fn no_race_for_init() {
    no_race(|| async {
        let done = goro::chan::<bool>(0);
        let c = goro::chan::<bool>(0);
        let x = var(0);
        {
            let (done, c, x) = (done.clone(), c.clone(), x.clone());
            goro::go!(async move {
                loop {
                    if c.recv().await.is_none() {
                        done.send(true).await;
                        return;
                    }
                    x.set(x.get() + 1);
                }
            });
        }
        // for x = 42; i < 10; i++ { c <- true }
        x.set(42);
        for _ in 0..10 {
            c.send(true).await;
        }
        c.close();
        done.recv().await;
    });
}

// TestRaceForTest (mop_test.go)
#[test]
fn race_for_test() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        let c = goro::chan::<bool>(0);
        let stop = var(false);
        {
            let (done, c, stop) = (done.clone(), c.clone(), stop.clone());
            goro::go!(async move {
                loop {
                    if c.recv().await.is_none() {
                        done.send(true).await;
                        return;
                    }
                    stop.set(true);
                }
            });
        }
        while !stop.get() {
            c.send(true).await;
        }
        c.close();
        done.recv().await;
    });
}

// TestRaceForIncr (mop_test.go)
#[test]
fn race_for_incr() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        let c = goro::chan::<bool>(0);
        let x = var(0);
        {
            let (done, c, x) = (done.clone(), c.clone(), x.clone());
            goro::go!(async move {
                loop {
                    if c.recv().await.is_none() {
                        done.send(true).await;
                        return;
                    }
                    x.set(x.get() + 1);
                }
            });
        }
        // for i := 0; i < 10; x++ { i++; c <- true }
        let mut i = 0;
        while i < 10 {
            i += 1;
            c.send(true).await;
            x.set(x.get() + 1);
        }
        c.close();
        done.recv().await;
    });
}

// TestNoRaceForIncr (mop_test.go)
#[test]
fn no_race_for_incr() {
    no_race(|| async {
        let done = goro::chan::<bool>(0);
        let x = var(0);
        {
            let (done, x) = (done.clone(), x.clone());
            goro::go!(async move {
                x.set(x.get() + 1);
                done.send(true).await;
            });
        }
        // for i := 0; i < 0; x++ {}: the post statement never runs.
        let n = 0;
        for _ in 0..n {
            x.set(x.get() + 1);
        }
        done.recv().await;
    });
}

// TestRacePlus (mop_test.go)
#[test]
fn race_plus() {
    race(|| async {
        let (x, y, z) = (var(0), var(0), var(0));
        let ch = goro::chan::<i32>(2);
        {
            let (x, y, z, ch) = (x.clone(), y.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get() + z.get());
                ch.send(1).await;
            });
        }
        {
            let (x, y, z, ch) = (x.clone(), y.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get() + z.get() + z.get());
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRacePlus2 (mop_test.go)
#[test]
fn race_plus2() {
    race(|| async {
        let (x, y, z) = (var(0), var(0), var(0));
        let ch = goro::chan::<i32>(2);
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(1);
                ch.send(1).await;
            });
        }
        {
            let (x, y, z, ch) = (x.clone(), y.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get() + z.get());
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestNoRacePlus (mop_test.go)
#[test]
fn no_race_plus() {
    no_race(|| async {
        let (x, y, z, f) = (var(0), var(0), var(0), var(0));
        let ch = goro::chan::<i32>(2);
        {
            let (x, y, z, ch) = (x.clone(), y.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                y.set(x.get() + z.get());
                ch.send(1).await;
            });
        }
        {
            let (x, z, f, ch) = (x.clone(), z.clone(), f.clone(), ch.clone());
            goro::go!(async move {
                f.set(z.get() + x.get());
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceComplement (mop_test.go)
#[test]
fn race_complement() {
    race(|| async {
        let (x, y, z) = (var(0), var(0), var(0));
        let ch = goro::chan::<i32>(2);
        {
            let (x, y, ch) = (x.clone(), y.clone(), ch.clone());
            goro::go!(async move {
                x.set(!y.get());
                ch.send(1).await;
            });
        }
        {
            let (y, z, ch) = (y.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                y.set(!z.get());
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceDiv (mop_test.go)
#[test]
fn race_div() {
    race(|| async {
        let (x, y, z) = (var(0), var(0), var(0));
        let ch = goro::chan::<i32>(2);
        {
            let (x, y, z, ch) = (x.clone(), y.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                x.set(y.get() / (z.get() + 1));
                ch.send(1).await;
            });
        }
        {
            let (y, z, ch) = (y.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                y.set(z.get());
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceMod (mop_test.go)
#[test]
fn race_mod() {
    race(|| async {
        let (x, y, z) = (var(0), var(0), var(0));
        let ch = goro::chan::<i32>(2);
        {
            let (x, y, z, ch) = (x.clone(), y.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                x.set(y.get() % (z.get() + 1));
                ch.send(1).await;
            });
        }
        {
            let (y, z, ch) = (y.clone(), z.clone(), ch.clone());
            goro::go!(async move {
                y.set(z.get());
                ch.send(1).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

/// `emptyFunc` of mop_test.go: uses its argument, does nothing.
fn empty_func(x: i32) {
    std::hint::black_box(x);
}

// TestRaceFuncArgument (mop_test.go)
#[test]
fn race_func_argument() {
    race(|| async {
        let x = var(0);
        let ch = goro::chan::<bool>(1);
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                empty_func(x.get());
                ch.send(true).await;
            });
        }
        x.set(1);
        ch.recv().await;
    });
}

// TestRaceFuncArgument2 (mop_test.go)
#[test]
fn race_func_argument2() {
    race(|| async {
        let x = var(0);
        let ch = goro::chan::<bool>(2);
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(42);
                ch.send(true).await;
            });
        }
        {
            // go func(y int) { ch <- true }(x): x is read by the spawner.
            let y = x.get();
            let ch = ch.clone();
            goro::go!(async move {
                let _ = y;
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
    });
}

// TestRaceArrayCopy (mop_test.go)
#[test]
fn race_array_copy() {
    race(|| async {
        let ch = goro::chan::<bool>(1);
        let a = array(5);
        {
            let (ch, a) = (ch.clone(), a.clone());
            goro::go!(async move {
                a[3].set(1);
                ch.send(true).await;
            });
        }
        // a = [5]int{1, 2, 3, 4, 5}
        for (e, v) in a.iter().zip(1..) {
            e.set(v);
        }
        ch.recv().await;
    });
}

// TestRaceStructRW (mop_test.go)
#[test]
fn race_struct_rw() {
    race(|| async {
        let p = Arc::new(Point::default());
        let ch = goro::chan::<bool>(1);
        {
            let (p, ch) = (p.clone(), ch.clone());
            goro::go!(async move {
                p.store(1, 1);
                ch.send(true).await;
            });
        }
        let q = p.load();
        ch.recv().await;
        p.store(q.0, q.1);
    });
}

// TestRaceStructFieldRW1 (mop_test.go)
#[test]
fn race_struct_field_rw1() {
    race(|| async {
        let p = Arc::new(Point::default());
        let ch = goro::chan::<bool>(1);
        {
            let (p, ch) = (p.clone(), ch.clone());
            goro::go!(async move {
                p.x.set(1);
                ch.send(true).await;
            });
        }
        let _ = p.x.get();
        ch.recv().await;
    });
}

// TestNoRaceStructFieldRW1 (mop_test.go)
#[test]
fn no_race_struct_field_rw1() {
    no_race(|| async {
        // Same struct, different fields.
        let p = Arc::new(Point::default());
        let ch = goro::chan::<bool>(1);
        {
            let (p, ch) = (p.clone(), ch.clone());
            goro::go!(async move {
                p.x.set(1);
                ch.send(true).await;
            });
        }
        p.y.set(1);
        ch.recv().await;
        let _ = p.load();
    });
}

/// `type NamedPoint struct { name string; p Point }`
#[derive(Default)]
struct NamedPoint {
    name: Shared<String>,
    p: Point,
}

// TestRaceStructFieldRW3 (mop_test.go)
#[test]
fn race_struct_field_rw3() {
    race(|| async {
        let p = Arc::new(NamedPoint::default());
        p.name.set("a".to_string());
        let ch = goro::chan::<bool>(1);
        {
            let (p, ch) = (p.clone(), ch.clone());
            goro::go!(async move {
                p.p.x.set(1);
                ch.send(true).await;
            });
        }
        let _ = p.p.x.get();
        ch.recv().await;
    });
}

// TestRaceEfaceWW (mop_test.go)
#[test]
fn race_eface_ww() {
    race(|| async {
        let a = var(None::<Box<dyn std::any::Any + Send>>);
        let b = var(None::<Box<dyn std::any::Any + Send>>);
        let ch = goro::chan::<bool>(1);
        {
            let (a, ch) = (a.clone(), ch.clone());
            goro::go!(async move {
                a.set(Some(Box::new(1)));
                ch.send(true).await;
            });
        }
        a.set(Some(Box::new(2)));
        ch.recv().await;
        let _ = (a.with(|a| a.is_some()), b.with(|b| b.is_some()));
    });
}

// TestRaceError (mop_test.go)
#[test]
fn race_error() {
    race(|| async {
        let ch = goro::chan::<bool>(1);
        let err = var(None::<std::io::Error>);
        {
            let (err, ch) = (err.clone(), ch.clone());
            goro::go!(async move {
                err.set(None);
                ch.send(true).await;
            });
        }
        let _ = err.with(|e| e.is_some());
        ch.recv().await;
    });
}

// TestRaceIntptrRW (mop_test.go)
#[test]
fn race_intptr_rw() {
    race(|| async {
        let x = var(0);
        let y = var(0);
        let p = x.clone(); // var p *int = &x
        let ch = goro::chan::<bool>(1);
        {
            let (p, ch) = (p.clone(), ch.clone());
            goro::go!(async move {
                p.set(5);
                ch.send(true).await;
            });
        }
        y.set(p.get());
        x.set(y.get());
        ch.recv().await;
    });
}

// TestRaceStringRW (mop_test.go)
#[test]
fn race_string_rw() {
    race(|| async {
        let ch = goro::chan::<bool>(1);
        let s = var(String::new());
        {
            let (s, ch) = (s.clone(), ch.clone());
            goro::go!(async move {
                s.set("abacaba".to_string());
                ch.send(true).await;
            });
        }
        let _ = s.get();
        ch.recv().await;
    });
}

// TestRaceFloat64WW (mop_test.go)
#[test]
fn race_float64_ww() {
    race(|| async {
        let (x, y) = (var(0.0f64), var(0.0f64));
        let ch = goro::chan::<bool>(1);
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(1.0);
                ch.send(true).await;
            });
        }
        x.set(2.0);
        ch.recv().await;
        y.set(x.get());
        x.set(y.get());
    });
}

// TestRaceFuncVariableRW (mop_test.go)
#[test]
fn race_func_variable_rw() {
    race(|| async {
        let f = var((|x| x * x) as fn(i32) -> i32);
        let ch = goro::chan::<bool>(1);
        {
            let (f, ch) = (f.clone(), ch.clone());
            goro::go!(async move {
                f.set(|x| x);
                ch.send(true).await;
            });
        }
        let y = (f.get())(1);
        ch.recv().await;
        let x = y;
        let _ = x;
    });
}

// TestRaceFuncVariableWW (mop_test.go)
#[test]
fn race_func_variable_ww() {
    race(|| async {
        let f = var(None::<fn(i32) -> i32>);
        let ch = goro::chan::<bool>(1);
        {
            let (f, ch) = (f.clone(), ch.clone());
            goro::go!(async move {
                f.set(Some(|x| x));
                ch.send(true).await;
            });
        }
        f.set(Some(|x| x * x));
        ch.recv().await;
    });
}

// TestRacePanic (mop_test.go)
#[test]
fn race_panic() {
    race(|| async {
        let x = var(0);
        let zero = var(0);
        let ch = goro::chan::<bool>(2);
        for v in [1, 2] {
            let (x, zero, ch) = (x.clone(), zero.clone(), ch.clone());
            goro::go!(async move {
                let err = recover(async {
                    let y = 1 / zero.get();
                    zero.set(y);
                })
                .await;
                if err.is_none() {
                    panic!("should be panicking");
                }
                x.set(v);
                ch.send(true).await;
            });
        }
        ch.recv().await;
        ch.recv().await;
        if zero.get() != 0 {
            panic!("zero has changed");
        }
    });
}

// TestNoRaceBlank (mop_test.go)
#[test]
fn no_race_blank() {
    no_race(|| async {
        let a = array(5);
        let ch = goro::chan::<bool>(1);
        {
            let (a, ch) = (a.clone(), ch.clone());
            goro::go!(async move {
                let _ = (a[0].get(), a[1].get());
                ch.send(true).await;
            });
        }
        let _ = (a[2].get(), a[3].get());
        ch.recv().await;
        a[1].set(a[0].get());
    });
}

// TestNoRaceFuncArgsRW (mop_test.go)
#[test]
fn no_race_func_args_rw() {
    no_race(|| async {
        let ch = goro::chan::<u8>(1);
        let x = var(0u8);
        {
            // go func(y byte) { .. }(x): x is read by the spawner.
            let y = x.get();
            let ch = ch.clone();
            goro::go!(async move {
                let _ = y;
                ch.send(0).await;
            });
        }
        x.set(1);
        ch.recv().await;
    });
}

// TestRaceFuncArgsRW (mop_test.go)
#[test]
fn race_func_args_rw() {
    race(|| async {
        let ch = goro::chan::<u8>(1);
        let x = var(0u8);
        {
            // go func(y *byte) { _ = *y }(&x)
            let (y, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                let _ = y.get();
                ch.send(0).await;
            });
        }
        x.set(1);
        ch.recv().await;
    });
}

type Seen = Arc<Shared<HashMap<String, bool>>>;

/// `crawl` of TestRaceCrawl.
fn crawl(
    u: String,
    d: i32,
    seen: Seen,
    ch: Chan<i32>,
    wg: WaitGroup,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let mut nurl = 0;
        seen.with_mut(|s| s.insert(u, true));
        if d > 0 {
            for uu in ["a", "b", "c"] {
                if !seen.with(|s| s.contains_key(uu)) {
                    wg.add(1);
                    goro::go!(crawl(
                        uu.to_string(),
                        d - 1,
                        seen.clone(),
                        ch.clone(),
                        wg.clone()
                    ));
                    nurl += 1;
                }
            }
        }
        wg.done();
        // defer func() { ch <- nurl }()
        ch.send(nurl).await;
    })
}

// TestRaceCrawl (mop_test.go)
#[test]
fn race_crawl() {
    race(|| async {
        let url = "dummyurl".to_string();
        let depth = 3;
        let seen: Seen = var(HashMap::new());
        let ch = goro::chan::<i32>(100);
        let wg = WaitGroup::new();
        wg.add(1);
        goro::go!(crawl(url, depth, seen, ch, wg.clone()));
        wg.wait().await;
    });
}

// TestRaceIndirection (mop_test.go)
#[test]
fn race_indirection() {
    race(|| async {
        let ch = goro::chan::<()>(1);
        let y = var(0);
        let x = y.clone(); // var x *int = &y
        {
            let (x, ch) = (x.clone(), ch.clone());
            goro::go!(async move {
                x.set(1);
                ch.send(()).await;
            });
        }
        x.set(2);
        ch.recv().await;
        let _ = x.get();
    });
}

// TestRaceTLS (mop_test.go)
#[test]
fn race_tls() {
    race(|| async {
        let comm = goro::chan::<Arc<Shared<i32>>>(0);
        let done = goro::chan::<bool>(2);
        {
            let (comm, done) = (comm.clone(), done.clone());
            goro::go!(async move {
                let x = var(0);
                comm.send(x.clone()).await;
                x.set(1);
                let p = comm.recv().await.unwrap();
                x.set(p.get());
                done.send(true).await;
            });
        }
        {
            let (comm, done) = (comm.clone(), done.clone());
            goro::go!(async move {
                let p = comm.recv().await.unwrap();
                p.set(2);
                comm.send(p).await;
                done.send(true).await;
            });
        }
        done.recv().await;
        done.recv().await;
    });
}

/// The shape shared by the `&&` / `||` tests: a goroutine writes `w` (x or
/// y), main evaluates `cond` (which may short-circuit) while it runs.
async fn short_circuit(write_y: bool, cond: fn(&Shared<i32>, &Shared<i32>) -> bool) {
    let c = goro::chan::<bool>(0);
    let (x, y) = (var(0), var(0));
    {
        let (c, w) = (c.clone(), if write_y { y.clone() } else { x.clone() });
        goro::go!(async move {
            w.set(1);
            c.send(true).await;
        });
    }
    // if cond {}
    let _ = cond(&x, &y);
    c.recv().await;
}

// TestRaceAnd (mop_test.go)
#[test]
fn race_and() {
    race(|| short_circuit(false, |x, y| x.get() == 1 && y.get() == 1));
}

// TestRaceAnd2 (mop_test.go)
#[test]
fn race_and2() {
    race(|| short_circuit(false, |x, y| y.get() == 0 && x.get() == 1));
}

// TestNoRaceAnd (mop_test.go)
#[test]
fn no_race_and() {
    no_race(|| short_circuit(false, |x, y| y.get() == 1 && x.get() == 1));
}

// TestRaceOr (mop_test.go)
#[test]
fn race_or() {
    race(|| short_circuit(false, |x, y| x.get() == 1 || y.get() == 1));
}

// TestRaceOr2 (mop_test.go)
#[test]
fn race_or2() {
    race(|| short_circuit(false, |x, y| y.get() == 1 || x.get() == 1));
}

// TestNoRaceOr (mop_test.go)
#[test]
fn no_race_or() {
    no_race(|| short_circuit(false, |x, y| y.get() == 0 || x.get() == 1));
}

// TestNoRaceShortCalc (mop_test.go)
#[test]
fn no_race_short_calc() {
    no_race(|| short_circuit(true, |x, y| x.get() == 0 || y.get() == 0));
}

// TestNoRaceShortCalc2 (mop_test.go)
#[test]
fn no_race_short_calc2() {
    no_race(|| short_circuit(true, |x, y| x.get() == 1 && y.get() == 0));
}

// TestRaceFuncItself (mop_test.go)
#[test]
fn race_func_itself() {
    race(|| async {
        let c = goro::chan::<bool>(0);
        let f = var((|| {}) as fn());
        {
            let (c, f) = (c.clone(), f.clone());
            goro::go!(async move {
                (f.get())();
                c.send(true).await;
            });
        }
        f.set(|| {});
        c.recv().await;
    });
}

// TestNoRaceFuncUnlock (mop_test.go)
#[test]
fn no_race_func_unlock() {
    no_race(|| async {
        let ch = goro::chan::<bool>(1);
        let mu = Arc::new(Mutex::new(()));
        let x = var(0);
        {
            let (ch, mu, x) = (ch.clone(), mu.clone(), x.clone());
            goro::go!(async move {
                let g = mu.lock().await;
                x.set(42);
                drop(g);
                ch.send(true).await;
            });
        }
        // x = func(mu *sync.Mutex) int { mu.Lock(); return 43 }(&mu)
        let (v, g) = {
            let g = mu.lock().await;
            (43, g)
        };
        x.set(v);
        drop(g); // mu.Unlock()
        ch.recv().await;
    });
}

// TestRaceStructInit (mop_test.go)
#[test]
fn race_struct_init() {
    race(|| async {
        struct X {
            x: i32,
            y: i32,
        }
        let c = goro::chan::<bool>(1);
        let y = var(0);
        {
            let (c, y) = (c.clone(), y.clone());
            goro::go!(async move {
                y.set(42);
                c.send(true).await;
            });
        }
        let x = X { x: y.get(), y: 0 };
        let _ = (x.x, x.y);
        c.recv().await;
    });
}

// TestRaceArrayInit (mop_test.go)
#[test]
fn race_array_init() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let y = var(0);
        {
            let (c, y) = (c.clone(), y.clone());
            goro::go!(async move {
                y.set(42);
                c.send(true).await;
            });
        }
        let x = [0, y.get(), 42];
        let _ = x;
        c.recv().await;
    });
}

// TestRaceMapInit (mop_test.go)
#[test]
fn race_map_init() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let y = var(0);
        {
            let (c, y) = (c.clone(), y.clone());
            goro::go!(async move {
                y.set(42);
                c.send(true).await;
            });
        }
        let x = HashMap::from([(0, 42), (y.get(), 42)]);
        let _ = x;
        c.recv().await;
    });
}

// TestRaceMapInit2 (mop_test.go)
#[test]
fn race_map_init2() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let y = var(0);
        {
            let (c, y) = (c.clone(), y.clone());
            goro::go!(async move {
                y.set(42);
                c.send(true).await;
            });
        }
        let x = HashMap::from([(0, 42), (42, y.get())]);
        let _ = x;
        c.recv().await;
    });
}

// TestRaceFuncCall (mop_test.go)
#[test]
fn race_func_call() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let f = |x: i32, y: i32| {
            let _ = (x, y);
        };
        let (x, y) = (var(0), var(0));
        {
            let (c, y) = (c.clone(), y.clone());
            goro::go!(async move {
                y.set(42);
                c.send(true).await;
            });
        }
        f(x.get(), y.get());
        c.recv().await;
    });
}

/// `type InterImpl struct { x, y int }` with its no-op method `Foo`.
#[derive(Default)]
struct InterImpl;

impl InterImpl {
    fn foo(&self, x: i32) {
        std::hint::black_box(x);
    }
}

// TestRaceMethodCall (mop_test.go)
#[test]
fn race_method_call() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let i = InterImpl;
        let x = var(0);
        {
            let (c, x) = (c.clone(), x.clone());
            goro::go!(async move {
                x.set(42);
                c.send(true).await;
            });
        }
        i.foo(x.get());
        c.recv().await;
    });
}

// TestRaceDeferArg (mop_test.go)
#[test]
fn race_defer_arg() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let x = var(0);
        {
            let (c, x) = (c.clone(), x.clone());
            goro::go!(async move {
                x.set(42);
                c.send(true).await;
            });
        }
        {
            // defer func(x int) {}(x): the argument is evaluated at the defer.
            let deferred = x.get();
            let _ = deferred;
        }
        c.recv().await;
    });
}

// TestRaceAsFunc2 (mop_test.go)
#[test]
fn race_as_func2() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let x = var(0);
        {
            let (c, x) = (c.clone(), x.clone());
            goro::go!(async move {
                let f = |x: i32| {
                    let _ = x;
                };
                f(x.get());
                c.send(true).await;
            });
        }
        x.set(42);
        c.recv().await;
    });
}

// TestRaceAsFunc3 (mop_test.go)
#[test]
fn race_as_func3() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let mu = Arc::new(Mutex::new(()));
        let x = var(0);
        {
            let (c, mu, x) = (c.clone(), mu.clone(), x.clone());
            goro::go!(async move {
                // func(x int) { mu.Lock() }(x): read of x must be outside
                // of the mutex.
                let arg = x.get();
                let g = mu.lock().await;
                let _ = arg;
                drop(g); // mu.Unlock()
                c.send(true).await;
            });
        }
        let g = mu.lock().await;
        x.set(42);
        drop(g);
        c.recv().await;
    });
}

// TestNoRaceAsFunc4 (mop_test.go)
#[test]
fn no_race_as_func4() {
    no_race(|| async {
        let c = goro::chan::<bool>(1);
        let mu = Arc::new(Mutex::new(()));
        let x = var(0);
        {
            let (c, mu, x) = (c.clone(), mu.clone(), x.clone());
            goro::go!(async move {
                // x = func() int { mu.Lock(); return 42 }(): write of x must
                // be under the mutex.
                let g = mu.lock().await;
                x.set(42);
                drop(g); // mu.Unlock()
                c.send(true).await;
            });
        }
        let g = mu.lock().await;
        x.set(42);
        drop(g);
        c.recv().await;
    });
}

// TestRaceHeapParam (mop_test.go)
#[test]
fn race_heap_param() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        // x := func() (x int) { go func() { x = 42; .. }(); return }()
        let x = {
            let x = var(0);
            {
                let (x, done) = (x.clone(), done.clone());
                goro::go!(async move {
                    x.set(42);
                    done.send(true).await;
                });
            }
            x.get()
        };
        let _ = x;
        done.recv().await;
    });
}

// TestRaceBlockAs (mop_test.go)
#[test]
fn race_block_as() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let (x, y) = (var(0), var(0));
        {
            let (c, x) = (c.clone(), x.clone());
            goro::go!(async move {
                x.set(42);
                c.send(true).await;
            });
        }
        // x, y = y, x
        let (a, b) = (y.get(), x.get());
        x.set(a);
        y.set(b);
        c.recv().await;
    });
}

// TestRaceBlockCall1 (mop_test.go)
#[test]
fn race_block_call1() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        let (x, y) = (var(0), var(0));
        {
            let (done, x, y) = (done.clone(), x.clone(), y.clone());
            goro::go!(async move {
                let f = || (42, 43);
                let (a, b) = f();
                x.set(a);
                y.set(b);
                done.send(true).await;
            });
        }
        let _ = x.get();
        done.recv().await;
        if x.get() != 42 || y.get() != 43 {
            panic!("corrupted data");
        }
    });
}

// TestRaceBlockCall2 (mop_test.go)
#[test]
fn race_block_call2() {
    race(|| async {
        let done = goro::chan::<bool>(0);
        let (x, y) = (var(0), var(0));
        {
            let (done, x, y) = (done.clone(), x.clone(), y.clone());
            goro::go!(async move {
                let f = || (42, 43);
                let (a, b) = f();
                x.set(a);
                y.set(b);
                done.send(true).await;
            });
        }
        let _ = y.get();
        done.recv().await;
        if x.get() != 42 || y.get() != 43 {
            panic!("corrupted data");
        }
    });
}

// TestRaceSliceSlice2 (mop_test.go)
#[test]
fn race_slice_slice2() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        let x = [0; 10];
        let i = var(2usize);
        {
            let (c, i) = (c.clone(), i.clone());
            goro::go!(async move {
                i.set(3);
                c.send(true).await;
            });
        }
        let _ = &x[i.get()..4];
        c.recv().await;
    });
}

/// `type X struct { x, y int }` of TestRaceNestedStruct.
#[derive(Default)]
struct NestedX {
    x: Shared<i32>,
    y: Shared<i32>,
}

/// `type Y struct { x X }` of TestRaceNestedStruct.
#[derive(Default)]
struct NestedY {
    x: NestedX,
}

// TestRaceNestedStruct (mop_test.go)
#[test]
fn race_nested_struct() {
    race(|| async {
        let c = goro::chan::<(i32, i32)>(0);
        let y = Arc::new(NestedY::default());
        {
            let (c, y) = (c.clone(), y.clone());
            goro::go!(async move {
                // c <- y: a copy of the whole struct.
                c.send((y.x.x.get(), y.x.y.get())).await;
            });
        }
        y.x.y.set(42);
        c.recv().await;
    });
}

/// `type X struct { y int64; Empty }` of TestNoRaceEmptyStruct.
#[derive(Default)]
struct EmptyX {
    y: Shared<i64>,
}

/// `type Y struct { x X; y int64 }` of TestNoRaceEmptyStruct.
#[derive(Default)]
struct EmptyY {
    x: EmptyX,
    y: Shared<i64>,
}

// TestNoRaceEmptyStruct (mop_test.go)
#[test]
fn no_race_empty_struct() {
    no_race(|| async {
        let c = goro::chan::<i64>(0);
        let y = Arc::new(EmptyY::default());
        {
            let (c, y) = (c.clone(), y.clone());
            goro::go!(async move {
                let x = y.x.y.get(); // x := y.x
                c.send(x).await;
            });
        }
        y.y.set(42);
        c.recv().await;
    });
}

// TestRaceStructInd (mop_test.go)
#[test]
fn race_struct_ind() {
    race(|| async {
        let c = goro::chan::<bool>(1);
        // type Item struct { x, y int }
        let i = Arc::new(Point::default());
        {
            // go func(p *Item) { *p = Item{}; .. }(&i)
            let (c, p) = (c.clone(), i.clone());
            goro::go!(async move {
                p.store(0, 0);
                c.send(true).await;
            });
        }
        i.y.set(42);
        c.recv().await;
    });
}
