//! `goro-bench`: runs one workload of `bench/WORKLOADS.md` and prints
//! one line, so that `bench/compare.sh` (or any script) can pair it with the
//! Go twin in `bench/go/`.
//!
//! ```text
//! goro-bench <workload> <N> <production|detect|tokio>
//! workload=pingpong n=1000000 mode=production wall_s=0.123456 ns_per_op=123.46
//! ```
//!
//! Only the workload body is timed: runtime start-up and shutdown are not,
//! and neither are they in the Go twin.
//!
//! `instrument` is goro's own (no Go twin; `compare.sh` leaves it out): N
//! calls of a `#[goro::instrument]` function and of the same function
//! without it. Its `ns_per_op` is the instrumented call, and the line goes
//! on with the plain call and the difference (see `workloads::instrument`).
//!
//! `production` runs the workload inside `goro::run` (one worker per core).
//! `detect` runs it as one schedule of goro's deterministic detecting
//! scheduler (`goro::race::explore`, seed 0, no step limit) and prints the
//! detector's findings, if any, on stderr. `tokio` runs the workload's
//! tokio twin (`pingpong`, `buffered`, `spawn`, `spawn_park`, `mutex`; see
//! `tokio_twins`), and exits 2 for a workload without one.

mod tokio_twins;
mod workloads;

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use workloads::{Extra, Workload};

/// How the workload runs: what the third argument selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `goro::run` on the multi-thread production executor.
    Production,
    /// Under goro's deterministic detecting scheduler (one thread, one
    /// schedule).
    Detect,
    /// The workload's tokio twin, on a tokio multi-thread runtime.
    Tokio,
}

impl Mode {
    /// The spelling used on the command line and in the output line.
    fn name(self) -> &'static str {
        match self {
            Mode::Production => "production",
            Mode::Detect => "detect",
            Mode::Tokio => "tokio",
        }
    }

    fn parse(s: &str) -> Option<Mode> {
        match s {
            "production" => Some(Mode::Production),
            "detect" => Some(Mode::Detect),
            "tokio" => Some(Mode::Tokio),
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
        "usage: goro-bench <workload> <N> <production|detect|tokio>\n\
         \n\
         Runs one workload of bench/WORKLOADS.md and prints one line:\n\
         workload=<name> n=<N> mode=<mode> wall_s=<seconds> ns_per_op=<ns>\n\
         (instrument, goro's own, adds plain_ns_per_op, overhead_ns_per_op and\n\
         the same three for a call with raw-pointer accesses: raw_*)\n\
         tokio: the tokio twin of spawn, spawn_park, pingpong, buffered, mutex\n\
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
        .ok_or_else(|| format!("mode must be `production`, `detect` or `tokio`, got `{mode}`"))?;
    if mode == Mode::Detect && !cfg!(feature = "detect") {
        return Err(
            "detect mode needs goro's detector: this goro-bench was built without it \
             (--no-default-features)"
                .to_string(),
        );
    }
    if mode == Mode::Tokio && !tokio_twins::WORKLOADS.contains(&workload) {
        return Err(format!(
            "`{}` has no tokio twin (tokio mode runs: {})",
            workload.name(),
            tokio_twins::WORKLOADS.map(|w| w.name()).join(", ")
        ));
    }
    Ok(Args { workload, n, mode })
}

/// The one output line of `bench/WORKLOADS.md`; the Go twin prints the same format.
/// A workload that times its own parts replaces the wall time and appends
/// its fields.
fn report_line(
    workload: Workload,
    n: u64,
    mode: Mode,
    wall: Duration,
    extra: Option<&Extra>,
) -> String {
    let wall = extra.map_or(wall, |e| e.wall);
    let ns_per_op = wall.as_nanos() as f64 / n as f64;
    let mut line = format!(
        "workload={} n={} mode={} wall_s={:.6} ns_per_op={:.2}",
        workload.name(),
        n,
        mode.name(),
        wall.as_secs_f64(),
        ns_per_op
    );
    if let Some(e) = extra {
        line.push(' ');
        line.push_str(&e.fields);
    }
    line
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
    if let Err(e) = workloads::fanout::parse_work() {
        eprintln!("goro-bench: {e}");
        return ExitCode::from(2);
    }
    let (workload, n) = (args.workload, args.n);
    let (wall, extra) = match args.mode {
        Mode::Production => goro::run(async move {
            // Timed inside the main goroutine: runtime start-up is excluded,
            // as it is in the Go twin where the timer starts in main().
            let start = Instant::now();
            let extra = workload.run(n).await;
            (start.elapsed(), extra)
        }),
        Mode::Tokio => (
            tokio_twins::run(workload, n).expect("checked by parse_args"),
            None,
        ),
        Mode::Detect => match run_detected(workload, n) {
            Ok(wall) => wall,
            Err(e) => {
                // No line rather than a number for a run that did not finish.
                eprintln!("goro-bench: {} under the detector: {e}", workload.name());
                return ExitCode::FAILURE;
            }
        },
    };
    println!(
        "{}",
        report_line(workload, n, args.mode, wall, extra.as_ref())
    );
    ExitCode::SUCCESS
}

/// Runs `workload` as one schedule of the detecting scheduler and returns
/// the wall time of its body (and what it timed itself). Findings go to
/// stderr (`racy_counter` must show its data race there, once); a schedule
/// that does not finish is an error.
fn run_detected(workload: Workload, n: u64) -> Result<(Duration, Option<Extra>), String> {
    let (wall, report) = detect(workload, n);
    if !report.findings().is_empty() {
        eprintln!("goro race detector:\n{report}");
    }
    wall.ok_or_else(|| "the main goroutine did not finish (see the findings above)".to_string())
}

/// What one detecting schedule of `workload` measured: its body's wall time
/// and what it timed itself; `None` if main did not finish.
type Detected = Option<(Duration, Option<Extra>)>;

/// One detecting schedule of `workload`: what it measured and the
/// detector's report.
fn detect(workload: Workload, n: u64) -> (Detected, goro::race::Report) {
    // The program runs on this thread, so an `Rc` carries its time out.
    let wall = Rc::new(RefCell::new(None));
    let out = wall.clone();
    // Fixed settings, not `GORO_*` overrides: the benchmark measures one
    // reproducible schedule. A workload is N goro operations or more, far
    // past the default step limit meant for tests.
    let config = goro::race::Config::default()
        .schedules(1)
        .seed(0)
        .max_steps(u64::MAX)
        .env(false);
    let report = goro::race::explore(config, move || {
        let out = out.clone();
        async move {
            let start = Instant::now();
            let extra = workload.run(n).await;
            *out.borrow_mut() = Some((start.elapsed(), extra));
        }
    });
    let measured = wall.borrow_mut().take();
    (measured, report)
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
        assert!(args(&["select", "10", "tokio"]).is_err());
        assert_eq!(args(&["mutex", "10", "tokio"]).unwrap().mode, Mode::Tokio);
    }

    #[test]
    fn report_line_has_the_documented_shape() {
        let l = report_line(
            Workload::Buffered,
            4,
            Mode::Production,
            Duration::from_nanos(1000),
            None,
        );
        assert_eq!(
            l,
            "workload=buffered n=4 mode=production wall_s=0.000001 ns_per_op=250.00"
        );
    }

    #[test]
    fn a_workload_that_times_itself_replaces_the_wall_and_adds_fields() {
        let extra = Extra {
            wall: Duration::from_nanos(2000),
            fields: "plain_ns_per_op=1.00".to_string(),
        };
        let l = report_line(
            Workload::Instrument,
            1000,
            Mode::Production,
            Duration::from_nanos(9999),
            Some(&extra),
        );
        assert_eq!(
            l,
            "workload=instrument n=1000 mode=production wall_s=0.000002 ns_per_op=2.00 \
             plain_ns_per_op=1.00"
        );
    }

    /// Every workload finishes under the detector.
    #[test]
    fn every_workload_finishes_under_the_detector() {
        for w in Workload::ALL {
            let (wall, report) = detect(w, 64);
            assert!(wall.is_some(), "{} did not finish:\n{report}", w.name());
        }
    }

    /// Under the detector only `racy_counter` has a finding: its data race,
    /// reported once.
    #[test]
    fn detect_mode_finds_exactly_the_racy_counter_race() {
        for w in Workload::ALL {
            let (_, report) = detect(w, 64);
            let kinds: Vec<_> = report.findings().iter().map(|f| f.kind).collect();
            if w.name() == "racy_counter" {
                assert_eq!(kinds, [goro::race::FindingKind::DataRace], "{report}");
            } else {
                assert!(kinds.is_empty(), "{}:\n{report}", w.name());
            }
        }
    }

    #[test]
    fn every_workload_name_round_trips() {
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Some(w));
        }
    }
}
