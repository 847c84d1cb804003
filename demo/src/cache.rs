//! A read-through cache with a hit counter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A plain `u64` shared between goroutines, like a Go variable: reads and
/// writes are announced to the race detector and nothing orders them.
///
/// (A stand-in for `goro::Shared<u64>` until it lands in the runtime; the
/// storage is atomic only so that the program stays memory-safe.)
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Reads the value: a plain read.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro_demo::cache::Counter::default().get(), 0);
    /// ```
    #[track_caller]
    pub fn get(&self) -> u64 {
        goro::race::read(&self.0);
        self.0.load(Ordering::Relaxed)
    }

    /// Writes the value: a plain write.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = goro_demo::cache::Counter::default();
    /// c.set(3);
    /// assert_eq!(c.get(), 3);
    /// ```
    #[track_caller]
    pub fn set(&self, v: u64) {
        goro::race::write(&self.0);
        self.0.store(v, Ordering::Relaxed);
    }
}

/// A cache in front of a slow lookup, counting its hits.
#[derive(Debug, Default)]
pub struct Cache {
    entries: Mutex<HashMap<String, String>>,
    /// Hits so far, for a metrics endpoint.
    pub hits: Counter,
}

impl Cache {
    /// The cached value for `key`, or `load(key)` stored for next time.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = goro_demo::cache::Cache::default();
    /// assert_eq!(cache.get("a", |k| k.to_uppercase()), "A");
    /// assert_eq!(cache.get("a", |_| unreachable!()), "A");
    /// assert_eq!(cache.hits.get(), 1);
    /// ```
    pub fn get(&self, key: &str, load: impl FnOnce(&str) -> String) -> String {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = entries.get(key) {
            // BUG: every handler goroutine does this read-modify-write with
            // no lock: two hits at once lose one (and the detector sees it).
            self.hits.set(self.hits.get() + 1);
            return v.clone();
        }
        let v = load(key);
        entries.insert(key.to_string(), v.clone());
        v
    }
}
