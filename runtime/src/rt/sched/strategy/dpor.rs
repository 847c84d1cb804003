//! Dynamic partial-order reduction for the exhaustive search: Flanagan and
//! Godefroid's DPOR (POPL 2005) with sleep sets (Godefroid, 1996), over
//! goro's choice tree, stateless as the plain walk ([`exhaustive`]).
//!
//! Two schedules that differ only in the order of *independent* steps
//! (steps whose [`Footprint`]s share no object one of them writes) reach
//! the same state with the same findings: they are one Mazurkiewicz trace.
//! The plain walk runs every schedule; this one aims at one per trace.
//!
//! **The walk.** A schedule runs as in the plain walk (a replay of a prefix
//! of choices, then defaults), while the scheduler logs each step: who ran,
//! its footprint, which choice point chose it and what that point offered
//! ([`Run`]). A scheduling choice point starts with only the option the
//! schedule took; others are added (its *backtrack set*) when a later
//! schedule's log shows they matter: for every *race* — a step `i`
//! dependent with an earlier step `j` of another goroutine, with no step
//! between them ordered after `j` and before `i` (program order, spawns,
//! wake-ups and dependence make the order) — some schedule that reverses
//! it must be explored from `j`'s choice point. As in source-DPOR
//! (Abdulla et al., POPL 2014), the goroutines that can begin such a
//! schedule are the *initials* of the steps after `j` not ordered after it,
//! then `i`; if none of them is explored, to be explored or asleep there,
//! one that can run there is added (if none can, every goroutine that can:
//! the classic conservative rule). A goroutine asleep there counts as an
//! initial only if the step it sleeps with is independent of the steps of
//! `v` before its own: its step in `v` may have parked where, run earlier,
//! it would have run on and touched more (the sleeper's step is the one it
//! would run). A step `j` with no choice point (only one goroutine could
//! run) adds nothing: nothing else could run there.
//! Draws among values (a `select!`'s pick among its ready cases) are no
//! interleaving: each keeps every option, as in the plain walk.
//!
//! Goroutines still able to run when a schedule ends early (a panic, the
//! step limit, the end of the grace period) have a next step nobody saw:
//! each counts as an unknown step at the end, dependent with every step,
//! so that no order it could have taken part in is left out.
//!
//! **Sleep sets.** After the option `p` at a choice point, the options
//! explored there before it are asleep in `p`'s subtree until a step
//! dependent with theirs runs: running a sleeping goroutine first would
//! only repeat an explored trace. An option's footprint is the union over
//! every schedule that took it (a draw inside the step changes what it
//! touches). A schedule never picks a sleeping
//! goroutine by default; when every goroutine that can run is asleep, the
//! schedule is redundant from there: it still runs to its end (findings
//! are real), but adds no choice points below.
//!
//! **With a preemption bound**, an option that would pass the bound is
//! counted as pruned and not explored, as in the plain walk. DPOR with a
//! bound is not complete even within the bound (a trace within the bound
//! may be reached, in the full search, only through one past it): the
//! verdict says so.

use goro_analyzer::event::{Gid, Op, Wait};
use goro_analyzer::fxhash::FxHashMap as HashMap;

use super::footprint::{Footprint, Ids, Key, Sleeper};
use super::replay::DEFAULT;
use super::{Record, CLOCK_ID};
use crate::rt::block::BlockInfo;

/// One step of a schedule, as the reduction sees it.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    /// Who ran it: a goroutine's record id, or `CLOCK_ID`.
    pub(crate) who: u32,
    pub(crate) fp: Footprint,
    /// The step that made this goroutine ready (spawned or woke it).
    pub(crate) after: Option<usize>,
    /// The choice point (index into the record's choices) that chose it.
    pub(crate) choice: Option<u32>,
    /// How many objects had a number when it began.
    pub(crate) known: u32,
}

/// What a choice point was.
#[derive(Clone, Debug)]
pub(crate) enum PointKind {
    /// Which goroutine runs `step`: `enabled` (record ids, the clock's
    /// included) could, `default` would by default.
    Sched {
        step: usize,
        enabled: Vec<u32>,
        default: u32,
    },
    /// A draw among values inside a step.
    Draw,
}

/// A choice point of a schedule, and the sleep set when it was reached.
#[derive(Clone, Debug)]
pub(crate) struct Point {
    pub(crate) kind: PointKind,
    pub(crate) sleep: Vec<Sleeper>,
}

/// The log one schedule keeps for the reduction, and its sleep set.
#[derive(Debug, Default)]
pub(crate) struct Run {
    ids: Ids,
    pub(crate) steps: Vec<Step>,
    /// One per choice point, in order (aligned with the record's).
    pub(crate) points: Vec<Point>,
    sleep: Vec<Sleeper>,
    /// The sleep set to put in place at this choice point (where the walk
    /// branched), before the step it chooses runs.
    install: Option<(u32, Vec<Sleeper>)>,
    /// From this choice point on, every goroutine that could run was
    /// asleep: the rest of the schedule is redundant.
    pub(crate) blocked: Option<u32>,
    /// The step that made each goroutine ready, until its next step.
    spawned: HashMap<u32, usize>,
    /// Whether the last step still collects accesses.
    open: bool,
    /// The open step parked, and said on what (see [`Run::parked`]).
    parked: Option<bool>,
    /// Goroutines (and the clock) that could still run when the schedule
    /// ended.
    pub(crate) pending: Vec<u32>,
}

impl Run {
    /// A log whose sleep set becomes `install.1` at choice point
    /// `install.0` (see [`Dpor::next_schedule`]).
    pub(crate) fn new(install: Option<(u32, Vec<Sleeper>)>) -> Self {
        Run {
            install,
            ..Run::default()
        }
    }

    /// The running step is over: sleepers its footprint is dependent with
    /// wake up.
    pub(crate) fn close_step(&mut self) {
        if !std::mem::replace(&mut self.open, false) {
            return;
        }
        if self.parked.take() == Some(false) {
            // Parked, and no part of it said on what.
            self.touch_unknown_closed();
        }
        let last = self.steps.last().expect("an open step");
        let (who, fp) = (last.who, &last.fp);
        self.sleep.retain(|s| s.who != who && !s.depends(fp));
    }

    /// A step of `who` begins, chosen at choice point `choice` (`None`:
    /// forced).
    pub(crate) fn open_step(&mut self, who: u32, choice: Option<u32>) {
        self.close_step();
        self.steps.push(Step {
            who,
            fp: Footprint::default(),
            after: self.spawned.remove(&who),
            choice,
            known: self.ids.count(),
        });
        self.open = true;
        if who == CLOCK_ID {
            // Time moves: every look at the clock, every timer registered,
            // is ordered with it. What the firings do (a wake-up, a send
            // on a timer's channel, a context's cancel) reports itself as
            // they run, within this step.
            self.touch(Key::Clock, true);
        }
    }

    /// Whether `who` is asleep.
    pub(crate) fn asleep(&self, who: u32) -> bool {
        self.sleep.iter().any(|s| s.who == who)
    }

    /// A scheduling choice point, number `index`, offering `enabled` with
    /// default `default`, for the step about to begin.
    pub(crate) fn sched_point(&mut self, index: u32, enabled: Vec<u32>, default: u32) {
        self.points.push(Point {
            kind: PointKind::Sched {
                step: self.steps.len(),
                enabled,
                default,
            },
            sleep: self.sleep.clone(),
        });
        self.installs(index);
    }

    /// A draw, choice point number `index`.
    pub(crate) fn draw_point(&mut self, index: u32) {
        self.points.push(Point {
            kind: PointKind::Draw,
            sleep: self.sleep.clone(),
        });
        self.installs(index);
    }

    fn installs(&mut self, index: u32) {
        if self.install.as_ref().is_some_and(|(at, _)| *at == index) {
            self.sleep = self.install.take().expect("checked").1;
        }
    }

    /// Every goroutine that could run at choice point `index` was asleep.
    pub(crate) fn block(&mut self, index: u32) {
        self.blocked.get_or_insert(index);
    }

    /// The running step touched `key`.
    pub(crate) fn touch(&mut self, key: Key, write: bool) {
        if !self.open {
            return;
        }
        let id = self.ids.id(key);
        if let Some(s) = self.steps.last_mut() {
            s.fp.add(id, write);
        }
    }

    /// The running step did something whose footprint nobody reported.
    pub(crate) fn touch_unknown(&mut self) {
        if self.open {
            self.touch_unknown_closed();
        }
    }

    fn touch_unknown_closed(&mut self) {
        if let Some(s) = self.steps.last_mut() {
            s.fp.unknown = true;
        }
    }

    /// The running goroutine parked. What on is said by [`Run::parked_on`]
    /// in the same step (every goro wait describes itself for the leak
    /// check); a step that parked and never said is unknown.
    pub(crate) fn parked(&mut self) {
        if self.open {
            self.parked.get_or_insert(false);
        }
    }

    /// The running goroutine ended its step ready (a yield) or done: a
    /// wait it began and gave up within the step (a `select!` that found
    /// itself notified as it parked) left nothing to be woken from.
    pub(crate) fn not_parked(&mut self) {
        if self.open {
            self.parked = None;
        }
    }

    /// The running step made goroutine `g` ready (spawned it, or woke it):
    /// its next step comes after, whatever the footprints say (the step
    /// that resumes a parked receive may touch only its own waiter).
    pub(crate) fn woken(&mut self, g: u32) {
        if self.open {
            self.spawned.insert(g, self.steps.len() - 1);
        }
    }

    /// The running step emitted `op` (for goroutine `g`).
    pub(crate) fn op(&mut self, g: Gid, op: &Op) {
        let w = |s: &mut Self, k| s.touch(k, true);
        match op {
            Op::End => w(self, Key::Gor(g.get())),
            Op::Join { child } => w(self, Key::Gor(child.get())),
            Op::ChanSend { ch }
            | Op::ChanRecv { ch }
            | Op::ChanRendezvous { ch, .. }
            | Op::ChanClose { ch }
            | Op::ChanRecvClosed { ch }
            | Op::SendOnClosed { ch }
            | Op::CloseOfClosed { ch } => w(self, Key::Obj(ch.0)),
            Op::Acquire { obj }
            | Op::Release { obj }
            | Op::RLock { obj }
            | Op::RUnlock { obj }
            | Op::WLock { obj }
            | Op::WUnlock { obj }
            | Op::Lock { obj }
            | Op::Unlock { obj }
            | Op::LockWait { obj } => w(self, Key::Obj(obj.0)),
            Op::WgAdd { wg, .. } | Op::WgWait { wg, .. } => w(self, Key::Obj(wg.0)),
            Op::Read { addr, .. } => self.touch(Key::Addr(addr.0), false),
            Op::Write { addr, .. } | Op::Free { addr } => w(self, Key::Addr(addr.0)),
            Op::Atomic { addr, write, .. } => self.touch(Key::Addr(addr.0), *write),
            // A panic ends the schedule: whatever other goroutines could
            // have done first does not happen, so it is dependent with
            // every step.
            Op::Panic { .. } => self.touch_unknown(),
            // A new channel is touched by nobody else yet; a spawn orders
            // the child's first step after it (`spawned`); the rest is the
            // goroutine's own.
            Op::ChanMake { .. }
            | Op::Spawn { .. }
            | Op::Recovered
            | Op::LostCancel { .. }
            | Op::FrameEnter { .. }
            | Op::FrameExit => {}
        }
    }

    /// The running goroutine parked on `info`: the objects it waits on are
    /// written (a wake-up of it depends on them); what is not an object is
    /// unknown.
    pub(crate) fn parked_on(&mut self, info: Option<&BlockInfo>) {
        if self.open {
            self.parked = Some(true);
        }
        match info {
            Some(BlockInfo::Chans { ops, .. }) => {
                for op in ops.iter() {
                    self.touch(Key::Obj(op.ch.0), true);
                }
            }
            Some(BlockInfo::Lock { obj, .. }) => self.touch(Key::Obj(obj.0), true),
            Some(BlockInfo::Fixed(w)) => match w {
                Wait::Lock { obj } | Wait::Cond { obj } => self.touch(Key::Obj(obj.0), true),
                Wait::Join { g } => self.touch(Key::Gor(g.get()), true),
                // Waits for the clock's step (a write); sleepers commute.
                Wait::Sleep => self.touch(Key::Clock, false),
                Wait::Recv { ch, .. } | Wait::Send { ch, .. } | Wait::Tick { ch } => {
                    self.touch(Key::Obj(ch.0), true)
                }
                Wait::Select { cases } => {
                    for (ch, _, _) in cases {
                        self.touch(Key::Obj(ch.0), true);
                    }
                }
                // Parked on nothing: no step can wake it.
                Wait::Forever => {}
                _ => self.touch_unknown(),
            },
            // A WaitGroup's wait: every poll of it touches the WaitGroup
            // itself (`sync::waitgroup`).
            Some(BlockInfo::WaitGroup { .. }) => {}
            None => self.touch_unknown(),
        }
    }

    /// The schedule ended with `pending` (record ids) still able to run.
    pub(crate) fn finish(&mut self, pending: Vec<u32>) {
        self.close_step();
        self.pending = pending;
    }
}

/// A choice point on the current path of the walk.
#[derive(Debug)]
struct Node {
    /// The entry the schedules through it replay here.
    taken: u32,
    /// How many options other than the default it offered.
    offered: usize,
    /// The sleep set when it was reached.
    sleep: Vec<Sleeper>,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// A draw: every value is tried.
    Draw {
        untried: Vec<u32>,
    },
    Sched(Sched),
}

#[derive(Debug)]
struct Sched {
    /// The goroutine (or the clock) taken here now.
    taken: u32,
    enabled: Vec<u32>,
    default: u32,
    /// Taking another option than `default` preempts.
    preempting: bool,
    /// Options explored here, with the footprints of their steps.
    done: Vec<Sleeper>,
    /// Options to explore here.
    backtrack: Vec<u32>,
    /// Options skipped for the preemption bound.
    pruned: Vec<u32>,
}

impl Sched {
    fn preempts(&self, option: u32) -> bool {
        self.preempting && option != self.default && option != CLOCK_ID
    }
}

/// The reduced walk's state across the schedules of one exploration.
#[derive(Debug, Default)]
pub(crate) struct Dpor {
    bound: Option<u32>,
    path: Vec<Node>,
    started: bool,
    /// Options skipped because of the preemption bound.
    pruned: u64,
    /// Options at scheduling choice points the reduction left untried.
    reduced: u64,
    /// Schedules found redundant by their sleep sets.
    redundant: u32,
    diverged: Option<usize>,
}

/// What the next schedule replays, and the sleep set it installs where it
/// leaves the path it replays.
pub(crate) type Next = (Vec<u32>, Option<(u32, Vec<Sleeper>)>);

impl Dpor {
    /// A reduced walk bounded to `bound` preemptions per schedule.
    pub(crate) fn new(bound: Option<u32>) -> Self {
        Dpor {
            bound,
            ..Dpor::default()
        }
    }

    /// The next schedule to run, or `None` once every trace (within the
    /// bound) has run.
    pub(crate) fn next_schedule(&mut self) -> Option<Next> {
        if !self.started {
            self.started = true;
            return Some((Vec::new(), None));
        }
        while !self.path.is_empty() {
            let c = self.path.len() as u32 - 1;
            let n = self.path.last_mut().expect("not empty");
            let install = match &mut n.kind {
                Kind::Draw { untried } => untried.pop().map(|o| {
                    n.taken = o;
                    n.sleep.clone()
                }),
                Kind::Sched(s) => s.backtrack.pop().map(|o| {
                    n.taken = o;
                    s.taken = o;
                    let mut sleep = n.sleep.clone();
                    sleep.extend(s.done.iter().cloned());
                    sleep
                }),
            };
            if let Some(sleep) = install {
                let prefix = self.path.iter().map(|n| n.taken).collect();
                return Some((prefix, Some((c, sleep))));
            }
            if let Kind::Sched(s) = &n.kind {
                self.reduced +=
                    s.enabled
                        .len()
                        .saturating_sub(s.done.len() + s.pruned.len()) as u64;
            }
            self.path.pop();
        }
        None
    }

    /// Takes in the schedule just run: its record and its log.
    pub(crate) fn record(&mut self, record: &Record, run: &Run) {
        let known = self.path.len();
        if self.diverged.is_none() {
            self.diverged = self.path.iter().enumerate().find_map(|(j, n)| {
                let same = record.options.get(j).map(Vec::len) == Some(n.offered)
                    && match (&n.kind, run.points.get(j).map(|p| &p.kind)) {
                        (Kind::Sched(s), Some(PointKind::Sched { step, .. })) => {
                            run.steps.get(*step).map(|st| st.who) == Some(s.taken)
                        }
                        (Kind::Draw { .. }, Some(PointKind::Draw)) => true,
                        _ => false,
                    };
                (!same).then_some(j)
            });
        }
        if self.diverged.is_some() {
            // The log does not match the path: adding to it would explore
            // at random. The verdict says incomplete.
            self.path.clear();
            return;
        }
        // The option each choice point of the replayed path takes is
        // explored (again): its step's footprint joins what is known of
        // it. A step with a draw inside (a `select!`) touches different
        // objects with different values, and the sleep set of the next
        // option must hold all of them.
        for (c, n) in self.path.iter_mut().enumerate() {
            let (Kind::Sched(s), Some(PointKind::Sched { step, .. })) =
                (&mut n.kind, run.points.get(c).map(|p| &p.kind))
            else {
                continue;
            };
            let st = &run.steps[*step];
            match s.done.iter_mut().find(|d| d.who == s.taken) {
                Some(d) => {
                    for a in &st.fp.accesses {
                        d.fp.add(a.id, a.write);
                    }
                    d.fp.unknown |= st.fp.unknown;
                }
                None => s.done.push(Sleeper {
                    who: s.taken,
                    fp: st.fp.clone(),
                    known: st.known,
                }),
            }
        }
        let end = run.blocked.map_or(record.options.len(), |b| {
            (b as usize).min(record.options.len())
        });
        if run.blocked.is_some() {
            self.redundant += 1;
        }
        let choices = record.choices.to_vec();
        for j in known..end.min(run.points.len()) {
            let taken = choices.get(j).copied().unwrap_or(DEFAULT);
            let point = &run.points[j];
            let kind = match &point.kind {
                PointKind::Draw => {
                    let mut untried: Vec<u32> = record.options[j]
                        .iter()
                        .copied()
                        .filter(|&o| o != taken)
                        .collect();
                    untried.reverse();
                    Kind::Draw { untried }
                }
                PointKind::Sched {
                    step,
                    enabled,
                    default,
                } => {
                    let st = &run.steps[*step];
                    Kind::Sched(Sched {
                        taken: st.who,
                        enabled: enabled.clone(),
                        default: *default,
                        preempting: record.preempting.binary_search(&(j as u32)).is_ok(),
                        done: vec![Sleeper {
                            who: st.who,
                            fp: st.fp.clone(),
                            known: st.known,
                        }],
                        backtrack: Vec::new(),
                        pruned: Vec::new(),
                    })
                }
            };
            let taken = match &kind {
                Kind::Sched(s) => s.taken,
                Kind::Draw { .. } => taken,
            };
            self.path.push(Node {
                taken,
                offered: record.options[j].len(),
                sleep: point.sleep.clone(),
                kind,
            });
        }
        let analysis = analyze(run);
        for &(j, i) in &analysis.races {
            self.backtrack(run, &analysis, j, i);
        }
    }

    /// Step `i` races with step `j`: at `j`'s choice point, make sure a
    /// schedule that reverses the race is explored. As in source-DPOR
    /// (Abdulla et al., POPL 2014): nothing to do when one of the
    /// goroutines that could begin the reversal (the initials of `v`, see
    /// [`Analysis::initials`]) is explored, to be explored or asleep
    /// there; else one of them that can run there is added. When none can
    /// run there (a wake-up the order does not show), every goroutine that
    /// can is added: more schedules, never fewer.
    fn backtrack(&mut self, run: &Run, a: &Analysis, j: usize, i: usize) {
        // A step nobody saw (still pending at the end) has no choice point.
        let Some(c) = run.steps.get(j).and_then(|s| s.choice) else {
            return;
        };
        let c = c as usize;
        if c >= self.path.len() {
            return;
        }
        let used = self.path[..c]
            .iter()
            .filter(|n| matches!(&n.kind, Kind::Sched(s) if s.preempts(s.taken)))
            .count() as u32;
        let within = self.bound.is_none_or(|b| used < b);
        let node = &mut self.path[c];
        let Kind::Sched(s) = &mut node.kind else {
            return;
        };
        // A goroutine asleep here would run the step it was put to sleep
        // with, not necessarily its step in `v` (a step that parked in this
        // schedule may run on past that point in the reversal, and touch
        // more). It begins an equivalent of the reversal only if that step
        // is independent of every step of `v` before its own: then it is
        // covered by the schedules that put it to sleep. Otherwise it is no
        // initial of the reversal at all.
        let initials: Vec<u32> = a
            .initials(j, i)
            .into_iter()
            .filter(|(o, before)| {
                node.sleep
                    .iter()
                    .find(|d| d.who == *o)
                    .is_none_or(|d| before.iter().all(|&k| !d.depends(&run.steps[k].fp)))
            })
            .map(|(o, _)| o)
            .collect();
        let covered = |o: &u32| {
            s.done.iter().any(|d| d.who == *o)
                || s.backtrack.contains(o)
                || s.pruned.contains(o)
                || node.sleep.iter().any(|d| d.who == *o)
        };
        if initials.iter().any(covered) {
            return;
        }
        // None of them is asleep here: one that is covers the reversal.
        let options = match initials.iter().find(|o| s.enabled.contains(o)) {
            Some(&o) => vec![o],
            None => s.enabled.clone(),
        };
        for o in options {
            let seen = s.done.iter().any(|d| d.who == o)
                || s.backtrack.contains(&o)
                || s.pruned.contains(&o)
                || node.sleep.iter().any(|d| d.who == o);
            if seen {
                continue;
            }
            if s.preempts(o) && !within {
                s.pruned.push(o);
                self.pruned += 1;
            } else {
                s.backtrack.push(o);
            }
        }
    }

    /// Whether every trace (within the bound) has been handed out.
    pub(crate) fn done(&self) -> bool {
        self.started && self.path.iter().all(|n| !n.open())
    }

    pub(crate) fn diverged(&self) -> Option<usize> {
        self.diverged
    }

    pub(crate) fn pruned(&self) -> u64 {
        self.pruned
    }

    /// Options the reduction left untried at choice points walked so far.
    pub(crate) fn reduced(&self) -> u64 {
        // Choice points still on the path count what they left untried.
        self.reduced
            + self
                .path
                .iter()
                .map(|n| match &n.kind {
                    Kind::Sched(s) => s
                        .enabled
                        .len()
                        .saturating_sub(s.done.len() + s.pruned.len() + s.backtrack.len())
                        as u64,
                    Kind::Draw { .. } => 0,
                })
                .sum::<u64>()
    }

    /// Schedules their sleep sets found redundant part of the way.
    pub(crate) fn redundant(&self) -> u32 {
        self.redundant
    }

    /// How many choice points on the current path still have an option to
    /// try, and the depth of the shallowest.
    pub(crate) fn open(&self) -> (usize, Option<usize>) {
        let open: Vec<usize> = (0..self.path.len())
            .filter(|&i| self.path[i].open())
            .collect();
        (open.len(), open.first().copied())
    }
}

impl Node {
    fn open(&self) -> bool {
        match &self.kind {
            Kind::Draw { untried } => !untried.is_empty(),
            Kind::Sched(s) => !s.backtrack.is_empty(),
        }
    }
}

/// The races of a schedule's log: pairs `(j, q)` of a step `j` and a
/// goroutine `q` whose step `i > j` is dependent with `j`, of another
/// goroutine, and not ordered after `j` through any other step (program
/// order, spawns and dependence make the order). Goroutines that could
/// still run at the end count as one unknown step each.
#[cfg(test)]
fn races(run: &Run) -> Vec<(usize, u32)> {
    let a = analyze(run);
    a.races.iter().map(|&(j, i)| (j, a.who[i])).collect()
}

/// A schedule's log analyzed: its races (see [`races`]), and the order
/// between its steps, pending ones included after the real ones.
pub(crate) struct Analysis {
    pub(crate) races: Vec<(usize, usize)>,
    /// Who ran each step.
    who: Vec<u32>,
    /// Each step's vector clock, indexed by process (`procs`).
    vcs: Vec<Vec<u32>>,
    procs: HashMap<u32, usize>,
    /// Steps that ran (the pending ones follow).
    real: usize,
}

impl Analysis {
    /// Whether step `a` is ordered before step `b` (or is `b`).
    fn before(&self, a: usize, b: usize) -> bool {
        let p = self.procs[&self.who[a]];
        self.vcs[b].get(p).is_some_and(|&v| v > a as u32)
    }

    /// The goroutines that could begin a schedule which, from just before
    /// step `j`, reverses its race with step `i`: the source-DPOR
    /// *initials* of `v`, the steps after `j` not ordered after it, then
    /// `i`: the goroutines whose first step in `v` comes after no other
    /// step of `v`.
    ///
    /// Each comes with the steps of `v` before its first one.
    fn initials(&self, j: usize, i: usize) -> Vec<(u32, Vec<usize>)> {
        // Pending steps are alternatives after the real ones, not a
        // sequence: `v` holds real steps only, then `i`.
        let v: Vec<usize> = (j + 1..i.min(self.real))
            .filter(|&k| !self.before(j, k))
            .chain(std::iter::once(i))
            .collect();
        // The first step of each goroutine in `v`; one of them is an
        // initial when no step of `v` is ordered before it, i.e. no
        // goroutine's first step in `v` is (its vector clock says).
        let mut first: Vec<(usize, usize, usize)> = Vec::new(); // (process, step, at)
        for (at, &k) in v.iter().enumerate() {
            let p = self.procs[&self.who[k]];
            if !first.iter().any(|&(q, _, _)| q == p) {
                first.push((p, k, at));
            }
        }
        let out = first
            .iter()
            .filter(|&&(p, k, _)| {
                !first
                    .iter()
                    .any(|&(q, e, _)| q != p && self.vcs[k].get(q).is_some_and(|&c| c > e as u32))
            })
            .map(|&(_, k, at)| (self.who[k], v[..at].to_vec()))
            .collect();
        out
    }
}

fn analyze(run: &Run) -> Analysis {
    let mut steps: Vec<Step> = run.steps.clone();
    let real = steps.len();
    for &p in &run.pending {
        steps.push(Step {
            who: p,
            fp: Footprint::unknown(),
            after: None,
            choice: None,
            known: 0,
        });
    }
    // Vector clocks over "processes" (goroutines and the clock): the
    // highest step index + 1 of each that is ordered before or at a step.
    let mut procs: HashMap<u32, usize> = HashMap::default();
    let mut vcs: Vec<Vec<u32>> = Vec::with_capacity(steps.len());
    let mut last_of: HashMap<u32, usize> = HashMap::default();
    let mut last_write: HashMap<u32, usize> = HashMap::default();
    let mut reads: HashMap<u32, Vec<usize>> = HashMap::default();
    let mut last_unknown: Option<usize> = None;
    let mut out = Vec::new();
    for i in 0..steps.len() {
        let s = &steps[i];
        let n = procs.len();
        let q = *procs.entry(s.who).or_insert(n);
        // The steps dependent with `i` that every other dependent step is
        // ordered before: the immediate predecessors.
        let mut preds: Vec<usize> = Vec::new();
        if i >= real {
            // A pending step: each is the next step after the end, none
            // after another (they are alternatives, not a sequence).
            preds.extend(last_unknown.unwrap_or(0)..real);
        } else if s.fp.unknown {
            preds.extend(last_unknown.unwrap_or(0)..i);
        } else {
            preds.extend(last_unknown);
            let floor = last_unknown.map_or(0, |u| u + 1);
            for a in &s.fp.accesses {
                if let Some(&w) = last_write.get(&a.id).filter(|&&w| w >= floor) {
                    preds.push(w);
                }
                if a.write {
                    if let Some(r) = reads.get(&a.id) {
                        preds.extend(r.iter().copied().filter(|&r| r >= floor));
                    }
                }
            }
        }
        preds.sort_unstable();
        preds.dedup();
        let po = last_of.get(&s.who).copied();
        let mut ordered: Vec<usize> = preds.clone();
        ordered.extend(po);
        ordered.extend(s.after);
        let mut vc = vec![0u32; procs.len()];
        for &k in &ordered {
            for (x, &v) in vcs[k].iter().enumerate() {
                vc[x] = vc[x].max(v);
            }
        }
        vc[q] = i as u32 + 1;
        for &j in &preds {
            let wj = steps[j].who;
            if wj == s.who {
                continue;
            }
            let pj = procs[&wj];
            let through_other = ordered
                .iter()
                .any(|&k| k != j && vcs[k].get(pj).is_some_and(|&v| v > j as u32));
            if !through_other {
                out.push((j, i));
            }
        }
        vcs.push(vc);
        if i >= real {
            continue;
        }
        last_of.insert(s.who, i);
        if s.fp.unknown {
            last_unknown = Some(i);
        }
        for a in &s.fp.accesses {
            if a.write {
                last_write.insert(a.id, i);
                reads.remove(&a.id);
            } else {
                reads.entry(a.id).or_default().push(i);
            }
        }
    }
    Analysis {
        races: out,
        who: steps.iter().map(|s| s.who).collect(),
        vcs,
        procs,
        real,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::sched::strategy::footprint::Access;

    fn step(run: &mut Run, who: u32, acc: &[(u32, bool)]) {
        run.open_step(who, None);
        for &(id, w) in acc {
            run.touch(Key::Obj(u64::from(id)), w);
        }
    }

    #[test]
    fn races_are_the_unordered_dependent_pairs() {
        let mut run = Run::new(None);
        // 1 writes a, 2 writes a, 1 reads b, 2 reads b: one race (on a).
        step(&mut run, 1, &[(10, true)]);
        step(&mut run, 2, &[(10, true)]);
        step(&mut run, 1, &[(11, false)]);
        step(&mut run, 2, &[(11, false)]);
        run.finish(Vec::new());
        assert_eq!(races(&run), vec![(0, 2)]);
    }

    #[test]
    fn a_race_through_a_third_step_is_not_direct() {
        let mut run = Run::new(None);
        // 1 writes a; 3 writes a then b (one step); 2 writes b: the races
        // are (1, 3) and (3, 2), not (1, 2) (which do not share an
        // object anyway) — and with 2 writing a too, (1, 2) is ordered
        // through 3.
        step(&mut run, 1, &[(10, true)]);
        step(&mut run, 3, &[(10, true), (11, true)]);
        step(&mut run, 2, &[(11, true), (10, true)]);
        run.finish(Vec::new());
        assert_eq!(races(&run), vec![(0, 3), (1, 2)]);
    }

    #[test]
    fn a_wait_begun_and_given_up_within_a_step_is_no_park() {
        let mut run = Run::new(None);
        step(&mut run, 1, &[(10, true)]);
        run.parked();
        run.not_parked();
        // Parked, and never said on what: unknown.
        step(&mut run, 2, &[(11, true)]);
        run.parked();
        run.finish(Vec::new());
        assert!(!run.steps[0].fp.unknown);
        assert!(run.steps[1].fp.unknown);
    }

    #[test]
    fn initials_come_with_the_steps_before_them() {
        let mut run = Run::new(None);
        // 1 writes a; 2 writes b; 3 writes a: 3 races with 1. Reversing it
        // may begin with 2 (nothing before it) or with 3 (after 2's step,
        // which it is independent of): a goroutine asleep there that would
        // begin it as 3 does must be independent of 2's step too.
        step(&mut run, 1, &[(10, true)]);
        step(&mut run, 2, &[(11, true)]);
        step(&mut run, 3, &[(10, true)]);
        run.finish(Vec::new());
        let a = analyze(&run);
        assert_eq!(a.races, vec![(0, 2)]);
        assert_eq!(a.initials(0, 2), vec![(2, vec![]), (3, vec![1])]);
    }

    #[test]
    fn a_pending_goroutine_races_with_what_it_has_not_seen() {
        let mut run = Run::new(None);
        step(&mut run, 1, &[(10, true)]);
        step(&mut run, 2, &[]);
        run.finish(vec![2]);
        // 2's unseen next step is unknown: it races with 1's step.
        assert_eq!(races(&run), vec![(0, 2)]);
    }

    #[test]
    fn sleepers_wake_on_a_dependent_step() {
        let mut run = Run::new(Some((
            0,
            vec![Sleeper {
                who: 2,
                fp: Footprint {
                    accesses: vec![Access { id: 0, write: true }],
                    unknown: false,
                },
                known: 5,
            }],
        )));
        run.sched_point(0, vec![1, 2], 1);
        step(&mut run, 1, &[(99, false)]);
        assert!(run.asleep(2));
        run.close_step();
        // Object 99 got number 0 here: the sleeper's object 0, written.
        assert!(!run.asleep(2));
    }
}
