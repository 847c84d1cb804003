//! Vector clocks that stay cheap with a million goroutines.
//!
//! A [`VClock`] maps goroutine index to a logical time. It is a persistent
//! 32-ary radix trie over dense goroutine indices: cloning is O(1) (one `Arc`
//! bump), ticking one entry copies one root-to-leaf path (4 nodes for a
//! million goroutines), and [`VClock::join`] skips every subtree the two
//! clocks share by pointer, adopting the other side's subtree outright when it
//! dominates. Spawning a goroutine, sending to it and waiting for it therefore
//! cost time proportional to what changed, not to how many goroutines exist:
//! the property tree clocks (Mathur et al., ASPLOS 2022) are built for, had
//! here through structural sharing.

use std::fmt;
use std::sync::Arc;

const BITS: u32 = 5;
const WIDTH: usize = 1 << BITS;
const MASK: usize = WIDTH - 1;

/// A trie node; children are 8-byte `Option<Arc<_>>`, so an inner node is
/// 256 bytes of pointers and a leaf 128 bytes of entries.
#[derive(Clone)]
enum N {
    Leaf([u32; WIDTH]),
    Inner([Option<Node>; WIDTH]),
}

type Node = Arc<N>;

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
///
/// # Examples
///
/// ```
/// use goro_analyzer::vv::VClock;
///
/// let mut parent = VClock::new();
/// parent.set(0, 3);
/// let mut child = parent.clone(); // O(1)
/// child.set(1, 1);
/// assert!(parent.le(&child));
/// assert!(!child.le(&parent));
/// parent.join(&child);
/// assert_eq!(parent.get(1), 1);
/// ```
#[derive(Clone, Default)]
pub struct VClock {
    root: Option<Node>,
    /// Number of inner levels above the leaves.
    depth: u32,
}

impl VClock {
    /// The all-zero clock.
    pub fn new() -> Self {
        VClock::default()
    }

    fn capacity(depth: u32) -> u64 {
        1u64 << (BITS * (depth + 1))
    }

    /// The entry of goroutine `i`.
    pub fn get(&self, i: u32) -> u32 {
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
            match &**node {
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
                self.root = Some(Arc::new(N::Inner(children)));
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
    /// entry to 0 is a no-op, which keeps every stored subtree non-zero (the
    /// comparisons rely on it).
    pub fn set(&mut self, i: u32, v: u32) {
        if v == 0 && self.get(i) == 0 {
            return;
        }
        self.grow_to(Self::depth_for(i));
        let depth = self.depth;
        let mut node = self.root.get_or_insert_with(|| empty(depth));
        let mut level = depth;
        loop {
            let slot = (i as usize >> (BITS * level)) & MASK;
            match Arc::make_mut(node) {
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

    /// Increments the entry of goroutine `i` and returns the new value.
    pub fn tick(&mut self, i: u32) -> u32 {
        let v = self.get(i) + 1;
        self.set(i, v);
        v
    }

    /// Pointwise maximum: `self = self ⊔ other`.
    pub fn join(&mut self, other: &VClock) {
        let Some(o) = &other.root else { return };
        if other.depth > self.depth {
            self.grow_to(other.depth);
        }
        // Lift `other` to our depth by walking down its leftmost spine: the
        // extra levels of ours only add higher indices.
        let lifted = lift(o, other.depth, self.depth);
        match &mut self.root {
            None => self.root = Some(lifted),
            Some(r) => {
                join_node(r, &lifted);
            }
        }
    }

    /// Whether `self <= other` pointwise: everything `self` has seen, `other`
    /// has seen too (happens-before).
    pub fn le(&self, other: &VClock) -> bool {
        let Some(a) = &self.root else { return true };
        let Some(b) = &other.root else {
            return all_zero(a);
        };
        let depth = self.depth.max(other.depth);
        let a = lift(a, self.depth, depth);
        let b = lift(b, other.depth, depth);
        matches!(dom(&a, &b), Dom::Le | Dom::Eq)
    }

    /// The non-zero entries, in index order.
    pub fn entries(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        if let Some(r) = &self.root {
            collect(r, self.depth, 0, &mut out);
        }
        out
    }
}

fn empty(level: u32) -> Node {
    Arc::new(if level == 0 {
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
        n = Arc::new(N::Inner(children));
    }
    n
}

fn all_zero(n: &Node) -> bool {
    match &**n {
        N::Leaf(l) => l.iter().all(|&v| v == 0),
        N::Inner(c) => c.iter().flatten().all(all_zero),
    }
}

fn dom(a: &Node, b: &Node) -> Dom {
    if Arc::ptr_eq(a, b) {
        return Dom::Eq;
    }
    match (&**a, &**b) {
        (N::Leaf(x), N::Leaf(y)) => {
            let mut d = Dom::Eq;
            for (p, q) in x.iter().zip(y.iter()) {
                let e = match p.cmp(q) {
                    std::cmp::Ordering::Less => Dom::Le,
                    std::cmp::Ordering::Greater => Dom::Ge,
                    std::cmp::Ordering::Equal => Dom::Eq,
                };
                d = d.and(e);
                if d == Dom::Mixed {
                    break;
                }
            }
            d
        }
        (N::Inner(x), N::Inner(y)) => {
            let mut d = Dom::Eq;
            for (p, q) in x.iter().zip(y.iter()) {
                // A stored subtree always holds a non-zero entry (see `set`).
                let e = match (p, q) {
                    (None, None) => Dom::Eq,
                    (Some(_), None) => Dom::Ge,
                    (None, Some(_)) => Dom::Le,
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

/// `a = a ⊔ b`; shares `b`'s subtrees wherever `b` dominates.
fn join_node(a: &mut Node, b: &Node) {
    match dom(a, b) {
        Dom::Eq | Dom::Ge => {}
        Dom::Le => *a = b.clone(),
        Dom::Mixed => match (Arc::make_mut(a), &**b) {
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

fn collect(n: &Node, level: u32, base: u64, out: &mut Vec<(u32, u32)>) {
    match &**n {
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

impl fmt::Debug for VClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

impl PartialEq for VClock {
    fn eq(&self, other: &Self) -> bool {
        self.le(other) && other.le(self)
    }
}

impl Eq for VClock {}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn from(v: &[u32]) -> VClock {
        let mut c = VClock::new();
        for (i, &x) in v.iter().enumerate() {
            if x != 0 {
                c.set(i as u32, x);
            }
        }
        c
    }

    fn to_vec(c: &VClock, n: usize) -> Vec<u32> {
        (0..n as u32).map(|i| c.get(i)).collect()
    }

    #[test]
    fn set_get_across_depths() {
        let mut c = VClock::new();
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
        let mut a = VClock::new();
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
        let mut big = VClock::new();
        for i in 0..100_000 {
            big.set(i, 1);
        }
        let mut small = VClock::new();
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
        let mut parent = VClock::new();
        parent.set(0, 1);
        let mut wg = VClock::new();
        for i in 1..250_000u32 {
            let mut child = parent.clone();
            child.set(i, 1);
            wg.join(&child);
            parent.tick(0);
        }
        parent.join(&wg);
        assert_eq!(parent.get(249_999), 1);
    }
}
