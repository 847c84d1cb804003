//! What each step of a schedule touched, for the partial-order reduction
//! of the exhaustive search ([`dpor`](super::dpor)).
//!
//! The scheduler, not the analyzer, collects a step's *footprint*: every
//! object the step touched and whether it only read it. Sources: the events
//! the step emitted (a channel operation, a lock, a WaitGroup add, a
//! `Shared` access...), what it parked on, and the operations that emit
//! nothing but look at or change an object (a failed `try_recv`, a
//! `select!` with `default` that found nothing ready, a failed `try_lock`,
//! `len`, a `Cond` signal), which report through `detect::touch`. A step
//! some path of which cannot say what it touched (the clock firing a timer
//! that runs the user's code; a park on something without an object; a
//! context's cancel state; a panic, which ends the schedule) is *unknown*:
//! dependent with every step.
//!
//! Two steps are dependent iff one is unknown, or they touch a common
//! object and at least one of them writes it. Reads of one `Shared`
//! location, and atomic loads, commute; every channel, lock, WaitGroup,
//! Once and Cond operation writes its object (even a failed one: a failed
//! `try_recv` is dependent with a send, since their order decides whether
//! it fails). The clock is an object: registering a timer, sleeping and
//! reading the time read it (registering one that runs the user's code
//! writes it: timers due together fire in the order they came in); main's
//! return writes it (the grace period starts); so does the clock's own step
//! (time passes to the next timers, which fire). That step touches, beside
//! the clock, what its firings touch as they run: the channel of an
//! `after` or a ticker (even when it is gone: whether it still is decides
//! whether the firing sends), a deadline's done channels. A step that
//! makes a goroutine ready (a spawn, a wake-up: the clock's wakes its
//! sleepers) orders that goroutine's next step after it, whatever their
//! footprints.
//!
//! Objects are numbered per schedule in order of first touch ([`Ids`]), so
//! that the footprint of a step recorded in one schedule can be compared
//! with the steps of another that shares its prefix: an object touched
//! before the point where they part has the same number in both. Numbers
//! from past that point (an object the step was first to touch) are not
//! comparable; [`Sleeper::depends`] treats two such as the same object.

use goro_analyzer::fxhash::FxHashMap as HashMap;

/// What a footprint entry names, before numbering: a scheduler object (a
/// channel, lock, WaitGroup, Once, Cond, Timer: its per-schedule
/// `ObjId`), a tracked location (`Shared`, atomics), a goroutine (its end,
/// what a join waits for), or the virtual clock (sleeps and timers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Obj(u64),
    Addr(u64),
    Gor(u64),
    Clock,
}

/// One object a step touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    /// The object's per-schedule number ([`Ids`]).
    pub(crate) id: u32,
    /// Whether the step changed it (or may have: all channel and lock
    /// operations count as writes).
    pub(crate) write: bool,
}

/// Everything one step touched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Footprint {
    pub(crate) accesses: Vec<Access>,
    /// Some part of the step did not say what it touched: dependent with
    /// every step.
    pub(crate) unknown: bool,
}

impl Footprint {
    /// The footprint of a step that touched who knows what.
    pub(crate) fn unknown() -> Self {
        Footprint {
            accesses: Vec::new(),
            unknown: true,
        }
    }

    /// Notes an access to object `id`; a write wins over a read.
    pub(crate) fn add(&mut self, id: u32, write: bool) {
        match self.accesses.iter_mut().find(|a| a.id == id) {
            Some(a) => a.write |= write,
            None => self.accesses.push(Access { id, write }),
        }
    }

    /// Whether the two steps are dependent: their order may matter.
    #[cfg(test)]
    pub(crate) fn depends(&self, other: &Footprint) -> bool {
        if self.unknown || other.unknown {
            return true;
        }
        self.accesses.iter().any(|a| {
            other
                .accesses
                .iter()
                .any(|b| a.id == b.id && (a.write || b.write))
        })
    }
}

/// A goroutine (or the clock) in a sleep set: its step at the choice point
/// where it was put to sleep, recorded in an earlier schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sleeper {
    /// Its record id (`CLOCK_ID` for the clock).
    pub(crate) who: u32,
    /// What that step touched.
    pub(crate) fp: Footprint,
    /// How many objects were numbered when that step began: the numbers
    /// below are the same in every schedule through that choice point.
    pub(crate) known: u32,
}

impl Sleeper {
    /// Whether a step of this schedule with footprint `fp` is dependent
    /// with the sleeper's step. Objects the sleeper's step was the first to
    /// touch have numbers that mean nothing here: two such count as one.
    pub(crate) fn depends(&self, fp: &Footprint) -> bool {
        if self.fp.unknown || fp.unknown {
            return true;
        }
        self.fp.accesses.iter().any(|a| {
            fp.accesses.iter().any(|b| {
                if a.id < self.known {
                    a.id == b.id && (a.write || b.write)
                } else {
                    b.id >= self.known
                }
            })
        })
    }
}

/// The per-schedule numbering of objects, in order of first touch.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    ids: HashMap<Key, u32>,
}

impl Ids {
    pub(crate) fn id(&mut self, key: Key) -> u32 {
        let n = self.ids.len() as u32;
        *self.ids.entry(key).or_insert(n)
    }

    /// How many objects have a number.
    pub(crate) fn count(&self) -> u32 {
        self.ids.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(acc: &[(u32, bool)]) -> Footprint {
        let mut f = Footprint::default();
        for &(id, w) in acc {
            f.add(id, w);
        }
        f
    }

    #[test]
    fn reads_commute_writes_do_not_and_unknown_depends_on_all() {
        assert!(!fp(&[(1, false)]).depends(&fp(&[(1, false)])));
        assert!(fp(&[(1, false)]).depends(&fp(&[(1, true)])));
        assert!(fp(&[(1, true)]).depends(&fp(&[(1, true)])));
        assert!(!fp(&[(1, true)]).depends(&fp(&[(2, true)])));
        assert!(Footprint::unknown().depends(&Footprint::default()));
        assert!(Footprint::default().depends(&Footprint::unknown()));
        // A read then a write of one object is a write.
        assert_eq!(fp(&[(1, false), (1, true)]).accesses.len(), 1);
        assert!(fp(&[(1, false), (1, true)]).depends(&fp(&[(1, false)])));
    }

    #[test]
    fn a_sleeper_counts_objects_numbered_after_it_as_one() {
        let s = Sleeper {
            who: 2,
            fp: fp(&[(0, false), (5, true)]),
            known: 3,
        };
        // Object 0 is the same in both schedules: a read commutes.
        assert!(!s.depends(&fp(&[(0, false)])));
        assert!(s.depends(&fp(&[(0, true)])));
        // Object 5 was new to the sleeper's step: any new object may be it.
        assert!(s.depends(&fp(&[(4, false)])));
        assert!(!s.depends(&fp(&[(2, true)])));
    }
}
