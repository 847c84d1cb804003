//! Go's `sync/atomic`: atomic integers and booleans.
//!
//! Every operation is sequentially consistent, like all of Go's atomics, and
//! synchronizes as Go's do: if an atomic operation B observes the effect of
//! an atomic operation A, then A happens before B. Operations wrap on
//! overflow, as in Go.
//!
//! The types wrap `std::sync::atomic` with Go's operation set: `load`,
//! `store`, `swap`, `compare_and_swap` (reporting whether it swapped) and
//! `add` (returning the new value). They are `Sync`: share them with an
//! `Arc`, inside an `Arc`'d struct, or in a `static` (`new` is `const`).
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use goro::sync::{atomic::AtomicI64, WaitGroup};
//!
//! goro::run(async {
//!     let ops = Arc::new(AtomicI64::new(0));
//!     let wg = WaitGroup::new();
//!     for _ in 0..50 {
//!         wg.add(1);
//!         let (ops, wg) = (ops.clone(), wg.clone());
//!         goro::go!(async move {
//!             for _ in 0..1000 {
//!                 ops.add(1);
//!             }
//!             wg.done();
//!         });
//!     }
//!     wg.wait().await;
//!     assert_eq!(ops.load(), 50_000);
//! });
//! ```

use std::fmt;
use std::sync::atomic::Ordering::SeqCst;

use crate::rt::detect;

/// Reports an atomic operation to the detector: it synchronizes like Go's
/// `sync/atomic` and races only with plain accesses to the same address.
#[track_caller]
#[inline]
fn track<A>(a: &A, write: bool, what: &'static str) {
    if detect::active() {
        let addr = goro_analyzer::event::Addr(a as *const A as usize as u64);
        detect::atomic(addr, write, what, std::panic::Location::caller());
    }
}

/// The atomic at `a` is dropped: the detector forgets the location's
/// history, which a variable allocated later at the same address must not
/// inherit (its accesses would race with, or synchronize with, this one's).
#[inline]
fn forget<A>(a: &A) {
    if detect::active() {
        let addr = goro_analyzer::event::Addr(a as *const A as usize as u64);
        detect::free(addr, std::panic::Location::caller());
    }
}

macro_rules! atomic_int {
    ($name:ident, $std:ident, $t:ty, $go:literal) => {
        #[doc = concat!("An atomic `", stringify!($t), "`: Go's `atomic.", $go, "`.")]
        ///
        /// Every operation is sequentially consistent.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("use goro::sync::atomic::", stringify!($name), ";")]
        ///
        #[doc = concat!("static HITS: ", stringify!($name), " = ", stringify!($name), "::new(0);")]
        ///
        /// assert_eq!(HITS.add(2), 2);
        /// assert_eq!(HITS.load(), 2);
        /// ```
        #[derive(Default)]
        pub struct $name {
            v: std::sync::atomic::$std,
        }

        impl $name {
            /// Makes an atomic holding `v`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let a = goro::sync::atomic::", stringify!($name), "::new(7);")]
            /// assert_eq!(a.load(), 7);
            /// ```
            pub const fn new(v: $t) -> Self {
                $name {
                    v: std::sync::atomic::$std::new(v),
                }
            }

            /// Reads the value: Go's `Load`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let a = goro::sync::atomic::", stringify!($name), "::new(1);")]
            /// assert_eq!(a.load(), 1);
            /// ```
            #[track_caller]
            pub fn load(&self) -> $t {
                track(&self.v, false, stringify!($name));
                self.v.load(SeqCst)
            }

            /// Writes `val`: Go's `Store`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let a = goro::sync::atomic::", stringify!($name), "::new(1);")]
            /// a.store(5);
            /// assert_eq!(a.load(), 5);
            /// ```
            #[track_caller]
            pub fn store(&self, val: $t) {
                track(&self.v, true, stringify!($name));
                self.v.store(val, SeqCst)
            }

            /// Writes `new` and returns the previous value: Go's `Swap`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let a = goro::sync::atomic::", stringify!($name), "::new(1);")]
            /// assert_eq!(a.swap(2), 1);
            /// assert_eq!(a.load(), 2);
            /// ```
            #[track_caller]
            pub fn swap(&self, new: $t) -> $t {
                track(&self.v, true, stringify!($name));
                self.v.swap(new, SeqCst)
            }

            /// Writes `new` if the value is `old`; reports whether it did:
            /// Go's `CompareAndSwap`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let a = goro::sync::atomic::", stringify!($name), "::new(1);")]
            /// assert!(!a.compare_and_swap(0, 3));
            /// assert!(a.compare_and_swap(1, 3));
            /// assert_eq!(a.load(), 3);
            /// ```
            #[track_caller]
            pub fn compare_and_swap(&self, old: $t, new: $t) -> bool {
                let ok = self.v.compare_exchange(old, new, SeqCst, SeqCst).is_ok();
                track(&self.v, ok, stringify!($name));
                ok
            }

            /// Adds `delta` (wrapping on overflow, as in Go) and returns the
            /// **new** value: Go's `Add`. To subtract `d` from an unsigned
            /// atomic, add `d.wrapping_neg()`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let a = goro::sync::atomic::", stringify!($name), "::new(1);")]
            /// assert_eq!(a.add(2), 3);
            ///
            #[doc = concat!("let max = goro::sync::atomic::", stringify!($name), "::new(", stringify!($t), "::MAX);")]
            #[doc = concat!("assert_eq!(max.add(1), ", stringify!($t), "::MIN);")]
            /// ```
            #[track_caller]
            pub fn add(&self, delta: $t) -> $t {
                track(&self.v, true, stringify!($name));
                self.v.fetch_add(delta, SeqCst).wrapping_add(delta)
            }
        }

        impl Drop for $name {
            #[inline]
            fn drop(&mut self) {
                forget(&self.v);
            }
        }

        impl From<$t> for $name {
            fn from(v: $t) -> Self {
                $name::new(v)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.load(), f)
            }
        }
    };
}

atomic_int!(AtomicI32, AtomicI32, i32, "Int32");
atomic_int!(AtomicI64, AtomicI64, i64, "Int64");
atomic_int!(AtomicU32, AtomicU32, u32, "Uint32");
atomic_int!(AtomicU64, AtomicU64, u64, "Uint64");
atomic_int!(AtomicUsize, AtomicUsize, usize, "Uintptr");

/// An atomic `bool`: Go's `atomic.Bool`.
///
/// Every operation is sequentially consistent.
///
/// # Examples
///
/// ```
/// use goro::sync::atomic::AtomicBool;
///
/// static SHUTDOWN: AtomicBool = AtomicBool::new(false);
///
/// SHUTDOWN.store(true);
/// assert!(SHUTDOWN.load());
/// ```
#[derive(Default)]
pub struct AtomicBool {
    v: std::sync::atomic::AtomicBool,
}

impl AtomicBool {
    /// Makes an atomic holding `v`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = goro::sync::atomic::AtomicBool::new(true);
    /// assert!(b.load());
    /// ```
    pub const fn new(v: bool) -> Self {
        AtomicBool {
            v: std::sync::atomic::AtomicBool::new(v),
        }
    }

    /// Reads the value: Go's `Load`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = goro::sync::atomic::AtomicBool::new(false);
    /// assert!(!b.load());
    /// ```
    #[track_caller]
    pub fn load(&self) -> bool {
        track(&self.v, false, "AtomicBool");
        self.v.load(SeqCst)
    }

    /// Writes `val`: Go's `Store`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = goro::sync::atomic::AtomicBool::new(false);
    /// b.store(true);
    /// assert!(b.load());
    /// ```
    #[track_caller]
    pub fn store(&self, val: bool) {
        track(&self.v, true, "AtomicBool");
        self.v.store(val, SeqCst)
    }

    /// Writes `new` and returns the previous value: Go's `Swap`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = goro::sync::atomic::AtomicBool::new(false);
    /// assert!(!b.swap(true));
    /// assert!(b.load());
    /// ```
    #[track_caller]
    pub fn swap(&self, new: bool) -> bool {
        track(&self.v, true, "AtomicBool");
        self.v.swap(new, SeqCst)
    }

    /// Writes `new` if the value is `old`; reports whether it did: Go's
    /// `CompareAndSwap`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = goro::sync::atomic::AtomicBool::new(false);
    /// assert!(b.compare_and_swap(false, true)); // the first caller wins
    /// assert!(!b.compare_and_swap(false, true));
    /// ```
    #[track_caller]
    pub fn compare_and_swap(&self, old: bool, new: bool) -> bool {
        let ok = self.v.compare_exchange(old, new, SeqCst, SeqCst).is_ok();
        track(&self.v, ok, "AtomicBool");
        ok
    }
}

impl Drop for AtomicBool {
    #[inline]
    fn drop(&mut self) {
        forget(&self.v);
    }
}

impl From<bool> for AtomicBool {
    fn from(v: bool) -> Self {
        AtomicBool::new(v)
    }
}

impl fmt::Debug for AtomicBool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.load(), f)
    }
}
