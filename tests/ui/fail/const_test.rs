#[goro::test]
const fn answer() {}

fn main() {}
