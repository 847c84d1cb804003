use goro::context;

#[goro::instrument]
fn parse_with_deadline(parent: &context::Context, s: &str) -> Result<u32, std::num::ParseIntError> {
    let (ctx, cancel) = context::with_deadline(parent, goro::time::now());
    let n: u32 = s.parse()?;
    cancel.cancel();
    drop(ctx);
    Ok(n)
}

fn main() {
    let _ = parse_with_deadline;
}
