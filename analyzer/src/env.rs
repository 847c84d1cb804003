//! The `GORO_*` environment contract between `cargo race` and the test
//! processes it runs: every variable's name, and the one parser (and
//! formatter) of each value's grammar.
//!
//! `cargo race test` sets these variables; the runtime (`goro::race::Config`)
//! reads them. Both sides use this module, so a name or a grammar cannot
//! drift apart. It needs no optional feature: the runtime depends on this
//! crate with default features off.
//!
//! Every parser returns, on a bad value, what the variable accepts (a phrase
//! such as `"a whole number of schedules >= 1"`), for an error message that
//! names the variable, the value and that phrase.
//!
//! # Examples
//!
//! ```
//! use goro_analyzer::env::{self, Strategy};
//!
//! assert_eq!(env::SEED, "GORO_SEED");
//! assert_eq!(env::parse_seed("0x10"), Ok(16));
//! assert_eq!(env::parse_strategy("pct:2"), Ok(Strategy::Pct { depth: 2 }));
//! assert_eq!(Strategy::Pct { depth: 2 }.to_string(), "pct:2");
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// `GORO_RACE`: `1` makes `goro::run` use the detecting scheduler
/// ([`parse_bool`]).
pub const RACE: &str = "GORO_RACE";
/// `GORO_SCHEDULES`: schedules each exploration runs ([`parse_schedules`]).
pub const SCHEDULES: &str = "GORO_SCHEDULES";
/// `GORO_SEED`: the base seed of the schedules ([`parse_seed`]).
pub const SEED: &str = "GORO_SEED";
/// `GORO_STRATEGY`: the scheduling strategy ([`parse_strategy`]).
pub const STRATEGY: &str = "GORO_STRATEGY";
/// `GORO_MAX_STEPS`: the step limit of one schedule ([`parse_max_steps`]).
pub const MAX_STEPS: &str = "GORO_MAX_STEPS";
/// `GORO_TRACE`: record each schedule's trace for replays ([`parse_bool`]).
pub const TRACE: &str = "GORO_TRACE";
/// `GORO_REPORT_DIR`: where test processes append their findings, as
/// `goro-<pid>.jsonl` ([`parse_report_dir`]).
pub const REPORT_DIR: &str = "GORO_REPORT_DIR";
/// `GORO_SCHEDULE_SHARD`: `K/N` runs only the schedules `i` with
/// `i % N == K - 1` ([`Shard`]); a schedule's seed does not depend on `N`, so
/// the `N` shards together run exactly the schedules of one unsharded run.
pub const SCHEDULE_SHARD: &str = "GORO_SCHEDULE_SHARD";
/// `GORO_TEST_TIME_BUDGET`: each exploration stops starting new schedules
/// once it has run this long (wall clock), after at least one schedule
/// ([`parse_duration`]).
pub const TEST_TIME_BUDGET: &str = "GORO_TEST_TIME_BUDGET";

/// `GORO_REPLAY`: a schedule to replay instead of exploring, a finding's
/// `shrink.schedule` (e.g. `_x3,2`; its grammar is the runtime's schedule
/// text form). Empty means unset.
pub const REPLAY: &str = "GORO_REPLAY";
/// `GORO_SHRINK`: at most this many replays to shrink one finding's
/// schedule, 0 for none ([`parse_shrink`]).
pub const SHRINK: &str = "GORO_SHRINK";
/// `GORO_DPOR`: whether the exhaustive strategy uses partial-order
/// reduction (default on; `0` walks every schedule, [`parse_bool`]).
pub const DPOR: &str = "GORO_DPOR";

/// Every variable of the contract, for tests that must clear them all.
///
/// # Examples
///
/// ```
/// assert!(goro_analyzer::env::ALL.contains(&"GORO_SEED"));
/// ```
pub const ALL: &[&str] = &[
    RACE,
    SCHEDULES,
    SEED,
    STRATEGY,
    MAX_STEPS,
    TRACE,
    REPORT_DIR,
    SCHEDULE_SHARD,
    TEST_TIME_BUDGET,
    REPLAY,
    SHRINK,
    DPOR,
];

/// What [`parse_seed`] accepts.
pub const SEED_ACCEPTS: &str = "an unsigned 64-bit integer (decimal or 0x-prefixed hex)";
/// What [`parse_strategy`] accepts.
pub const STRATEGY_ACCEPTS: &str = "`portfolio`, `random`, `pct`, `pct:DEPTH` (DEPTH >= 1), \
                                      `exhaustive` or `exhaustive:PREEMPTIONS`";
/// What [`parse_schedules`] accepts.
pub const SCHEDULES_ACCEPTS: &str = "a whole number of schedules >= 1";
/// What [`parse_max_steps`] accepts.
pub const MAX_STEPS_ACCEPTS: &str = "a whole number of steps >= 1";
/// What [`parse_shrink`] accepts.
pub const SHRINK_ACCEPTS: &str = "a whole number of replays per finding (0: no shrinking)";
/// What [`parse_bool`] accepts.
pub const BOOL_ACCEPTS: &str = "1 or 0 (also true/false, yes/no, on/off)";
/// What [`Shard`]'s parser accepts.
pub const SHARD_ACCEPTS: &str = "K/N with 1 <= K <= N";
/// What [`parse_duration`] accepts.
pub const DURATION_ACCEPTS: &str =
    "a duration such as 90s, 10m or 1h (a whole number with unit ms, s, m or h)";
/// What [`parse_report_dir`] accepts.
pub const REPORT_DIR_ACCEPTS: &str = "a directory path";

/// A seed: decimal or `0x`-prefixed hex, surrounding spaces ignored.
///
/// # Errors
///
/// [`SEED_ACCEPTS`] when `s` is neither.
///
/// # Examples
///
/// ```
/// use goro_analyzer::env::parse_seed;
/// assert_eq!(parse_seed("42"), Ok(42));
/// assert_eq!(parse_seed(" 0xFF "), Ok(255));
/// assert!(parse_seed("-1").is_err());
/// ```
pub fn parse_seed(s: &str) -> Result<u64, &'static str> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
    .ok_or(SEED_ACCEPTS)
}

/// A number of schedules, at least 1.
///
/// # Errors
///
/// [`SCHEDULES_ACCEPTS`] for anything else.
///
/// # Examples
///
/// ```
/// use goro_analyzer::env::parse_schedules;
/// assert_eq!(parse_schedules("500"), Ok(500));
/// assert!(parse_schedules("0").is_err());
/// ```
pub fn parse_schedules(s: &str) -> Result<u32, &'static str> {
    match s.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(SCHEDULES_ACCEPTS),
    }
}

/// A step limit, at least 1.
///
/// # Errors
///
/// [`MAX_STEPS_ACCEPTS`] for anything else.
///
/// # Examples
///
/// ```
/// assert_eq!(goro_analyzer::env::parse_max_steps("1000"), Ok(1000));
/// ```
pub fn parse_max_steps(s: &str) -> Result<u64, &'static str> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(MAX_STEPS_ACCEPTS),
    }
}

/// A shrinking bound: replays per finding, 0 for none.
///
/// # Errors
///
/// [`SHRINK_ACCEPTS`] for anything but a whole number.
///
/// # Examples
///
/// ```
/// assert_eq!(goro_analyzer::env::parse_shrink("0"), Ok(0));
/// assert!(goro_analyzer::env::parse_shrink("-3").is_err());
/// ```
pub fn parse_shrink(s: &str) -> Result<u32, &'static str> {
    s.trim().parse().map_err(|_| SHRINK_ACCEPTS)
}

/// A switch: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`; empty is off.
///
/// # Errors
///
/// [`BOOL_ACCEPTS`] for anything else.
///
/// # Examples
///
/// ```
/// use goro_analyzer::env::parse_bool;
/// assert_eq!(parse_bool("1"), Ok(true));
/// assert_eq!(parse_bool(""), Ok(false));
/// assert!(parse_bool("maybe").is_err());
/// ```
pub fn parse_bool(s: &str) -> Result<bool, &'static str> {
    match s.trim() {
        "" | "0" | "false" | "no" | "off" => Ok(false),
        "1" | "true" | "yes" | "on" => Ok(true),
        _ => Err(BOOL_ACCEPTS),
    }
}

/// A report directory: any non-empty path.
///
/// # Errors
///
/// [`REPORT_DIR_ACCEPTS`] when `s` is empty.
///
/// # Examples
///
/// ```
/// assert!(goro_analyzer::env::parse_report_dir("").is_err());
/// ```
pub fn parse_report_dir(s: &str) -> Result<std::path::PathBuf, &'static str> {
    if s.is_empty() {
        Err(REPORT_DIR_ACCEPTS)
    } else {
        Ok(s.into())
    }
}

/// A duration: a whole number and a unit, `ms`, `s`, `m` or `h` (`90s`,
/// `10m`, `1h`, `1500ms`); at least one millisecond.
///
/// # Errors
///
/// [`DURATION_ACCEPTS`] for anything else.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use goro_analyzer::env::parse_duration;
/// assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
/// assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
/// assert!(parse_duration("10").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, &'static str> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: u64 = n.parse().map_err(|_| DURATION_ACCEPTS)?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    };
    match ms {
        Some(ms) if ms >= 1 => Ok(Duration::from_millis(ms)),
        _ => Err(DURATION_ACCEPTS),
    }
}

/// A duration as [`parse_duration`] reads it back: whole milliseconds.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use goro_analyzer::env::{format_duration, parse_duration};
/// let d = Duration::from_millis(2500);
/// assert_eq!(format_duration(d), "2500ms");
/// assert_eq!(parse_duration(&format_duration(d)), Ok(d));
/// ```
pub fn format_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis().max(1))
}

/// How the detecting scheduler picks the next goroutine.
///
/// Parses from, and displays as, the `GORO_STRATEGY` grammar: `portfolio`
/// (the default), `random`, `pct` (depth 3), `pct:DEPTH`, `exhaustive` (no
/// preemption bound) or `exhaustive:PREEMPTIONS`.
///
/// # Examples
///
/// ```
/// use goro_analyzer::env::Strategy;
///
/// assert_eq!(Strategy::default(), Strategy::Portfolio);
/// assert_eq!("random".parse::<Strategy>(), Ok(Strategy::Random));
/// assert_eq!("pct".parse::<Strategy>(), Ok(Strategy::Pct { depth: 3 }));
/// assert_eq!("pct:5".parse::<Strategy>(), Ok(Strategy::Pct { depth: 5 }));
/// assert_eq!(
///     "exhaustive:2".parse::<Strategy>(),
///     Ok(Strategy::Exhaustive { preemptions: Some(2) })
/// );
/// assert!("fifo".parse::<Strategy>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Uniform among the goroutines that can run, at every step.
    Random,
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010):
    /// random goroutine priorities plus `depth - 1` random priority change
    /// points; finds any bug of depth `depth` with probability at least
    /// `1/(n k^(depth-1))` per schedule (n goroutines, k steps).
    Pct {
        /// The bug depth aimed at (at least 1).
        depth: u32,
    },
    /// Random and PCT of depths 1 to 3 in turn, one strategy per schedule,
    /// named by the schedule's seed (so a reported seed replays its
    /// strategy): half the schedules random, a sixth each PCT of depth 1,
    /// 2 and 3.
    #[default]
    Portfolio,
    /// Every schedule, by a depth-first walk of the choice tree: each
    /// schedule replays a prefix of an earlier one and takes an untried
    /// choice at its deepest open choice point. With `preemptions`, only
    /// the schedules that preempt a goroutine that could run on at most
    /// that many times (CHESS's bound). No partial-order reduction yet:
    /// schedules that differ only in the order of independent steps all
    /// run. The schedule count (`GORO_SCHEDULES`) is its budget; with
    /// `GORO_SCHEDULE_SHARD`, shard 1 runs the whole walk and the others
    /// none.
    Exhaustive {
        /// The preemption bound (`None`: unbounded).
        preemptions: Option<u32>,
    },
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Random => f.write_str("random"),
            Strategy::Pct { depth } => write!(f, "pct:{depth}"),
            Strategy::Portfolio => f.write_str("portfolio"),
            Strategy::Exhaustive { preemptions: None } => f.write_str("exhaustive"),
            Strategy::Exhaustive {
                preemptions: Some(n),
            } => write!(f, "exhaustive:{n}"),
        }
    }
}

/// A strategy name that does not parse.
///
/// # Examples
///
/// ```
/// let e = "fifo".parse::<goro_analyzer::env::Strategy>().unwrap_err();
/// assert!(e.to_string().starts_with("unknown strategy `fifo`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadStrategy(pub String);

impl fmt::Display for BadStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown strategy `{}`; expected {STRATEGY_ACCEPTS}",
            self.0
        )
    }
}

impl std::error::Error for BadStrategy {}

impl FromStr for Strategy {
    type Err = BadStrategy;

    fn from_str(s: &str) -> Result<Self, BadStrategy> {
        match s {
            "random" => Ok(Strategy::Random),
            "pct" => Ok(Strategy::Pct { depth: 3 }),
            "portfolio" => Ok(Strategy::Portfolio),
            "exhaustive" => Ok(Strategy::Exhaustive { preemptions: None }),
            _ => {
                if let Some(Ok(depth)) = s.strip_prefix("pct:").map(str::parse::<u32>) {
                    if depth >= 1 {
                        return Ok(Strategy::Pct { depth });
                    }
                }
                match s.strip_prefix("exhaustive:").map(str::parse::<u32>) {
                    Some(Ok(n)) => Ok(Strategy::Exhaustive {
                        preemptions: Some(n),
                    }),
                    _ => Err(BadStrategy(s.to_string())),
                }
            }
        }
    }
}

/// A strategy, as `GORO_STRATEGY` takes it.
///
/// # Errors
///
/// [`STRATEGY_ACCEPTS`] when it does not parse.
///
/// # Examples
///
/// ```
/// use goro_analyzer::env::{parse_strategy, Strategy};
/// assert_eq!(parse_strategy("pct"), Ok(Strategy::Pct { depth: 3 }));
/// assert!(parse_strategy("pct:0").is_err());
/// ```
pub fn parse_strategy(s: &str) -> Result<Strategy, &'static str> {
    s.trim().parse().map_err(|_| STRATEGY_ACCEPTS)
}

/// One of `count` equal shares, `index` of them (1-based): `K/N`.
///
/// For `GORO_SCHEDULE_SHARD` the share is of the schedule indices
/// ([`Shard::runs`]); `cargo race test --partition hash:K/N` uses the same
/// `K/N` for a share of the tests.
///
/// # Examples
///
/// ```
/// use goro_analyzer::env::Shard;
///
/// let s: Shard = "2/4".parse().unwrap();
/// assert_eq!((s.index, s.count), (2, 4));
/// assert_eq!(s.to_string(), "2/4");
/// assert!(s.runs(1) && s.runs(5) && !s.runs(2));
/// assert!("5/4".parse::<Shard>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    /// Which share, from 1.
    pub index: u32,
    /// How many shares.
    pub count: u32,
}

impl Shard {
    /// Whether this shard runs schedule `i` (0-based): `i % N == K - 1`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro_analyzer::env::Shard { index: 1, count: 1 };
    /// assert!(s.runs(0) && s.runs(7));
    /// ```
    pub fn runs(self, schedule: u32) -> bool {
        schedule % self.count == self.index - 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, &'static str> {
        let (k, n) = s.trim().split_once('/').ok_or(SHARD_ACCEPTS)?;
        let index: u32 = k.trim().parse().map_err(|_| SHARD_ACCEPTS)?;
        let count: u32 = n.trim().parse().map_err(|_| SHARD_ACCEPTS)?;
        if index >= 1 && index <= count {
            Ok(Shard { index, count })
        } else {
            Err(SHARD_ACCEPTS)
        }
    }
}

/// The extension of the files, `goro-<pid>.schedules` in
/// [`REPORT_DIR`], where each exploration appends its [`ScheduleCount`].
pub const SCHEDULE_COUNT_EXT: &str = "schedules";

/// How many schedules one exploration ran: one JSON line of a
/// `goro-<pid>.schedules` file in the report directory. With a schedule
/// shard or a time budget it is less than `GORO_SCHEDULES`; `cargo race`
/// sums it per test and prints it.
///
/// # Examples
///
/// ```
/// use goro_analyzer::env::ScheduleCount;
///
/// let c = ScheduleCount {
///     test: Some("tests::a".into()),
///     schedules: 7,
///     out_of_time: true,
///     verdict: None,
/// };
/// let mut line = Vec::new();
/// c.write_json_line(&mut line).unwrap();
/// assert_eq!(ScheduleCount::from_json_line(std::str::from_utf8(&line).unwrap()).unwrap(), c);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScheduleCount {
    /// The test that explored (libtest's name for it), when known.
    pub test: Option<String>,
    /// How many schedules ran.
    pub schedules: u32,
    /// Whether the time budget stopped it before `GORO_SCHEDULES`.
    #[serde(default)]
    pub out_of_time: bool,
    /// An exhaustive exploration's verdict (`complete: ...` or
    /// `incomplete: ...`); `None` for the sampling strategies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
}

impl ScheduleCount {
    /// Writes the count as one JSON line.
    ///
    /// # Errors
    ///
    /// When `out` fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = goro_analyzer::env::ScheduleCount {
    ///     test: None,
    ///     schedules: 1,
    ///     out_of_time: false,
    ///     verdict: None,
    /// };
    /// let mut out = Vec::new();
    /// c.write_json_line(&mut out).unwrap();
    /// assert!(out.ends_with(b"\n"));
    /// ```
    pub fn write_json_line(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut out, self)?;
        out.write_all(b"\n")
    }

    /// Reads one line that [`ScheduleCount::write_json_line`] wrote.
    ///
    /// # Errors
    ///
    /// The JSON error, for a line that is not a count.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::env::ScheduleCount;
    /// assert!(ScheduleCount::from_json_line("{").is_err());
    /// ```
    pub fn from_json_line(line: &str) -> Result<ScheduleCount, serde_json::Error> {
        serde_json::from_str(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_round_trip_through_their_text() {
        for s in [
            Strategy::Random,
            Strategy::Pct { depth: 1 },
            Strategy::Pct { depth: 9 },
            Strategy::Portfolio,
            Strategy::Exhaustive { preemptions: None },
            Strategy::Exhaustive {
                preemptions: Some(0),
            },
        ] {
            assert_eq!(s.to_string().parse::<Strategy>(), Ok(s));
        }
    }

    #[test]
    fn shards_partition_the_schedule_indices() {
        let n = 4;
        for i in 0..50 {
            let owners = (1..=n)
                .filter(|&k| Shard { index: k, count: n }.runs(i))
                .count();
            assert_eq!(owners, 1, "schedule {i}");
        }
        for bad in ["0/3", "4/3", "1", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        for bad in ["", "m", "10x", "0s", "-1s", "1.5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
