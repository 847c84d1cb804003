//! `Replay`: follows an explicit choice sequence, as recorded from another
//! schedule or shrunk from one, and its compact text form (`GORO_REPLAY`).
//!
//! A choice sequence has one entry per *choice point*, in the order the
//! schedule reaches them: a step where more than one goroutine could run
//! (the entry is the goroutine id that ran), and a seeded draw among more
//! than one value (a `select!`'s pick among its ready cases, or the order of
//! its cases that share a channel; the entry is the value drawn).
//! Forced steps and one-way draws are no choice and have no entry, so a
//! sequence is short when the program is mostly sequential.
//!
//! Replaying, a choice point takes its entry when the entry is possible
//! there (the goroutine is ready, the value is in range) and the default
//! otherwise, and so does every choice point past the sequence's end. The
//! default keeps running the goroutine of the previous step if it is
//! ready, else runs the one at the front of the scheduler's ready set (a
//! deterministic order: roughly the order they became ready); a draw's
//! default is 0. So a sequence whose entries are all defaults preempts
//! nothing. Both defaults take constant time, so recording a schedule of a
//! million goroutines stays linear.
//!
//! A step where the clock was offered (see [`super::CLOCK`]) is a choice
//! point too; its entry is `t` when time passed to the next timer there.
//!
//! Text form: entries separated by `,`; an entry is a number, `t` (the
//! clock) or `_` (the default), optionally followed by `xN` for N repeats
//! (`_x12,2,t,3x4`).
//! Defaults at the end are dropped; the empty sequence is written `_`.

use std::fmt::Write as _;

use goro_analyzer::event::Gid;

/// The entry meaning "the default choice".
pub(crate) const DEFAULT: u32 = u32::MAX;

/// Replay's state for one schedule.
pub(crate) struct Replay {
    choices: Vec<u32>,
    next: usize,
}

impl Replay {
    pub(crate) fn new(choices: Vec<u32>) -> Self {
        Replay { choices, next: 0 }
    }

    /// The goroutine to run among `ready` (at least two), `last` having
    /// run the previous step.
    pub(crate) fn choose(
        &mut self,
        last: Option<Gid>,
        ready: &[Gid],
        is_ready: &dyn Fn(Gid) -> bool,
    ) -> Gid {
        let want = self.take();
        if want != DEFAULT {
            if let Some(g) = Gid::new(u64::from(want)).filter(|&g| is_ready(g)) {
                return g;
            }
        }
        default_choice(last, ready, is_ready)
    }

    /// [`Replay::choose`], but past the sequence (or where its entry
    /// cannot run) the default is the first goroutine not `asleep` (the
    /// partial-order reduction's sleep set): the goroutine of the previous
    /// step if it is awake and ready, else the first awake one in `ready`.
    /// Also says whether every one in `ready` was asleep (then the default
    /// runs anyway).
    pub(crate) fn choose_awake(
        &mut self,
        last: Option<Gid>,
        ready: &[Gid],
        is_ready: &dyn Fn(Gid) -> bool,
        asleep: &dyn Fn(Gid) -> bool,
    ) -> (Gid, bool) {
        let want = self.take();
        if want != DEFAULT {
            if let Some(g) = Gid::new(u64::from(want)).filter(|&g| is_ready(g)) {
                return (g, false);
            }
        }
        let d = default_choice(last, ready, is_ready);
        if !asleep(d) {
            return (d, false);
        }
        match ready.iter().copied().find(|&g| !asleep(g)) {
            Some(g) => (g, false),
            None => (d, true),
        }
    }

    /// A draw in `0..n` (n at least two).
    pub(crate) fn draw(&mut self, n: usize) -> usize {
        match self.take() {
            v if (v as usize) < n => v as usize,
            _ => 0,
        }
    }

    fn take(&mut self) -> u32 {
        let v = self.choices.get(self.next).copied().unwrap_or(DEFAULT);
        self.next += 1;
        v
    }
}

/// Keep running `last` if it is ready, else the front of `ready`.
/// Constant time: a scan of `ready` here made recording quadratic in the
/// number of goroutines.
pub(crate) fn default_choice(
    last: Option<Gid>,
    ready: &[Gid],
    is_ready: &dyn Fn(Gid) -> bool,
) -> Gid {
    match last {
        Some(l) if is_ready(l) => l,
        _ => *ready.first().expect("ready is non-empty"),
    }
}

/// The text form of a choice sequence (see the module docs).
pub(crate) fn encode(choices: &[u32]) -> String {
    let end = choices
        .iter()
        .rposition(|&c| c != DEFAULT)
        .map_or(0, |i| i + 1);
    let mut out = String::new();
    let mut i = 0;
    while i < end {
        let c = choices[i];
        let run = choices[i..end].iter().take_while(|&&d| d == c).count();
        if !out.is_empty() {
            out.push(',');
        }
        if c == DEFAULT {
            out.push('_');
        } else if c == super::CLOCK_ID {
            out.push('t');
        } else {
            let _ = write!(out, "{c}");
        }
        if run > 1 {
            let _ = write!(out, "x{run}");
        }
        i += run;
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// Parses the text form; the error says which entry is wrong and why.
pub(crate) fn decode(s: &str) -> Result<Vec<u32>, String> {
    let s = s.trim();
    let mut out = Vec::new();
    for (i, tok) in s.split(',').enumerate() {
        let tok = tok.trim();
        let (value, count) = match tok.split_once('x') {
            Some((v, n)) => {
                let n: usize = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=10_000_000).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "entry {} `{tok}`: the repeat count is not 1..=10000000",
                            i + 1
                        )
                    })?;
                (v, n)
            }
            None => (tok, 1),
        };
        let value = match value {
            "_" => DEFAULT,
            "t" => super::CLOCK_ID,
            v => v
                .parse::<u32>()
                .ok()
                .filter(|&v| v != DEFAULT && v != super::CLOCK_ID)
                .ok_or_else(|| {
                    format!(
                        "entry {} `{tok}` is not a goroutine id or case number, `t`, `_`, or \
                         one of those followed by `xCOUNT`",
                        i + 1
                    )
                })?,
        };
        if out.len() + count > 10_000_000 {
            return Err("the schedule has more than 10000000 choices".into());
        }
        out.extend(std::iter::repeat_n(value, count));
    }
    while out.last() == Some(&DEFAULT) {
        out.pop();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_runs_are_compressed() {
        let t = crate::rt::sched::strategy::CLOCK_ID;
        let c = vec![DEFAULT, DEFAULT, 2, 3, 3, 3, DEFAULT, 1, t, t, DEFAULT];
        let s = encode(&c);
        assert_eq!(s, "_x2,2,3x3,_,1,tx2");
        assert_eq!(decode(&s).unwrap(), c[..10].to_vec());
        assert_eq!(encode(&[]), "_");
        assert_eq!(decode("_").unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn bad_text_names_the_entry() {
        for (s, what) in [
            ("1,y", "entry 2 `y`"),
            ("1,2x0", "entry 2 `2x0`"),
            ("-1", "entry 1"),
            ("", "entry 1"),
        ] {
            let e = decode(s).unwrap_err();
            assert!(e.contains(what), "{s}: {e}");
        }
    }

    #[test]
    fn replay_follows_possible_entries_and_defaults_otherwise() {
        let mut r = Replay::new(vec![2, 9, DEFAULT]);
        let g = |n: u64| Gid::new(n).expect("nonzero");
        let within = |ready: Vec<Gid>| move |x: Gid| ready.contains(&x);
        let (g1, g2, g3) = (g(1), g(2), g(3));
        assert_eq!(r.choose(Some(g1), &[g1, g2], &within(vec![g1, g2])), g2);
        // 9 is not ready: keep running 2.
        assert_eq!(r.choose(Some(g2), &[g2, g3], &within(vec![g2, g3])), g2);
        // 2 is not ready any more: the front of the ready set.
        assert_eq!(r.choose(Some(g2), &[g3, g1], &within(vec![g3, g1])), g3);
        // Past the end: the default.
        assert_eq!(r.draw(3), 0);
    }
}
