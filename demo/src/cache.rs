//! A read-through cache with a hit counter.

use std::collections::HashMap;

use goro::sync::Mutex;
use goro::Shared;

/// A cache in front of a slow lookup, counting its hits.
#[derive(Debug, Default)]
pub struct Cache {
    entries: Mutex<HashMap<String, String>>,
    /// Hits so far, for a metrics endpoint: a plain variable.
    pub hits: Shared<u64>,
}

impl Cache {
    /// The cached value for `key`, or `load(key)` stored for next time.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let cache = goro_demo::cache::Cache::default();
    ///     assert_eq!(cache.get("a", |k| k.to_uppercase()).await, "A");
    ///     assert_eq!(cache.get("a", |_| unreachable!()).await, "A");
    ///     assert_eq!(cache.hits.get(), 1);
    /// });
    /// ```
    pub async fn get(&self, key: &str, load: impl FnOnce(&str) -> String) -> String {
        let cached = self.entries.lock().await.get(key).cloned();
        if let Some(v) = cached {
            // BUG: the entries lock is released already: two handlers
            // counting a hit at once lose one (and the detector sees it).
            self.hits.set(self.hits.get() + 1);
            return v;
        }
        let v = load(key);
        self.entries.lock().await.insert(key.to_string(), v.clone());
        v
    }
}
