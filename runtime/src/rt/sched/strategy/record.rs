//! The record of what a schedule chose, kept compact: a long detected run
//! meets a choice point at almost every operation, and its record lives
//! until the schedule ends (for replay and shrinking).
//!
//! Entries and preemption positions are stored as nibble varints (3 bits
//! of value and a continuation bit per nibble): the default choice, the
//! clock and goroutines 1 to 5 take half a byte, a preemption a nibble or
//! two (positions are stored as gaps). A `Vec<u32>` each took 4 bytes per
//! entry and per preemption, 12 bytes per operation of a long run with two
//! goroutines; this takes about one.

use std::fmt;

use super::replay::DEFAULT;
use super::CLOCK_ID;

/// The choice sequence a schedule took (see [`replay`](super::replay)),
/// recorded as it runs: one entry per choice point, so that a schedule
/// that finds something can be replayed and shrunk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// One entry per choice point.
    pub(crate) choices: Entries,
    /// The indices in `choices` of the preemptions: steps that switched
    /// away from a goroutine that could have run on.
    pub(crate) preemptions: Positions,
    /// Replaying only (what the shrinker searches): at each choice point,
    /// the choices other than the default that it offered.
    pub(crate) options: Vec<Vec<u32>>,
    /// Replaying only: the indices in `options` of the choice points where
    /// taking one of the options preempts (the goroutine of the previous
    /// step could have run on), ascending, for the exhaustive search's
    /// preemption bound. Indices rather than one flag per entry, so that a
    /// kind of choice point that does not know of them stays aligned.
    pub(crate) preempting: Vec<u32>,
}

/// A stream of unsigned values as nibble varints.
#[derive(Clone, Default, PartialEq, Eq)]
struct Nibbles {
    /// Sixteen nibbles a word, the lowest first.
    words: Vec<u64>,
    /// The nibbles of the word being filled, and how many bits they take.
    acc: u64,
    fill: u32,
    /// Values written.
    len: usize,
}

impl Nibbles {
    /// Inline: a choice point of a detected run pushes one or two values,
    /// almost always of one nibble. Always, and the long case never: left
    /// to the inliner, the shape flipped with unrelated edits elsewhere in
    /// the crate (+1% of a ping-pong's instructions when `push` was not
    /// inlined).
    #[inline(always)]
    fn push(&mut self, v: u64) {
        if v < 8 {
            self.nibble(v);
        } else {
            self.push_long(v);
        }
        self.len += 1;
    }

    #[inline(never)]
    fn push_long(&mut self, mut v: u64) {
        while v > 7 {
            self.nibble(v & 7 | 8);
            v >>= 3;
        }
        self.nibble(v);
    }

    #[inline]
    fn nibble(&mut self, nib: u64) {
        self.acc |= nib << self.fill;
        self.fill += 4;
        if self.fill == 64 {
            self.words.push(std::mem::take(&mut self.acc));
            self.fill = 0;
        }
    }

    fn iter(&self) -> NibbleIter<'_> {
        NibbleIter {
            words: &self.words,
            acc: self.acc,
            at: 0,
            left: self.len,
        }
    }
}

struct NibbleIter<'a> {
    words: &'a [u64],
    acc: u64,
    /// The next nibble's index.
    at: usize,
    left: usize,
}

impl Iterator for NibbleIter<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let word = self.words.get(self.at / 16).copied().unwrap_or(self.acc);
            let nib = (word >> ((self.at % 16) * 4)) & 15;
            self.at += 1;
            v |= (nib & 7) << shift;
            shift += 3;
            if nib & 8 == 0 {
                return Some(v);
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// A record's choice entries: goroutine ids, draws, [`DEFAULT`] and
/// [`CLOCK_ID`], compactly (see the module docs).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Entries(Nibbles);

impl Entries {
    #[inline]
    pub(crate) fn push(&mut self, v: u32) {
        self.0.push(match v {
            DEFAULT => 0,
            CLOCK_ID => 1,
            v => u64::from(v) + 2,
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len
    }

    /// The entries in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().map(|c| match c {
            0 => DEFAULT,
            1 => CLOCK_ID,
            c => (c - 2) as u32,
        })
    }

    /// The entries as a plain sequence (to edit, encode or replay).
    pub(crate) fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }
}

impl From<&[u32]> for Entries {
    fn from(vs: &[u32]) -> Self {
        let mut e = Entries::default();
        for &v in vs {
            e.push(v);
        }
        e
    }
}

impl fmt::Debug for Entries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Ascending positions (the preemptions' indices in the choices), stored
/// as gaps.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Positions {
    gaps: Nibbles,
    last: u32,
}

impl Positions {
    /// Appends `p`, at least the last position pushed.
    #[inline]
    pub(crate) fn push(&mut self, p: u32) {
        debug_assert!(self.gaps.len == 0 || p >= self.last, "ascending");
        self.gaps.push(u64::from(p - self.last.min(p)));
        self.last = p;
    }

    pub(crate) fn len(&self) -> usize {
        self.gaps.len
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.gaps.len == 0
    }

    /// The positions in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.gaps.iter().scan(0u32, |at, gap| {
            *at += gap as u32;
            Some(*at)
        })
    }
}

impl fmt::Debug for Positions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_every_kind_of_value() {
        let vs = [
            DEFAULT,
            CLOCK_ID,
            0,
            1,
            2,
            5,
            6,
            7,
            61,
            62,
            1 << 20,
            CLOCK_ID - 1,
            DEFAULT,
        ];
        let e = Entries::from(&vs[..]);
        assert_eq!(e.len(), vs.len());
        assert_eq!(e.to_vec(), vs);
        assert_eq!(format!("{e:?}"), format!("{vs:?}"));
    }

    #[test]
    fn a_default_or_a_small_goroutine_takes_half_a_byte() {
        let mut e = Entries::default();
        let vs: Vec<u32> = (0..1000u32)
            .map(|i| if i % 3 == 0 { DEFAULT } else { 1 + i % 5 })
            .collect();
        for &v in &vs {
            e.push(v);
        }
        // 62 full words of 16 nibbles, 8 nibbles pending.
        assert_eq!((e.0.words.len(), e.0.fill), (62, 32));
        assert_eq!(e.to_vec(), vs);
    }

    #[test]
    fn positions_round_trip_as_gaps() {
        let ps = [0u32, 0, 1, 9, 10, 1000, 70_000, u32::MAX - 2];
        let mut p = Positions::default();
        for &x in &ps {
            p.push(x);
        }
        assert_eq!(p.len(), ps.len());
        assert_eq!(p.iter().collect::<Vec<_>>(), ps);
        assert!(Positions::default().is_empty());
    }
}
