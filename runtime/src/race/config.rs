//! Exploration settings and their environment overrides.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// How the detecting scheduler picks the next goroutine.
///
/// # Examples
///
/// ```
/// use goro::race::Strategy;
///
/// assert_eq!("random".parse::<Strategy>(), Ok(Strategy::Random));
/// assert_eq!("pct".parse::<Strategy>(), Ok(Strategy::Pct { depth: 3 }));
/// assert_eq!("pct:5".parse::<Strategy>(), Ok(Strategy::Pct { depth: 5 }));
/// assert!("fifo".parse::<Strategy>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Random => f.write_str("random"),
            Strategy::Pct { depth } => write!(f, "pct:{depth}"),
        }
    }
}

/// A strategy name that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadStrategy(pub String);

impl fmt::Display for BadStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown strategy `{}`; expected `random`, `pct` or `pct:DEPTH` (DEPTH >= 1)",
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
            _ => match s.strip_prefix("pct:").map(str::parse::<u32>) {
                Some(Ok(depth)) if depth >= 1 => Ok(Strategy::Pct { depth }),
                _ => Err(BadStrategy(s.to_string())),
            },
        }
    }
}

/// Settings of an exploration: how many schedules, from which seed, with
/// which strategy.
///
/// The environment overrides them (so that `cargo race test --schedules N`
/// reaches every test): `GORO_SCHEDULES`, `GORO_SEED`, `GORO_STRATEGY`,
/// `GORO_MAX_STEPS`, `GORO_REPORT_DIR`, `GORO_TRACE`, [`GORO_REPLAY`] and
/// [`GORO_SHRINK`]. Turn that off with [`Config::env`]`(false)`.
///
/// Each new finding's schedule is shrunk right after it is found: replays
/// of it that preempt less and run fewer steps, kept while they show the
/// same finding (same kind and sites), at most [`Config::shrink`] replays
/// per finding. Shrinking is deterministic (a pure function of the program
/// and the seed) and never changes which findings are reported; it fills
/// [`Finding::shrink`](crate::race::Finding).
///
/// # Examples
///
/// ```
/// use goro::race::{Config, Strategy};
///
/// let config = Config::default()
///     .schedules(200)
///     .seed(7)
///     .strategy(Strategy::Pct { depth: 3 });
/// assert_eq!(config.get_schedules(), 200);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) schedules: u32,
    pub(crate) seed: u64,
    pub(crate) strategy: Strategy,
    pub(crate) max_steps: u64,
    pub(crate) grace: Duration,
    pub(crate) use_env: bool,
    pub(crate) report_dir: Option<PathBuf>,
    /// Record schedule traces (`GORO_TRACE=1`) into the report directory.
    pub(crate) trace: bool,
    /// Replay this choice sequence instead of exploring (`GORO_REPLAY`).
    pub(crate) replay: Option<Vec<u32>>,
    /// At most this many replays to shrink one finding (0: no shrinking).
    pub(crate) shrink_replays: u32,
}

/// The variable naming a schedule to replay: the `shrink.schedule` of a
/// finding (e.g. `_x3,2`). Set, an exploration runs that one schedule
/// (with the seed of `GORO_SEED`, which names it in reports).
pub const GORO_REPLAY: &str = "GORO_REPLAY";

/// The variable bounding how many replays shrinking one finding may take
/// (default 200; 0 turns shrinking off).
pub const GORO_SHRINK: &str = "GORO_SHRINK";

/// A schedule's text form that does not parse.
///
/// # Examples
///
/// ```
/// let e = goro::race::Config::default().replay("2,oops").unwrap_err();
/// assert!(e.to_string().contains("entry 2 `oops`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadSchedule(pub String);

impl fmt::Display for BadSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a schedule: {}", self.0)
    }
}

impl std::error::Error for BadSchedule {}

impl Default for Config {
    /// 100 schedules of the `Random` strategy from seed 0, at most 100,000
    /// steps each, with 60 s of virtual grace time after main returns, and
    /// at most 200 replays to shrink each finding.
    fn default() -> Self {
        Config {
            schedules: 100,
            seed: 0,
            strategy: Strategy::Random,
            max_steps: 100_000,
            grace: Duration::from_secs(60),
            use_env: true,
            report_dir: None,
            trace: false,
            replay: None,
            shrink_replays: 200,
        }
    }
}

impl Config {
    /// Number of schedules to run (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::race::Config::default().schedules(0).get_schedules(), 1);
    /// ```
    pub fn schedules(mut self, n: u32) -> Self {
        self.schedules = n.max(1);
        self
    }

    /// The base seed: schedule `i` runs with a seed derived from `(seed, i)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = goro::race::Config::default().seed(42);
    /// assert_eq!(c.get_seed(), 42);
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The scheduling strategy.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::race::{Config, Strategy};
    /// let c = Config::default().strategy(Strategy::Pct { depth: 2 });
    /// assert_eq!(c.get_strategy(), Strategy::Pct { depth: 2 });
    /// ```
    pub fn strategy(mut self, s: Strategy) -> Self {
        self.strategy = s;
        self
    }

    /// The step limit of one schedule (a step is one poll of one goroutine);
    /// a schedule that reaches it ends with a livelock note in the report.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = goro::race::Config::default().max_steps(1_000);
    /// assert_eq!(c.get_max_steps(), 1_000);
    /// ```
    pub fn max_steps(mut self, n: u64) -> Self {
        self.max_steps = n.max(1);
        self
    }

    /// Virtual time the other goroutines may still run after main returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = goro::race::Config::default().grace(Duration::from_secs(5));
    /// ```
    pub fn grace(mut self, d: Duration) -> Self {
        self.grace = d;
        self
    }

    /// At most `replays` replays to shrink each new finding's schedule
    /// (0: do not shrink; default 200, `GORO_SHRINK`), and at most
    /// 2,000,000 replayed steps in all. The bounds are counts, not a time,
    /// so that the shrunk schedule is the same on every machine.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = goro::race::Config::default().shrink(50);
    /// assert_eq!(c.get_shrink(), 50);
    /// ```
    pub fn shrink(mut self, replays: u32) -> Self {
        self.shrink_replays = replays;
        self
    }

    /// The shrinking bound.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::race::Config::default().get_shrink(), 200);
    /// ```
    pub fn get_shrink(&self) -> u32 {
        self.shrink_replays
    }

    /// Replay one explicit schedule instead of exploring: `schedule` is a
    /// finding's `shrink.schedule` (what `GORO_REPLAY` takes). The run has
    /// one schedule (this sets [`Config::schedules`] to 1), with this
    /// config's seed naming it, and shrinks nothing.
    ///
    /// # Errors
    ///
    /// A schedule that does not parse, saying which entry is wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::race::{explore, Config};
    ///
    /// let config = Config::default().env(false).replay("_x2,3").expect("a schedule");
    /// let report = explore(config, || async {});
    /// assert_eq!(report.schedules_run(), 1);
    /// ```
    pub fn replay(mut self, schedule: &str) -> Result<Self, BadSchedule> {
        let choices = crate::rt::sched::strategy::replay::decode(schedule).map_err(BadSchedule)?;
        self.replay = Some(choices);
        self.schedules = 1;
        Ok(self)
    }

    /// Whether `GORO_*` environment variables override these settings
    /// (default: yes).
    ///
    /// # Examples
    ///
    /// ```
    /// // A test that must run exactly these settings whatever CI exports.
    /// let c = goro::race::Config::default().schedules(3).env(false);
    /// ```
    pub fn env(mut self, use_env: bool) -> Self {
        self.use_env = use_env;
        self
    }

    /// The number of schedules.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::race::Config::default().get_schedules(), 100);
    /// ```
    pub fn get_schedules(&self) -> u32 {
        self.schedules
    }

    /// The base seed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::race::Config::default().get_seed(), 0);
    /// ```
    pub fn get_seed(&self) -> u64 {
        self.seed
    }

    /// The strategy.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::race::{Config, Strategy};
    /// assert_eq!(Config::default().get_strategy(), Strategy::Random);
    /// ```
    pub fn get_strategy(&self) -> Strategy {
        self.strategy
    }

    /// The step limit of one schedule.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::race::Config::default().get_max_steps(), 100_000);
    /// ```
    pub fn get_max_steps(&self) -> u64 {
        self.max_steps
    }

    /// These settings with the `GORO_*` environment variables applied.
    ///
    /// # Errors
    ///
    /// A variable with a bad value: the error names the variable, the value
    /// and what is accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = goro::race::Config::default().with_env().expect("valid GORO_* variables");
    /// ```
    pub fn with_env(self) -> Result<Self, EnvError> {
        self.with_vars(|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
    }

    pub(crate) fn with_vars(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, EnvError> {
        if let Some(v) = var("GORO_SCHEDULES") {
            self.schedules = parse(&v)
                .filter(|n: &u32| *n >= 1)
                .ok_or_else(|| bad("GORO_SCHEDULES", &v, "a whole number of schedules >= 1"))?;
        }
        if let Some(v) = var("GORO_SEED") {
            self.seed = parse_seed(&v).ok_or_else(|| {
                bad(
                    "GORO_SEED",
                    &v,
                    "an unsigned 64-bit integer (decimal or 0x-prefixed hex)",
                )
            })?;
        }
        if let Some(v) = var("GORO_STRATEGY") {
            self.strategy = v.parse().map_err(|_| {
                bad(
                    "GORO_STRATEGY",
                    &v,
                    "`random`, `pct` or `pct:DEPTH` (DEPTH >= 1)",
                )
            })?;
        }
        if let Some(v) = var("GORO_MAX_STEPS") {
            self.max_steps = parse(&v)
                .filter(|n: &u64| *n >= 1)
                .ok_or_else(|| bad("GORO_MAX_STEPS", &v, "a whole number of steps >= 1"))?;
        }
        if let Some(v) = var("GORO_TRACE") {
            self.trace = parse_bool(&v).ok_or_else(|| bad("GORO_TRACE", &v, "1 or 0"))?;
        }
        if let Some(v) = var(GORO_SHRINK) {
            self.shrink_replays = parse(&v).ok_or_else(|| {
                bad(
                    GORO_SHRINK,
                    &v,
                    "a whole number of replays per finding (0: no shrinking)",
                )
            })?;
        }
        if let Some(v) = var(GORO_REPLAY).filter(|v| !v.trim().is_empty()) {
            self = self.replay(&v).map_err(|e| {
                bad(
                    GORO_REPLAY,
                    &v,
                    &format!(
                        "a schedule as a finding's `shrink.schedule` names it, e.g. `_x3,2` \
                         ({})",
                        e.0
                    ),
                )
            })?;
        }
        if let Some(v) = var("GORO_REPORT_DIR") {
            if v.is_empty() {
                return Err(bad("GORO_REPORT_DIR", &v, "a directory path"));
            }
            self.report_dir = Some(PathBuf::from(v));
        }
        Ok(self)
    }
}

fn parse<T: FromStr>(v: &str) -> Option<T> {
    v.trim().parse().ok()
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "" | "0" | "false" | "no" | "off" => Some(false),
        "1" | "true" | "yes" | "on" => Some(true),
        _ => None,
    }
}

fn parse_seed(v: &str) -> Option<u64> {
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn bad(var: &str, value: &str, accepted: &str) -> EnvError {
    EnvError {
        var: var.to_string(),
        value: value.to_string(),
        accepted: accepted.to_string(),
    }
}

/// A `GORO_*` environment variable with a value goro cannot use.
///
/// # Examples
///
/// ```
/// let e = goro::race::EnvError {
///     var: "GORO_SCHEDULES".into(),
///     value: "lots".into(),
///     accepted: "a whole number of schedules >= 1".into(),
/// };
/// assert_eq!(
///     e.to_string(),
///     "GORO_SCHEDULES=lots is not valid: expected a whole number of schedules >= 1"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvError {
    /// The variable.
    pub var: String,
    /// Its value.
    pub value: String,
    /// What it accepts.
    pub accepted: String,
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={} is not valid: expected {}",
            self.var, self.value, self.accepted
        )
    }
}

impl std::error::Error for EnvError {}

/// Whether `GORO_RACE` asks `goro::run` to use the detecting scheduler.
pub(crate) fn race_requested() -> Result<bool, EnvError> {
    match std::env::var_os("GORO_RACE") {
        None => Ok(false),
        Some(v) => match v.to_string_lossy().trim() {
            "" | "0" | "false" | "no" | "off" => Ok(false),
            "1" | "true" | "yes" | "on" => Ok(true),
            other => Err(bad(
                "GORO_RACE",
                other,
                "1 or 0 (also true/false, yes/no, on/off)",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn environment_overrides_settings() {
        let c = Config::default()
            .with_vars(vars(&[
                ("GORO_SCHEDULES", "7"),
                ("GORO_SEED", "0x10"),
                ("GORO_STRATEGY", "pct:4"),
                ("GORO_MAX_STEPS", "99"),
                ("GORO_REPORT_DIR", "/tmp/r"),
            ]))
            .unwrap();
        assert_eq!(c.schedules, 7);
        assert_eq!(c.seed, 16);
        assert_eq!(c.strategy, Strategy::Pct { depth: 4 });
        assert_eq!(c.max_steps, 99);
        assert_eq!(c.report_dir, Some(PathBuf::from("/tmp/r")));
        let c = Config::default()
            .with_vars(vars(&[("GORO_REPLAY", "_x2,3"), ("GORO_SHRINK", "0")]))
            .unwrap();
        assert_eq!(c.replay, Some(vec![u32::MAX, u32::MAX, 3]));
        assert_eq!(c.shrink_replays, 0);
    }

    #[test]
    fn bad_values_name_variable_value_and_what_is_accepted() {
        for (var, value, accepted) in [
            ("GORO_SCHEDULES", "0", "schedules >= 1"),
            ("GORO_SCHEDULES", "many", "schedules >= 1"),
            ("GORO_SEED", "-1", "64-bit"),
            ("GORO_STRATEGY", "pct:0", "pct:DEPTH"),
            ("GORO_MAX_STEPS", "x", "steps >= 1"),
            ("GORO_SHRINK", "-3", "replays per finding"),
            ("GORO_REPLAY", "2,1x", "entry 2 `1x`"),
            ("GORO_REPLAY", "a,b", "shrink.schedule"),
        ] {
            let e = Config::default()
                .with_vars(vars(&[(var, value)]))
                .unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("{var}={value} ")), "{msg}");
            assert!(msg.contains(accepted), "{msg}");
        }
    }
}
