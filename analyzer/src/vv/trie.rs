//! The trie clock: vector clocks that stay cheap with a million goroutines.
//!
//! A [`Trie`] maps goroutine index to a logical time. It is a persistent
//! 32-ary radix trie over dense goroutine indices: cloning is O(1) (one `Arc`
//! bump), ticking one entry copies one root-to-leaf path (4 nodes for a
//! million goroutines), and [`Trie::join`] skips every subtree the two
//! clocks share by pointer, adopting the other side's subtree outright when it
//! dominates. Spawning a goroutine, sending to it and waiting for it therefore
//! cost time proportional to what changed, not to how many goroutines exist:
//! the property tree clocks (Mathur et al., ASPLOS 2022) are built for, had
//! here through structural sharing.
//!
//! Sharing alone is not enough when two clocks absorb the same history
//! separately: a WaitGroup joining every worker's clock copies the paths it
//! changes, and from then on its subtrees are never pointer-equal to the base
//! the workers started from, though they dominate it. So every node also
//! remembers the versions it was copied from (`anc`): entries only grow, so
//! a node dominates each of its ancestors, and a comparison against one of
//! them ends at once instead of walking the subtree.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const BITS: u32 = 5;
/// Entries per leaf.
pub(super) const WIDTH: usize = 1 << BITS;
const MASK: usize = WIDTH - 1;
/// How many ancestor versions a node remembers: enough for a copy of a copy
/// of a copy (a clock cloned into a child, adopted by a WaitGroup, then
/// changed there), small enough to keep a leaf under 200 bytes.
const ANC: usize = 4;

/// A trie node's contents; children are 8-byte `Option<Arc<_>>`, so an inner
/// node is 256 bytes of pointers and a leaf 128 bytes of entries.
#[derive(Clone)]
enum N {
    Leaf([u32; WIDTH]),
    Inner([Option<Node>; WIDTH]),
}

/// A node with its version: `ver` is fresh whenever the contents change, so
/// two nodes with the same `ver` are the same contents; `anc` holds the
/// versions this node was copied from, nearest first (0 = none). Every entry
/// here is `>=` the same entry in each ancestor.
struct Nd {
    ver: u64,
    anc: [u64; ANC],
    body: N,
}

type Node = Arc<Nd>;

/// Versions are unique across all clocks of the process.
fn fresh() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn new_node(body: N) -> Node {
    Arc::new(Nd {
        ver: fresh(),
        anc: [0; ANC],
        body,
    })
}

/// Mutable access to `n`'s contents, copying it first when shared (the copy
/// records where it came from). The contents get a fresh version either way:
/// whoever recorded the old one must not take the new contents for it.
fn mutate(n: &mut Node) -> &mut Nd {
    if Arc::get_mut(n).is_none() {
        let mut anc = n.anc;
        push_anc(&mut anc, n.ver);
        *n = Arc::new(Nd {
            ver: 0,
            anc,
            body: n.body.clone(),
        });
    }
    let nd = Arc::get_mut(n).expect("unique after the copy above");
    nd.ver = fresh();
    nd
}

/// Whether `a` was derived from the contents `b` has now, so `a >= b`.
fn descends(a: &Nd, b: &Nd) -> bool {
    a.anc.contains(&b.ver)
}

/// The ordering of two clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dom {
    /// Every entry of `a` is `<=` the entry of `b`.
    Le,
    /// Every entry of `a` is `>=` the entry of `b`.
    Ge,
    /// Equal.
    Eq,
    /// Neither.
    Mixed,
}

impl Dom {
    fn and(self, other: Dom) -> Dom {
        match (self, other) {
            (Dom::Eq, d) | (d, Dom::Eq) => d,
            (a, b) if a == b => a,
            _ => Dom::Mixed,
        }
    }
}

/// A persistent vector clock over dense goroutine indices.
#[derive(Clone, Default)]
pub(super) struct Trie {
    root: Option<Node>,
    /// Number of inner levels above the leaves.
    depth: u32,
}

impl Trie {
    /// The all-zero clock.
    pub(super) fn new() -> Self {
        Trie::default()
    }

    fn capacity(depth: u32) -> u64 {
        1u64 << (BITS * (depth + 1))
    }

    /// The entry of goroutine `i`.
    pub(super) fn get(&self, i: u32) -> u32 {
        if u64::from(i) >= Self::capacity(self.depth) {
            return 0;
        }
        let mut node = match &self.root {
            None => return 0,
            Some(n) => n,
        };
        let mut level = self.depth;
        loop {
            let slot = (i as usize >> (BITS * level)) & MASK;
            match &node.body {
                N::Leaf(l) => return l[slot],
                N::Inner(c) => match &c[slot] {
                    None => return 0,
                    Some(n) => {
                        node = n;
                        level -= 1;
                    }
                },
            }
        }
    }

    fn grow_to(&mut self, depth: u32) {
        while self.depth < depth {
            if let Some(root) = self.root.take() {
                let mut children: [Option<Node>; WIDTH] = Default::default();
                children[0] = Some(root);
                self.root = Some(new_node(N::Inner(children)));
            }
            self.depth += 1;
        }
    }

    fn depth_for(i: u32) -> u32 {
        let mut d = 0;
        while u64::from(i) >= Self::capacity(d) {
            d += 1;
        }
        d
    }

    /// Sets the entry of goroutine `i`, copying one root-to-leaf path.
    ///
    /// Entries only ever grow in a happens-before analysis; setting an absent
    /// entry to 0 is a no-op, which keeps stored subtrees non-zero (the
    /// comparisons check for the exception).
    pub(super) fn set(&mut self, i: u32, v: u32) {
        let old = self.get(i);
        if v == old {
            return;
        }
        // A smaller entry breaks "a node dominates its ancestors" along the
        // path: forget them there.
        self.write(i, v, v < old);
    }

    /// Writes entry `i` along a copied path; `shrinks` when it goes down.
    fn write(&mut self, i: u32, v: u32, shrinks: bool) {
        if u64::from(i) >= Self::capacity(self.depth) {
            self.grow_to(Self::depth_for(i));
        }
        let depth = self.depth;
        let mut node = self.root.get_or_insert_with(|| empty(depth));
        let mut level = depth;
        loop {
            let slot = (i as usize >> (BITS * level)) & MASK;
            let nd = mutate(node);
            if shrinks {
                nd.anc = [0; ANC];
            }
            match &mut nd.body {
                N::Leaf(l) => {
                    l[slot] = v;
                    return;
                }
                N::Inner(c) => {
                    node = c[slot].get_or_insert_with(|| empty(level - 1));
                    level -= 1;
                }
            }
        }
    }

    /// Raises the entry of goroutine `i` to `v` if it is lower: `self ⊔=
    /// {i: v}`, with one walk when nothing changes.
    pub(super) fn raise(&mut self, i: u32, v: u32) {
        if self.get(i) < v {
            self.write(i, v, false);
        }
    }

    /// Increments the entry of goroutine `i` and returns the new value.
    #[cfg(test)]
    pub(super) fn tick(&mut self, i: u32) -> u32 {
        let v = self.get(i) + 1;
        self.set(i, v);
        v
    }

    /// Pointwise maximum: `self = self ⊔ other`.
    pub(super) fn join(&mut self, other: &Trie) {
        let Some(o) = &other.root else { return };
        if other.depth == self.depth {
            // The common case: no lifting (and no refcount traffic for it).
            match &mut self.root {
                None => self.root = Some(o.clone()),
                Some(r) => join_node(r, o),
            }
            return;
        }
        if other.depth > self.depth {
            self.grow_to(other.depth);
        }
        // Lift `other` to our depth by walking down its leftmost spine: the
        // extra levels of ours only add higher indices.
        let lifted = lift(o, other.depth, self.depth);
        match &mut self.root {
            None => self.root = Some(lifted),
            Some(r) => join_node(r, &lifted),
        }
    }

    /// Whether `self <= other` pointwise: everything `self` has seen, `other`
    /// has seen too (happens-before).
    pub(super) fn le(&self, other: &Trie) -> bool {
        let Some(a) = &self.root else { return true };
        let Some(b) = &other.root else {
            return all_zero(a);
        };
        let depth = self.depth.max(other.depth);
        let a = lift(a, self.depth, depth);
        let b = lift(b, other.depth, depth);
        matches!(dom(&a, &b), Dom::Le | Dom::Eq)
    }

    /// The entries of goroutines `0..32` (the leftmost leaf), in one walk:
    /// what a small clock holds is compared against these.
    pub(super) fn first_leaf(&self) -> &[u32; WIDTH] {
        static ZERO: [u32; WIDTH] = [0; WIDTH];
        let mut node = match &self.root {
            None => return &ZERO,
            Some(n) => n,
        };
        loop {
            match &node.body {
                N::Leaf(l) => return l,
                N::Inner(c) => match &c[0] {
                    None => return &ZERO,
                    Some(n) => node = n,
                },
            }
        }
    }

    /// Whether every entry of goroutine `32` or higher is zero (a stored
    /// subtree is almost always non-zero, so this ends at the first one).
    pub(super) fn only_first_leaf(&self) -> bool {
        let Some(root) = &self.root else { return true };
        let mut node = root;
        loop {
            match &node.body {
                N::Leaf(_) => return true,
                N::Inner(c) => {
                    if !c[1..].iter().flatten().all(all_zero) {
                        return false;
                    }
                    match &c[0] {
                        None => return true,
                        Some(n) => node = n,
                    }
                }
            }
        }
    }

    /// The non-zero entries, in index order.
    pub(super) fn entries(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        if let Some(r) = &self.root {
            collect(r, self.depth, 0, &mut out);
        }
        out
    }
}

fn empty(level: u32) -> Node {
    new_node(if level == 0 {
        N::Leaf([0; WIDTH])
    } else {
        N::Inner(Default::default())
    })
}

/// `node` (at depth `from`) seen as a tree of depth `to >= from`.
fn lift(node: &Node, from: u32, to: u32) -> Node {
    let mut n = node.clone();
    for _ in from..to {
        let mut children: [Option<Node>; WIDTH] = Default::default();
        children[0] = Some(n);
        n = new_node(N::Inner(children));
    }
    n
}

fn all_zero(n: &Node) -> bool {
    match &n.body {
        N::Leaf(l) => l.iter().all(|&v| v == 0),
        N::Inner(c) => c.iter().flatten().all(all_zero),
    }
}

fn dom(a: &Node, b: &Node) -> Dom {
    if Arc::ptr_eq(a, b) {
        return Dom::Eq;
    }
    #[cfg(test)]
    tests::VISITS.with(|v| v.set(v.get() + 1));
    if descends(a, b) {
        return Dom::Ge;
    }
    if descends(b, a) {
        return Dom::Le;
    }
    match (&a.body, &b.body) {
        (N::Leaf(x), N::Leaf(y)) => {
            // Branch-free so it vectorizes: 32 entries in a few SIMD ops
            // beat an early exit.
            let (mut lt, mut gt) = (false, false);
            for (p, q) in x.iter().zip(y.iter()) {
                lt |= p < q;
                gt |= p > q;
            }
            match (lt, gt) {
                (false, false) => Dom::Eq,
                (true, false) => Dom::Le,
                (false, true) => Dom::Ge,
                (true, true) => Dom::Mixed,
            }
        }
        (N::Inner(x), N::Inner(y)) => {
            let mut d = Dom::Eq;
            for (p, q) in x.iter().zip(y.iter()) {
                // A stored subtree almost always holds a non-zero entry, but
                // `set(i, 0)` of a present entry can leave one all zero:
                // check, which ends at the first non-zero entry.
                let e = match (p, q) {
                    (None, None) => Dom::Eq,
                    (Some(p), None) => zero_or(p, Dom::Ge),
                    (None, Some(q)) => zero_or(q, Dom::Le),
                    (Some(p), Some(q)) => dom(p, q),
                };
                d = d.and(e);
                if d == Dom::Mixed {
                    break;
                }
            }
            d
        }
        // Same depth by construction.
        _ => Dom::Mixed,
    }
}

/// `Eq` when subtree `n` is all zero, else `d`.
fn zero_or(n: &Node, d: Dom) -> Dom {
    if all_zero(n) {
        Dom::Eq
    } else {
        d
    }
}

/// `a = a ⊔ b`; shares `b`'s subtrees wherever `b` dominates.
fn join_node(a: &mut Node, b: &Node) {
    match dom(a, b) {
        // Equal contents: share one allocation, so later comparisons stop at
        // the pointer.
        Dom::Eq => *a = b.clone(),
        Dom::Ge => remember(a, b),
        Dom::Le => *a = b.clone(),
        Dom::Mixed => match (&mut mutate(a).body, &b.body) {
            (N::Leaf(x), N::Leaf(y)) => {
                for (p, q) in x.iter_mut().zip(y.iter()) {
                    *p = (*p).max(*q);
                }
            }
            (N::Inner(x), N::Inner(y)) => {
                for (p, q) in x.iter_mut().zip(y.iter()) {
                    match (p.as_mut(), q) {
                        (_, None) => {}
                        (None, Some(q)) => *p = Some(q.clone()),
                        (Some(p), Some(q)) => join_node(p, q),
                    }
                }
            }
            _ => unreachable!("clocks are lifted to the same depth"),
        },
    }
}

/// Records that `a >= b`, once a walk has shown it, so the next comparison of
/// `a` (or anything later derived from it) with `b` ends at once. This is
/// what keeps an accumulator, compared again and again with the same
/// published clock, from walking the same subtrees each time. Only a node
/// nobody else holds is annotated: a shared one would need a copy.
fn remember(a: &mut Node, b: &Node) {
    if Arc::ptr_eq(a, b) || descends(a, b) {
        return;
    }
    if let Some(nd) = Arc::get_mut(a) {
        push_anc(&mut nd.anc, b.ver);
    }
}

/// Records `ver` as the nearest ancestor, forgetting the farthest.
fn push_anc(anc: &mut [u64; ANC], ver: u64) {
    anc.copy_within(..ANC - 1, 1);
    anc[0] = ver;
}

fn collect(n: &Node, level: u32, base: u64, out: &mut Vec<(u32, u32)>) {
    match &n.body {
        N::Leaf(l) => {
            for (i, &v) in l.iter().enumerate() {
                if v != 0 {
                    out.push(((base + i as u64) as u32, v));
                }
            }
        }
        N::Inner(c) => {
            for (i, ch) in c.iter().enumerate() {
                if let Some(ch) = ch {
                    let span = 1u64 << (BITS * level);
                    collect(ch, level - 1, base + i as u64 * span, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Node pairs `dom` compared: the work a join or comparison did.
        pub(super) static VISITS: Cell<u64> = const { Cell::new(0) };
    }

    fn visits() -> u64 {
        VISITS.with(Cell::get)
    }

    fn naive_join(a: &[u32], b: &[u32]) -> Vec<u32> {
        let n = a.len().max(b.len());
        (0..n)
            .map(|i| {
                a.get(i)
                    .copied()
                    .unwrap_or(0)
                    .max(b.get(i).copied().unwrap_or(0))
            })
            .collect()
    }

    fn from(v: &[u32]) -> Trie {
        let mut c = Trie::new();
        for (i, &x) in v.iter().enumerate() {
            if x != 0 {
                c.set(i as u32, x);
            }
        }
        c
    }

    fn to_vec(c: &Trie, n: usize) -> Vec<u32> {
        (0..n as u32).map(|i| c.get(i)).collect()
    }

    #[test]
    fn set_get_across_depths() {
        let mut c = Trie::new();
        for &i in &[0u32, 1, 31, 32, 1023, 1024, 40_000, 1_000_000] {
            c.set(i, i + 7);
        }
        for &i in &[0u32, 1, 31, 32, 1023, 1024, 40_000, 1_000_000] {
            assert_eq!(c.get(i), i + 7);
        }
        assert_eq!(c.get(2), 0);
        assert_eq!(c.get(5_000_000), 0);
        assert_eq!(c.entries().len(), 8);
    }

    #[test]
    fn clone_is_independent() {
        let mut a = Trie::new();
        a.set(3, 1);
        let mut b = a.clone();
        b.set(3, 2);
        b.set(100, 1);
        assert_eq!(a.get(3), 1);
        assert_eq!(a.get(100), 0);
        assert!(a.le(&b));
        assert!(!b.le(&a));
    }

    #[test]
    fn join_and_le_match_naive_model() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..500 {
            let n = rng.usize(1..3000);
            let a: Vec<u32> = (0..rng.usize(0..n))
                .map(|_| if rng.bool() { rng.u32(0..5) } else { 0 })
                .collect();
            let b: Vec<u32> = (0..rng.usize(0..n))
                .map(|_| if rng.bool() { rng.u32(0..5) } else { 0 })
                .collect();
            let (ca, cb) = (from(&a), from(&b));
            let mut j = ca.clone();
            j.join(&cb);
            let want = naive_join(&a, &b);
            assert_eq!(to_vec(&j, want.len()), want);
            let le =
                (0..n).all(|i| a.get(i).copied().unwrap_or(0) <= b.get(i).copied().unwrap_or(0));
            assert_eq!(ca.le(&cb), le, "a={a:?} b={b:?}");
            assert!(ca.le(&j) && cb.le(&j));
        }
    }

    #[test]
    fn dominated_join_shares_structure() {
        let mut big = Trie::new();
        for i in 0..100_000 {
            big.set(i, 1);
        }
        let mut small = Trie::new();
        small.set(5, 1);
        small.join(&big);
        // Adopted wholesale: the roots are the same allocation.
        assert!(Arc::ptr_eq(
            small.root.as_ref().unwrap(),
            big.root.as_ref().unwrap()
        ));
    }

    #[test]
    fn many_spawns_stay_cheap() {
        // Each child starts from its parent's clock and ticks its own entry;
        // the parent acquires every child (WaitGroup-style). Linear time
        // (a quarter million keeps the debug-build test quick).
        let mut parent = Trie::new();
        parent.set(0, 1);
        let mut wg = Trie::new();
        for i in 1..250_000u32 {
            let mut child = parent.clone();
            child.set(i, 1);
            wg.join(&child);
            parent.tick(0);
        }
        parent.join(&wg);
        assert_eq!(parent.get(249_999), 1);
    }

    /// The shape of `spawn_park` (and of every fan-out joined by a
    /// WaitGroup): workers all acquire one released clock (a close), tick
    /// their own entry, and a WaitGroup accumulator joins each of them. The
    /// accumulator diverges from the released clock along every worker's
    /// path, so pointer sharing alone makes each join walk all of them:
    /// quadratic. Ancestry keeps each join to the worker's own path.
    #[test]
    fn accumulating_workers_of_one_base_is_linear() {
        const N: u32 = 100_000;
        let mut main = Trie::new();
        main.set(0, 1);
        let mut base = Trie::new();
        for i in 1..=N {
            base.set(i, 1);
        }
        base.join(&main);
        let before = visits();
        let mut wg = Trie::new();
        let mut done = Vec::new();
        for i in 1..=N {
            let mut w = Trie::new();
            w.set(i, 2);
            w.join(&base);
            w.tick(i);
            wg.join(&w);
            // Finished goroutines' clocks stay alive (for joins): the
            // accumulator's nodes are then copies, not updated in place.
            done.push(w);
        }
        main.join(&wg);
        let per_join = (visits() - before) / u64::from(N);
        // 32 slots at each of the 4 levels, whatever N; quadratic would be
        // thousands at this N.
        assert!(per_join < 200, "{per_join} node pairs per join");
        assert_eq!(main.get(N), 3);
        assert_eq!(main.get(0), 1);
        assert!(base.le(&main) && !main.le(&base));
    }

    /// Ancestry never claims an order that is not there: a copy changed in
    /// place after a sibling was taken from it is not `>=` that sibling.
    #[test]
    fn ancestry_is_sound_after_in_place_changes() {
        let mut a = Trie::new();
        a.set(1, 1);
        let b = a.clone();
        let mut c = b.clone();
        c.set(2, 5); // c copies b's nodes: c descends from them.
        assert!(b.le(&c));
        drop(b);
        // `a` is now the only holder of the old nodes and changes them in
        // place: they get new versions, which `c` did not descend from.
        a.set(3, 7);
        assert!(!a.le(&c));
        assert!(!c.le(&a));
        let mut j = c.clone();
        j.join(&a);
        assert_eq!(j.entries(), vec![(1, 1), (2, 5), (3, 7)]);
    }

    #[test]
    fn shrinking_an_entry_forgets_ancestry() {
        let mut a = Trie::new();
        a.set(4, 9);
        let mut b = a.clone();
        b.set(4, 2);
        assert!(b.le(&a));
        assert!(!a.le(&b));
    }

    /// An entry set back to zero leaves a stored leaf of zeros, which must
    /// compare like an absent one.
    #[test]
    fn an_all_zero_subtree_is_no_entry() {
        let mut z = Trie::new();
        z.set(1, 1);
        z.set(1, 0);
        let mut b = Trie::new();
        b.set(32, 1);
        assert!(z.le(&b));
        assert!(!b.le(&z));
        let mut j = z.clone();
        j.join(&b);
        assert_eq!(j.entries(), vec![(32, 1)]);
    }

    #[test]
    fn random_histories_match_the_naive_model() {
        // Clocks built by set/tick/join/clone over a shared pool, checked
        // entry by entry against plain vectors: ancestry must never change
        // an answer.
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..200 {
            let n = rng.u32(1..200);
            let mut pool: Vec<(Trie, Vec<u32>)> = vec![(Trie::new(), vec![0; n as usize])];
            for _ in 0..60 {
                let k = rng.usize(0..pool.len());
                let (mut c, mut v) = pool[k].clone();
                match rng.u8(0..3) {
                    0 => {
                        let i = rng.u32(0..n);
                        v[i as usize] = c.tick(i);
                    }
                    1 => {
                        let (o, ov) = &pool[rng.usize(0..pool.len())];
                        c.join(o);
                        for (x, y) in v.iter_mut().zip(ov) {
                            *x = (*x).max(*y);
                        }
                    }
                    _ => {
                        let i = rng.u32(0..n);
                        let x = v[i as usize] + rng.u32(1..3);
                        c.set(i, x);
                        v[i as usize] = x;
                    }
                }
                if rng.bool() {
                    pool.push((c, v));
                } else {
                    pool[k] = (c, v);
                }
            }
            for (a, av) in &pool {
                assert_eq!(&to_vec(a, n as usize), av);
                for (b, bv) in &pool {
                    let le = av.iter().zip(bv).all(|(x, y)| x <= y);
                    assert_eq!(a.le(b), le, "{av:?} <= {bv:?}");
                }
            }
        }
    }
}
