#[goro::instrument(expect = "data_race")]
#[test]
async fn counter_is_race_free() {}

#[goro::instrument(allow = ["goroutine-leak", "races"])]
#[test]
async fn leaks() {}

fn main() {}
