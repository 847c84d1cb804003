//! trybuild UI tests of `#[goro::instrument]` and `#[goro::test]`: every
//! compile error they give (`ui/fail`, with the expected `.stderr`),
//! and every form they accept (`ui/pass`, built and run).
//!
//! One trybuild invocation, so the cases share one build of goro.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite` and review them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
