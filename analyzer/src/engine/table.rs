//! Per-goroutine (or per-object) state indexed by a dense id.
//!
//! The runtime numbers goroutines densely from 1, and the engine touches the
//! state of the acting goroutine on every event: a vector indexed by id is
//! one bounds check where a hash map is a hash, a probe and, with a million
//! goroutines, a cache miss into a table much larger than the cache. Ids far
//! beyond the dense range (hand-written traces may use any) go to a map.

use crate::event::{Gid, ObjId};
use crate::fxhash::FxHashMap as HashMap;

/// Ids below this are stored densely (the vector grows to the largest seen).
const DENSE_LIMIT: u64 = 1 << 26;

/// A key numbered densely by the runtime: a goroutine, or an object id.
pub(super) trait DenseKey: Copy + Eq + std::hash::Hash {
    /// Its slot in the dense vector, if it is small enough to have one.
    fn dense_slot(self) -> Option<usize>;
}

impl DenseKey for Gid {
    #[inline(always)]
    fn dense_slot(self) -> Option<usize> {
        (self.get() < DENSE_LIMIT).then(|| self.index())
    }
}

impl DenseKey for ObjId {
    #[inline(always)]
    fn dense_slot(self) -> Option<usize> {
        (self.0 < DENSE_LIMIT).then_some(self.0 as usize)
    }
}

#[inline(always)]
fn dense_slot<K: DenseKey>(k: K) -> Option<usize> {
    k.dense_slot()
}

/// A map from goroutine id to `V`, dense for the runtime's ids.
pub(super) struct Table<V, K = Gid> {
    dense: Vec<Option<V>>,
    sparse: HashMap<K, V>,
}

impl<V, K> Default for Table<V, K> {
    fn default() -> Self {
        Table {
            dense: Vec::new(),
            sparse: HashMap::default(),
        }
    }
}

impl<V, K: DenseKey> Table<V, K> {
    #[inline]
    pub(super) fn get(&self, g: &K) -> Option<&V> {
        match dense_slot(*g) {
            Some(i) => self.dense.get(i).and_then(Option::as_ref),
            None => self.sparse.get(g),
        }
    }

    pub(super) fn insert(&mut self, g: K, v: V) {
        match dense_slot(g) {
            Some(i) => {
                if self.dense.len() <= i {
                    self.dense.resize_with(i + 1, || None);
                }
                self.dense[i] = Some(v);
            }
            None => {
                self.sparse.insert(g, v);
            }
        }
    }

    /// The entry of `g`, made with `make` when absent.
    // The hit is inlined (every event looks its goroutine up); the rest is not.
    #[inline(always)]
    pub(super) fn get_or_insert_with(&mut self, g: K, make: impl FnOnce() -> V) -> &mut V {
        if let Some(i) = dense_slot(g) {
            if matches!(self.dense.get(i), Some(Some(_))) {
                return self.dense[i].as_mut().expect("present");
            }
        }
        self.insert_with(g, make)
    }

    #[inline(never)]
    fn insert_with(&mut self, g: K, make: impl FnOnce() -> V) -> &mut V {
        match dense_slot(g) {
            Some(i) => {
                if self.dense.len() <= i {
                    self.dense.resize_with(i + 1, || None);
                }
                self.dense[i].get_or_insert_with(make)
            }
            None => self.sparse.entry(g).or_insert_with(make),
        }
    }
}

impl<V, K: DenseKey> std::ops::Index<&K> for Table<V, K> {
    type Output = V;

    fn index(&self, g: &K) -> &V {
        self.get(g).expect("goroutine state exists")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_ids_behave_like_a_map() {
        let g = |n: u64| Gid::new(n).expect("nonzero");
        let mut t: Table<u32> = Table::default();
        assert!(t.get(&g(3)).is_none());
        t.insert(g(3), 30);
        t.insert(g(u64::MAX), 7);
        *t.get_or_insert_with(g(1), || 10) += 1;
        *t.get_or_insert_with(g(3), || 0) += 1;
        assert_eq!(t.get(&g(1)), Some(&11));
        assert_eq!(t[&g(3)], 31);
        assert_eq!(t[&g(u64::MAX)], 7);
        assert!(t.get(&g(2)).is_none());
        assert!(t.get(&g(u64::MAX)).is_some());
    }
}
