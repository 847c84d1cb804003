//! The small clock: the entries of goroutines `0..K`, inline.
//!
//! Most programs run a handful of goroutines, and for them the trie's
//! structural sharing costs more than it saves: every changed entry copies a
//! reference-counted node, every comparison walks node pairs. A plain array
//! of `K` entries is copied by value (64 bytes), joined and compared by a
//! branch-free loop over all `K` entries that the compiler turns into a few
//! SIMD instructions, and never allocates. [`super::VClock`] promotes a small
//! clock to the trie the first time it must hold an index `>= K`.

/// Entries held inline: 16 covers every goroutine of a program with up to 16
/// (the benchmarks run at most 9), in four SSE2 registers.
pub(super) const K: usize = 16;

/// The entries of goroutines `0..K`; all others are zero.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Small(pub(super) [u32; K]);

impl Small {
    /// Whether index `i` has a slot here.
    #[inline(always)]
    pub(super) fn fits(i: u32) -> bool {
        (i as usize) < K
    }

    /// The entry of goroutine `i` (zero beyond `K`).
    #[inline(always)]
    pub(super) fn get(&self, i: u32) -> u32 {
        self.0.get(i as usize).copied().unwrap_or(0)
    }

    /// Pointwise maximum: `self = self ⊔ other`.
    // Out of line: inlined into the engine's larger functions, the loop
    // was left scalar (16 compare-and-moves, ~80 instructions); alone it
    // compiles to four SSE2 compare-and-blend steps.
    #[inline(never)]
    pub(super) fn join(&mut self, other: &Small) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = (*a).max(*b);
        }
    }

    /// Whether `self <= other` entry by entry, on a dense prefix (entries of
    /// `other` beyond its length count as zero).
    #[inline(always)]
    pub(super) fn le_slice(&self, other: &[u32]) -> bool {
        // Branch-free over all K entries so it vectorizes; an early exit
        // costs more than it saves at this size.
        let mut gt = false;
        for (a, b) in self.0.iter().zip(other.iter()) {
            gt |= a > b;
        }
        let rest = self.0.get(other.len()..).unwrap_or(&[]);
        !gt && rest.iter().all(|&a| a == 0)
    }

    /// The non-zero entries, in index order.
    pub(super) fn entries(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0u32..)
            .zip(self.0.iter().copied())
            .filter(|&(_, v)| v != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_and_le_are_pointwise() {
        let mut a = Small::default();
        a.0[0] = 3;
        a.0[K - 1] = 1;
        let mut b = Small::default();
        b.0[0] = 2;
        b.0[5] = 4;
        assert!(!a.le_slice(&b.0) && !b.le_slice(&a.0));
        let mut j = a;
        j.join(&b);
        assert_eq!(j.entries().collect::<Vec<_>>(), [(0, 3), (5, 4), (15, 1)]);
        assert!(a.le_slice(&j.0) && b.le_slice(&j.0));
        // A shorter right side is zero beyond its end.
        assert!(!a.le_slice(&[3; 4]));
        assert!(Small::default().le_slice(&[]));
        assert_eq!(a.get(K as u32), 0);
    }
}
