#[goro::test]
struct NotATest;

#[goro::test]
#[test]
async fn already_a_test() {}

#[goro::test]
async fn with_parameters(n: u32) {
    let _ = n;
}

fn main() {}
