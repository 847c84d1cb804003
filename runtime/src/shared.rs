//! `Shared<T>`: a plain Go variable that goroutines share.

use std::fmt;
use std::panic::Location;

use goro_analyzer::event::Addr;

use crate::rt::detect;
use crate::rt::ident::Ident;

/// A plain variable shared between goroutines, as any Go variable is.
///
/// Go lets every goroutine read and write any variable it can reach; whether
/// that is correct is up to the program (a data race is a bug, but it
/// compiles and runs). `Shared<T>` is that variable for goro programs:
/// [`get`](Shared::get), [`set`](Shared::set), [`with`](Shared::with) and
/// [`with_mut`](Shared::with_mut) from any goroutine, with no `async` and no
/// guard.
///
/// **A racy variable.** Each single call is memory-safe under real
/// parallelism (a lock inside makes every `get`, `set`, `with` and
/// `with_mut` indivisible, so no torn or dangling value is ever seen), but
/// `Shared` promises nothing about ordering between calls: a read-modify-write
/// such as `s.set(s.get() + 1)` from several goroutines loses updates,
/// exactly as `x = x + 1` does in Go. Order the accesses yourself (a
/// [`Mutex`](crate::sync::Mutex), a channel, a [`WaitGroup`](crate::sync::WaitGroup),
/// ...) or use [`sync::atomic`](crate::sync::atomic) for counters. goro's
/// race detector reports accesses to a `Shared` that no such
/// synchronization orders (a data race), as `go test -race` does.
///
/// The inner lock is not reentrant: the closure given to `with` or
/// `with_mut` must not access the same `Shared` again (that would deadlock).
///
/// `new` is `const`, so a `Shared` can be a `static`: Go's package-level
/// variable.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::Shared;
///
/// goro::run(async {
///     let config = Arc::new(Shared::new(String::from("v1")));
///     let done = goro::chan(0);
///     {
///         let (config, done) = (config.clone(), done.clone());
///         goro::go!(async move {
///             config.set(String::from("v2"));
///             done.send(()).await; // orders the write before main's read
///         });
///     }
///     done.recv().await;
///     assert_eq!(config.get(), "v2");
/// });
/// ```
#[derive(Default)]
pub struct Shared<T> {
    value: parking_lot::Mutex<T>,
    id: Id,
}

impl<T> Shared<T> {
    /// Makes a variable holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// static REQUESTS: goro::Shared<u64> = goro::Shared::new(0);
    /// REQUESTS.set(1);
    /// assert_eq!(REQUESTS.get(), 1);
    /// ```
    pub const fn new(value: T) -> Self {
        Shared {
            value: parking_lot::Mutex::new(value),
            id: Id(Ident::new()),
        }
    }

    /// Reads the variable (a clone of its value).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::Shared::new(vec![1, 2]);
    /// assert_eq!(s.get(), [1, 2]);
    /// ```
    #[track_caller]
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.access(false, Location::caller());
        self.value.lock().clone()
    }

    /// Writes the variable. The old value is dropped after the write.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::Shared::new(1);
    /// s.set(2);
    /// assert_eq!(s.get(), 2);
    /// ```
    #[track_caller]
    pub fn set(&self, value: T) {
        self.access(true, Location::caller());
        let old = std::mem::replace(&mut *self.value.lock(), value);
        // Outside the lock: its `Drop` may read this variable.
        drop(old);
    }

    /// Reads the variable in place, without cloning it: `f` gets a reference
    /// for the duration of the call.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::Shared::new(String::from("hello"));
    /// assert_eq!(s.with(|v| v.len()), 5);
    /// ```
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.access(false, Location::caller());
        f(&self.value.lock())
    }

    /// Reads and writes the variable in place: `f` gets a mutable reference
    /// for the duration of the call. One `with_mut` is indivisible, but, as
    /// for any access, nothing orders it with other goroutines' accesses.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::Shared::new(vec![1]);
    /// s.with_mut(|v| v.push(2));
    /// assert_eq!(s.get(), [1, 2]);
    /// ```
    #[track_caller]
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.access(true, Location::caller());
        f(&mut self.value.lock())
    }

    /// Reports a plain access to the detector: the inner lock keeps memory
    /// safe, but orders nothing in Go's model.
    #[inline]
    fn access(&self, write: bool, loc: &'static Location<'static>) {
        if detect::active() {
            let addr = self.id.addr();
            let what = std::any::type_name::<Self>();
            if write {
                detect::write(addr, what, loc);
            } else {
                detect::read(addr, what, loc);
            }
        }
    }

    /// Consumes the variable and returns its value.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = goro::Shared::new(3);
    /// assert_eq!(s.into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// A mutable reference to the value; `&mut self` proves that no other
    /// goroutine can access it.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = goro::Shared::new(1);
    /// *s.get_mut() += 1;
    /// assert_eq!(s.get(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// The identity of a `Shared` for the detector: a location number drawn on
/// its first detected access ([`Ident::location`]), not its address, so that
/// a variable moved after use keeps its history and a new one at its old
/// address starts clean. Dropping it makes the detector forget the history.
#[derive(Default)]
struct Id(Ident);

impl Id {
    fn addr(&self) -> Addr {
        self.0.location()
    }
}

impl Drop for Id {
    fn drop(&mut self) {
        if detect::active() {
            if let Some(addr) = self.0.drawn_location() {
                detect::free(addr, Location::caller());
            }
        }
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shared").field(&*self.value.lock()).finish()
    }
}
