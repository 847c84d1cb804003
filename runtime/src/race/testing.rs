//! What `#[goro::instrument]` and `#[goro::test]` expand to call: test
//! entry, shadow call frames and tracked raw accesses. Public only for the
//! macros' expansions; not a stable API.

use std::future::Future;
use std::panic::Location;

use goro_analyzer::event::Op;
use goro_analyzer::FindingKind;

use super::config::{Config, Strategy};
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
    /// The goroutine whose chain holds the frame (0: nothing pushed).
    g: u64,
}

/// Pushes `site` onto the running goroutine's shadow call chain until the
/// guard drops. Without a detector: one thread-local check.
#[doc(hidden)]
#[inline]
pub fn enter_frame(site: &'static FrameSite) -> FrameGuard {
    if !detect::active() {
        return FrameGuard { g: 0 };
    }
    let g = detect::gid();
    if g != 0 {
        let loc = goro_analyzer::event::Loc {
            file: site.file,
            line: site.line,
            column: site.column,
        };
        detect::emit_for(
            g,
            Op::FrameEnter {
                function: site.function,
            },
            loc,
        );
    }
    FrameGuard { g }
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        if self.g != 0 && detect::active() {
            detect::emit_for(self.g, Op::FrameExit, goro_analyzer::event::Loc::UNKNOWN);
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
        let what = std::any::type_name::<T>();
        let addr = goro_analyzer::event::Addr(p as *const () as usize as u64);
        detect::emit(Op::Read { addr, what }, Location::caller());
    }
}

/// A write through a raw pointer or to a `static mut`, at the caller's span.
#[doc(hidden)]
#[track_caller]
#[inline]
pub fn write_ptr<T: ?Sized>(p: *const T) {
    if detect::active() {
        let what = std::any::type_name::<T>();
        let addr = goro_analyzer::event::Addr(p as *const () as usize as u64);
        detect::emit(Op::Write { addr, what }, Location::caller());
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
    /// `strategy = "random" | "pct"`.
    pub strategy: Option<&'static str>,
    /// `depth = N` (PCT).
    pub depth: Option<u32>,
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
        // `depth` alone implies PCT.
        match (self.strategy, self.depth) {
            (Some("pct"), d) | (None, d @ Some(_)) => {
                c = c.strategy(Strategy::Pct {
                    depth: d.unwrap_or(3),
                })
            }
            (Some("random"), _) | (None, None) => c = c.strategy(Strategy::Random),
            (Some(other), _) => {
                panic!("goro::instrument: unknown strategy `{other}`; expected `random` or `pct`")
            }
        }
        if let Some(n) = self.max_steps {
            c = c.max_steps(n);
        }
        c
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
    let expect = kinds(spec.expect, "expect");
    let allow = kinds(spec.allow, "allow");
    let config = match spec.config().with_env() {
        Ok(c) => c,
        Err(e) => panic!("goro::instrument: {e}"),
    };
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
