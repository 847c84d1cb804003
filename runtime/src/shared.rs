//! `Shared<T>`: a plain Go variable that goroutines share.
//!
//! Two representations, chosen by `T` at compile time: a primitive that
//! fits one atomic word (`bool`, `char`, the integers up to 64 bits,
//! `f32`, `f64`) is read and written with relaxed atomic loads and stores,
//! the cost of Go's plain access (racy as in Go, never torn); any other
//! `T` sits under a small lock that makes each call indivisible. The
//! detector sees the same read and write events either way.

use std::any::TypeId;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::{align_of, size_of, transmute_copy};
use std::panic::Location;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};

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
/// parallelism (no torn or dangling value is ever seen: a primitive that
/// fits a machine word is one relaxed atomic load or store, as cheap as
/// Go's plain access; any other `T` is under a lock inside, which makes
/// every `get`, `set`, `with` and `with_mut` indivisible), but
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
/// For a word-sized primitive, `with_mut` is a load, the closure and a
/// store: indivisible against other `with_mut` calls, while a `set` from
/// another goroutine may land in between and be overwritten (a lost
/// update, as `x = f(x)` racing with `x = v` in Go).
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
    /// Accessed through atomics if `T` is a word (`is_word`), else only
    /// under `lock`.
    value: UnsafeCell<T>,
    lock: parking_lot::Mutex<()>,
    id: Id,
}

// SAFETY: `value` is only accessed through atomic loads and stores (a word,
// whose every stored bit pattern is a valid `T`), under `lock` (any other
// `T`), or through `&mut self`: what `parking_lot::Mutex<T>` needs, `T: Send`.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as for `Send`: shared access never yields two unsynchronized
// references to the value.
unsafe impl<T: Send> Sync for Shared<T> {}

/// The `TypeId` of any `T`, `'static` or not (lifetimes are erased, which
/// cannot make a type equal to one of the lifetime-free primitives that
/// `is_word` compares it with).
fn type_id<T: ?Sized>() -> TypeId {
    trait NonStaticAny {
        fn type_id(&self) -> TypeId
        where
            Self: 'static;
    }
    impl<T: ?Sized> NonStaticAny for PhantomData<T> {
        fn type_id(&self) -> TypeId
        where
            Self: 'static,
        {
            TypeId::of::<T>()
        }
    }
    let phantom = PhantomData::<T>;
    // SAFETY: only the lifetime of the trait object changes; `type_id`
    // reads no data through it, and `TypeId::of` ignores lifetimes.
    let any: &(dyn NonStaticAny + 'static) =
        unsafe { std::mem::transmute::<&dyn NonStaticAny, _>(&phantom) };
    NonStaticAny::type_id(any)
}

/// Whether `T` is a primitive of 1, 2, 4 or 8 bytes, aligned like the
/// atomic of its size: no padding, and every value written is valid to
/// read back.
#[inline(always)]
fn is_word<T>() -> bool {
    let n = size_of::<T>();
    if !matches!(n, 1 | 2 | 4 | 8) || align_of::<T>() < n {
        return false;
    }
    let id = type_id::<T>();
    [
        TypeId::of::<bool>(),
        TypeId::of::<u8>(),
        TypeId::of::<i8>(),
        TypeId::of::<u16>(),
        TypeId::of::<i16>(),
        TypeId::of::<u32>(),
        TypeId::of::<i32>(),
        TypeId::of::<u64>(),
        TypeId::of::<i64>(),
        TypeId::of::<usize>(),
        TypeId::of::<isize>(),
        TypeId::of::<f32>(),
        TypeId::of::<f64>(),
        TypeId::of::<char>(),
    ]
    .contains(&id)
}

impl<T> Shared<T> {
    /// Loads a word `T` (the caller checked `is_word::<T>()`).
    #[inline(always)]
    fn load_word(&self) -> T {
        let p = self.value.get();
        // SAFETY: `T` is a padding-free primitive of this size and
        // alignment (`is_word`); the cell is only ever accessed atomically
        // while shared, and only valid `T`s are stored in it.
        unsafe {
            match size_of::<T>() {
                1 => transmute_copy(&(*p.cast::<AtomicU8>()).load(Relaxed)),
                2 => transmute_copy(&(*p.cast::<AtomicU16>()).load(Relaxed)),
                4 => transmute_copy(&(*p.cast::<AtomicU32>()).load(Relaxed)),
                _ => transmute_copy(&(*p.cast::<AtomicU64>()).load(Relaxed)),
            }
        }
    }

    /// Stores a word `T` (the caller checked `is_word::<T>()`).
    #[inline(always)]
    fn store_word(&self, v: T) {
        let p = self.value.get();
        // SAFETY: as in `load_word`; `v` is a valid `T`, so its bytes are
        // all initialized.
        unsafe {
            match size_of::<T>() {
                1 => (*p.cast::<AtomicU8>()).store(transmute_copy(&v), Relaxed),
                2 => (*p.cast::<AtomicU16>()).store(transmute_copy(&v), Relaxed),
                4 => (*p.cast::<AtomicU32>()).store(transmute_copy(&v), Relaxed),
                _ => (*p.cast::<AtomicU64>()).store(transmute_copy(&v), Relaxed),
            }
        }
    }

    /// Runs `f` on the value under the lock (a `T` that is not a word).
    #[inline]
    fn locked<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let _g = self.lock.lock();
        // SAFETY: not a word, so every shared access is under `lock`.
        f(unsafe { &mut *self.value.get() })
    }

    /// Reads the value for `f` without reporting an access.
    fn peek<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        if is_word::<T>() {
            f(&self.load_word())
        } else {
            self.locked(|v| f(v))
        }
    }

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
            value: UnsafeCell::new(value),
            lock: parking_lot::Mutex::new(()),
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
        self.access::<false>(Location::caller());
        if is_word::<T>() {
            self.load_word()
        } else {
            self.locked(|v| v.clone())
        }
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
        self.access::<true>(Location::caller());
        if is_word::<T>() {
            return self.store_word(value);
        }
        let old = self.locked(|v| std::mem::replace(v, value));
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
        self.access::<false>(Location::caller());
        self.peek(f)
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
        self.access::<true>(Location::caller());
        if is_word::<T>() {
            // Indivisible against other `with_mut`s (see the type's docs).
            let _g = self.lock.lock();
            let mut v = self.load_word();
            let r = f(&mut v);
            self.store_word(v);
            return r;
        }
        self.locked(f)
    }

    /// Reports a plain write (`WRITE`) or read to the detector: the inner
    /// lock keeps memory safe, but orders nothing in Go's model.
    #[inline(always)]
    fn access<const WRITE: bool>(&self, loc: &'static Location<'static>) {
        detect::access::<WRITE>(|| self.id.addr(), std::any::type_name::<Self>, loc);
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
    #[inline(always)]
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
        self.peek(|v| f.debug_tuple("Shared").field(v).finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_of_a_word_take_the_atomic_path() {
        assert!(is_word::<bool>());
        assert!(is_word::<u8>());
        assert!(is_word::<i16>());
        assert!(is_word::<char>());
        assert!(is_word::<f32>());
        assert!(is_word::<u64>());
        assert!(is_word::<f64>());
        assert!(is_word::<usize>());
    }

    #[test]
    fn everything_else_takes_the_lock() {
        #[derive(Clone, Copy)]
        #[repr(align(8))]
        struct Padded(#[allow(dead_code)] u8);
        assert!(!is_word::<Padded>());
        assert!(!is_word::<std::mem::MaybeUninit<u64>>());
        assert!(!is_word::<(u8, u8)>());
        assert!(!is_word::<Option<u32>>());
        assert!(!is_word::<&'static u64>());
        assert!(!is_word::<String>());
        assert!(!is_word::<u128>());
        assert!(!is_word::<()>());
    }

    #[test]
    fn every_word_size_round_trips() {
        let b = Shared::new(false);
        b.set(true);
        assert!(b.get());
        let c = Shared::new('a');
        c.set('é');
        assert_eq!(c.get(), 'é');
        let i = Shared::new(-1i8);
        i.with_mut(|v| *v -= 1);
        assert_eq!(i.get(), -2);
        let h = Shared::new(0u16);
        h.set(u16::MAX);
        assert_eq!(h.with(|v| *v), u16::MAX);
        let f = Shared::new(1.5f64);
        f.set(f.get() * 2.0);
        assert_eq!(f.get(), 3.0);
        let u = Shared::new(u64::MAX - 1);
        assert_eq!(u.with_mut(|v| std::mem::replace(v, 7)), u64::MAX - 1);
        assert_eq!(u.get(), 7);
        assert_eq!(format!("{u:?}"), "Shared(7)");
        let mut u = u;
        *u.get_mut() += 1;
        assert_eq!(u.into_inner(), 8);
    }

    #[test]
    fn other_types_round_trip_under_the_lock() {
        let s = Shared::new(String::from("a"));
        s.with_mut(|v| v.push('b'));
        s.set(s.get() + "c");
        assert_eq!(s.get(), "abc");
        assert_eq!(format!("{s:?}"), "Shared(\"abc\")");
        let p = Shared::new((1u8, 2u8));
        p.set((3, 4));
        assert_eq!(p.into_inner(), (3, 4));
    }

    #[test]
    fn racing_word_writes_are_never_torn() {
        // Two writers store all-zero and all-one words while a reader
        // checks that it only ever sees one of the two.
        let s = std::sync::Arc::new(Shared::new(0u64));
        let writers: Vec<_> = [0u64, u64::MAX]
            .into_iter()
            .map(|v| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        s.set(v);
                    }
                })
            })
            .collect();
        for _ in 0..100_000 {
            let v = s.get();
            assert!(v == 0 || v == u64::MAX, "torn read: {v:#x}");
        }
        for w in writers {
            w.join().unwrap();
        }
    }
}
