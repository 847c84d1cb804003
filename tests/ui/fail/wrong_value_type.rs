#[goro::instrument(schedules = "many", seed = -1, strategy = pct, expect = 3)]
#[test]
async fn counter_is_race_free() {}

#[goro::instrument(allow = ["data-race", deadlock])]
#[test]
async fn leaks() {}

fn main() {}
