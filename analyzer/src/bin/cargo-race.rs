//! `cargo race`: run tests under goro's detector. See `cargo race --help`.

fn main() {
    std::process::exit(goro_analyzer::cli::run(std::env::args_os()));
}
