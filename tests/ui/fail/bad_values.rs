#[goro::instrument(schedules = 0, strategy = "fifo")]
#[test]
async fn zero() {}

#[goro::instrument(strategy = "random", depth = 2)]
#[test]
async fn depth_without_pct() {}

#[goro::instrument(seed = 1, seed = 2)]
#[test]
async fn twice() {}

#[goro::instrument(expect = "panic", allow = ["panic"])]
#[test]
async fn both() {}

#[goro::instrument(max_steps = 99999999999999999999999)]
#[test]
async fn huge() {}

#[goro::instrument(schedules)]
#[test]
async fn no_value() {}

fn main() {}
