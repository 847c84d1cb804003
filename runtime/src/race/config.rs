//! Exploration settings and their environment overrides.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use goro_analyzer::env::{self, Shard};

pub use goro_analyzer::env::{BadStrategy, Strategy};

/// Settings of an exploration: how many schedules, from which seed, with
/// which strategy (by default [`Strategy::Portfolio`]: random and PCT in
/// turn; [`Strategy::Exhaustive`] walks every schedule instead and says
/// whether it got through, in [`Report::verdict`](crate::race::Report)).
///
/// The environment overrides them (so that `cargo race test --schedules N`
/// reaches every test): `GORO_SCHEDULES`, `GORO_SEED`, `GORO_STRATEGY`,
/// `GORO_MAX_STEPS`, `GORO_TRACE`, `GORO_REPORT_DIR`, [`GORO_REPLAY`],
/// [`GORO_SHRINK`], `GORO_SCHEDULE_SHARD`, `GORO_TEST_TIME_BUDGET` and
/// `GORO_DPOR` (names and grammars in [`goro_analyzer::env`]). Turn that
/// off with
/// [`Config::env`]`(false)`.
///
/// Each new finding's schedule is shrunk right after it is found: replays
/// of it that preempt less and run fewer steps, kept while they show the
/// same finding (same kind and sites), at most [`Config::shrink`] replays
/// per finding. Shrinking is deterministic (a pure function of the program
/// and the seed) and never changes which findings are reported; it fills
/// [`Finding::shrink`](crate::race::Finding).
///
/// The getters are named for what they return without a `get_` prefix; as
/// the builder methods already own the field names (`schedules(n)`), they
/// are [`Config::schedule_count`], [`Config::base_seed`],
/// [`Config::chosen_strategy`], [`Config::step_limit`] and
/// [`Config::shrink_replays`].
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
/// assert_eq!(config.schedule_count(), 200);
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
    /// Run only this shard's schedules (`GORO_SCHEDULE_SHARD`).
    pub(crate) shard: Option<Shard>,
    /// Start no schedule after this long, once one has run
    /// (`GORO_TEST_TIME_BUDGET`).
    pub(crate) time_budget: Option<Duration>,
    /// Replay this choice sequence instead of exploring (`GORO_REPLAY`).
    pub(crate) replay: Option<Vec<u32>>,
    /// At most this many replays to shrink one finding (0: no shrinking).
    pub(crate) shrink_replays: u32,
    /// The exhaustive strategy reduces by partial order (`GORO_DPOR`).
    pub(crate) dpor: bool,
}

/// The variable naming a schedule to replay: the `shrink.schedule` of a
/// finding (e.g. `_x3,2`). Set, an exploration runs that one schedule
/// (with the seed of `GORO_SEED`, which names it in reports).
///
/// # Examples
///
/// ```
/// assert_eq!(goro::race::GORO_REPLAY, "GORO_REPLAY");
/// ```
pub use goro_analyzer::env::REPLAY as GORO_REPLAY;

/// The variable bounding how many replays shrinking one finding may take
/// (default 200; 0 turns shrinking off).
///
/// # Examples
///
/// ```
/// assert_eq!(goro::race::GORO_SHRINK, "GORO_SHRINK");
/// ```
pub use goro_analyzer::env::SHRINK as GORO_SHRINK;

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
    /// 100 schedules of the `Portfolio` strategy from seed 0, at most 100,000
    /// steps each, with 60 s of virtual grace time after main returns, and
    /// at most 200 replays to shrink each finding.
    fn default() -> Self {
        Config {
            schedules: 100,
            seed: 0,
            strategy: Strategy::Portfolio,
            max_steps: 100_000,
            grace: Duration::from_secs(60),
            use_env: true,
            report_dir: None,
            trace: false,
            shard: None,
            time_budget: None,
            replay: None,
            shrink_replays: 200,
            dpor: true,
        }
    }
}

impl Config {
    /// Number of schedules to run (at least 1). Under
    /// [`Strategy::Exhaustive`] it is the budget: the search stops there,
    /// with an `incomplete` verdict, if schedules are left.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::race::Config::default().schedules(0).schedule_count(), 1);
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
    /// assert_eq!(c.base_seed(), 42);
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
    /// assert_eq!(c.chosen_strategy(), Strategy::Pct { depth: 2 });
    /// ```
    pub fn strategy(mut self, s: Strategy) -> Self {
        self.strategy = s;
        self
    }

    /// Whether [`Strategy::Exhaustive`] uses dynamic partial-order
    /// reduction (default `true`; `GORO_DPOR=0` turns it off): one schedule
    /// per class of schedules that differ only in the order of independent
    /// steps, instead of every schedule. The reduction assumes goroutines
    /// share state only through goro (channels, `sync`, `Shared`, atomics,
    /// `time`, `context`): state they share otherwise (a `std` atomic, a
    /// `static`) is invisible to it; turn it off for such programs.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::race::{explore, Config, Strategy};
    ///
    /// let config = |dpor| {
    ///     Config::default()
    ///         .env(false)
    ///         .schedules(1_000)
    ///         .strategy(Strategy::Exhaustive { preemptions: None })
    ///         .dpor(dpor)
    /// };
    /// let program = || async {
    ///     let (a, b) = (goro::chan::<u8>(1), goro::chan::<u8>(1));
    ///     let (a2, b2) = (a.clone(), b.clone());
    ///     goro::go!(async move { a2.send(1).await });
    ///     goro::go!(async move { b2.send(2).await });
    ///     a.recv().await;
    ///     b.recv().await;
    /// };
    /// let full = explore(config(false), program);
    /// let reduced = explore(config(true), program);
    /// assert!(reduced.schedules_run() < full.schedules_run());
    /// ```
    pub fn dpor(mut self, on: bool) -> Self {
        self.dpor = on;
        self
    }

    /// The step limit of one schedule (a step is one goroutine running from
    /// one scheduling point to the next, or one move of the virtual clock to
    /// its next timers); a schedule that reaches it ends with a livelock
    /// note in the report. Every schedule
    /// ends within it, whatever the program does: a ticker firing for ever
    /// beside blocked goroutines uses it up too.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = goro::race::Config::default().max_steps(1_000);
    /// assert_eq!(c.step_limit(), 1_000);
    /// ```
    pub fn max_steps(mut self, n: u64) -> Self {
        self.max_steps = n.max(1);
        self
    }

    /// Virtual time the other goroutines may still run after main returns
    /// (default 60 s). The grace also ends once one of them has taken a
    /// hundredth of [`Config::max_steps`] since main returned (a loop on a
    /// millisecond ticker would otherwise spend the whole step limit). What
    /// is left when it ends is a goroutine leak, as goleak would report:
    /// blocked forever, or still sleeping, ticking or running. The step
    /// limit's livelock note is only for a main that has not returned.
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
    /// assert_eq!(c.shrink_replays(), 50);
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
    /// assert_eq!(goro::race::Config::default().shrink_replays(), 200);
    /// ```
    pub fn shrink_replays(&self) -> u32 {
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
    /// assert_eq!(goro::race::Config::default().schedule_count(), 100);
    /// ```
    pub fn schedule_count(&self) -> u32 {
        self.schedules
    }

    /// The base seed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::race::Config::default().base_seed(), 0);
    /// ```
    pub fn base_seed(&self) -> u64 {
        self.seed
    }

    /// The strategy.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::race::{Config, Strategy};
    /// assert_eq!(Config::default().chosen_strategy(), Strategy::Portfolio);
    /// ```
    pub fn chosen_strategy(&self) -> Strategy {
        self.strategy
    }

    /// The seed schedule `index` of this exploration runs with (schedule 0
    /// runs with the base seed). A run of one schedule from that seed
    /// (`GORO_SEED=<it> GORO_SCHEDULES=1`, same strategy) replays it.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = goro::race::Config::default().seed(9);
    /// assert_eq!(c.schedule_seed(0), 9);
    /// assert_ne!(c.schedule_seed(1), c.schedule_seed(2));
    /// ```
    pub fn schedule_seed(&self, index: u32) -> u64 {
        crate::rt::sched::strategy::seed_for(self.strategy, self.seed, index)
    }

    /// The step limit of one schedule.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::race::Config::default().step_limit(), 100_000);
    /// ```
    pub fn step_limit(&self) -> u64 {
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
        // Each value through the contract's one parser; a bad one names the
        // variable, the value and what it accepts.
        if let Some(n) = read(&var, env::SCHEDULES, env::parse_schedules)? {
            self.schedules = n;
        }
        if let Some(s) = read(&var, env::SEED, env::parse_seed)? {
            self.seed = s;
        }
        if let Some(s) = read(&var, env::STRATEGY, env::parse_strategy)? {
            self.strategy = s;
        }
        if let Some(n) = read(&var, env::MAX_STEPS, env::parse_max_steps)? {
            self.max_steps = n;
        }
        if let Some(t) = read(&var, env::TRACE, env::parse_bool)? {
            self.trace = t;
        }
        if let Some(n) = read(&var, env::SHRINK, env::parse_shrink)? {
            self.shrink_replays = n;
        }
        if var(env::DPOR).is_some_and(|v| !v.trim().is_empty()) {
            if let Some(on) = read(&var, env::DPOR, env::parse_bool)? {
                self.dpor = on;
            }
        }
        if let Some(v) = var(env::REPLAY).filter(|v| !v.trim().is_empty()) {
            self = self.replay(&v).map_err(|e| EnvError {
                var: env::REPLAY.to_string(),
                accepted: format!(
                    "a schedule as a finding's `shrink.schedule` names it, e.g. `_x3,2` ({})",
                    e.0
                ),
                value: v,
            })?;
        }
        if let Some(d) = read(&var, env::REPORT_DIR, env::parse_report_dir)? {
            self.report_dir = Some(d);
        }
        if let Some(s) = read(&var, env::SCHEDULE_SHARD, str::parse::<Shard>)? {
            self.shard = Some(s);
        }
        if let Some(d) = read(&var, env::TEST_TIME_BUDGET, env::parse_duration)? {
            self.time_budget = Some(d);
        }
        Ok(self)
    }
}

/// The variable `name` through `parse`: `None` when unset.
fn read<T>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    parse: impl Fn(&str) -> Result<T, &'static str>,
) -> Result<Option<T>, EnvError> {
    let Some(value) = var(name) else {
        return Ok(None);
    };
    parse(&value).map(Some).map_err(|accepted| EnvError {
        var: name.to_string(),
        value,
        accepted: accepted.to_string(),
    })
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
    match std::env::var_os(env::RACE) {
        None => Ok(false),
        Some(v) => {
            let v = v.to_string_lossy();
            env::parse_bool(&v).map_err(|accepted| EnvError {
                var: env::RACE.to_string(),
                value: v.trim().to_string(),
                accepted: accepted.to_string(),
            })
        }
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
                (env::SCHEDULES, "7"),
                (env::SEED, "0x10"),
                (env::STRATEGY, "pct:4"),
                (env::MAX_STEPS, "99"),
                (env::REPORT_DIR, "/tmp/r"),
                (env::SCHEDULE_SHARD, "2/3"),
                (env::TEST_TIME_BUDGET, "90s"),
            ]))
            .unwrap();
        assert_eq!(c.shard, Some(Shard { index: 2, count: 3 }));
        assert_eq!(c.time_budget, Some(Duration::from_secs(90)));
        assert_eq!(c.schedules, 7);
        assert_eq!(c.seed, 16);
        assert_eq!(c.strategy, Strategy::Pct { depth: 4 });
        assert_eq!(c.max_steps, 99);
        assert_eq!(c.report_dir, Some(PathBuf::from("/tmp/r")));
        let c = Config::default()
            .with_vars(vars(&[(env::REPLAY, "_x2,3"), (env::SHRINK, "0")]))
            .unwrap();
        assert_eq!(c.replay, Some(vec![u32::MAX, u32::MAX, 3]));
        assert_eq!(c.shrink_replays, 0);
        // The reduction is on unless GORO_DPOR turns it off; empty is unset.
        assert!(Config::default().dpor);
        for (value, on) in [("0", false), ("off", false), ("1", true), ("", true)] {
            let c = Config::default()
                .with_vars(vars(&[(env::DPOR, value)]))
                .unwrap();
            assert_eq!(c.dpor, on, "GORO_DPOR={value}");
        }
    }

    #[test]
    fn bad_values_name_variable_value_and_what_is_accepted() {
        for (var, value, accepted) in [
            (env::SCHEDULES, "0", "schedules >= 1"),
            (env::SCHEDULES, "many", "schedules >= 1"),
            (env::SEED, "-1", "64-bit"),
            (env::STRATEGY, "pct:0", "pct:DEPTH"),
            (env::MAX_STEPS, "x", "steps >= 1"),
            (env::SCHEDULE_SHARD, "4/3", "K/N"),
            (env::TEST_TIME_BUDGET, "10", "10m"),
            (env::SHRINK, "-3", "replays per finding"),
            (env::REPLAY, "2,1x", "entry 2 `1x`"),
            (env::REPLAY, "a,b", "shrink.schedule"),
            (env::DPOR, "maybe", "1 or 0"),
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
