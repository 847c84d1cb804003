#[goro::instrument(schedules = 10)]
fn helper() {}

#[goro::instrument(expect = "data-race")]
mod workers {}

fn main() {
    helper();
}
