//! Per-goroutine state indexed by goroutine id.
//!
//! The runtime numbers goroutines densely from 1, and the engine touches the
//! state of the acting goroutine on every event: a vector indexed by id is
//! one bounds check where a hash map is a hash, a probe and, with a million
//! goroutines, a cache miss into a table much larger than the cache. Ids far
//! beyond the dense range (hand-written traces may use any) go to a map.

use crate::event::Gid;
use crate::fxhash::FxHashMap as HashMap;

/// Ids below this are stored densely (the vector grows to the largest seen).
const DENSE_LIMIT: u64 = 1 << 26;

/// A map from goroutine id to `V`, dense for the runtime's ids.
pub(super) struct Table<V> {
    dense: Vec<Option<V>>,
    sparse: HashMap<Gid, V>,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table {
            dense: Vec::new(),
            sparse: HashMap::default(),
        }
    }
}

impl<V> Table<V> {
    #[inline]
    pub(super) fn get(&self, g: &Gid) -> Option<&V> {
        if *g < DENSE_LIMIT {
            self.dense.get(*g as usize).and_then(Option::as_ref)
        } else {
            self.sparse.get(g)
        }
    }

    pub(super) fn contains_key(&self, g: &Gid) -> bool {
        self.get(g).is_some()
    }

    pub(super) fn insert(&mut self, g: Gid, v: V) {
        if g < DENSE_LIMIT {
            let i = g as usize;
            if self.dense.len() <= i {
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i] = Some(v);
        } else {
            self.sparse.insert(g, v);
        }
    }

    /// The entry of `g`, made with `make` when absent.
    // The hit is inlined (every event looks its goroutine up); the rest is not.
    #[inline(always)]
    pub(super) fn get_or_insert_with(&mut self, g: Gid, make: impl FnOnce() -> V) -> &mut V {
        if g < DENSE_LIMIT && matches!(self.dense.get(g as usize), Some(Some(_))) {
            return self.dense[g as usize].as_mut().expect("present");
        }
        self.insert_with(g, make)
    }

    #[inline(never)]
    fn insert_with(&mut self, g: Gid, make: impl FnOnce() -> V) -> &mut V {
        if g < DENSE_LIMIT {
            let i = g as usize;
            if self.dense.len() <= i {
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i].get_or_insert_with(make)
        } else {
            self.sparse.entry(g).or_insert_with(make)
        }
    }
}

impl<V> std::ops::Index<&Gid> for Table<V> {
    type Output = V;

    fn index(&self, g: &Gid) -> &V {
        self.get(g).expect("goroutine state exists")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_ids_behave_like_a_map() {
        let mut t: Table<u32> = Table::default();
        assert!(t.get(&3).is_none());
        t.insert(3, 30);
        t.insert(u64::MAX, 7);
        *t.get_or_insert_with(1, || 10) += 1;
        *t.get_or_insert_with(3, || 0) += 1;
        assert_eq!(t.get(&1), Some(&11));
        assert_eq!(t[&3], 31);
        assert_eq!(t[&u64::MAX], 7);
        assert!(!t.contains_key(&2));
        assert!(t.contains_key(&u64::MAX));
    }
}
