//! What `#[goro::instrument]` and `#[goro::test]` expand to call: test
//! entry, shadow call frames and tracked raw accesses; and what goro's own
//! tests need to see inside a primitive. Public only for the macros'
//! expansions and those tests; not a stable API.

use std::future::Future;
use std::panic::Location;

use goro_analyzer::FindingKind;

use super::config::{Config, EnvError, Strategy};
use super::explore::{append_report, explore_inner, Report};
use crate::rt::detect;

/// An instrumented function, as the macro records it.
#[doc(hidden)]
#[derive(Debug)]
pub struct FrameSite {
    /// The function's path (`module::Type::method`).
    pub function: &'static str,
    /// Where the function is defined.
    pub file: &'static str,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// Pops its frame from the goroutine's shadow call chain when dropped.
#[doc(hidden)]
#[must_use = "the frame is popped when the guard is dropped"]
pub struct FrameGuard {
    /// The goroutine whose chain holds the frame (`None`: nothing pushed).
    g: Option<goro_analyzer::event::Gid>,
}

/// Pushes `site` onto the running goroutine's shadow call chain until the
/// guard drops. Without a detector: one thread-local check.
#[doc(hidden)]
#[inline]
pub fn enter_frame(site: &'static FrameSite) -> FrameGuard {
    if !detect::active() {
        return FrameGuard { g: None };
    }
    enter_detected(site)
}

// The detected paths stay out of line so what is inlined into every
// instrumented call is the thread-local check and nothing else.
#[cold]
#[inline(never)]
fn enter_detected(site: &'static FrameSite) -> FrameGuard {
    let g = detect::gid();
    if g.is_some() {
        let loc = goro_analyzer::event::Loc {
            file: site.file,
            line: site.line,
            column: site.column,
        };
        detect::frame_enter(g, site.function, loc);
    }
    FrameGuard { g }
}

#[cold]
#[inline(never)]
fn exit_detected(g: Option<goro_analyzer::event::Gid>) {
    detect::frame_exit(g);
}

impl Drop for FrameGuard {
    #[inline]
    fn drop(&mut self) {
        if self.g.is_some() {
            exit_detected(self.g);
        }
    }
}

/// A read through a raw pointer or of a `static mut`, at the caller's span.
/// Takes the address only: nothing is dereferenced here.
#[doc(hidden)]
#[track_caller]
#[inline]
pub fn read_ptr<T: ?Sized>(p: *const T) {
    if detect::active() {
        let what = std::any::type_name::<T>;
        let addr = goro_analyzer::event::Addr(p as *const () as usize as u64);
        detect::read(addr, what, Location::caller());
    }
}

/// A write through a raw pointer or to a `static mut`, at the caller's span.
#[doc(hidden)]
#[track_caller]
#[inline]
pub fn write_ptr<T: ?Sized>(p: *const T) {
    if detect::active() {
        let what = std::any::type_name::<T>;
        let addr = goro_analyzer::event::Addr(p as *const () as usize as u64);
        detect::write(addr, what, Location::caller());
    }
}

/// The address of `wg`'s shared state, the memory a `WaitGroup` made after
/// every handle of `wg` is dropped may take: for tests that must prove an
/// address was reused.
#[doc(hidden)]
pub fn wait_group_addr(wg: &crate::sync::WaitGroup) -> usize {
    wg.state_addr()
}

/// Whether a dereferenced pointer operand is a raw pointer, decided at
/// compile time: the macro cannot see types, so it probes every `*operand` in
/// `unsafe` code with `Probe::new(addr_of!(operand)).is_raw()`. The inherent
/// methods below win for raw pointers; every other type (references, `Box`,
/// smart pointers, type parameters) falls back to [`NotRaw`], whose answer is
/// `false`, so those derefs are never tracked and the check folds away.
#[doc(hidden)]
pub struct Probe<P>(std::marker::PhantomData<*const P>);

impl<P> Probe<P> {
    /// A probe of the operand at `_operand` (only its type matters).
    #[inline(always)]
    pub fn new(_operand: *const P) -> Self {
        Probe(std::marker::PhantomData)
    }
}

impl<T: ?Sized> Probe<*const T> {
    /// A `*const T` operand: tracked.
    #[inline(always)]
    pub fn is_raw(&self) -> bool {
        true
    }
}

impl<T: ?Sized> Probe<*mut T> {
    /// A `*mut T` operand: tracked.
    #[inline(always)]
    pub fn is_raw(&self) -> bool {
        true
    }
}

/// The fallback of [`Probe::is_raw`] for operands that are not raw pointers.
#[doc(hidden)]
pub trait NotRaw {
    /// Not a raw pointer: not tracked.
    #[inline(always)]
    fn is_raw(&self) -> bool {
        false
    }
}

impl<P> NotRaw for Probe<P> {}

/// Returns `value` once `_probes` (evaluated after it, as arguments are) has
/// recorded the accesses: lets `place = value` record its write after the
/// value is computed (which may synchronize) yet before the assignment,
/// without a temporary that would lose the expected type of `value`.
#[doc(hidden)]
#[inline(always)]
pub fn tracked<T>(value: T, _probes: Recorded) -> T {
    value
}

/// What the probes block of [`tracked`] ends with (a unit struct rather than
/// `()`, which lints flag as a unit argument in the user's code).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Recorded;

/// What an instrumented test may return: `()` or `Result<(), E: Debug>`,
/// like `#[test]` and `#[tokio::test]`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a `#[goro::instrument]` test must return `()` or `Result<(), E>` with `E: Debug`, not `{Self}`",
    label = "this return type",
    note = "an `Err` fails the test with the error's `Debug` form"
)]
pub trait TestOutput {
    /// Panics (a `panic` finding under the detector) on an error.
    #[track_caller]
    fn check(self);
}

impl TestOutput for () {
    fn check(self) {}
}

impl<E: std::fmt::Debug> TestOutput for Result<(), E> {
    #[track_caller]
    fn check(self) {
        if let Err(e) = self {
            panic!("test returned error: {e:?}");
        }
    }
}

/// The arguments of one `#[goro::instrument]` test.
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct TestSpec {
    /// `module_path!()::fn_name`.
    pub name: &'static str,
    /// `schedules = N`.
    pub schedules: Option<u32>,
    /// `seed = N`.
    pub seed: Option<u64>,
    /// `strategy = "portfolio" | "random" | "pct" | "exhaustive"`.
    pub strategy: Option<&'static str>,
    /// `depth = N` (PCT).
    pub depth: Option<u32>,
    /// `preemptions = N` (exhaustive: the preemption bound).
    pub preemptions: Option<u32>,
    /// `require_complete = true` (exhaustive: fail unless every schedule
    /// ran).
    pub require_complete: bool,
    /// `dpor = false` (exhaustive: every schedule, no partial-order
    /// reduction).
    pub dpor: Option<bool>,
    /// `max_steps = N`.
    pub max_steps: Option<u64>,
    /// `expect = ".."`: kinds that must be found.
    pub expect: &'static [&'static str],
    /// `allow = [..]`: kinds reported without failing.
    pub allow: &'static [&'static str],
}

fn kinds(names: &[&str], what: &str) -> Vec<FindingKind> {
    names
        .iter()
        .map(|n| {
            n.parse()
                .unwrap_or_else(|e| panic!("goro::instrument: bad {what} kind: {e}"))
        })
        .collect()
}

impl TestSpec {
    fn config(&self) -> Config {
        let mut c = Config::default();
        if let Some(n) = self.schedules {
            c = c.schedules(n);
        }
        if let Some(s) = self.seed {
            c = c.seed(s);
        }
        // `depth` alone implies PCT, `preemptions` exhaustive.
        if self.strategy == Some("exhaustive") || self.preemptions.is_some() {
            c = c.strategy(Strategy::Exhaustive {
                preemptions: self.preemptions,
            });
        } else {
            c = self.sampling(c);
        }
        if let Some(n) = self.max_steps {
            c = c.max_steps(n);
        }
        if let Some(on) = self.dpor {
            c = c.dpor(on);
        }
        c
    }

    fn sampling(&self, mut c: Config) -> Config {
        match (self.strategy, self.depth) {
            (Some("pct"), d) | (None, d @ Some(_)) => {
                c = c.strategy(Strategy::Pct {
                    depth: d.unwrap_or(3),
                })
            }
            (Some("random"), _) => c = c.strategy(Strategy::Random),
            (Some("portfolio"), _) | (None, None) => c = c.strategy(Strategy::Portfolio),
            (Some(other), _) => panic!(
                "goro::instrument: unknown strategy `{other}`; expected `portfolio`, `random`, \
                 `pct` or `exhaustive`"
            ),
        }
        c
    }

    /// The attribute's settings with the `GORO_*` variables that `var`
    /// returns applied on top: the environment wins, so that
    /// `cargo race test --schedules N` reaches every test.
    fn resolve(&self, var: impl Fn(&str) -> Option<String>) -> Result<Config, EnvError> {
        self.config().with_vars(var)
    }
}

/// Runs a test body under the detector as its main goroutine, and fails the
/// test (panics) on any finding it did not expect or allow, or when an
/// expected kind is not found. Findings are rendered in the panic message and
/// appended to `GORO_REPORT_DIR`, marked with the test's name.
#[doc(hidden)]
pub fn test_main<F, Fut>(spec: TestSpec, body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let config =
        match spec.resolve(|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned())) {
            Ok(c) => c,
            Err(e) => panic!("goro::instrument: {e}"),
        };
    test_main_with(spec, config, body);
}

/// [`test_main`] with the settings resolved.
fn test_main_with<F, Fut>(spec: TestSpec, config: Config, body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let expect = kinds(spec.expect, "expect");
    let allow = kinds(spec.allow, "allow");
    let mut report: Report = explore_inner(&config, body);
    for f in report.findings_mut() {
        f.test = Some(spec.name.to_string());
        f.expected = expect.contains(&f.kind) || allow.contains(&f.kind);
    }
    if let Some(dir) = &config.report_dir {
        append_report(dir, report.findings());
    }
    let mut problems = Vec::new();
    for k in &expect {
        if !report.has(*k) {
            problems.push(format!("expected {k}, found none"));
        }
    }
    let unexpected: Vec<String> = report
        .findings()
        .iter()
        .filter(|f| !f.expected)
        .map(super::explore::render)
        .collect();
    if spec.require_complete {
        match report.verdict() {
            Some(v) if v.complete => {}
            Some(v) => problems.push(format!(
                "`require_complete` is set, but the exhaustive search is {v}"
            )),
            None => problems.push(format!(
                "`require_complete` is set, but the strategy is {}, which cannot be complete \
                 (GORO_STRATEGY overrides the attribute's)",
                config.chosen_strategy()
            )),
        }
    }
    if !unexpected.is_empty() {
        problems.push(format!(
            "{} unexpected finding(s) in {} schedule(s):\n\n{}",
            unexpected.len(),
            report.schedules_run(),
            unexpected.join("\n\n")
        ));
    }
    if !problems.is_empty() {
        panic!("goro race detector: {}", problems.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goro_analyzer::env;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn spec() -> TestSpec {
        TestSpec {
            name: "m::t",
            schedules: Some(5),
            seed: Some(9),
            strategy: Some("random"),
            depth: None,
            max_steps: Some(1_000),
            ..TestSpec::default()
        }
    }

    #[test]
    fn attribute_values_apply_without_environment() {
        let c = spec().resolve(vars(&[])).unwrap();
        assert_eq!(c.schedule_count(), 5);
        assert_eq!(c.base_seed(), 9);
        assert_eq!(c.chosen_strategy(), Strategy::Random);
        assert_eq!(c.step_limit(), 1_000);
        assert_eq!(c.report_dir, None);
    }

    #[test]
    fn environment_overrides_every_attribute_value() {
        let c = spec()
            .resolve(vars(&[
                (env::SCHEDULES, "1000"),
                (env::SEED, "42"),
                (env::STRATEGY, "pct:2"),
                (env::MAX_STEPS, "77"),
                (env::REPORT_DIR, "/tmp/goro-reports"),
            ]))
            .unwrap();
        assert_eq!(c.schedule_count(), 1000);
        assert_eq!(c.base_seed(), 42);
        assert_eq!(c.chosen_strategy(), Strategy::Pct { depth: 2 });
        assert_eq!(c.step_limit(), 77);
        assert_eq!(
            c.report_dir,
            Some(std::path::PathBuf::from("/tmp/goro-reports"))
        );
    }

    #[test]
    fn environment_overrides_only_what_it_sets() {
        let c = spec().resolve(vars(&[(env::SCHEDULES, "3")])).unwrap();
        assert_eq!(c.schedule_count(), 3);
        assert_eq!(c.base_seed(), 9, "the attribute's seed stays");
        assert_eq!(c.step_limit(), 1_000);
    }

    #[test]
    fn depth_alone_means_pct_and_strategy_pct_defaults_depth() {
        let depth_only = TestSpec {
            depth: Some(5),
            ..TestSpec::default()
        };
        assert_eq!(
            depth_only.resolve(vars(&[])).unwrap().chosen_strategy(),
            Strategy::Pct { depth: 5 }
        );
        let pct = TestSpec {
            strategy: Some("pct"),
            ..TestSpec::default()
        };
        assert_eq!(
            pct.resolve(vars(&[])).unwrap().chosen_strategy(),
            Strategy::Pct { depth: 3 }
        );
        assert_eq!(
            TestSpec::default()
                .resolve(vars(&[]))
                .unwrap()
                .chosen_strategy(),
            Strategy::Portfolio
        );
    }

    #[test]
    fn a_bad_environment_value_is_an_error_naming_the_variable() {
        let e = spec()
            .resolve(vars(&[(env::SCHEDULES, "lots")]))
            .unwrap_err();
        assert_eq!(e.var, env::SCHEDULES);
    }

    #[test]
    fn probe_tells_raw_pointers_from_everything_else() {
        let x = 0u8;
        let p: *const u8 = &x;
        let m: *mut u8 = std::ptr::null_mut();
        let r: &u8 = &x;
        let b = Box::new(0u8);
        assert!(Probe::new(std::ptr::addr_of!(p)).is_raw());
        assert!(Probe::new(std::ptr::addr_of!(m)).is_raw());
        assert!(!Probe::new(std::ptr::addr_of!(r)).is_raw());
        assert!(!Probe::new(std::ptr::addr_of!(b)).is_raw());
    }

    #[test]
    fn test_output_fails_only_on_err() {
        ().check();
        Ok::<(), String>(()).check();
        let e = std::panic::catch_unwind(|| Err::<(), _>("boom").check()).unwrap_err();
        assert_eq!(
            e.downcast_ref::<String>().map(String::as_str),
            Some("test returned error: \"boom\"")
        );
    }

    #[test]
    fn dpor_false_turns_the_reduction_off_unless_the_environment_says_otherwise() {
        let full = TestSpec {
            strategy: Some("exhaustive"),
            dpor: Some(false),
            ..TestSpec::default()
        };
        assert!(!full.resolve(vars(&[])).unwrap().dpor);
        assert!(full.resolve(vars(&[("GORO_DPOR", "1")])).unwrap().dpor);
        let default = TestSpec {
            strategy: Some("exhaustive"),
            ..TestSpec::default()
        };
        assert!(default.resolve(vars(&[])).unwrap().dpor);
    }

    #[test]
    fn preemptions_imply_the_exhaustive_strategy() {
        let bounded = TestSpec {
            preemptions: Some(2),
            ..TestSpec::default()
        };
        assert_eq!(
            bounded.resolve(vars(&[])).unwrap().chosen_strategy(),
            Strategy::Exhaustive {
                preemptions: Some(2)
            }
        );
        let all = TestSpec {
            strategy: Some("exhaustive"),
            ..TestSpec::default()
        };
        assert_eq!(
            all.resolve(vars(&[])).unwrap().chosen_strategy(),
            Strategy::Exhaustive { preemptions: None }
        );
    }

    /// Eight goroutines of twenty steps on one atomic counter: every step
    /// is dependent with every other, so even the reduced search has far
    /// too many schedules (goroutines that touch nothing shared would have
    /// one).
    async fn eight_spinners() {
        let n = std::sync::Arc::new(crate::sync::atomic::AtomicU64::new(0));
        for _ in 0..8 {
            let n = n.clone();
            crate::go!(async move {
                for _ in 0..20 {
                    crate::yield_now().await;
                    n.add(1);
                }
            });
        }
    }

    #[test]
    fn require_complete_fails_a_search_that_ran_out_of_budget() {
        let spec = TestSpec {
            name: "m::too_large",
            schedules: Some(20),
            strategy: Some("exhaustive"),
            require_complete: true,
            ..TestSpec::default()
        };
        // Resolved without this process's environment, which CI may set.
        let config = spec.resolve(vars(&[])).unwrap();
        let run = std::panic::catch_unwind(|| test_main_with(spec.clone(), config, eight_spinners));
        let msg = run.expect_err("an incomplete search fails the test");
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("`require_complete` is set"), "{msg}");
        assert!(
            msg.contains("incomplete: the budget of 20 schedules"),
            "{msg}"
        );
    }
}
