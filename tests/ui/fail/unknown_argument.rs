#[goro::instrument(schedule = 500)]
#[test]
async fn counter_is_race_free() {}

#[goro::instrument(iterations = 500)]
#[test]
async fn leaks() {}

fn main() {}
