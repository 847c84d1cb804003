//! Channels: Go's `make(chan T, cap)`, their handles, errors and futures.
//!
//! [`Chan`] is a bidirectional handle; [`Sender`] and [`Receiver`] are the
//! direction-restricted handles Go writes `chan<- T` and `<-chan T`. All are
//! cheap to clone and share one channel.
//!
//! Semantics, as in Go:
//! - Unbuffered (`cap == 0`): `send(v).await` completes only once a receiver
//!   has taken `v`.
//! - Buffered: FIFO; `send` waits only while the buffer is full.
//! - `close()`: receivers drain what is buffered, then get `None`; a sender
//!   blocked at the time panics with `send on closed channel`, as does any
//!   later `send`; a second `close` panics with `close of closed channel`.
//!
//! Nil channels: goro's handles are never nil; Go's nil channel variable is
//! an `Option` of a handle set to `None`. In [`select!`](crate::select!),
//! `recv(opt) -> v` and `send(opt, v)` accept an `Option` (owned, or
//! `Option<&handle>`), and a `None` case is never ready, so Go's `ch = nil`
//! switches a case off. Outside `select!`, Go's operations on a nil channel
//! block forever: await [`nil_recv`] or [`nil_send`] there, which the
//! detector reports as blocked forever (a leak, or a deadlock).
//!
//! Cancel safety: dropping a pending [`SendFuture`] or [`RecvFuture`] (as
//! [`select!`](crate::select!) does to its losing cases, or a timeout does)
//! never loses, duplicates or reorders a value. Values stay in the channel
//! until a receiver that is being polled takes them, so values leave a
//! channel in the order they entered it; a dropped receive that had been
//! notified passes the notification on. A dropped send either did not send,
//! or (if a receiver had already taken its value) completed.

mod err;
mod nil;

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use err::{TryRecvError, TrySendError};
pub use nil::{nil_recv, nil_send, Nil};

use goro_analyzer::event::Loc;

use crate::rt::asleep::Waiting;
use crate::rt::chan::{handle_ref, Channel, RecvOrPark, SendOrPark, SoloRecv, TryRecv, TrySend};
use crate::rt::detect;
use crate::rt::dropsite;
use crate::rt::panic::panic_at;
use crate::rt::waiter::{self, Waiter};

pub(crate) use crate::rt::chan::{CLOSE_OF_CLOSED, SEND_ON_CLOSED};

/// Makes a channel of capacity `cap`: Go's `make(chan T, cap)`.
///
/// `cap == 0` makes an unbuffered (rendezvous) channel.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let buf = goro::chan(3);
///     buf.send("a").await;
///     buf.send("b").await;
///     buf.send("c").await;
///     buf.close();
///     while let Some(s) = buf.recv().await {
///         println!("{s}");
///     }
/// });
/// ```
#[track_caller]
pub fn chan<T>(cap: usize) -> Chan<T> {
    Chan::wrap(Arc::new(Channel::new(cap, Location::caller())))
}

/// A channel handle that can send, receive and close: Go's `chan T`.
///
/// Cloning is cheap and yields another handle to the same channel.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let ch = goro::chan(0);
///     let tx = ch.clone();
///     goro::go!(async move { tx.send(42).await });
///     assert_eq!(ch.recv().await, Some(42));
/// });
/// ```
pub struct Chan<T> {
    inner: Arc<Channel<T>>,
}

/// A send-only handle: Go's `chan<- T`.
///
/// # Examples
///
/// ```
/// async fn produce(out: goro::Sender<i32>) {
///     for i in 0..3 {
///         out.send(i).await;
///     }
///     out.close();
/// }
/// goro::run(async {
///     let ch = goro::chan(3);
///     produce(ch.sender()).await;
///     assert_eq!(ch.len(), 3);
/// });
/// ```
pub struct Sender<T> {
    inner: Arc<Channel<T>>,
}

/// A receive-only handle: Go's `<-chan T`. Also a [`futures_core::Stream`]
/// that ends when the channel is closed and drained. `rx.next()` is the
/// inherent [`next`](Receiver::next), which names the caller's line under
/// the detector. A receive through the `Stream` trait itself (a combinator
/// such as `map`, `fold` or `for_each`) has no caller location: the
/// detector reports it at the first frame of the user's code on the stack
/// when the receiver is first polled as a stream (read from a backtrace,
/// once per receiver; needs debug info, else it names goro's source).
///
/// # Examples
///
/// ```
/// async fn total(inp: goro::Receiver<i32>) -> i32 {
///     let mut sum = 0;
///     while let Some(v) = inp.recv().await {
///         sum += v;
///     }
///     sum
/// }
/// goro::run(async {
///     let ch = goro::chan(3);
///     for i in 1..=3 {
///         ch.send(i).await;
///     }
///     ch.close();
///     assert_eq!(total(ch.receiver()).await, 6);
/// });
/// ```
pub struct Receiver<T> {
    inner: Arc<Channel<T>>,
    /// A receive parked by `Stream::poll_next`, kept across polls.
    stream: RecvState,
    /// Under the detector, the user's frame that polls it as a `Stream`
    /// (read from a backtrace once: `poll_next` has no caller location).
    stream_caller: Option<Box<Loc>>,
}

macro_rules! common_methods {
    () => {
        /// The buffer's capacity (0 for an unbuffered channel): Go's `cap(ch)`.
        ///
        /// # Examples
        ///
        /// ```
        /// assert_eq!(goro::chan::<u8>(4).cap(), 4);
        /// ```
        pub fn cap(&self) -> usize {
            self.inner.cap()
        }

        /// How many values are buffered now: Go's `len(ch)`.
        ///
        /// # Examples
        ///
        /// ```
        /// let ch = goro::chan(4);
        /// ch.try_send(1).unwrap();
        /// assert_eq!(ch.len(), 1);
        /// ```
        pub fn len(&self) -> usize {
            self.inner.len()
        }

        /// Whether nothing is buffered now.
        ///
        /// # Examples
        ///
        /// ```
        /// assert!(goro::chan::<u8>(4).is_empty());
        /// ```
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        /// Whether the channel has been closed.
        ///
        /// # Examples
        ///
        /// ```
        /// let ch = goro::chan::<u8>(0);
        /// ch.close();
        /// assert!(ch.is_closed());
        /// ```
        pub fn is_closed(&self) -> bool {
            self.inner.is_closed()
        }
    };
}

macro_rules! send_methods {
    () => {
        /// Sends `v`, waiting while the channel is full (unbuffered: until a
        /// receiver takes it).
        ///
        /// Cancel safe: dropping the future before it completes either sends
        /// nothing or, if a receiver had already taken the value out of the
        /// parked send, leaves the send done; the value is never lost or
        /// duplicated.
        ///
        /// # Panics
        ///
        /// `send on closed channel`, at this call, if the channel is closed
        /// when the send is made or while it waits.
        ///
        /// # Examples
        ///
        /// ```
        /// goro::run(async {
        ///     let ch = goro::chan(1);
        ///     ch.send(1).await;
        ///     assert_eq!(ch.recv().await, Some(1));
        /// });
        /// ```
        #[track_caller]
        pub fn send(&self, v: T) -> SendFuture<'_, T> {
            SendFuture::new(&self.inner, v, Location::caller(), self.handle())
        }

        /// Sends `v` if that can be done without waiting.
        ///
        /// # Examples
        ///
        /// ```
        /// let ch = goro::chan(1);
        /// assert!(ch.try_send(1).is_ok());
        /// assert!(ch.try_send(2).unwrap_err().is_full());
        /// ```
        #[track_caller]
        pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
            match self.inner.try_send(v, Location::caller()) {
                TrySend::Sent => Ok(()),
                TrySend::Full(v) => Err(TrySendError::Full(v)),
                TrySend::Closed(v) => Err(TrySendError::Closed(v)),
            }
        }

        /// Closes the channel: Go's `close(ch)`. Buffered values can still be
        /// received; then receives return `None`. Waiting receivers wake with
        /// `None`; waiting senders wake and panic.
        ///
        /// # Panics
        ///
        /// `close of closed channel`, at this call, if already closed.
        ///
        /// # Examples
        ///
        /// ```
        /// goro::run(async {
        ///     let ch = goro::chan(1);
        ///     ch.send(7).await;
        ///     ch.close();
        ///     assert_eq!(ch.recv().await, Some(7));
        ///     assert_eq!(ch.recv().await, None);
        /// });
        /// ```
        #[track_caller]
        pub fn close(&self) {
            if self.inner.close(Location::caller()).is_err() {
                // Raised here, not deeper: `#[track_caller]` places it at the
                // caller's line for every panic hook.
                panic!("{CLOSE_OF_CLOSED}");
            }
        }
    };
}

macro_rules! recv_methods {
    () => {
        /// Receives a value, waiting until one is available: Go's
        /// `v, ok := <-ch`. `None` once the channel is closed and drained.
        ///
        /// Cancel safe: dropping the future never loses a value.
        ///
        /// # Examples
        ///
        /// ```
        /// goro::run(async {
        ///     let ch = goro::chan(1);
        ///     ch.send("x").await;
        ///     assert_eq!(ch.recv().await, Some("x"));
        /// });
        /// ```
        #[track_caller]
        pub fn recv(&self) -> RecvFuture<'_, T> {
            RecvFuture::new(&self.inner, Location::caller(), self.handle())
        }

        /// Receives a value if one is available without waiting.
        ///
        /// # Examples
        ///
        /// ```
        /// use goro::TryRecvError;
        /// let ch = goro::chan(1);
        /// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
        /// ch.try_send(5).unwrap();
        /// assert_eq!(ch.try_recv(), Ok(5));
        /// ```
        #[track_caller]
        pub fn try_recv(&self) -> Result<T, TryRecvError> {
            match self.inner.try_recv(Location::caller(), false) {
                TryRecv::Value(v) => Ok(v),
                TryRecv::Empty => Err(TryRecvError::Empty),
                TryRecv::Closed => Err(TryRecvError::Closed),
            }
        }
    };
}

impl<T> Chan<T> {
    common_methods!();
    send_methods!();
    recv_methods!();

    /// A send-only handle to this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = goro::chan::<i32>(1);
    /// let tx: goro::Sender<i32> = ch.sender();
    /// tx.try_send(1).unwrap();
    /// ```
    pub fn sender(&self) -> Sender<T> {
        Sender::wrap(self.inner.clone())
    }

    /// A receive-only handle to this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = goro::chan::<i32>(1);
    /// let rx: goro::Receiver<i32> = ch.receiver();
    /// ch.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn receiver(&self) -> Receiver<T> {
        Receiver::wrap(self.inner.clone())
    }
}

impl<T> Sender<T> {
    common_methods!();
    send_methods!();
}

impl<T> Receiver<T> {
    common_methods!();
    recv_methods!();

    /// Receives the next value: [`recv`](Receiver::recv), under the name of
    /// `StreamExt::next`. An inherent method takes precedence over a trait's,
    /// so `rx.next().await` calls this one even with `StreamExt` in scope,
    /// and under the detector its receive is reported at the caller's line
    /// (a trait method has no caller location). `None` once the channel is
    /// closed and drained.
    ///
    /// Cancel safe: dropping the future never loses a value.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let ch = goro::chan(1);
    ///     ch.send(1).await;
    ///     ch.close();
    ///     let mut rx = ch.receiver();
    ///     assert_eq!(rx.next().await, Some(1));
    ///     assert_eq!(rx.next().await, None);
    /// });
    /// ```
    // Not `Iterator::next`: it returns a future, as `StreamExt::next` does.
    #[allow(clippy::should_implement_trait)]
    #[track_caller]
    pub fn next(&mut self) -> RecvFuture<'_, T> {
        RecvFuture::new(&self.inner, Location::caller(), self.handle())
    }
}

// Every handle is counted by direction (see `HandleCounts`): made through
// `wrap`, uncounted on drop. `handle` is its identity for the detector.
impl<T> Chan<T> {
    fn wrap(inner: Arc<Channel<T>>) -> Self {
        inner.counts.add(true, true);
        Chan { inner }
    }

    fn handle(&self) -> usize {
        handle_ref(self, true, true)
    }
}

impl<T> Sender<T> {
    fn wrap(inner: Arc<Channel<T>>) -> Self {
        inner.counts.add(true, false);
        Sender { inner }
    }

    fn handle(&self) -> usize {
        handle_ref(self, true, false)
    }
}

impl<T> Receiver<T> {
    fn wrap(inner: Arc<Channel<T>>) -> Self {
        inner.counts.add(false, true);
        Receiver {
            inner,
            stream: RecvState::default(),
            stream_caller: None,
        }
    }

    fn handle(&self) -> usize {
        handle_ref(self, false, true)
    }

    /// A new receiver of a channel the model owns (a context's `done`).
    pub(crate) fn from_channel(inner: &Arc<Channel<T>>) -> Self {
        Receiver::wrap(inner.clone())
    }
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        self.inner.drop_handle(true, true);
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.inner.drop_handle(true, false);
    }
}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan::wrap(self.inner.clone())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender::wrap(self.inner.clone())
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver::wrap(self.inner.clone())
    }
}

impl<T> From<Chan<T>> for Sender<T> {
    fn from(c: Chan<T>) -> Self {
        Sender::wrap(c.inner.clone())
    }
}

impl<T> From<Chan<T>> for Receiver<T> {
    fn from(c: Chan<T>) -> Self {
        Receiver::wrap(c.inner.clone())
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_chan(f, "Chan", &self.inner)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_chan(f, "Sender", &self.inner)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_chan(f, "Receiver", &self.inner)
    }
}

fn debug_chan<T>(f: &mut fmt::Formatter<'_>, name: &str, c: &Arc<Channel<T>>) -> fmt::Result {
    f.debug_struct(name)
        .field("id", &Arc::as_ptr(c))
        .field("len", &c.len())
        .field("cap", &c.cap())
        .field("closed", &c.is_closed())
        .finish()
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        // The caller's site is not available through the trait: under the
        // detector the receive is reported at the user's frame that polls
        // the stream, found once per receiver.
        if detect::active() {
            let made = this.inner.made();
            let caller = this.stream_caller.get_or_insert_with(|| {
                Box::new(
                    dropsite::user_frame(made)
                        .unwrap_or_else(|| Loc::from_std(detect::stream_site())),
                )
            });
            detect::stream_caller(**caller);
        }
        let handle = this.handle();
        let r = poll_recv(
            &this.inner,
            &mut this.stream,
            detect::stream_site(),
            handle,
            cx,
        );
        if r.is_ready() {
            this.stream = RecvState::default();
        }
        r
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        cancel_recv(&self.inner, &mut self.stream);
        self.inner.drop_handle(false, true);
    }
}

/// Internal access for `select!`: which channel a handle refers to.
#[doc(hidden)]
pub trait RecvHandle<T> {
    #[doc(hidden)]
    fn __channel(&self) -> &Arc<Channel<T>>;
    /// The handle's identity for the detector (`rt::chan::handle_ref`).
    #[doc(hidden)]
    fn __handle(&self) -> usize;
}

/// Internal access for `select!`: which channel a handle refers to.
#[doc(hidden)]
pub trait SendHandle<T> {
    #[doc(hidden)]
    fn __channel(&self) -> &Arc<Channel<T>>;
    /// The handle's identity for the detector (`rt::chan::handle_ref`).
    #[doc(hidden)]
    fn __handle(&self) -> usize;
}

impl<T> RecvHandle<T> for Chan<T> {
    fn __channel(&self) -> &Arc<Channel<T>> {
        &self.inner
    }
    fn __handle(&self) -> usize {
        self.handle()
    }
}
impl<T> RecvHandle<T> for Receiver<T> {
    fn __channel(&self) -> &Arc<Channel<T>> {
        &self.inner
    }
    fn __handle(&self) -> usize {
        self.handle()
    }
}
impl<T> SendHandle<T> for Chan<T> {
    fn __channel(&self) -> &Arc<Channel<T>> {
        &self.inner
    }
    fn __handle(&self) -> usize {
        self.handle()
    }
}
impl<T> SendHandle<T> for Sender<T> {
    fn __channel(&self) -> &Arc<Channel<T>> {
        &self.inner
    }
    fn __handle(&self) -> usize {
        self.handle()
    }
}
impl<T, H: RecvHandle<T> + ?Sized> RecvHandle<T> for &H {
    fn __channel(&self) -> &Arc<Channel<T>> {
        (**self).__channel()
    }
    fn __handle(&self) -> usize {
        (**self).__handle()
    }
}
impl<T, H: SendHandle<T> + ?Sized> SendHandle<T> for &H {
    fn __channel(&self) -> &Arc<Channel<T>> {
        (**self).__channel()
    }
    fn __handle(&self) -> usize {
        (**self).__handle()
    }
}

/// The future of [`Chan::send`]; resolves once the value is sent.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let ch = goro::chan(1);
///     let fut: goro::chan::SendFuture<'_, i32> = ch.send(1);
///     fut.await;
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a, T> {
    chan: &'a Channel<T>,
    value: Option<T>,
    /// Its parked entry's id, with a waiter under the detector only.
    parked: Option<(Option<Arc<Waiter>>, u64)>,
    loc: &'static Location<'static>,
    /// The handle it sends through, for the detector.
    handle: usize,
    yielded: bool,
}

impl<'a, T> SendFuture<'a, T> {
    #[track_caller]
    fn new(chan: &'a Channel<T>, v: T, loc: &'static Location<'static>, handle: usize) -> Self {
        // Go panics at the send statement; check eagerly so the panic points
        // there (for every panic hook) even before the first poll. Under the
        // detector the send's poll reports and raises it.
        if chan.is_closed() && !detect::active() {
            panic!("{SEND_ON_CLOSED}");
        }
        SendFuture {
            chan,
            value: Some(v),
            parked: None,
            loc,
            handle,
            yielded: false,
        }
    }
}

// The future never pins its fields: the value moves into the channel.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Some((w, id)) = &this.parked {
            // Its entry holds the waker: a poll before the claim refreshes
            // it there. The outcome is read under the channel lock (in
            // production the send has no waiter to read it from without:
            // no waiter taken, cloned into the entry, dropped and recycled
            // per park), or first from the waiter under the detector.
            let outcome = w
                .as_deref()
                .and_then(Waiter::outcome)
                .or_else(|| this.chan.repoll_send(*id, w.as_deref(), cx.waker()));
            return match outcome {
                None => {
                    // Still parked, on the same operation.
                    detect::block_on(this.loc, Waiting::Send, cx.waker(), || {
                        this.chan.blocked_on(true, this.handle, w.as_ref())
                    });
                    Poll::Pending
                }
                Some(o) => {
                    if let Some((Some(w), _)) = this.parked.take() {
                        waiter::recycle(w);
                    }
                    if o.closed {
                        // Reported to the detector by the close that woke us.
                        panic_at(this.loc, SEND_ON_CLOSED);
                    }
                    Poll::Ready(())
                }
            };
        }
        if detect::yield_point(cx, &mut this.yielded) {
            return Poll::Pending;
        }
        let v = this
            .value
            .take()
            .expect("SendFuture polled after completion");
        match this.chan.send_or_park(v, this.loc, cx.waker()) {
            SendOrPark::Sent => Poll::Ready(()),
            SendOrPark::Closed(_) => this.chan.send_on_closed(this.loc),
            SendOrPark::Parked(w, id) => {
                detect::block_on(this.loc, Waiting::Send, cx.waker(), || {
                    this.chan.blocked_on(true, this.handle, w.as_ref())
                });
                this.parked = Some((w, id));
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if let Some((_, id)) = self.parked.take() {
            // Not yet taken: withdraw the offer (nothing was sent).
            drop(self.chan.cancel_send(id));
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("parked", &self.parked.is_some())
            .finish()
    }
}

/// The future of [`Chan::recv`]; resolves to `Some(v)`, or `None` once the
/// channel is closed and drained.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let ch = goro::chan(1);
///     ch.send(1).await;
///     let fut: goro::chan::RecvFuture<'_, i32> = ch.recv();
///     assert_eq!(fut.await, Some(1));
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct RecvFuture<'a, T> {
    chan: &'a Channel<T>,
    state: RecvState,
    loc: &'static Location<'static>,
    /// The handle it receives through, for the detector.
    handle: usize,
}

/// A receive in progress: its scheduling point, then its parked entry.
#[derive(Default)]
struct RecvState {
    yielded: bool,
    parked: Option<SoloRecv>,
}

impl<'a, T> RecvFuture<'a, T> {
    fn new(chan: &'a Channel<T>, loc: &'static Location<'static>, handle: usize) -> Self {
        RecvFuture {
            chan,
            state: RecvState::default(),
            loc,
            handle,
        }
    }
}

impl<T> Unpin for RecvFuture<'_, T> {}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        poll_recv(this.chan, &mut this.state, this.loc, this.handle, cx)
    }
}

/// One receive, kept across polls in `state`.
fn poll_recv<T>(
    chan: &Channel<T>,
    state: &mut RecvState,
    site: &'static Location<'static>,
    handle: usize,
    cx: &mut Context<'_>,
) -> Poll<Option<T>> {
    // Parked: the channel looks under its lock whether the entry is still
    // queued (then this poll refreshes its waker and waits on) or was
    // notified (a value was reserved for us, or the close came: retry).
    let again = state.parked.take();
    if again.is_none() && detect::yield_point(cx, &mut state.yielded) {
        return Poll::Pending;
    }
    match chan.recv_or_park(site, again, cx.waker()) {
        RecvOrPark::Done(v) => Poll::Ready(v),
        // The entry holds the waker: a notification from now on wakes this
        // goroutine.
        RecvOrPark::Parked(p) => {
            detect::block_on(site, Waiting::Recv, cx.waker(), || {
                chan.blocked_on(false, handle, p.waiter.as_ref())
            });
            state.parked = Some(p);
            Poll::Pending
        }
    }
}

/// Withdraws a parked receive, passing on a reservation it was notified of.
fn cancel_recv<T>(chan: &Channel<T>, state: &mut RecvState) {
    if let Some(p) = state.parked.take() {
        chan.cancel_recv(p.id);
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        cancel_recv(self.chan, &mut self.state);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("parked", &self.state.parked.is_some())
            .finish()
    }
}
