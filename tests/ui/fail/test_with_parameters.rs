#[goro::instrument]
#[test]
async fn counter_is_race_free(workers: usize) {
    let _ = workers;
}

fn main() {}
