struct Server;

#[goro::instrument]
impl Server {
    #[goro::instrument = "fast"]
    fn name_value(&self) {}

    #[goro::instrument(schedules = 5)]
    fn test_argument(&self) {}
}

#[goro::instrument]
mod jobs {
    #[goro::instrument(expect = "deadlock")]
    pub fn run() {}

    #[goro::test(seed = "seven")]
    async fn bad_value() {}
}

fn main() {
    Server.name_value();
    Server.test_argument();
    jobs::run();
}
