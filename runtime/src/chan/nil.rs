//! Go's nil channel outside `select!`: an operation that blocks forever.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use goro_analyzer::event::Wait;

use crate::rt::asleep::Waiting;
use crate::rt::block::BlockInfo;
use crate::rt::detect;

/// A receive from a nil channel: Go's `<-ch` with `ch == nil`, which blocks
/// forever.
///
/// goro's channels are never nil; Go's nil channel is an
/// `Option<Receiver<T>>` (or `Option<Chan<T>>`) set to `None`. In
/// [`select!`](crate::select!) a `None` case is simply never ready (Go's
/// `ch = nil` to switch a case off). Outside `select!`, await this where Go
/// would operate on the nil channel: it never completes. Under the detector
/// the goroutine is reported as blocked forever (a goroutine leak, or a
/// deadlock if the program cannot go on), like any goroutine parked on
/// something nothing can wake; in production it just waits until the
/// program ends.
///
/// # Examples
///
/// ```
/// use goro::race::{explore, Config, FindingKind};
///
/// async fn recv_or_nil(ch: Option<goro::Receiver<i32>>) -> Option<i32> {
///     match ch {
///         Some(ch) => ch.recv().await,
///         None => goro::chan::nil_recv().await, // Go: <-nilChan
///     }
/// }
///
/// let report = explore(Config::default().schedules(5).env(false), || async {
///     goro::go!(async { recv_or_nil(None).await; });
/// });
/// assert!(report.has(FindingKind::GoroutineLeak));
/// ```
#[track_caller]
pub fn nil_recv<T>() -> Nil<Option<T>> {
    Nil::new()
}

/// A send on a nil channel: Go's `ch <- v` with `ch == nil`, which blocks
/// forever (`v` is dropped with the future). See [`nil_recv`].
///
/// # Examples
///
/// ```
/// use goro::race::{explore, Config, FindingKind};
///
/// let report = explore(Config::default().schedules(5).env(false), || async {
///     goro::chan::nil_send(1).await; // main blocks forever
/// });
/// assert!(report.has(FindingKind::Deadlock));
/// ```
#[track_caller]
pub fn nil_send<T>(v: T) -> Nil<()> {
    drop(v);
    Nil::new()
}

/// The future of [`nil_recv`] and [`nil_send`]: never completes.
///
/// # Examples
///
/// ```
/// let never: goro::chan::Nil<Option<u8>> = goro::chan::nil_recv();
/// drop(never);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Nil<O> {
    site: &'static Location<'static>,
    yielded: bool,
    _out: PhantomData<fn() -> O>,
}

impl<O> Nil<O> {
    #[track_caller]
    fn new() -> Self {
        Nil {
            site: Location::caller(),
            yielded: false,
            _out: PhantomData,
        }
    }
}

impl<O> Future for Nil<O> {
    type Output = O;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        let this = self.get_mut();
        if detect::yield_point(cx, &mut this.yielded) {
            return Poll::Pending;
        }
        // Parked on nothing: no waker is kept, so nothing can wake it.
        detect::block_on(this.site, Waiting::Nil, cx.waker(), || {
            BlockInfo::Fixed(Wait::Forever)
        });
        Poll::Pending
    }
}

impl<O> fmt::Debug for Nil<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nil").finish_non_exhaustive()
    }
}
