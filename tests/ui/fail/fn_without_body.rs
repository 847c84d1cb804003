#[goro::instrument]
fn declared_only();

fn main() {}
