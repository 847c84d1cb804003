//! Go's `context` package: cancellation, deadlines and request-scoped values
//! propagated down a call tree.
//!
//! A [`Context`] is a cheap `Clone` handle to an immutable node in a tree
//! rooted at [`background`] (or [`todo()`]). Derive children with
//! [`with_cancel`], [`with_timeout`], [`with_deadline`] and [`with_value`].
//! Cancelling a context closes its [`done`](Context::done) channel and those
//! of all its descendants, exactly once each, and sets their
//! [`err`](Context::err); it never affects the parent.
//!
//! As in Go: pass the context as the first argument; select on
//! `ctx.done()` wherever a goroutine might block; always call the
//! [`CancelFunc`] once the work is done, even after a timeout fired, to
//! release the context's timer and its registration in its parent. Dropping
//! a `CancelFunc` does *not* cancel (the detector reports it as a
//! `lost-cancel` finding).
//!
//! ```
//! use goro::context::{self, Context};
//! use goro::time::{self, Duration};
//!
//! async fn fetch(ctx: &Context, id: u32) -> Result<String, context::Error> {
//!     goro::select! {
//!         recv(ctx.done()) -> _ => return Err(ctx.err().unwrap()),
//!         recv(time::after(Duration::from_millis(5))) -> _ => Ok(format!("user {id}")),
//!     }
//! }
//!
//! goro::run(async {
//!     let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(2));
//!     assert_eq!(fetch(&ctx, 7).await.unwrap(), "user 7");
//!     cancel.cancel();
//!     assert_eq!(fetch(&ctx, 8).await, Err(context::Error::Canceled));
//! });
//! ```

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use goro_analyzer::event::{Gid, Loc};

use crate::rt::clock;
use crate::rt::context::CancelCore;
use crate::rt::detect;
use crate::rt::dropsite;
use crate::time::Instant;
use crate::Receiver;

/// Re-exported from the cancellation core, which owns it.
pub use crate::rt::context::Error;

/// A key for [`with_value`] and [`Context::value`], typed by its value.
///
/// Declare keys as `static` items: a key's identity is the address of its
/// static, so two keys never collide, whatever their names or types. (A
/// `const` key would be a fresh value at each use and might not find its
/// own values.) The name only shows in `Debug` output.
///
/// # Examples
///
/// ```
/// use goro::context::{self, Key};
///
/// static REQUEST_ID: Key<String> = Key::new("request_id");
///
/// let ctx = context::with_value(&context::background(), &REQUEST_ID, "r-42".to_string());
/// assert_eq!(ctx.value(&REQUEST_ID).as_deref(), Some("r-42"));
/// assert_eq!(REQUEST_ID.name(), "request_id");
/// ```
pub struct Key<T> {
    name: &'static str,
    // `fn() -> T`: the key holds no `T`, so it is `Send + Sync` (a static)
    // whatever `T` is.
    _value: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// A key named `name`, for a `static` item.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context::Key;
    ///
    /// static USER: Key<u64> = Key::new("user");
    /// assert_eq!(USER.name(), "user");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Key {
            name,
            _value: PhantomData,
        }
    }

    /// The key's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context::Key;
    ///
    /// static TRACE: Key<u128> = Key::new("trace");
    /// assert_eq!(TRACE.name(), "trace");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn id(&'static self) -> usize {
        self as *const Self as usize
    }
}

impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Key").field(&self.name).finish()
    }
}

/// A context: cancellation, a deadline and values, carried down a call
/// tree. Go's `context.Context`.
///
/// A cheap `Clone` handle (`Send + Sync`), to pass by reference or clone
/// into goroutines. Contexts are immutable: deriving a child never changes
/// the parent.
///
/// # Examples
///
/// ```
/// use goro::context::{self, Context};
///
/// async fn worker(ctx: Context, jobs: goro::Receiver<u32>, out: goro::Sender<u32>) {
///     loop {
///         goro::select! {
///             recv(ctx.done()) -> _ => return,
///             recv(jobs) -> job => match job {
///                 Some(j) => out.send(j * 2).await,
///                 None => return,
///             },
///         }
///     }
/// }
///
/// goro::run(async {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let jobs = goro::chan(0);
///     let out = goro::chan(0);
///     let h = goro::spawn(worker(ctx.clone(), jobs.receiver(), out.sender()));
///     jobs.send(21).await;
///     assert_eq!(out.recv().await, Some(42));
///     cancel.cancel();
///     h.await; // the worker saw ctx.done() and returned
/// });
/// ```
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

struct Node {
    /// `None` only for the roots.
    parent: Option<Context>,
    kind: Kind,
    /// The nearest cancelable core: this node's own for `with_cancel` and
    /// `with_deadline`, the parent's for a value, a never-cancelled one for
    /// the roots.
    scope: Arc<CancelCore>,
}

enum Kind {
    Root(&'static str),
    Cancel,
    Deadline(Instant),
    Value {
        key: usize,
        name: &'static str,
        value: Box<dyn Any + Send + Sync>,
    },
}

impl Drop for Node {
    /// Drops a long chain of ancestors iteratively, not by recursion.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(ctx) = next {
            next = match Arc::try_unwrap(ctx.node) {
                Ok(mut node) => node.parent.take(),
                Err(_) => None,
            };
        }
    }
}

fn root(name: &'static str) -> Context {
    Context {
        node: Arc::new(Node {
            parent: None,
            kind: Kind::Root(name),
            scope: CancelCore::root(),
        }),
    }
}

/// The empty root context: never cancelled, no deadline, no values. Go's
/// `context.Background()`; use it at the top of `main`, tests and requests.
///
/// Every call returns a handle to the same context; its `done()` channel is
/// never closed, so a `select!` case on it never fires.
///
/// # Examples
///
/// ```
/// use goro::context;
///
/// let ctx = context::background();
/// assert_eq!(ctx.err(), None);
/// assert_eq!(ctx.deadline(), None);
/// assert!(ctx.done().try_recv().is_err()); // never closed
/// ```
pub fn background() -> Context {
    static BACKGROUND: OnceLock<Context> = OnceLock::new();
    BACKGROUND
        .get_or_init(|| root("context.Background"))
        .clone()
}

/// Like [`background`], marking a place where the right context is not
/// decided yet: Go's `context.TODO()`.
///
/// # Examples
///
/// ```
/// use goro::context;
///
/// let ctx = context::todo();
/// assert_eq!(ctx.err(), None);
/// assert_eq!(format!("{ctx:?}"), "context.TODO");
/// ```
pub fn todo() -> Context {
    static TODO: OnceLock<Context> = OnceLock::new();
    TODO.get_or_init(|| root("context.TODO")).clone()
}

/// A child of `parent` with its own cancellation: Go's
/// `context.WithCancel(parent)`.
///
/// The child is cancelled, with [`Error::Canceled`], when the returned
/// [`CancelFunc`] is called, or with the parent's error when the parent is;
/// if the parent already is, the child is born cancelled. It inherits the
/// parent's deadline and values. Call `cancel` once the work is done.
///
/// # Examples
///
/// ```
/// use goro::context::{self, Error};
///
/// goro::run(async {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let waiter = goro::spawn({
///         let ctx = ctx.clone();
///         async move {
///             ctx.done().recv().await; // None once closed
///             ctx.err()
///         }
///     });
///     cancel.cancel();
///     assert_eq!(waiter.await, Some(Error::Canceled));
/// });
/// ```
#[track_caller]
#[must_use = "call the CancelFunc (`cancel.cancel()`) when the work is done"]
pub fn with_cancel(parent: &Context) -> (Context, CancelFunc) {
    detect::touch_unknown();
    let core = CancelCore::child(&parent.node.scope, None);
    derive(parent, Kind::Cancel, core, "with_cancel")
}

/// A child of `parent` that is cancelled with [`Error::DeadlineExceeded`]
/// at `deadline`: Go's `context.WithDeadline(parent, d)`.
///
/// The child's [`deadline`](Context::deadline) is the earlier of `deadline`
/// and the parent's; only an earlier one starts a timer of its own. A
/// deadline that has passed gives a child born cancelled. Otherwise as
/// [`with_cancel`]; calling `cancel` stops the timer.
///
/// # Panics
///
/// When it needs a timer outside [`run`](crate::run) (or a tokio runtime
/// with timers enabled).
///
/// # Examples
///
/// ```
/// use goro::context::{self, Error};
/// use goro::time::{self, Duration};
///
/// goro::run(async {
///     let deadline = time::now() + Duration::from_millis(20);
///     let (ctx, cancel) = context::with_deadline(&context::background(), deadline);
///     assert_eq!(ctx.deadline(), Some(deadline));
///     ctx.done().recv().await;
///     assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
///     assert!(time::now() >= deadline);
///     cancel.cancel(); // still call it: a no-op now
/// });
/// ```
#[track_caller]
#[must_use = "call the CancelFunc (`cancel.cancel()`) when the work is done"]
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, CancelFunc) {
    detect::touch_unknown();
    deadline_ctx(parent, deadline, "with_deadline")
}

#[track_caller]
fn deadline_ctx(parent: &Context, deadline: Instant, func: &'static str) -> (Context, CancelFunc) {
    let core = CancelCore::child(&parent.node.scope, Some(deadline));
    derive(parent, Kind::Deadline(deadline), core, func)
}

/// A child of `parent` that is cancelled with [`Error::DeadlineExceeded`]
/// `timeout` from now: Go's `context.WithTimeout(parent, timeout)`, that is
/// [`with_deadline`]`(parent, now() + timeout)`.
///
/// # Panics
///
/// When it needs a timer outside [`run`](crate::run) (or a tokio runtime
/// with timers enabled).
///
/// # Examples
///
/// ```
/// use goro::context::{self, Error};
/// use goro::time::{self, Duration};
///
/// goro::run(async {
///     let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_millis(20));
///     let slow = goro::chan::<()>(0); // never ready
///     let r = goro::select! {
///         recv(slow) -> _ => Ok(()),
///         recv(ctx.done()) -> _ => Err(ctx.err().unwrap()),
///     };
///     assert_eq!(r, Err(Error::DeadlineExceeded));
///     cancel.cancel();
/// });
/// ```
#[track_caller]
#[must_use = "call the CancelFunc (`cancel.cancel()`) when the work is done"]
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, CancelFunc) {
    detect::touch_unknown();
    deadline_ctx(parent, clock::now().saturating_add(timeout), "with_timeout")
}

#[track_caller]
fn derive(
    parent: &Context,
    kind: Kind,
    core: Arc<CancelCore>,
    func: &'static str,
) -> (Context, CancelFunc) {
    let ctx = Context {
        node: Arc::new(Node {
            parent: Some(parent.clone()),
            kind,
            scope: core.clone(),
        }),
    };
    let handle = Arc::new(CancelHandle {
        core,
        called: AtomicBool::new(false),
        created: Location::caller(),
        creator: detect::gid(),
        func,
    });
    (ctx, CancelFunc { handle })
}

/// A child of `parent` that carries `value` under `key`: Go's
/// `context.WithValue(parent, key, value)`.
///
/// [`Context::value`] finds it from this context and its descendants; a
/// descendant may shadow it with another value under the same key. The child
/// shares the parent's cancellation and deadline. As Go advises, carry
/// request-scoped data (ids, credentials), not optional parameters.
///
/// # Examples
///
/// ```
/// use goro::context::{self, Key};
///
/// static REQUEST_ID: Key<String> = Key::new("request_id");
///
/// let root = context::background();
/// let ctx = context::with_value(&root, &REQUEST_ID, "r-1".to_string());
/// let inner = context::with_value(&ctx, &REQUEST_ID, "r-2".to_string());
/// assert_eq!(ctx.value(&REQUEST_ID).as_deref(), Some("r-1"));
/// assert_eq!(inner.value(&REQUEST_ID).as_deref(), Some("r-2")); // shadowed
/// assert_eq!(root.value(&REQUEST_ID), None);
/// ```
pub fn with_value<T>(parent: &Context, key: &'static Key<T>, value: T) -> Context
where
    T: Send + Sync + 'static,
{
    Context {
        node: Arc::new(Node {
            parent: Some(parent.clone()),
            kind: Kind::Value {
                key: key.id(),
                name: key.name,
                value: Box::new(value),
            },
            scope: parent.node.scope.clone(),
        }),
    }
}

impl Context {
    /// A channel that is closed when this context is cancelled: Go's
    /// `ctx.Done()`.
    ///
    /// Nothing is ever sent on it; it is closed exactly once, so every
    /// receiver (in a [`select!`](crate::select!) or `recv().await`, which
    /// returns `None`) observes the cancellation, and [`err`](Context::err)
    /// is set by then. The channel of [`background`] is never closed.
    /// Cheap: every call returns a handle to the same channel, without
    /// allocating.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context;
    ///
    /// goro::run(async {
    ///     let (ctx, cancel) = context::with_cancel(&context::background());
    ///     cancel.cancel();
    ///     goro::select! {
    ///         recv(ctx.done()) -> v => assert_eq!(v, None), // closed
    ///     }
    /// });
    /// ```
    pub fn done(&self) -> Receiver<()> {
        Receiver::from_channel(self.node.scope.done())
    }

    /// Why this context was cancelled, or `None` while it is not: Go's
    /// `ctx.Err()`. Once `Some`, it never changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context::{self, Error};
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// assert_eq!(ctx.err(), None);
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(Error::Canceled));
    /// ```
    pub fn err(&self) -> Option<Error> {
        detect::touch_unknown();
        self.node.scope.err()
    }

    /// When this context will be cancelled with
    /// [`Error::DeadlineExceeded`], if it has a deadline: the earliest of
    /// its own and its ancestors'. Go's `ctx.Deadline()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context;
    /// use goro::time::Duration;
    ///
    /// goro::run(async {
    ///     let bg = context::background();
    ///     let (outer, c1) = context::with_timeout(&bg, Duration::from_secs(1));
    ///     let (inner, c2) = context::with_timeout(&outer, Duration::from_secs(60));
    ///     assert_eq!(inner.deadline(), outer.deadline()); // the parent's is earlier
    ///     assert_eq!(bg.deadline(), None);
    ///     c2.cancel();
    ///     c1.cancel();
    /// });
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.node.scope.deadline()
    }

    /// The value stored under `key` by the nearest [`with_value`] on the
    /// way up from this context, if any: Go's `ctx.Value(key)`.
    ///
    /// Walks up the chain, so it costs one step per ancestor.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context::{self, Key};
    ///
    /// static USER: Key<u64> = Key::new("user");
    ///
    /// let ctx = context::with_value(&context::background(), &USER, 7);
    /// let (child, cancel) = context::with_cancel(&ctx);
    /// assert_eq!(child.value(&USER), Some(7));
    /// cancel.cancel();
    /// ```
    pub fn value<T>(&self, key: &'static Key<T>) -> Option<T>
    where
        T: Clone + 'static,
    {
        let id = key.id();
        let mut cur = Some(self);
        while let Some(ctx) = cur {
            if let Kind::Value { key, value, .. } = &ctx.node.kind {
                if *key == id {
                    return value.downcast_ref::<T>().cloned();
                }
            }
            cur = ctx.node.parent.as_ref();
        }
        None
    }
}

impl fmt::Debug for Context {
    /// Go's `String()` of a context: its derivation from the root, e.g.
    /// `context.Background.WithCancel.WithValue(request_id)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chain = Vec::new();
        let mut cur = Some(self);
        while let Some(ctx) = cur {
            chain.push(&ctx.node.kind);
            cur = ctx.node.parent.as_ref();
        }
        for kind in chain.into_iter().rev() {
            match kind {
                Kind::Root(name) => f.write_str(name)?,
                Kind::Cancel => f.write_str(".WithCancel")?,
                Kind::Deadline(d) => write!(f, ".WithDeadline({d:?})")?,
                Kind::Value { name, .. } => write!(f, ".WithValue({name})")?,
            }
        }
        Ok(())
    }
}

/// Cancels the context it came with: Go's `context.CancelFunc`.
///
/// Returned by [`with_cancel`], [`with_timeout`] and [`with_deadline`].
/// `cancel()` is idempotent and may be called from any goroutine (the
/// handle is `Clone + Send + Sync`). Call it as soon as the work is done,
/// even if the context already timed out: it stops the context's timer and
/// removes the context from its parent, which otherwise keeps it (and its
/// descendants) until the parent itself is cancelled.
///
/// Dropping a `CancelFunc` does **not** cancel, as in Go where a forgotten
/// `cancel` is a leak; under the detector it is reported as a `lost-cancel`
/// finding.
///
/// # Examples
///
/// ```
/// use goro::context::{self, CancelFunc};
///
/// let (ctx, cancel): (_, CancelFunc) = context::with_cancel(&context::background());
/// let again = cancel.clone();
/// cancel.cancel();
/// again.cancel(); // idempotent
/// assert!(ctx.err().is_some());
/// ```
#[derive(Clone)]
#[must_use = "call `cancel()` when the work is done; dropping a CancelFunc does not cancel"]
pub struct CancelFunc {
    handle: Arc<CancelHandle>,
}

/// Shared by the clones of one `CancelFunc`: when the last one goes without
/// any having been called, the detector reports a lost cancel.
struct CancelHandle {
    core: Arc<CancelCore>,
    called: AtomicBool,
    created: &'static Location<'static>,
    /// The goroutine that made it (0 in production).
    creator: Option<Gid>,
    func: &'static str,
}

impl Drop for CancelHandle {
    fn drop(&mut self) {
        if detect::active() && !self.called.load(Ordering::Relaxed) {
            // A drop has no caller location of its own: read it from the
            // stack, unless the goroutine is being torn down (no code of
            // its own is dropping it then).
            let at = if detect::tearing_down() {
                Loc::UNKNOWN
            } else {
                dropsite::user_frame(self.created).unwrap_or(Loc::UNKNOWN)
            };
            // One dropped with a goroutine at the end of the schedule is
            // the engine's to judge (`Engine::apply_teardown`).
            detect::lost_cancel(
                self.created,
                self.creator,
                self.func,
                self.core.has_timer(),
                self.core.registered_children(),
                at,
            );
        }
    }
}

impl CancelFunc {
    /// Cancels the context and all its descendants with
    /// [`Error::Canceled`] (unless already cancelled: then nothing
    /// changes), closes their `done()` channels, stops the context's timer
    /// and removes it from its parent. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context::{self, Error};
    ///
    /// let (parent, cancel) = context::with_cancel(&context::background());
    /// let (child, child_cancel) = context::with_cancel(&parent);
    /// cancel.cancel();
    /// assert_eq!(child.err(), Some(Error::Canceled));
    /// child_cancel.cancel();
    /// ```
    pub fn cancel(&self) {
        detect::touch_unknown();
        self.handle.called.store(true, Ordering::Relaxed);
        self.handle.core.cancel(Error::Canceled);
    }
}

impl CancelFunc {
    /// A guard that calls [`cancel`](CancelFunc::cancel) when dropped: Go's
    /// `defer cancel()` in one line. The guard holds a clone, so `self`
    /// stays usable (to cancel earlier). The lostcancel lint of
    /// `#[goro::instrument]` counts it as a use.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context;
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// {
    ///     let _cancel = cancel.on_drop(); // defer cancel()
    ///     assert!(ctx.err().is_none());
    /// }
    /// assert!(ctx.err().is_some());
    /// ```
    pub fn on_drop(&self) -> CancelGuard {
        CancelGuard(self.clone())
    }
}

/// Cancels its context when dropped; made by [`CancelFunc::on_drop`]
/// (Go's `defer cancel()`).
///
/// # Examples
///
/// ```
/// use goro::context::{self, CancelGuard};
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let g: CancelGuard = cancel.on_drop();
/// drop(g);
/// assert!(ctx.err().is_some());
/// ```
#[must_use = "dropping the guard at once cancels at once; bind it: `let _cancel = ..`"]
pub struct CancelGuard(CancelFunc);

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl fmt::Debug for CancelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CancelGuard").field(&self.0).finish()
    }
}

impl fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelFunc")
            .field("canceled", &self.handle.core.err().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_releases_parent_registration() {
        let (parent, cancel_parent) = with_cancel(&background());
        for _ in 0..100_000 {
            let (child, cancel) = with_cancel(&parent);
            assert_eq!(parent.node.scope.registered_children(), 1);
            cancel.cancel();
            assert_eq!(child.err(), Some(Error::Canceled));
            assert_eq!(parent.node.scope.registered_children(), 0);
        }
        // Value contexts in between register with the nearest cancelable
        // ancestor, and leave it the same way.
        let v = with_value(&parent, &NAME, "x");
        let kids: Vec<_> = (0..1000).map(|_| with_cancel(&v)).collect();
        assert_eq!(parent.node.scope.registered_children(), 1000);
        for (_, c) in &kids {
            c.cancel();
        }
        assert_eq!(parent.node.scope.registered_children(), 0);
        assert_eq!(parent.err(), None);
        cancel_parent.cancel();
    }

    static NAME: Key<&'static str> = Key::new("name");

    #[test]
    fn parent_cancel_empties_registry_and_roots_keep_none() {
        let (parent, cancel_parent) = with_cancel(&background());
        let kids: Vec<_> = (0..100).map(|_| with_cancel(&parent)).collect();
        assert_eq!(parent.node.scope.registered_children(), 100);
        // Children of a root are not registered: it is never cancelled.
        let _orphans: Vec<_> = (0..100).map(|_| with_cancel(&background())).collect();
        assert_eq!(background().node.scope.registered_children(), 0);
        cancel_parent.cancel();
        assert_eq!(parent.node.scope.registered_children(), 0);
        for (k, c) in &kids {
            assert_eq!(k.err(), Some(Error::Canceled));
            c.cancel();
        }
    }

    #[test]
    fn child_of_cancelled_parent_is_not_registered() {
        let (parent, cancel_parent) = with_cancel(&background());
        cancel_parent.cancel();
        let (child, _c) = with_cancel(&parent);
        assert_eq!(child.err(), Some(Error::Canceled));
        assert_eq!(parent.node.scope.registered_children(), 0);
    }

    #[test]
    fn cancel_releases_timer() {
        crate::run(async {
            let (parent, cancel_parent) = with_cancel(&background());
            let (ctx, cancel) = with_timeout(&parent, Duration::from_secs(3600));
            assert!(ctx.node.scope.has_timer());
            assert_eq!(parent.node.scope.registered_children(), 1);
            cancel.cancel();
            assert!(!ctx.node.scope.has_timer());
            assert_eq!(parent.node.scope.registered_children(), 0);

            // A deadline no earlier than the parent's needs no timer.
            let (short, c1) = with_timeout(&parent, Duration::from_secs(60));
            let (long, c2) = with_timeout(&short, Duration::from_secs(3600));
            assert!(short.node.scope.has_timer());
            assert!(!long.node.scope.has_timer());
            assert_eq!(long.deadline(), short.deadline());

            // Firing releases the registration too.
            let (quick, c3) = with_timeout(&parent, Duration::from_millis(5));
            quick.done().recv().await;
            assert_eq!(quick.err(), Some(Error::DeadlineExceeded));
            assert!(!quick.node.scope.has_timer());
            // The timer unregisters just after closing `done`.
            for _ in 0..1000 {
                if parent.node.scope.registered_children() == 1 {
                    break;
                }
                crate::yield_now().await;
            }
            assert_eq!(parent.node.scope.registered_children(), 1); // `short`
            for c in [c1, c2, c3, cancel_parent] {
                c.cancel();
            }
        });
    }
}
