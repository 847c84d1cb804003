//! Events: what a runtime tells the engine, one per completed operation.
//!
//! The engine knows nothing of the runtime that produces these: a goroutine
//! is a number, a channel or lock an [`ObjId`], a memory location an
//! [`Addr`]. Every event names the goroutine whose operation completed (which
//! is not always the one running: a receiver that takes a parked sender's
//! value completes the sender's send too) and the source location of that
//! operation.

use std::fmt;
use std::num::NonZeroU64;

/// A goroutine, numbered as Go numbers them: main is 1.
///
/// Never zero, so "no goroutine" is spelled `Option<Gid>` (and costs no
/// extra space: `Option<Gid>` is 8 bytes, as the raw id was).
///
/// # Examples
///
/// ```
/// use goro_analyzer::event::Gid;
///
/// let main = Gid::MAIN;
/// assert_eq!(main.get(), 1);
/// assert_eq!(main.index(), 0);
/// assert_eq!(Gid::new(0), None);
/// assert_eq!(Gid::new(3).unwrap().to_string(), "3");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gid(NonZeroU64);

impl Gid {
    /// The main goroutine, goroutine 1.
    pub const MAIN: Gid = Gid(NonZeroU64::MIN);

    /// The goroutine numbered `id`, or `None` for 0 (no goroutine).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::event::Gid;
    /// assert_eq!(Gid::new(1), Some(Gid::MAIN));
    /// assert!(Gid::new(0).is_none());
    /// ```
    #[inline]
    pub const fn new(id: u64) -> Option<Gid> {
        match NonZeroU64::new(id) {
            Some(n) => Some(Gid(n)),
            None => None,
        }
    }

    /// The goroutine at table index `i` (the inverse of [`Gid::index`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::event::Gid;
    /// assert_eq!(Gid::from_index(0), Gid::MAIN);
    /// assert_eq!(Gid::from_index(4).index(), 4);
    /// ```
    #[inline]
    pub const fn from_index(i: usize) -> Gid {
        match NonZeroU64::new(i as u64 + 1) {
            Some(n) => Gid(n),
            None => panic!("goroutine index out of range"),
        }
    }

    /// The number, as Go prints it.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro_analyzer::event::Gid::MAIN.get(), 1);
    /// ```
    #[inline]
    pub const fn get(self) -> u64 {
        self.0.get()
    }

    /// The position in a table of goroutines numbered densely from 1: main
    /// is at 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::event::Gid;
    /// assert_eq!(Gid::new(5).unwrap().index(), 4);
    /// ```
    #[inline]
    pub const fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

impl fmt::Display for Gid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Gid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<Gid> for u64 {
    fn from(g: Gid) -> u64 {
        g.get()
    }
}

/// A synchronization object (channel, lock, WaitGroup, Once, context, or a
/// user object of `race::acquire`/`release`), unique within one execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjId(pub u64);

/// A tracked memory location (a `Shared<T>`, an annotated access, an atomic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr(pub u64);

/// A source location, as `std::panic::Location` gives it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// Source file, as rustc names it (relative to the workspace root).
    pub file: &'static str,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Loc {
    /// A location from a `#[track_caller]` capture.
    ///
    /// # Examples
    ///
    /// ```
    /// let here = goro_analyzer::event::Loc::from_std(std::panic::Location::caller());
    /// assert!(here.file.ends_with(".rs"));
    /// ```
    pub fn from_std(l: &'static std::panic::Location<'static>) -> Self {
        Loc {
            file: l.file(),
            line: l.line(),
            column: l.column(),
        }
    }

    /// A placeholder for an operation whose site is unknown.
    pub const UNKNOWN: Loc = Loc {
        file: "<unknown>",
        line: 0,
        column: 0,
    };
}

impl fmt::Debug for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The operation an event reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Goroutine `g` started goroutine `child` (Go's `go` statement).
    Spawn {
        /// The new goroutine.
        child: Gid,
        /// Its `go!` name, if any.
        name: Option<String>,
    },
    /// Goroutine `g` returned (or was torn down).
    End,
    /// Goroutine `g` joined `child` (a `JoinHandle` await returned).
    Join {
        /// The joined goroutine.
        child: Gid,
    },
    /// A channel of capacity `cap` was made.
    ChanMake {
        /// The channel.
        ch: ObjId,
        /// Its capacity.
        cap: usize,
    },
    /// `g`'s value entered buffered channel `ch` (the k-th send).
    ChanSend {
        /// The channel.
        ch: ObjId,
    },
    /// `g` took a value out of buffered channel `ch` (the k-th receive).
    ChanRecv {
        /// The channel.
        ch: ObjId,
    },
    /// Unbuffered rendezvous: `g` sent to `receiver` on `ch`.
    ChanRendezvous {
        /// The channel.
        ch: ObjId,
        /// The receiving goroutine.
        receiver: Gid,
        /// Where the receiver's receive is.
        recv_loc: Loc,
    },
    /// `g` closed `ch`.
    ChanClose {
        /// The channel.
        ch: ObjId,
    },
    /// `g` received the zero value of closed `ch` (`ok == false`).
    ChanRecvClosed {
        /// The channel.
        ch: ObjId,
    },
    /// `g` sent on closed `ch` and panicked.
    SendOnClosed {
        /// The channel.
        ch: ObjId,
    },
    /// `g` closed already-closed `ch` and panicked.
    CloseOfClosed {
        /// The channel.
        ch: ObjId,
    },
    /// `g` acquired `obj` (lock, `Once` return, `wait` return, `race::acquire`).
    Acquire {
        /// The object.
        obj: ObjId,
    },
    /// `g` released `obj` (unlock, `Once` body end, `done`, `race::release`).
    Release {
        /// The object.
        obj: ObjId,
    },
    /// `g` took a read lock on `obj`.
    RLock {
        /// The lock.
        obj: ObjId,
    },
    /// `g` released a read lock on `obj`.
    RUnlock {
        /// The lock.
        obj: ObjId,
    },
    /// `g` took the write lock of `obj`.
    WLock {
        /// The lock.
        obj: ObjId,
    },
    /// `g` released the write lock of `obj`.
    WUnlock {
        /// The lock.
        obj: ObjId,
    },
    /// `g` called `add(delta)` on WaitGroup `wg`, leaving `counter`.
    WgAdd {
        /// The WaitGroup.
        wg: ObjId,
        /// The delta (`done()` is -1).
        delta: i64,
        /// The counter after the add.
        counter: i64,
    },
    /// `g` entered `wg.wait()` with the counter at `counter`.
    WgWait {
        /// The WaitGroup.
        wg: ObjId,
        /// The counter when the wait began.
        counter: i64,
    },
    /// A plain read of `addr` by `g`.
    Read {
        /// The location.
        addr: Addr,
        /// What is read, for messages (`Shared<i64>`).
        what: &'static str,
    },
    /// A plain write of `addr` by `g`.
    Write {
        /// The location.
        addr: Addr,
        /// What is written, for messages.
        what: &'static str,
    },
    /// An atomic operation on `addr` by `g`: synchronizes like Go's
    /// `sync/atomic` and is an access that never races with other atomics.
    Atomic {
        /// The location.
        addr: Addr,
        /// Whether it writes.
        write: bool,
        /// What is accessed, for messages.
        what: &'static str,
    },
    /// The tracked location `addr` was freed: forget its history.
    Free {
        /// The location.
        addr: Addr,
    },
    /// Goroutine `g` panicked with `message`: the panic reached the top of
    /// the goroutine (or of the goroutine that joined it), uncaught.
    Panic {
        /// The panic message.
        message: String,
    },
    /// Goroutine `g` caught a panic raised in it (by `goro::recover`,
    /// `catch_unwind`, or around the join that rethrew it) and goes on: Go's
    /// `recover()`. The panic is handled; the event orders nothing.
    Recovered,
    /// `g` locked Mutex `obj`: an acquire, and a lock-order edge from every
    /// lock `g` holds.
    Lock {
        /// The mutex.
        obj: ObjId,
    },
    /// `g` unlocked Mutex `obj`: a release.
    Unlock {
        /// The mutex.
        obj: ObjId,
    },
    /// `g` blocked waiting for lock `obj` (Mutex or RwLock) held by another.
    LockWait {
        /// The lock.
        obj: ObjId,
    },
    /// A `CancelFunc` was dropped by `g` without `cancel()` being called:
    /// the event's location is the drop ([`Loc::UNKNOWN`] when no frame of
    /// the drop resolved to a source line), `created` where the context was
    /// made.
    LostCancel {
        /// Where `with_cancel`/`with_timeout`/`with_deadline` was called.
        created: Loc,
        /// The goroutine that called it (`None`: unknown; then `g` stands
        /// in).
        creator: Option<Gid>,
        /// Which of them (`with_timeout`, ...).
        func: &'static str,
        /// Whether the context's timer was still pending.
        timer_pending: bool,
        /// How many child contexts were still registered under it.
        children: usize,
        /// Dropped when the schedule ended, with goroutine `g`, which was
        /// blocked forever (leaked or deadlocked) while holding it: no code
        /// of `g` dropped it.
        at_teardown: bool,
    },
    /// Goroutine `g` entered an instrumented function (`#[goro::instrument]`)
    /// defined at the event's location: its shadow call chain grows.
    FrameEnter {
        /// The function's path.
        function: &'static str,
    },
    /// Goroutine `g` left its innermost instrumented function.
    FrameExit,
}

impl Op {
    /// A short name of the operation, for traces (`send`, `lock`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::event::{ObjId, Op};
    /// assert_eq!(Op::ChanClose { ch: ObjId(1) }.name(), "close");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Op::Spawn { .. } => "go",
            Op::End => "exit",
            Op::Join { .. } => "join",
            Op::ChanMake { .. } => "make(chan)",
            Op::ChanSend { .. } => "send",
            Op::ChanRecv { .. } => "recv",
            Op::ChanRendezvous { .. } => "send (rendezvous)",
            Op::ChanClose { .. } => "close",
            Op::ChanRecvClosed { .. } => "recv (closed)",
            Op::SendOnClosed { .. } => "send on closed channel",
            Op::CloseOfClosed { .. } => "close of closed channel",
            Op::Acquire { .. } => "acquire",
            Op::Release { .. } => "release",
            Op::RLock { .. } => "rlock",
            Op::RUnlock { .. } => "runlock",
            Op::WLock { .. } => "lock (write)",
            Op::WUnlock { .. } => "unlock (write)",
            Op::WgAdd { .. } => "wg.add",
            Op::WgWait { .. } => "wg.wait",
            Op::Read { .. } => "read",
            Op::Write { .. } => "write",
            Op::Atomic { write: true, .. } => "atomic write",
            Op::Atomic { write: false, .. } => "atomic read",
            Op::Free { .. } => "free",
            Op::Panic { .. } => "panic",
            Op::Recovered => "recovered",
            Op::Lock { .. } => "lock",
            Op::Unlock { .. } => "unlock",
            Op::LockWait { .. } => "wait for lock",
            Op::LostCancel { .. } => "drop CancelFunc",
            Op::FrameEnter { .. } => "call",
            Op::FrameExit => "return",
        }
    }
}

/// One frame of a shadow call chain: an instrumented function and where it
/// is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameLoc {
    /// The function's path.
    pub function: &'static str,
    /// Where it is defined.
    pub loc: Loc,
}

/// What a goroutine is blocked on when a program can make no progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Wait {
    /// Receiving from `ch`; `senders` handles that can send to or close it
    /// remain (its own included).
    Recv {
        /// The channel.
        ch: ObjId,
        /// Live handles that can send or close.
        senders: usize,
    },
    /// Sending on `ch`; `receivers` handles that can receive remain.
    Send {
        /// The channel.
        ch: ObjId,
        /// Live handles that can receive.
        receivers: usize,
    },
    /// A `select!` over these cases (`(ch, is_send, peer handles)`).
    Select {
        /// Each case: the channel, whether it sends, and the live handles on
        /// the other side.
        cases: Vec<(ObjId, bool, usize)>,
    },
    /// Locking `obj` (Mutex or RwLock).
    Lock {
        /// The lock.
        obj: ObjId,
    },
    /// `wait()` on WaitGroup `wg` with the counter at `counter`.
    WaitGroup {
        /// The WaitGroup.
        wg: ObjId,
        /// Its counter.
        counter: i64,
    },
    /// `Cond::wait`.
    Cond {
        /// The condition variable.
        obj: ObjId,
    },
    /// Joining goroutine `g`.
    Join {
        /// The goroutine joined.
        g: Gid,
    },
    /// Sleeping past the end of the grace period.
    Sleep,
    /// Receiving from a channel that a live timer still sends on (a
    /// `Ticker`'s, `tick`'s or `after`'s): woken at the timer's next firing.
    Tick {
        /// The channel.
        ch: ObjId,
    },
    /// Receiving from a timer's channel that no live timer sends on any
    /// more: its timer was stopped (it will never fire), or fired and its
    /// value was taken. `senders` handles that can send to or close it
    /// remain (a `Timer` that could be reset counts as one).
    TimerOver {
        /// The channel.
        ch: ObjId,
        /// Live handles that can send or close.
        senders: usize,
    },
    /// A `select!` with no cases, or a future that never completes.
    Forever,
    /// Something goro does not know (tokio I/O, ...).
    Unknown,
}

/// A goroutine left blocked, and where.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Blocked {
    /// The goroutine.
    pub g: Gid,
    /// What it waits for.
    pub wait: Wait,
    /// The operation it is blocked in.
    pub loc: Loc,
}

/// One completed operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// The goroutine whose operation completed.
    pub g: Gid,
    /// The operation.
    pub op: Op,
    /// Where the operation is in the source.
    pub loc: Loc,
}
