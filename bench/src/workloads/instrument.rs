//! `instrument` (goro only, no Go twin): what `#[goro::instrument]` costs
//! a call when no detector is active. N calls of a small instrumented
//! function against N calls of the same function without the attribute,
//! twice: a function whose only instrumentation is its shadow call frame,
//! and one that also does three raw-pointer accesses (`*p += x; *p`), each
//! of which becomes a probe. ns per call of each, and the difference.
//!
//! The N calls of each variant are made in interleaved chunks (plain,
//! instrumented, instrumented, plain, ..), so that drift and other load on
//! the machine fall on both alike. Every function is `#[inline(never)]`, so
//! both sides pay for a real call, and arguments and results go through
//! `black_box`.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How many interleaved chunks the N calls of each variant are split into.
const CHUNKS: u64 = 20;

#[inline(never)]
fn plain_frame(x: u64) -> u64 {
    x.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (x >> 29)
}

#[goro::instrument]
#[inline(never)]
fn instrumented_frame(x: u64) -> u64 {
    x.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (x >> 29)
}

/// # Safety
/// `p` must be valid for reads and writes, and not aliased during the call.
#[inline(never)]
unsafe fn plain_raw(p: *mut u64, x: u64) -> u64 {
    // SAFETY: the caller's contract.
    unsafe {
        *p += x;
        *p
    }
}

/// # Safety
/// As for `plain_raw`.
#[goro::instrument]
#[inline(never)]
unsafe fn instrumented_raw(p: *mut u64, x: u64) -> u64 {
    // SAFETY: the caller's contract.
    unsafe {
        *p += x;
        *p
    }
}

/// The per-call times of one pair, plain and instrumented, in nanoseconds.
#[derive(Clone, Copy, Debug)]
pub struct Pair {
    /// ns per call without the attribute.
    pub plain: f64,
    /// ns per call with `#[goro::instrument]`.
    pub instrumented: f64,
}

impl Pair {
    /// What the attribute adds to a call.
    pub fn overhead(self) -> f64 {
        self.instrumented - self.plain
    }
}

/// What the workload measured.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// A call whose instrumentation is its frame.
    pub frame: Pair,
    /// A call with a frame and three raw-pointer probes.
    pub raw: Pair,
    /// The time of the N instrumented frame-only calls: the line's `wall_s`.
    pub wall: Duration,
}

/// Times `calls` calls of `f` over `0..calls` (offset by `from`), folding
/// the results so that the work is not optimized away.
fn time(from: u64, calls: u64, f: &mut impl FnMut(u64) -> u64) -> (Duration, u64) {
    let mut acc = 0u64;
    let start = Instant::now();
    for i in from..from + calls {
        acc = acc.wrapping_add(f(black_box(i)));
    }
    (start.elapsed(), black_box(acc))
}

/// N calls of each variant of `a` and `b`, interleaved in chunks; the
/// total time of each, and whether both computed the same thing.
fn pair(
    n: u64,
    mut a: impl FnMut(u64) -> u64,
    mut b: impl FnMut(u64) -> u64,
) -> (Duration, Duration, bool) {
    let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
    let (mut sa, mut sb) = (0u64, 0u64);
    let mut from = 0;
    for c in 0..CHUNKS {
        let calls = super::share(n, CHUNKS, c);
        // Alternate which goes first, so that neither always runs warm.
        let ((da, ra), (db, rb)) = if c % 2 == 0 {
            let x = time(from, calls, &mut a);
            (x, time(from, calls, &mut b))
        } else {
            let y = time(from, calls, &mut b);
            (time(from, calls, &mut a), y)
        };
        ta += da;
        tb += db;
        sa = sa.wrapping_add(ra);
        sb = sb.wrapping_add(rb);
        from += calls;
    }
    (ta, tb, sa == sb)
}

fn per_call(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n as f64
}

/// Runs the workload and returns its measurements.
pub fn measure(n: u64) -> Measured {
    let (plain, instrumented, same) = pair(n, plain_frame, instrumented_frame);
    assert!(same, "instrument: the frame changes no result");
    let frame = Pair {
        plain: per_call(plain, n),
        instrumented: per_call(instrumented, n),
    };
    // Two cells, one per variant: each sees the same sequence of `+=`.
    let (mut cell_a, mut cell_b) = (0u64, 0u64);
    let (pa, pb): (*mut u64, *mut u64) = (&mut cell_a, &mut cell_b);
    let (raw_plain, raw_instrumented, same) = pair(
        n,
        // SAFETY: a live local, used by this variant only.
        |x| unsafe { plain_raw(black_box(pa), x) },
        // SAFETY: as above.
        |x| unsafe { instrumented_raw(black_box(pb), x) },
    );
    assert!(same, "instrument: the probes change no result");
    assert_eq!(cell_a, cell_b, "instrument: the probes change no result");
    let raw = Pair {
        plain: per_call(raw_plain, n),
        instrumented: per_call(raw_instrumented, n),
    };
    Measured {
        frame,
        raw,
        wall: instrumented,
    }
}

/// The fields the line adds after `ns_per_op` (the instrumented frame-only
/// call), all in ns per call.
pub fn extra_fields(m: &Measured) -> String {
    format!(
        "plain_ns_per_op={:.2} overhead_ns_per_op={:.2} raw_ns_per_op={:.2} \
         raw_plain_ns_per_op={:.2} raw_overhead_ns_per_op={:.2}",
        m.frame.plain,
        m.frame.overhead(),
        m.raw.instrumented,
        m.raw.plain,
        m.raw.overhead()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instrumented_and_plain_agree_without_a_detector() {
        assert!(!goro::race::enabled());
        for x in [0, 1, u64::MAX, 12_345] {
            assert_eq!(plain_frame(x), instrumented_frame(x));
        }
        let (mut a, mut b) = (5u64, 5u64);
        // SAFETY: pointers to live locals.
        unsafe {
            assert_eq!(plain_raw(&mut a, 3), 8);
            assert_eq!(instrumented_raw(&mut b, 3), 8);
        }
        assert_eq!(a, b);
    }

    #[test]
    fn measures_every_call_of_both_variants() {
        let m = measure(1000);
        for p in [m.frame, m.raw] {
            assert!(p.plain > 0.0 && p.instrumented > 0.0, "{m:?}");
        }
        let fields = extra_fields(&m);
        assert!(fields.starts_with("plain_ns_per_op="), "{fields}");
        assert_eq!(fields.split(' ').count(), 5, "{fields}");
    }
}
