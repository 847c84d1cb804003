#[goro::test]
fn counter_is_race_free() {}

#[goro::test(schedules = 5)]
fn with_args() {}

fn main() {}
