use goro::context;

#[goro::instrument]
impl Server {
    fn handle(&self) {
        context::with_cancel(&self.root);
    }
}

struct Server {
    root: context::Context,
}

#[goro::test]
async fn in_a_test() {
    let root = context::background();
    let (_ctx, _) = context::with_cancel(&root);
}

fn main() {
    let _ = Server::handle;
}
