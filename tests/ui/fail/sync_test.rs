#[goro::instrument]
#[test]
fn counter_is_race_free() {}

fn main() {}
