#[goro::instrument]
#[tokio::test]
async fn under_tokio() {}

#[goro::test]
#[async_std::test]
async fn under_async_std() {}

#[goro::instrument]
#[test]
#[test]
async fn twice() {}

fn main() {}
