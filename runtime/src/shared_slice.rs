//! `SharedSlice<T>`: a Go slice whose elements goroutines share one by one.

use std::fmt;
use std::panic::Location;

use goro_analyzer::event::Addr;

use crate::rt::detect;

/// A fixed-length slice shared between goroutines, each element a variable
/// of its own: Go's `results := make([]T, n)` written by `results[i] = r`
/// from one goroutine per index.
///
/// Like [`Shared`](crate::Shared), each call is memory-safe (a lock per
/// element makes it indivisible) and orders nothing. The race detector
/// tracks every element separately, as Go's tracks each 8-byte word:
/// goroutines writing distinct indices do not race; two unordered accesses
/// of the same index (one a write) do, and are reported. The length is
/// fixed at [`new`](SharedSlice::new) (Go's `append` makes a new slice:
/// collect results, then build another `SharedSlice`).
///
/// # Panics
///
/// Every indexed method panics at its call, with Go's message
/// (`index out of range [5] with length 3`), when the index is out of
/// bounds.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::{sync::WaitGroup, SharedSlice};
///
/// goro::run(async {
///     let results = Arc::new(SharedSlice::new(vec![0; 4]));
///     let wg = WaitGroup::new();
///     for i in 0..4 {
///         wg.add(1);
///         goro::go!(clone(results, wg), async move {
///             results.set(i, i * i); // results[i] = r: race-free
///             wg.done();
///         });
///     }
///     wg.wait().await;
///     assert_eq!(Arc::into_inner(results).unwrap().into_vec(), [0, 1, 4, 9]);
/// });
/// ```
pub struct SharedSlice<T> {
    // Boxed, never resized: each element's address is its identity for
    // the detector for the slice's whole life.
    elems: Box<[parking_lot::Mutex<T>]>,
}

impl<T> SharedSlice<T> {
    /// A shared slice holding `v`'s elements.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::SharedSlice::new(vec!["a", "b"]);
    /// assert_eq!(s.len(), 2);
    /// ```
    pub fn new(v: Vec<T>) -> Self {
        SharedSlice {
            elems: v.into_iter().map(parking_lot::Mutex::new).collect(),
        }
    }

    /// The number of elements: Go's `len(s)` (not an access: the length
    /// never changes).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::SharedSlice::new(vec![1, 2, 3]).len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.elems.len()
    }

    /// Whether the slice has no elements.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(goro::SharedSlice::<u8>::new(Vec::new()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.elems.is_empty()
    }

    /// Reads element `i` (a clone): Go's `s[i]`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::SharedSlice::new(vec![10, 20]);
    /// assert_eq!(s.get(1), 20);
    /// ```
    #[track_caller]
    pub fn get(&self, i: usize) -> T
    where
        T: Clone,
    {
        self.elem(i, false, Location::caller()).lock().clone()
    }

    /// Writes element `i`: Go's `s[i] = v`. The old value is dropped after
    /// the write.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::SharedSlice::new(vec![0, 0]);
    /// s.set(0, 7);
    /// assert_eq!(s.get(0), 7);
    /// ```
    #[track_caller]
    pub fn set(&self, i: usize, v: T) {
        let old = std::mem::replace(&mut *self.elem(i, true, Location::caller()).lock(), v);
        drop(old);
    }

    /// Reads element `i` in place: `f` gets a reference for the call.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::SharedSlice::new(vec![String::from("hey")]);
    /// assert_eq!(s.with(0, |v| v.len()), 3);
    /// ```
    #[track_caller]
    pub fn with<R>(&self, i: usize, f: impl FnOnce(&T) -> R) -> R {
        f(&self.elem(i, false, Location::caller()).lock())
    }

    /// Reads and writes element `i` in place (one indivisible call, a write
    /// for the detector): Go's `s[i] += x`, which is racy when unordered.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::SharedSlice::new(vec![1]);
    /// s.with_mut(0, |v| *v += 1);
    /// assert_eq!(s.get(0), 2);
    /// ```
    #[track_caller]
    pub fn with_mut<R>(&self, i: usize, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.elem(i, true, Location::caller()).lock())
    }

    /// Consumes the slice and returns its elements.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::SharedSlice::new(vec![1, 2]).into_vec(), [1, 2]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        self.forget_all();
        let mut this = std::mem::ManuallyDrop::new(self);
        std::mem::take(&mut this.elems)
            .into_vec()
            .into_iter()
            .map(parking_lot::Mutex::into_inner)
            .collect()
    }

    /// Element `i`, its access reported to the detector at `loc`.
    #[inline]
    fn elem(
        &self,
        i: usize,
        write: bool,
        loc: &'static Location<'static>,
    ) -> &parking_lot::Mutex<T> {
        let Some(e) = self.elems.get(i) else {
            crate::rt::panic::panic_at(
                loc,
                &format!("index out of range [{i}] with length {}", self.elems.len()),
            )
        };
        if detect::active() {
            let addr = Addr(e as *const _ as *const () as usize as u64);
            let what = std::any::type_name::<Self>;
            if write {
                detect::write(addr, what, loc);
            } else {
                detect::read(addr, what, loc);
            }
        }
        e
    }

    /// The elements' memory goes: the detector forgets their history (the
    /// addresses may be reused by other variables).
    fn forget_all(&self) {
        if detect::active() {
            for e in self.elems.iter() {
                let addr = Addr(e as *const _ as *const () as usize as u64);
                detect::free(addr, Location::caller());
            }
        }
    }
}

impl<T> Drop for SharedSlice<T> {
    fn drop(&mut self) {
        self.forget_all();
    }
}

impl<T> From<Vec<T>> for SharedSlice<T> {
    fn from(v: Vec<T>) -> Self {
        SharedSlice::new(v)
    }
}

impl<T: fmt::Debug> fmt::Debug for SharedSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.elems.iter().map(|e| e.lock()))
            .finish()
    }
}
