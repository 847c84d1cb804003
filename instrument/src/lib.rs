//! Procedural macros for goro: `#[goro::instrument]` and `#[goro::test]`.
//!
//! Use them through `goro` (`goro::instrument`, `goro::test`): the
//! expansions name `::goro::race::testing`, so a crate using them depends on
//! `goro`. The examples live on goro's re-exports, where they can run.
//!
//! # On a test
//!
//! `#[goro::instrument(..)]` above `#[test]` on an `async fn` without
//! parameters, or `#[goro::test(..)]` alone, makes a plain `#[test] fn` that
//! runs the body as the main goroutine of `goro::race::explore`, under as
//! many schedules as asked, and fails on any finding that was not expected
//! or allowed. The body may return `()` or `Result<(), E>` with `E: Debug`;
//! an `Err` panics with `test returned error: {e:?}`, a `panic` finding. A
//! return type that is certainly neither (`-> i32`, `-> Result<u32, E>`) is
//! a compile error at the type; an alias is left to the type check.
//! Another runtime's test attribute below (`#[tokio::test]`) is an error:
//! both would run the body.
//!
//! | argument | value | default |
//! |---|---|---|
//! | `schedules` | whole number >= 1 (exhaustive: the budget) | 100 |
//! | `seed` | whole number | 0 |
//! | `strategy` | `"portfolio"`, `"random"`, `"pct"` or `"exhaustive"` | `"portfolio"` (`"pct"` if `depth` is given, `"exhaustive"` if `preemptions` is) |
//! | `depth` | PCT depth >= 1 | 3 |
//! | `preemptions` | exhaustive: at most this many preemptions per schedule | unbounded |
//! | `require_complete` | exhaustive: `true` fails the test unless every schedule ran | `false` |
//! | `dpor` | exhaustive: `false` runs every schedule, without partial-order reduction | `true` |
//! | `max_steps` | steps per schedule >= 1 | 100000 |
//! | `expect` | a kind or `[kinds]`: each must be found, and nothing else | none |
//! | `allow` | `[kinds]` reported without failing | none |
//!
//! Kinds: `data-race`, `goroutine-leak`, `deadlock`, `lock-order-inversion`,
//! `send-on-closed`, `double-close`, `lost-cancel`, `waitgroup-misuse`,
//! `panic`; a misspelt one is a compile error. `GORO_SCHEDULES`,
//! `GORO_SEED`, `GORO_STRATEGY`, `GORO_MAX_STEPS`, `GORO_DPOR` and
//! `GORO_REPORT_DIR` override the attribute's values at run time.
//!
//! # On any other function, method, impl block or inline module
//!
//! * Each call pushes a shadow frame (`module::Type::method`, file, line of
//!   the name) on the running goroutine's call chain and pops it on return
//!   (for an `async fn`, when its future completes or is dropped), so
//!   findings show the chain of instrumented calls.
//! * Inside `unsafe` code, reads and writes of `static mut` items and of
//!   places reached through raw pointers are recorded with their exact
//!   spans. `*p` is recorded only when `p` is a raw pointer, decided by type
//!   at compile time. A `static mut` is recognised by name when it is
//!   declared in the instrumented module (put the attribute on the `mod`) or
//!   in the function's outermost block, and no local binding or other item
//!   of the function or module has the same name; a static declared
//!   elsewhere is not seen. The target of `=` is a write, of `+=` a read and
//!   a write, `&mut place` a write, `&raw`/`addr_of!` nothing, anything else
//!   a read. Accesses written inside macro invocations, in `while let`
//!   scrutinees, in destructuring assignments, or through an index that is
//!   not a literal or a local name are not recorded.
//! * lostcancel: a `CancelFunc` from any path ending in `with_cancel`,
//!   `with_timeout` or `with_deadline` that is discarded, bound to `_`, or
//!   bound to a name never mentioned again is a compile error at the
//!   binding. So is a path that leaves the function (a `return`, a `?`, the
//!   end of a branch that ends it) or the name's block (`break`, `continue`)
//!   before any use of the name: the error is at the exit, with a second one
//!   at the binding. Any mention is a use (a call, a move, a closure or async
//!   block that captures it, a macro that names it); a use in a loop body or
//!   a branch counts only on the paths through it; panics are no leak; a
//!   `return` inside a macro is not seen. When unsure it stays silent; like
//!   `go vet`, it takes every branch as reachable, and does not know the
//!   user's functions that never return.
//!
//! Without a detector, a frame or an access costs one thread-local check
//! (goro-bench's `instrument` workload measures it). `const fn`s inside an
//! instrumented impl or module are left alone; so are its sync `#[test]`s,
//! which stay plain tests, while an `async` `#[test]` there becomes a goro
//! test.

mod access;
mod args;
mod item;
mod lostcancel;

use proc_macro::TokenStream;

/// Runs an `async fn` test under goro's detector, or instruments a function,
/// impl block or inline module. See the crate documentation, and
/// `goro::instrument` for examples.
#[proc_macro_attribute]
pub fn instrument(attr: TokenStream, item: TokenStream) -> TokenStream {
    item::expand(attr.into(), item.into(), item::Mode::Instrument).into()
}

/// `#[goro::instrument(..)]` plus `#[test]`: runs an `async fn` test under
/// goro's detector. See `goro::test` for examples.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    item::expand(attr.into(), item.into(), item::Mode::Test).into()
}
