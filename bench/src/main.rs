//! goro-bench (placeholder: being written).
fn main() {}
