#[goro::instrument]
struct Config {
    schedules: u32,
}

#[goro::instrument]
const LIMIT: u32 = 3;

fn main() {}
