//! `Map<K, V>`: Go's `sync.Map`.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::panic::Location;

use parking_lot::RwLock;

use crate::rt::detect;
use crate::rt::ident::Ident;

/// A map that any number of goroutines may use at once without further
/// locking: Go's `sync.Map`, typed.
///
/// Every operation is atomic on its own (`load_or_store` either loads or
/// stores, never both; `compare_and_swap` compares and swaps in one step).
/// Lookups run in parallel; writes take the map briefly for themselves.
/// Nothing waits for long and nothing is async: no operation is a suspension
/// point. Values come out as clones (`V: Clone`), since another goroutine may
/// replace them at any time; store an `Arc` for large values.
///
/// **Memory**, as in Go: a store happens before any load that observes it.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::sync::{Map, WaitGroup};
///
/// goro::run(async {
///     let m = Arc::new(Map::new());
///     let wg = WaitGroup::new();
///     for i in 0..4 {
///         wg.add(1);
///         let (m, wg) = (m.clone(), wg.clone());
///         goro::go!(async move {
///             m.store(i, i * i);
///             wg.done();
///         });
///     }
///     wg.wait().await;
///     assert_eq!(m.load(&3), Some(9));
/// });
/// ```
pub struct Map<K, V> {
    inner: RwLock<HashMap<K, V>>,
    id: Ident,
}

impl<K: Eq + Hash, V> Map<K, V> {
    /// Every operation is ordered with every other, as Go's `sync.Map`
    /// orders a store before the load that observes it.
    #[inline]
    fn sync_point(&self, loc: &'static Location<'static>) {
        if detect::active() {
            let obj = self.id.obj();
            detect::acquire(obj, loc);
            detect::release(obj, loc);
        }
    }

    /// Makes an empty map.
    ///
    /// # Examples
    ///
    /// ```
    /// let m: goro::sync::Map<String, i32> = goro::sync::Map::new();
    /// assert_eq!(m.load("a"), None);
    /// ```
    pub fn new() -> Self {
        Map {
            inner: RwLock::new(HashMap::new()),
            id: Ident::new(),
        }
    }

    /// The value stored for `key`, if any: Go's `m.Load(key)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Map::new();
    /// m.store("k", 1);
    /// assert_eq!(m.load("k"), Some(1));
    /// assert_eq!(m.load("x"), None);
    /// ```
    #[track_caller]
    pub fn load<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.sync_point(Location::caller());
        self.inner.read().get(key).cloned()
    }

    /// Sets the value for `key`: Go's `m.Store(key, value)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Map::new();
    /// m.store(1, "one");
    /// m.store(1, "uno");
    /// assert_eq!(m.load(&1), Some("uno"));
    /// ```
    #[track_caller]
    pub fn store(&self, key: K, value: V) {
        self.sync_point(Location::caller());
        let old = self.inner.write().insert(key, value);
        // Dropped after unlocking: its `Drop` may use this map.
        drop(old);
    }

    /// The existing value for `key` and `true` if present; otherwise stores
    /// `value` and returns it with `false`: Go's `m.LoadOrStore(key, value)`
    /// (`actual, loaded`).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Map::new();
    /// assert_eq!(m.load_or_store("k", 1), (1, false));
    /// assert_eq!(m.load_or_store("k", 2), (1, true));
    /// ```
    #[track_caller]
    pub fn load_or_store(&self, key: K, value: V) -> (V, bool)
    where
        V: Clone,
    {
        self.sync_point(Location::caller());
        // Most calls find the key (that is what the operation is for): try
        // under the shared lock first.
        if let Some(v) = self.inner.read().get(&key) {
            return (v.clone(), true);
        }
        let mut m = self.inner.write();
        match m.get(&key) {
            Some(v) => {
                let v = v.clone();
                drop(m);
                (v, true)
            }
            None => {
                m.insert(key, value.clone());
                (value, false)
            }
        }
    }

    /// Deletes the value for `key`, returning it if there was one: Go's
    /// `m.LoadAndDelete(key)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Map::new();
    /// m.store("k", 1);
    /// assert_eq!(m.load_and_delete("k"), Some(1));
    /// assert_eq!(m.load_and_delete("k"), None);
    /// ```
    #[track_caller]
    pub fn load_and_delete<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.sync_point(Location::caller());
        self.inner.write().remove(key)
    }

    /// Deletes the value for `key`, if any: Go's `m.Delete(key)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Map::new();
    /// m.store("k", 1);
    /// m.delete("k");
    /// assert_eq!(m.load("k"), None);
    /// ```
    #[track_caller]
    pub fn delete<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.sync_point(Location::caller());
        let old = self.inner.write().remove(key);
        drop(old);
    }

    /// Stores `value` for `key` and returns the previous value, if any: Go's
    /// `m.Swap(key, value)` (`previous, loaded`).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Map::new();
    /// assert_eq!(m.swap("k", 1), None);
    /// assert_eq!(m.swap("k", 2), Some(1));
    /// ```
    #[track_caller]
    pub fn swap(&self, key: K, value: V) -> Option<V> {
        self.sync_point(Location::caller());
        self.inner.write().insert(key, value)
    }

    /// Replaces the value for `key` with `new` if it is present and equal to
    /// `old`; reports whether it did: Go's `m.CompareAndSwap(key, old, new)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Map::new();
    /// m.store("k", 1);
    /// assert!(!m.compare_and_swap("k", &5, 2));
    /// assert!(m.compare_and_swap("k", &1, 2));
    /// assert_eq!(m.load("k"), Some(2));
    /// assert!(!m.compare_and_swap("absent", &1, 2));
    /// ```
    #[track_caller]
    pub fn compare_and_swap<Q>(&self, key: &Q, old: &V, new: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        self.sync_point(Location::caller());
        let mut m = self.inner.write();
        match m.get_mut(key) {
            Some(v) if *v == *old => {
                let prev = std::mem::replace(v, new);
                drop(m);
                drop(prev);
                true
            }
            _ => {
                drop(m);
                false
            }
        }
    }

    /// Deletes the entry for `key` if its value is equal to `old`; reports
    /// whether it did: Go's `m.CompareAndDelete(key, old)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Map::new();
    /// m.store("k", 1);
    /// assert!(!m.compare_and_delete("k", &2));
    /// assert!(m.compare_and_delete("k", &1));
    /// assert_eq!(m.load("k"), None);
    /// ```
    #[track_caller]
    pub fn compare_and_delete<Q>(&self, key: &Q, old: &V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq,
    {
        self.sync_point(Location::caller());
        let mut m = self.inner.write();
        if m.get(key) != Some(old) {
            return false;
        }
        let prev = m.remove(key);
        drop(m);
        drop(prev);
        true
    }

    /// Calls `f` for each entry, in no particular order, until `f` returns
    /// `false`: Go's `m.Range(f)`.
    ///
    /// As in Go, this does not hold the map while `f` runs, so `f` may call
    /// any method of the map, and the entries visited need not be one
    /// consistent snapshot of a map that is changing: `range` visits the
    /// entries present when it started (as clones), whatever happens to them
    /// afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::Map::new();
    /// for i in 0..5 {
    ///     m.store(i, i * 10);
    /// }
    /// let mut sum = 0;
    /// m.range(|_, v| {
    ///     sum += v;
    ///     true
    /// });
    /// assert_eq!(sum, 100);
    /// let mut visited = 0;
    /// m.range(|_, _| {
    ///     visited += 1;
    ///     false // stop after the first entry
    /// });
    /// assert_eq!(visited, 1);
    /// ```
    #[track_caller]
    pub fn range<F>(&self, mut f: F)
    where
        K: Clone,
        V: Clone,
        F: FnMut(&K, &V) -> bool,
    {
        self.sync_point(Location::caller());
        let entries: Vec<(K, V)> = self
            .inner
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in &entries {
            if !f(k, v) {
                break;
            }
        }
    }
}

impl<K: Eq + Hash, V> Default for Map<K, V> {
    fn default() -> Self {
        Map::new()
    }
}

impl<K: Eq + Hash, V> FromIterator<(K, V)> for Map<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Map {
            inner: RwLock::new(iter.into_iter().collect()),
            id: Ident::new(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.inner.read().iter()).finish()
    }
}
