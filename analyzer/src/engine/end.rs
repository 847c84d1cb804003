//! How a schedule ended, as the runtime tells the engine: what the leak,
//! deadlock and lost-cancel detectors judge at the end.

use crate::event::{Blocked, Gid, ObjId};

/// How a schedule ended, as the runtime saw it.
///
/// # Examples
///
/// ```
/// use goro_analyzer::engine::{EndState, Held};
/// use goro_analyzer::event::{Blocked, Gid, Loc, ObjId, Wait};
///
/// // Main waits to receive on channel 7, whose other handle goroutine 2
/// // (blocked too) still held.
/// let end = EndState {
///     main_done: false,
///     blocked: vec![Blocked { g: Gid::MAIN, wait: Wait::Recv { ch: ObjId(7), senders: 2 }, loc: Loc::UNKNOWN }],
///     held: Some(vec![Held { g: Gid::new(2).unwrap(), ch: ObjId(7), send: true, recv: true }]),
///     running: Vec::new(),
/// };
/// assert!(!end.main_done);
/// ```
#[derive(Clone, Debug, Default)]
pub struct EndState {
    /// The main goroutine returned.
    pub main_done: bool,
    /// Every goroutine still blocked (nothing could run, no timer was due).
    pub blocked: Vec<Blocked>,
    /// The channel handles each goroutine left blocked still held, when the
    /// runtime knows them (it drops each goroutine in turn and sees which
    /// handles go with it): the goroutines that could complete another's
    /// channel operation. `None`: unknown; the goroutines that used a
    /// channel stand in for its holders.
    pub held: Option<Vec<Held>>,
    /// Goroutines that could still run (or wait for timers or the outside
    /// world). Main not done: when the runtime proved the `blocked` ones,
    /// main among them, can never be woken (a deadlock Go would not
    /// report); these are not in `blocked`. Main done: those of `blocked`
    /// still running when the grace period after main ran out (ready,
    /// sleeping, or waiting for a live timer's channel), each in `blocked`
    /// with what it waits for or last waited for. Empty when nothing could
    /// run.
    pub running: Vec<Gid>,
}

/// A channel handle that a goroutine held when its schedule ended.
///
/// # Examples
///
/// ```
/// use goro_analyzer::engine::Held;
/// use goro_analyzer::event::{Gid, ObjId};
///
/// // A `Receiver`: it can receive, not send or close.
/// let h = Held { g: Gid::new(3).unwrap(), ch: ObjId(1), send: false, recv: true };
/// assert!(h.recv && !h.send);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Held {
    /// The goroutine.
    pub g: Gid,
    /// The channel.
    pub ch: ObjId,
    /// The handle can send and close (`Chan`, `Sender`).
    pub send: bool,
    /// The handle can receive (`Chan`, `Receiver`).
    pub recv: bool,
}
