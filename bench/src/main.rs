//! `goro-bench`: runs one workload of `shared/bench/WORKLOADS.md` and prints
//! one line, so that `bench/compare.sh` (or any script) can pair it with the
//! Go twin in `bench/go/`.
//!
//! ```text
//! goro-bench <workload> <N> <production|detect>
//! workload=pingpong n=1000000 mode=production wall_s=0.123456 ns_per_op=123.46
//! ```
//!
//! Only the workload body is timed: runtime start-up and shutdown are not,
//! and neither are they in the Go twin.

mod workloads;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use workloads::Workload;

/// How the workload runs: what the third argument selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `goro::run` on the multi-thread production executor.
    Production,
    /// Under goro's deterministic detecting scheduler (one thread, one
    /// schedule).
    Detect,
}

impl Mode {
    /// The spelling used on the command line and in the output line.
    fn name(self) -> &'static str {
        match self {
            Mode::Production => "production",
            Mode::Detect => "detect",
        }
    }

    fn parse(s: &str) -> Option<Mode> {
        match s {
            "production" => Some(Mode::Production),
            "detect" => Some(Mode::Detect),
            _ => None,
        }
    }
}

/// A validated command line.
#[derive(Debug)]
struct Args {
    workload: Workload,
    n: u64,
    mode: Mode,
}

/// The usage text, listing every workload with its default N.
fn usage() -> String {
    let mut s = String::from(
        "usage: goro-bench <workload> <N> <production|detect>\n\
         \n\
         Runs one workload of shared/bench/WORKLOADS.md and prints one line:\n\
         workload=<name> n=<N> mode=<mode> wall_s=<seconds> ns_per_op=<ns>\n\
         \n\
         workloads (default N):\n",
    );
    for w in Workload::ALL {
        s.push_str(&format!("  {:<13} {}\n", w.name(), w.default_n()));
    }
    s
}

/// Parses `<workload> <N> <mode>`; the error says what is wrong.
fn parse_args(argv: &[String]) -> Result<Args, String> {
    let [workload, n, mode] = argv else {
        return Err(format!(
            "expected 3 arguments (workload, N, mode), got {}",
            argv.len()
        ));
    };
    let workload = Workload::parse(workload).ok_or_else(|| {
        let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
        format!(
            "unknown workload `{workload}` (one of: {})",
            names.join(", ")
        )
    })?;
    // Underscores are accepted as digit separators (`1_000_000`).
    let n = n
        .replace('_', "")
        .parse::<u64>()
        .ok()
        // WaitGroup counters are `isize`: N must fit one.
        .filter(|&n| n >= 1 && isize::try_from(n).is_ok())
        .ok_or_else(|| format!("N must be a positive integer, got `{n}`"))?;
    let mode = Mode::parse(mode)
        .ok_or_else(|| format!("mode must be `production` or `detect`, got `{mode}`"))?;
    Ok(Args { workload, n, mode })
}

/// The one output line of WORKLOADS.md; the Go twin prints the same format.
fn report_line(workload: Workload, n: u64, mode: Mode, wall: Duration) -> String {
    let ns_per_op = wall.as_nanos() as f64 / n as f64;
    format!(
        "workload={} n={} mode={} wall_s={:.6} ns_per_op={:.2}",
        workload.name(),
        n,
        mode.name(),
        wall.as_secs_f64(),
        ns_per_op
    )
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if matches!(argv.first().map(String::as_str), Some("-h" | "--help")) {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("goro-bench: {e}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    if args.mode == Mode::Detect {
        // No numbers rather than numbers from the wrong scheduler.
        eprintln!(
            "goro-bench: detect mode needs goro's detector (goro::race), which does not exist yet; \
             nothing was run"
        );
        return ExitCode::from(2);
    }
    let (workload, n) = (args.workload, args.n);
    let wall = goro::run(async move {
        // Timed inside the main goroutine: runtime start-up is excluded, as
        // it is in the Go twin where the timer starts in main().
        let start = Instant::now();
        workload.run(n).await;
        start.elapsed()
    });
    println!("{}", report_line(workload, n, args.mode, wall));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Args, String> {
        parse_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_a_valid_command_line() {
        let a = args(&["pingpong", "1_000", "production"]).unwrap();
        assert_eq!(a.workload, Workload::Pingpong);
        assert_eq!(a.n, 1000);
        assert_eq!(a.mode, Mode::Production);
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(args(&[]).is_err());
        assert!(args(&["nope", "10", "production"]).is_err());
        assert!(args(&["spawn", "0", "production"]).is_err());
        assert!(args(&["spawn", "-3", "production"]).is_err());
        assert!(args(&["spawn", "10", "fast"]).is_err());
        assert!(args(&["spawn", "10", "production", "extra"]).is_err());
    }

    #[test]
    fn report_line_has_the_documented_shape() {
        let l = report_line(
            Workload::Buffered,
            4,
            Mode::Production,
            Duration::from_nanos(1000),
        );
        assert_eq!(
            l,
            "workload=buffered n=4 mode=production wall_s=0.000001 ns_per_op=250.00"
        );
    }

    #[test]
    fn every_workload_name_round_trips() {
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Some(w));
        }
    }
}
