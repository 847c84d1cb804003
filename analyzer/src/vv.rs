//! Vector clocks, cheap both for a handful of goroutines and for a million.
//!
//! A [`VClock`] maps goroutine index to a logical time. It starts as a small
//! inline array of the entries of goroutines `0..16` (`small.rs`): no
//! allocation, copied by value, joined and compared by one vectorized loop.
//! The first time it must hold a higher index it is promoted, for good, to a
//! persistent radix trie (`trie.rs`) whose clones share structure, so that a
//! million goroutines that each see a little cost memory and time in
//! proportion to what changed. A program with at most 16 goroutines never
//! builds a trie.
//!
//! Both represent the same map; mixed operations (a small clock joined with
//! a trie) give the answer of the map either way.

mod small;
mod trie;

use std::fmt;

use small::{Small, K};
use trie::Trie;

// The small clock's entries are compared against a trie's first leaf.
const _: () = assert!(K <= trie::WIDTH);

/// A vector clock over dense goroutine indices.
///
/// # Examples
///
/// ```
/// use goro_analyzer::vv::VClock;
///
/// let mut parent = VClock::new();
/// parent.set(0, 3);
/// let mut child = parent.clone();
/// child.set(1, 1);
/// assert!(parent.le(&child));
/// assert!(!child.le(&parent));
/// parent.join(&child);
/// assert_eq!(parent.get(1), 1);
/// // A million goroutines: the clock becomes a shared trie.
/// child.set(1_000_000, 1);
/// assert!(parent.le(&child) && !child.le(&parent));
/// ```
#[derive(Clone)]
pub struct VClock(Repr);

#[derive(Clone)]
enum Repr {
    Small(Small),
    Trie(Trie),
}

impl Default for VClock {
    fn default() -> Self {
        VClock(Repr::Small(Small::default()))
    }
}

impl VClock {
    /// The all-zero clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::vv::VClock;
    ///
    /// assert_eq!(VClock::new().get(7), 0);
    /// ```
    pub fn new() -> Self {
        VClock::default()
    }

    /// The entry of goroutine `i`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::vv::VClock;
    ///
    /// let mut c = VClock::new();
    /// c.set(3, 2);
    /// assert_eq!((c.get(3), c.get(4)), (2, 0));
    /// ```
    #[inline]
    pub fn get(&self, i: u32) -> u32 {
        match &self.0 {
            Repr::Small(s) => s.get(i),
            Repr::Trie(t) => t.get(i),
        }
    }

    /// The trie holding the same entries as `s` (a clock outgrowing `K`).
    #[cold]
    fn promote(s: &Small) -> Trie {
        let mut t = Trie::new();
        for (i, v) in s.entries() {
            t.set(i, v);
        }
        t
    }

    /// This clock as a trie, promoting it first if it is small.
    fn trie_mut(&mut self) -> &mut Trie {
        if let Repr::Small(s) = &self.0 {
            self.0 = Repr::Trie(Self::promote(s));
        }
        match &mut self.0 {
            Repr::Trie(t) => t,
            Repr::Small(_) => unreachable!("promoted above"),
        }
    }

    /// Sets the entry of goroutine `i`.
    ///
    /// Entries only ever grow in a happens-before analysis; setting an absent
    /// entry to 0 is a no-op.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::vv::VClock;
    ///
    /// let mut c = VClock::new();
    /// c.set(40, 9);
    /// assert_eq!(c.get(40), 9);
    /// ```
    #[inline]
    pub fn set(&mut self, i: u32, v: u32) {
        match &mut self.0 {
            Repr::Small(s) if Small::fits(i) => s.0[i as usize] = v,
            // Zero beyond K is already what the small clock says.
            Repr::Small(_) if v == 0 => {}
            Repr::Small(_) => self.trie_mut().set(i, v),
            Repr::Trie(t) => t.set(i, v),
        }
    }

    /// Raises the entry of goroutine `i` to `v` if it is lower: `self ⊔=
    /// {i: v}`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::vv::VClock;
    ///
    /// let mut c = VClock::new();
    /// c.raise(2, 5);
    /// c.raise(2, 3); // lower: no change
    /// assert_eq!(c.get(2), 5);
    /// ```
    #[inline]
    pub fn raise(&mut self, i: u32, v: u32) {
        if let Repr::Small(s) = &mut self.0 {
            // The common case inline; the rest (a promotion) out of line.
            if let Some(e) = s.0.get_mut(i as usize) {
                *e = (*e).max(v);
                return;
            }
        }
        self.raise_slow(i, v);
    }

    #[inline(never)]
    fn raise_slow(&mut self, i: u32, v: u32) {
        match &mut self.0 {
            Repr::Small(s) if Small::fits(i) => {
                let e = &mut s.0[i as usize];
                *e = (*e).max(v);
            }
            Repr::Small(_) if v == 0 => {}
            Repr::Small(_) => self.trie_mut().raise(i, v),
            Repr::Trie(t) => t.raise(i, v),
        }
    }

    /// Increments the entry of goroutine `i` and returns the new value.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::vv::VClock;
    ///
    /// let mut c = VClock::new();
    /// assert_eq!(c.tick(0), 1);
    /// assert_eq!(c.tick(0), 2);
    /// ```
    pub fn tick(&mut self, i: u32) -> u32 {
        let v = self.get(i) + 1;
        self.set(i, v);
        v
    }

    /// Pointwise maximum: `self = self ⊔ other`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::vv::VClock;
    ///
    /// let (mut a, mut b) = (VClock::new(), VClock::new());
    /// a.set(0, 2);
    /// b.set(1, 3);
    /// a.join(&b);
    /// assert_eq!((a.get(0), a.get(1)), (2, 3));
    /// ```
    #[inline]
    pub fn join(&mut self, other: &VClock) {
        // Two small clocks, the common case, join inline (four SIMD steps);
        // with the trie arms inlined too, the whole join stayed a call.
        if let (Repr::Small(a), Repr::Small(b)) = (&mut self.0, &other.0) {
            a.join(b);
            return;
        }
        self.join_mixed(other);
    }

    /// Whether it is the inline small clock (not promoted to the trie):
    /// the engine's channel operation skips the trie's node-sharing steps
    /// for two of these.
    #[inline(always)]
    pub(crate) fn is_small(&self) -> bool {
        matches!(self.0, Repr::Small(_))
    }

    /// Makes `self` a copy of `other`: two small clocks by a plain copy
    /// (the derived `clone_from` drops and clones through the enum).
    #[inline(always)]
    pub(crate) fn copy_from(&mut self, other: &VClock) {
        if let (Repr::Small(a), Repr::Small(b)) = (&mut self.0, &other.0) {
            *a = *b;
        } else {
            *self = other.clone();
        }
    }

    /// [`VClock::join`] when either side is a trie.
    #[inline(never)]
    fn join_mixed(&mut self, other: &VClock) {
        match (&mut self.0, &other.0) {
            (Repr::Small(a), Repr::Small(b)) => a.join(b),
            (Repr::Trie(a), Repr::Trie(b)) => a.join(b),
            (Repr::Trie(a), Repr::Small(b)) => join_small_into(a, b),
            (Repr::Small(a), Repr::Trie(b)) => {
                // Start from a clone of `b` (sharing all of it) and raise
                // what `a` adds: nothing is copied when `b` already has it,
                // and the result keeps comparing cheaply against `b`.
                let mut t = b.clone();
                join_small_into(&mut t, a);
                self.0 = Repr::Trie(t);
            }
        }
    }

    /// Whether `self <= other` pointwise: everything `self` has seen, `other`
    /// has seen too (happens-before).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::vv::VClock;
    ///
    /// let (mut a, mut b) = (VClock::new(), VClock::new());
    /// a.set(0, 1);
    /// b.set(0, 2);
    /// assert!(a.le(&b) && !b.le(&a));
    /// ```
    #[inline]
    pub fn le(&self, other: &VClock) -> bool {
        match (&self.0, &other.0) {
            (Repr::Small(a), Repr::Small(b)) => a.le_slice(&b.0),
            (Repr::Trie(a), Repr::Trie(b)) => a.le(b),
            (Repr::Small(a), Repr::Trie(b)) => a.le_slice(b.first_leaf()),
            (Repr::Trie(a), Repr::Small(b)) => {
                a.only_first_leaf() && {
                    let l = a.first_leaf();
                    Small(l[..K].try_into().expect("a leaf holds K entries")).le_slice(&b.0)
                        && l[K..].iter().all(|&v| v == 0)
                }
            }
        }
    }

    /// The non-zero entries, in index order.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro_analyzer::vv::VClock;
    ///
    /// let mut c = VClock::new();
    /// c.set(9, 1);
    /// c.set(2, 4);
    /// assert_eq!(c.entries(), [(2, 4), (9, 1)]);
    /// ```
    pub fn entries(&self) -> Vec<(u32, u32)> {
        match &self.0 {
            Repr::Small(s) => s.entries().collect(),
            Repr::Trie(t) => t.entries(),
        }
    }
}

/// `t ⊔= s`, raising only the entries `s` adds: one walk and one
/// vectorized comparison when it adds none (a goroutine releasing into a
/// WaitGroup that already saw what it saw).
fn join_small_into(t: &mut Trie, s: &Small) {
    let have = t.first_leaf();
    if s.le_slice(have) {
        return;
    }
    let have = *have;
    for (i, v) in s.entries() {
        if v > have[i as usize] {
            t.raise(i, v);
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
    use proptest::prelude::*;

    impl VClock {
        /// The all-zero clock, already a trie: mixed operations get tested
        /// without a high index in every clock.
        fn promoted() -> Self {
            VClock(Repr::Trie(Trie::new()))
        }
    }

    /// One step over a pool of clocks, each kept both as a [`VClock`] and
    /// as a plain [`Trie`] (the representation before small clocks).
    #[derive(Clone, Debug)]
    enum Step {
        Tick(usize, u32),
        Set(usize, u32, u32),
        Raise(usize, u32, u32),
        Join(usize, usize),
        Clone(usize),
        Take(usize),
    }

    /// Indices mostly below K, sometimes just above it or far beyond.
    fn index() -> impl Strategy<Value = u32> {
        prop_oneof![
            6 => 0..K as u32,
            2 => K as u32..2 * K as u32 + 2,
            1 => 0..100_000u32,
        ]
    }

    fn step() -> impl Strategy<Value = Step> {
        let slot = 0..8usize;
        prop_oneof![
            3 => (slot.clone(), index()).prop_map(|(c, i)| Step::Tick(c, i)),
            1 => (slot.clone(), index(), 0..6u32).prop_map(|(c, i, v)| Step::Set(c, i, v)),
            2 => (slot.clone(), index(), 0..6u32).prop_map(|(c, i, v)| Step::Raise(c, i, v)),
            4 => (slot.clone(), slot.clone()).prop_map(|(a, b)| Step::Join(a, b)),
            1 => slot.clone().prop_map(Step::Clone),
            1 => slot.prop_map(Step::Take),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The small clock, promoted or not, answers exactly as the trie
        /// alone does: every get, every comparison, every entry list.
        #[test]
        fn small_and_trie_clocks_agree(
            tries_from_start in proptest::collection::vec(any::<bool>(), 8),
            steps in proptest::collection::vec(step(), 1..80),
        ) {
            let mut pool: Vec<(VClock, Trie)> = tries_from_start
                .iter()
                .map(|&t| (if t { VClock::promoted() } else { VClock::new() }, Trie::new()))
                .collect();
            let mut probes: Vec<u32> = (0..2 * K as u32 + 2).collect();
            for st in steps {
                match st {
                    Step::Tick(c, i) => {
                        let (v, t) = &mut pool[c];
                        prop_assert_eq!(v.tick(i), t.tick(i));
                        probes.push(i);
                    }
                    Step::Set(c, i, x) => {
                        pool[c].0.set(i, x);
                        pool[c].1.set(i, x);
                        probes.push(i);
                    }
                    Step::Raise(c, i, x) => {
                        pool[c].0.raise(i, x);
                        pool[c].1.raise(i, x);
                        probes.push(i);
                    }
                    Step::Join(a, b) => {
                        let (ov, ot) = pool[b].clone();
                        pool[a].0.join(&ov);
                        pool[a].1.join(&ot);
                    }
                    Step::Clone(c) => {
                        let x = pool[c].clone();
                        pool[(c + 1) % 8] = x;
                    }
                    Step::Take(c) => {
                        let (v, t) = &mut pool[c];
                        let (v, t) = (std::mem::take(v), std::mem::take(t));
                        pool[(c + 3) % 8] = (v, t);
                    }
                }
                for (v, t) in &pool {
                    for &i in &probes {
                        prop_assert_eq!(v.get(i), t.get(i), "entry {}", i);
                    }
                    prop_assert_eq!(v.entries(), t.entries());
                }
                for (a, at) in &pool {
                    for (b, bt) in &pool {
                        prop_assert_eq!(a.le(b), at.le(bt), "{:?} <= {:?}", a, b);
                    }
                }
            }
        }
    }

    #[test]
    fn stays_small_below_k_and_promotes_beyond() {
        let mut c = VClock::new();
        for i in 0..K as u32 {
            c.tick(i);
        }
        // Zero beyond K is no entry: still small.
        c.set(K as u32, 0);
        c.raise(K as u32 + 5, 0);
        assert!(c.is_small());
        let before = c.clone();
        c.tick(K as u32);
        assert!(!c.is_small());
        assert_eq!(c.get(K as u32), 1);
        assert!(before.le(&c) && !c.le(&before));
        // Joining a trie makes a small clock a trie; a trie stays one.
        let mut s = VClock::new();
        s.set(3, 9);
        s.join(&c);
        assert!(!s.is_small());
        assert_eq!(s.entries().len(), K + 1);
        assert_eq!(s.get(3), 9);
    }

    #[test]
    fn a_trie_holding_only_low_entries_compares_with_small_clocks() {
        let mut t = VClock::promoted();
        t.set(2, 1);
        let mut s = VClock::new();
        s.set(2, 1);
        assert!(t.le(&s) && s.le(&t) && t == s);
        s.set(2, 0);
        assert!(!t.le(&s) && s.le(&t));
        // An entry at 20 (same leaf, beyond K) or far away breaks `t <= s`.
        t.set(2, 0);
        t.set(20, 1);
        assert!(!t.le(&VClock::new()));
        t.set(20, 0);
        assert!(t.le(&VClock::new()));
        t.set(70_000, 1);
        assert!(!t.le(&VClock::new()));
    }
}
