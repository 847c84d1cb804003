//! Parking a worker: a flag under a mutex and a condition variable.
//!
//! Every state change happens under the one mutex, so the only orders are
//! the mutex's; `unpark` before `park` leaves the flag set and `park`
//! returns at once (no lost wake-up), and a spurious condvar wake-up loops
//! back to the flag check. `runtime/tests/loom_park.rs` compiles this very
//! file against loom's types (everything it imports comes through
//! `super::prims`) inside its model of the wake protocol.

use super::prims::{Condvar, Instant, Mutex};

/// Why a parked worker woke up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wake {
    /// Nobody woke it: the timeout passed.
    Timeout,
    /// Woken (and taken off the idle list) by a new earliest timer.
    Plain,
    /// The run is over.
    Shutdown,
    /// Woken by `wakep`: it is now the spinning worker (the waker counted
    /// it in `nspinning`).
    Spinner,
}

/// One worker's parking spot.
pub(super) struct Parker {
    state: Mutex<Option<Wake>>,
    cv: Condvar,
}

impl Parker {
    pub(super) fn new() -> Self {
        Parker {
            state: Mutex::new(None),
            cv: Condvar::new(),
        }
    }

    /// Blocks until [`unpark`](Parker::unpark) (or until `deadline`), and
    /// consumes the notification.
    pub(super) fn park(&self, deadline: Option<Instant>) -> Wake {
        let mut st = self.state.lock();
        loop {
            if let Some(w) = st.take() {
                return w;
            }
            match deadline {
                None => self.cv.wait(&mut st),
                Some(d) => {
                    if self.cv.wait_until(&mut st, d).timed_out() {
                        return st.take().unwrap_or(Wake::Timeout);
                    }
                }
            }
        }
    }

    /// Takes a pending notification without blocking.
    pub(super) fn try_take(&self) -> Option<Wake> {
        self.state.lock().take()
    }

    /// Wakes the worker (now, or at its next `park`). A `Spinner` wake is
    /// never downgraded: the waker counted the worker as spinning.
    pub(super) fn unpark(&self, how: Wake) {
        let mut st = self.state.lock();
        if *st != Some(Wake::Spinner) {
            *st = Some(how);
        }
        drop(st);
        self.cv.notify_one();
    }
}
