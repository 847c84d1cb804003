#[goro::instrument]
trait Store {
    fn get(&self) -> u32;
}

fn main() {}
