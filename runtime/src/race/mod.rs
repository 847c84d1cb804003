//! Detection: run a program under the deterministic scheduler and the
//! happens-before engine, and collect what is wrong with it.
//!
//! [`explore`] runs a program under many schedules (seeded, reproducible) and
//! returns every distinct [`Finding`] with the seed that exposed it.
//! With `GORO_RACE=1`, `goro::run` runs the program under the detector
//! instead of the production runtime, over `GORO_SCHEDULES` schedules
//! (default 100), prints what it found to stderr and, as a Go program built
//! with `-race` does, exits with status 66 when it found anything (see
//! [`run`](crate::run)).
//!
//! goro follows Go's memory model and does not emulate weak memory: an access
//! races with another when no chain of Go's synchronization (channel
//! operations, locks, WaitGroup, Once, atomics, goroutine start and join)
//! orders them.
//!
//! # Examples
//!
//! ```
//! use goro::race::{explore, Config, FindingKind};
//!
//! let report = explore(Config::default().schedules(10).env(false), || async {
//!     let counter = std::sync::Arc::new(goro::Shared::new(0));
//!     let wg = goro::sync::WaitGroup::new();
//!     for _ in 0..2 {
//!         wg.add(1);
//!         let (counter, wg) = (counter.clone(), wg.clone());
//!         goro::go!(async move {
//!             counter.set(counter.get() + 1); // unsynchronized read-modify-write
//!             wg.done();
//!         });
//!     }
//!     wg.wait().await;
//! });
//! assert!(report.has(FindingKind::DataRace));
//! ```

mod config;
mod explore;
mod run;
mod shrink;
#[doc(hidden)]
pub mod testing;
mod verdict;

pub use config::{BadSchedule, BadStrategy, Config, EnvError, Strategy, GORO_REPLAY, GORO_SHRINK};
pub use explore::{check_determinism, explore, Report};
pub use goro_analyzer::{Finding, FindingKind, Frame, GoroutineInfo, Shrink, Site};
pub use verdict::{Reduction, Verdict};

pub(crate) use config::race_requested;
pub(crate) use run::run_detected;

use std::panic::Location;

use goro_analyzer::event::{Addr, ObjId};

use crate::rt::detect;

/// Whether the detector watches the current goroutine.
///
/// # Examples
///
/// ```
/// assert!(!goro::race::enabled());
/// let report = goro::race::explore(goro::race::Config::default().schedules(1), || async {
///     assert!(goro::race::enabled());
/// });
/// assert!(report.findings().is_empty());
/// ```
pub fn enabled() -> bool {
    detect::active()
}

fn addr_of<T: ?Sized>(x: &T) -> Addr {
    Addr(x as *const T as *const () as usize as u64)
}

/// Object ids from addresses live apart from goro's own object ids.
fn obj_of<T: ?Sized>(x: &T) -> ObjId {
    detect::obj((x as *const T as *const () as usize as u64) | (1 << 63))
}

/// Annotates a plain read of `x` (for example in `unsafe` code): it races
/// with any write of `x` that happens-before does not order with it.
///
/// # Examples
///
/// ```
/// static mut TOTAL: u64 = 0;
/// fn total() -> u64 {
///     // SAFETY: callers synchronize access to TOTAL.
///     let v = unsafe { *std::ptr::addr_of!(TOTAL) };
///     // SAFETY: only the address is taken.
///     goro::race::read(unsafe { &*std::ptr::addr_of!(TOTAL) });
///     v
/// }
/// assert_eq!(total(), 0);
/// ```
#[track_caller]
pub fn read<T: ?Sized>(x: &T) {
    if detect::active() {
        let what = std::any::type_name::<T>;
        detect::read(addr_of(x), what, Location::caller());
    }
}

/// Annotates a plain write of `x`.
///
/// # Examples
///
/// ```
/// let mut x = 0;
/// goro::race::write(&x);
/// x += 1;
/// assert_eq!(x, 1);
/// ```
#[track_caller]
pub fn write<T: ?Sized>(x: &T) {
    if detect::active() {
        let what = std::any::type_name::<T>;
        detect::write(addr_of(x), what, Location::caller());
    }
}

/// Annotates an acquire of a custom synchronization object `obj`: everything
/// before a [`release`] of `obj` happens before what follows this call.
///
/// # Examples
///
/// ```
/// let flag = std::sync::atomic::AtomicBool::new(true);
/// if flag.load(std::sync::atomic::Ordering::Acquire) {
///     goro::race::acquire(&flag);
/// }
/// ```
#[track_caller]
pub fn acquire<T: ?Sized>(obj: &T) {
    if detect::active() {
        detect::acquire(obj_of(obj), Location::caller());
    }
}

/// Annotates a release of a custom synchronization object `obj`.
///
/// # Examples
///
/// ```
/// let flag = std::sync::atomic::AtomicBool::new(false);
/// goro::race::release(&flag);
/// flag.store(true, std::sync::atomic::Ordering::Release);
/// ```
#[track_caller]
pub fn release<T: ?Sized>(obj: &T) {
    if detect::active() {
        detect::release(obj_of(obj), Location::caller());
    }
}

/// Annotates that the memory of `x` is about to be freed or reused: the
/// detector forgets the accesses [`read()`] and [`write()`] recorded at its
/// address, so that a variable placed there later does not race with them.
///
/// The detector knows its locations by address. goro's own types
/// ([`Shared`](crate::Shared), [`SharedSlice`](crate::SharedSlice), the
/// atomics) and every synchronization primitive forget their history when
/// dropped; memory that only these annotations (or `#[goro::instrument]`'s
/// raw-pointer accesses) describe needs this call before it is freed, as
/// Go's race runtime is told of every free. What [`release`] left at the
/// address is kept: it can only order more, never report a race.
///
/// # Examples
///
/// ```
/// let buf = Box::new([0u8; 64]);
/// goro::race::write(&buf[0]);
/// goro::race::free(&buf[0]);
/// drop(buf);
/// ```
#[track_caller]
pub fn free<T: ?Sized>(x: &T) {
    if detect::active() {
        detect::free(addr_of(x), Location::caller());
    }
}
