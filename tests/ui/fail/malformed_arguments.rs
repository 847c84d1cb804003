#[goro::instrument(500)]
#[test]
async fn literal_only() {}

#[goro::instrument(schedules = )]
#[test]
async fn missing_value() {}

#[goro::test(schedules = 5 seed = 1)]
async fn missing_comma() {}

fn main() {}
