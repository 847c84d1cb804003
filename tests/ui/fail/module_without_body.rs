#[goro::instrument]
mod elsewhere;

fn main() {}
