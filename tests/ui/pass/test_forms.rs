//! Every accepted form of a test. `#[test]` items are compiled out of a
//! trybuild binary, so this checks what the macro accepts; the integration
//! tests run them.

#[goro::instrument]
#[test]
async fn bare() {}

#[goro::instrument()]
#[test]
async fn empty_parentheses() {}

#[goro::instrument(
    schedules = 500,
    seed = 7,
    strategy = "pct",
    depth = 3,
    max_steps = 100_000,
    expect = "data-race",
    allow = ["goroutine-leak", "deadlock"],
)]
#[test]
async fn every_argument() {}

#[goro::instrument(strategy = "random", expect = ["send-on-closed", "double-close"])]
#[test]
async fn expect_list() {}

#[goro::instrument(depth = 2)]
#[test]
async fn depth_implies_pct() {}

#[goro::instrument(allow = "panic")]
#[test]
async fn allow_one() {}

#[goro::instrument(expect = [
    "data-race",
    "goroutine-leak",
    "deadlock",
    "lock-order-inversion",
    "send-on-closed",
    "double-close",
    "lost-cancel",
    "waitgroup-misuse",
    "panic",
])]
#[test]
async fn every_kind() {}

#[goro::instrument]
#[test]
async fn returns_result() -> Result<(), String> {
    Ok(())
}

#[goro::instrument]
#[test]
#[ignore = "attributes below stay on the test"]
#[should_panic]
async fn other_test_attributes() {
    panic!()
}

#[goro::test]
async fn goro_test() {}

#[goro::test(schedules = 10, expect = "data-race")]
async fn goro_test_with_arguments() -> Result<(), std::io::Error> {
    Ok(())
}

#[goro::instrument]
#[test]
pub async fn public() {}

/// `Result` aliases: the `Ok` type is `()`, or may be (left to the type check).
#[goro::test]
async fn io_result() -> std::io::Result<()> {
    Ok(())
}

type Outcome = Result<(), String>;

#[goro::test]
async fn aliased_result() -> Outcome {
    Ok(())
}

#[goro::test]
async fn unit_spelled_out() -> () {}

fn main() {}
