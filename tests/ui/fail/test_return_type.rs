#[goro::instrument]
#[test]
async fn returns_a_number() -> i32 {
    42
}

#[goro::test]
async fn returns_a_value_in_ok() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
