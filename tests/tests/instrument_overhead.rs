//! What `#[goro::instrument]` costs with no detector active: a frame per
//! call and a probe per raw access, each one thread-local check. A rough
//! measurement, not a benchmark (goro-bench owns those); run it with
//! `cargo test -p goro-tests --release --test instrument_overhead -- --ignored --nocapture`.

use std::hint::black_box;
use std::time::{Duration, Instant};

#[inline(never)]
fn plain(p: *mut u64, x: u64) -> u64 {
    // SAFETY: p points at a live local of the caller.
    unsafe {
        *p += x;
        *p
    }
}

#[goro::instrument]
#[inline(never)]
fn instrumented(p: *mut u64, x: u64) -> u64 {
    // SAFETY: as above.
    unsafe {
        *p += x;
        *p
    }
}

#[inline(never)]
fn plain_frame(_: *mut u64, x: u64) -> u64 {
    x.wrapping_mul(3)
}

#[goro::instrument]
#[inline(never)]
fn instrumented_frame(_: *mut u64, x: u64) -> u64 {
    x.wrapping_mul(3)
}

fn time(f: fn(*mut u64, u64) -> u64, n: u64) -> Duration {
    let mut cell = 0u64;
    let p: *mut u64 = &mut cell;
    let start = Instant::now();
    for i in 0..n {
        black_box(f(black_box(p), black_box(i)));
    }
    start.elapsed()
}

#[test]
#[ignore = "a timing: run in release mode by hand"]
fn overhead_without_a_detector() {
    const N: u64 = 50_000_000;
    // Warm up, then take the best of five of each.
    let best = |f| {
        time(f, N / 10);
        (0..5).map(|_| time(f, N)).min().unwrap()
    };
    let per = |d: Duration| d.as_secs_f64() * 1e9 / N as f64;
    for (what, plain, instrumented) in [
        (
            "a call (one frame)",
            plain_frame as fn(_, _) -> _,
            instrumented_frame as fn(_, _) -> _,
        ),
        (
            "a call with `*p += x; *p` (one frame, three accesses)",
            plain,
            instrumented,
        ),
    ] {
        let (p, i) = (per(best(plain)), per(best(instrumented)));
        println!(
            "{what}: plain {p:.2} ns, instrumented {i:.2} ns, overhead {:.2} ns",
            i - p
        );
    }
    assert!(!goro::race::enabled());
}
