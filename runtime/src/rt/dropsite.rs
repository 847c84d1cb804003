//! Where the user's code called in, when the call has no caller location:
//! a `Drop` impl (the drop site of a lost `CancelFunc`) or a trait method
//! that a combinator calls (`Stream::poll_next` of a `Receiver`). Under the
//! detector only (never in production) it is read from a backtrace: the
//! first frame outside goro's own crates, the standard library, tokio and
//! futures that has a file and line.

use std::panic::Location;
use std::path::{Path, PathBuf};

use goro_analyzer::event::Loc;

use super::panic::intern;

/// Crates whose frames are never the user's drop site: goro's own, the
/// standard library (and its test harness), and the executors and
/// utilities whose code sits between a future and its drop.
const SKIPPED: &[&str] = &[
    "goro",
    "goro_analyzer",
    "goro_macros",
    "std",
    "core",
    "alloc",
    "test",
    "tokio",
    "futures",
    "futures_core",
    "futures_util",
    "futures_executor",
    "futures_task",
    "parking_lot",
    "pin_project_lite",
];

/// The user's frame that made the call running now (for a `Drop`, the
/// frame that dropped the value), named as rustc names `near`'s file
/// (relative to the workspace root when `near` is); `None` when no frame
/// resolves to a file and line (no debug info).
pub(crate) fn user_frame(near: &'static Location<'static>) -> Option<Loc> {
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    let (file, line, column) = first_user_frame(&trace)?;
    Some(Loc {
        file: intern(&relative_to_workspace(&file, near.file())),
        line,
        column,
    })
}

/// The first frame of a `Backtrace`'s text (`  N: symbol` lines, each
/// followed by `at file:line:column` when it resolved) whose symbol belongs
/// to no skipped crate and that has a location.
fn first_user_frame(trace: &str) -> Option<(String, u32, u32)> {
    let mut symbol: Option<&str> = None;
    for raw in trace.lines() {
        let l = raw.trim();
        if let Some(at) = l.strip_prefix("at ") {
            let Some(sym) = symbol.take() else { continue };
            if is_user(sym) {
                if let Some(place) = parse_place(at) {
                    return Some(place);
                }
            }
            continue;
        }
        // `N: symbol`: a new frame (or an inlined one).
        symbol = l
            .split_once(": ")
            .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .map(|(_, s)| s);
    }
    None
}

/// `file:line:column`, the file possibly holding colons itself.
fn parse_place(at: &str) -> Option<(String, u32, u32)> {
    let (rest, column) = at.rsplit_once(':')?;
    let (file, line) = rest.rsplit_once(':')?;
    Some((file.to_string(), line.parse().ok()?, column.parse().ok()?))
}

/// Whether a demangled symbol is a Rust path of a crate that is not
/// skipped (`<T as Trait>::f` belongs to `T`'s crate).
fn is_user(symbol: &str) -> bool {
    if !symbol.contains("::") {
        // `main`, `_start`, libc: not Rust code of the user's.
        return false;
    }
    let s = symbol.trim_start_matches(['<', '&']);
    let s = s.strip_prefix("mut ").unwrap_or(s);
    let s = s.strip_prefix("dyn ").unwrap_or(s);
    let krate = s.split([':', '<', ' ']).next().unwrap_or("");
    !krate.is_empty() && !SKIPPED.contains(&krate) && !krate.starts_with("__")
}

/// `file` as rustc names the files of `near`'s crate: `near` is relative
/// to the workspace root, the directory `root` for which `root/near` is a
/// file. A backtrace names files absolutely or relative to the current
/// directory (`./src/..`).
fn relative_to_workspace(file: &str, near: &str) -> String {
    relative_to(file, near, std::env::current_dir().ok().as_deref())
}

/// [`relative_to_workspace`] with the current directory `cwd`. The root is
/// looked for among the ancestors of `file` itself, so the name does not
/// depend on where the program was started; then among those of `cwd`
/// (a drop site in another workspace than `near`'s). A file in neither,
/// or a crate rustc names absolutely (`near` absolute: built from outside
/// any workspace), stays absolute, as rustc names it.
fn relative_to(file: &str, near: &str, cwd: Option<&Path>) -> String {
    let abs: PathBuf = match (file.strip_prefix("./"), cwd) {
        (Some(rest), Some(cwd)) => cwd.join(rest),
        _ => PathBuf::from(file),
    };
    if Path::new(near).is_absolute() || !abs.is_absolute() {
        return abs.to_string_lossy().into_owned();
    }
    let root_of = |start: &Path| -> Option<PathBuf> {
        start
            .ancestors()
            .find(|a| a.join(near).is_file())
            .map(Path::to_path_buf)
    };
    let root = abs
        .parent()
        .and_then(root_of)
        .or_else(|| cwd.and_then(root_of));
    match root.as_deref().and_then(|r| abs.strip_prefix(r).ok()) {
        Some(rel) => rel.to_string_lossy().into_owned(),
        None => abs.to_string_lossy().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "   0: <goro::context::CancelHandle as core::ops::drop::Drop>::drop
             at ./src/context.rs:620:29
   1: core::ptr::drop_in_place<goro::context::CancelHandle>
             at /rustc/abc/library/core/src/ptr/mod.rs:805:1
   2: alloc::sync::Arc<T,A>::drop_slow
             at /rustc/abc/library/alloc/src/sync.rs:1900:18
   3: goro_fixtures::blocking::lost_cancel::handle_request::{{closure}}
             at /work/ws/fixtures/src/blocking/lost_cancel.rs:35:1
   4: <core::pin::Pin<P> as core::future::future::Future>::poll
             at /rustc/abc/library/core/src/future/future.rs:133:9
   5: main
";

    #[test]
    fn the_first_frame_outside_goro_and_std_is_the_drop_site() {
        assert_eq!(
            first_user_frame(TRACE),
            Some((
                "/work/ws/fixtures/src/blocking/lost_cancel.rs".to_string(),
                35,
                1
            ))
        );
    }

    #[test]
    fn a_trace_without_a_resolved_user_frame_has_no_drop_site() {
        let unresolved = "   0: <goro::context::CancelHandle as core::ops::drop::Drop>::drop
   1: user_crate::f::{{closure}}
   2: main
             at ./src/main.rs:3:1
";
        assert_eq!(first_user_frame(unresolved), None);
        assert_eq!(first_user_frame(""), None);
        assert_eq!(first_user_frame("garbage\n  at nowhere"), None);
    }

    #[test]
    fn symbols_belong_to_their_crate() {
        assert!(is_user("blocking::a_test::{{closure}}"));
        assert!(is_user("<my_app::Job as core::ops::drop::Drop>::drop"));
        assert!(!is_user(
            "<goro::context::CancelFunc as core::clone::Clone>::clone"
        ));
        assert!(!is_user("futures_util::future::join::Join<A,B>::poll"));
        assert!(!is_user("tokio::runtime::task::raw::poll"));
        assert!(!is_user("__libc_start_main_impl"));
        assert!(!is_user("main"));
    }

    #[test]
    fn places_parse_with_colons_in_the_file() {
        assert_eq!(
            parse_place(r"C:\ws\src\lib.rs:7:9"),
            Some((r"C:\ws\src\lib.rs".to_string(), 7, 9))
        );
        assert_eq!(parse_place("nowhere"), None);
    }

    #[test]
    fn files_outside_the_workspace_stay_absolute() {
        assert_eq!(
            relative_to_workspace("/elsewhere/x.rs", "no/such/dir/file.rs"),
            "/elsewhere/x.rs"
        );
    }

    /// A workspace `<tmp>/ws` with `app/src/lib.rs`, for the naming tests.
    fn workspace(name: &str) -> PathBuf {
        let ws = std::env::temp_dir().join(format!("goro-dropsite-{}-{name}", std::process::id()));
        std::fs::create_dir_all(ws.join("app/src")).expect("a temporary workspace");
        std::fs::write(ws.join("app/src/lib.rs"), "").expect("a temporary workspace");
        ws
    }

    #[test]
    fn a_drop_site_is_relative_to_the_workspace_wherever_the_program_runs() {
        let ws = workspace("anywhere");
        let file = ws.join("app/src/handler.rs");
        let file = file.to_str().expect("a UTF-8 temporary path");
        // Started inside the workspace, outside it, or nowhere known: the
        // same name, as rustc gives `near`.
        for cwd in [Some(ws.join("app")), Some(PathBuf::from("/")), None] {
            assert_eq!(
                relative_to(file, "app/src/lib.rs", cwd.as_deref()),
                "app/src/handler.rs",
                "started in {cwd:?}"
            );
        }
        // A backtrace's `./` path is relative to the current directory.
        assert_eq!(
            relative_to("./src/handler.rs", "app/src/lib.rs", Some(&ws.join("app"))),
            "app/src/handler.rs"
        );
        let _ = std::fs::remove_dir_all(&ws);
    }

    #[test]
    fn a_crate_rustc_names_absolutely_keeps_absolute_names() {
        let ws = workspace("absolute");
        let near = ws.join("app/src/lib.rs");
        let file = ws.join("app/src/handler.rs");
        let (near, file) = (near.to_str().unwrap(), file.to_str().unwrap());
        assert_eq!(relative_to(file, near, Some(Path::new("/"))), file);
        let _ = std::fs::remove_dir_all(&ws);
    }
}
