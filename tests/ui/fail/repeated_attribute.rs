#[goro::instrument]
#[goro::instrument]
fn twice() {}

#[goro::test]
#[goro::instrument]
async fn test_and_instrument() {}

#[goro::instrument]
#[test]
#[test]
async fn test_twice() {}

fn main() {
    twice();
}
