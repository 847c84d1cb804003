//! The exhaustive strategy: schedule counts pinned against hand counts,
//! the verdict, the budget, and replays of what it finds.
//!
//! How the hand counts go. A goroutine that does `k` increments, each after
//! a `yield_now` (a scheduling point), takes `k + 1` steps (polls): one to
//! its first yield, one from each yield to the next, the last one to its
//! end; a yield keeps it ready, so it can run at each of them. Main starts
//! the goroutines with `go!` (no scheduling point) and returns in its one
//! step. So a schedule is a word over the goroutines' steps in which each
//! goroutine's steps keep their order, and the search (no reduction) runs
//! one schedule per word: a multinomial coefficient. A preemption is a
//! switch away from a goroutine that could run on, i.e. one with steps
//! left; a word of `m` blocks (maximal runs of one goroutine) over `n`
//! goroutines switches `m - 1` times, of which the `n - 1` after a
//! goroutine's last block are not preemptions: `m - n` preemptions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use goro::race::{explore, Config, FindingKind, Strategy};

/// The full search: every schedule, no partial-order reduction.
fn exhaustive(bound: Option<u32>, budget: u32) -> Config {
    reduced(bound, budget).dpor(false)
}

/// The search with partial-order reduction (the default).
fn reduced(bound: Option<u32>, budget: u32) -> Config {
    Config::default()
        .env(false)
        .shrink(0)
        .schedules(budget)
        .strategy(Strategy::Exhaustive { preemptions: bound })
}

async fn incrementer(x: Arc<goro::Shared<u32>>, times: usize) {
    for _ in 0..times {
        goro::yield_now().await;
        x.set(x.get() + 1);
    }
}

type Program = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>;

/// `n` goroutines, each doing `times` unsynchronized increments of one
/// `Shared`, each after a scheduling point; main starts them and returns
/// (they run on in the grace period).
fn racers(n: usize, times: usize) -> Program {
    Box::new(move || {
        Box::pin(async move {
            let x = Arc::new(goro::Shared::new(0u32));
            for _ in 0..n {
                goro::go!(incrementer(x.clone(), times));
            }
        })
    })
}

/// Schedules run, asserting the search ended `complete` with the race.
fn complete_count(bound: Option<u32>, program: &Program) -> u32 {
    let report = explore(exhaustive(bound, 100_000), program);
    assert!(report.has(FindingKind::DataRace), "{report}");
    let v = report.verdict().expect("exhaustive runs have a verdict");
    assert!(v.complete, "{v}");
    assert_eq!(v.schedules, report.schedules_run());
    assert_eq!(v.preemptions, bound);
    v.schedules
}

/// Two goroutines of two racy increments each: 3 steps each (A A A and
/// B B B), so C(6, 3) = 20 schedules.
///
/// By preemptions (`m - 2` for a word of `m` blocks), counting the words
/// that start with A and doubling: 2 blocks, `A³B³`: 1 word, 0 preemptions;
/// 3 blocks, `AᵃB³A³⁻ᵃ` (a = 1, 2): 2 words, 1 preemption; 4 blocks, A and B
/// each split in two: 2 × 2 = 4 words, 2 preemptions; 5 blocks, `ABABA` with
/// B split in two ways: 2 words, 3; 6 blocks, `ABABAB`: 1 word, 4. Total
/// 1 + 2 + 4 + 2 + 1 = 10 per first goroutine. So bounds 0, 1, 2, 3 allow
/// 2, 6, 14 and 18 schedules, and 4 or none all 20.
#[test]
fn two_goroutines_of_two_racy_increments_have_20_schedules() {
    let p = racers(2, 2);
    assert_eq!(complete_count(None, &p), 20);
    assert_eq!(complete_count(Some(0), &p), 2);
    assert_eq!(complete_count(Some(1), &p), 6);
    assert_eq!(complete_count(Some(2), &p), 14);
    assert_eq!(complete_count(Some(3), &p), 18);
    assert_eq!(complete_count(Some(4), &p), 20);
}

/// Three goroutines of one racy increment each: 2 steps each, so
/// 6! / (2! 2! 2!) = 90 schedules.
///
/// Bound 0 (`m - 3 = 0`, each goroutine in one block): the 3! = 6 orders of
/// the goroutines. Bound 1 adds the words of 4 blocks: one goroutine X (3
/// ways) split into X' before X'', not adjacent, among the whole Y and Z:
/// 4!/2 = 12 orders with X' first, of which 3! = 6 have them adjacent, so
/// 6 per X, 18 in all: 6 + 18 = 24.
#[test]
fn three_goroutines_of_one_racy_increment_have_90_schedules() {
    let p = racers(3, 1);
    assert_eq!(complete_count(None, &p), 90);
    assert_eq!(complete_count(Some(0), &p), 6);
    assert_eq!(complete_count(Some(1), &p), 24);
}

/// With the reduction, two goroutines of two racy increments each run
/// one schedule per Mazurkiewicz trace. Each goroutine's first step (to its
/// first yield) touches nothing, and each increment step reads and writes
/// the one `Shared`, so every increment is dependent with every other:
/// a trace is fixed by how A's two increments interleave with B's, C(4, 2)
/// = 6 traces (AABB, ABAB, ABBA, BAAB, BABA, BBAA). The first steps, main's
/// step and the goroutines' ends commute with everything else.
#[test]
fn two_goroutines_of_two_racy_increments_have_6_traces() {
    let report = explore(reduced(None, 1_000), racers(2, 2));
    assert!(report.has(FindingKind::DataRace), "{report}");
    let v = report.verdict().expect("a verdict");
    assert!(v.complete, "{v}");
    assert_eq!(v.schedules, 6, "{v}");
    let r = v.reduction.expect("reduced");
    assert_eq!(r.redundant, 0, "{v}");
    assert!(r.skipped > 0, "{v}");
    assert!(v.to_string().contains("partial-order reduction"), "{v}");
}

/// Three goroutines of one racy increment each: the three increments are
/// pairwise dependent, so 3! = 6 traces, and 6 schedules.
#[test]
fn three_goroutines_of_one_racy_increment_have_6_traces() {
    let report = explore(reduced(None, 1_000), racers(3, 1));
    let v = report.verdict().expect("a verdict");
    assert!(v.complete, "{v}");
    let r = v.reduction.expect("reduced");
    assert_eq!((v.schedules, r.redundant), (6, 0), "{v}");
}

/// Two goroutines that touch disjoint objects (each its own `Shared`, its
/// own channel and its own Mutex): every step of one is independent of
/// every step of the other, so there is one trace, and one schedule. The
/// full search runs every interleaving of their 5 steps each (to the send,
/// to the receive, to the lock, to the yield, to the end): C(10, 5) = 252.
#[test]
fn goroutines_on_disjoint_objects_have_1_trace() {
    let program = || async {
        for _ in 0..2 {
            let x = Arc::new(goro::Shared::new(0u32));
            let ch = goro::chan::<u32>(1);
            let m = Arc::new(goro::sync::Mutex::new(0u32));
            goro::go!(async move {
                x.set(1);
                ch.send(1).await;
                ch.recv().await;
                *m.lock().await += x.get();
                goro::yield_now().await;
            });
        }
    };
    let r = explore(reduced(None, 1_000), program);
    let v = r.verdict().expect("a verdict");
    assert!(v.complete && r.findings().is_empty(), "{r}");
    assert_eq!(v.schedules, 1, "{v}");
    let full = explore(exhaustive(None, 1_000), program);
    assert_eq!(full.verdict().expect("a verdict").schedules, 252);
}

/// A timer that wakes a sleeper commutes with work that does not look at
/// the clock. Goroutine A sleeps 1 ms; B yields twice, touching nothing.
/// The clock's step (time passes to A's timer, which wakes A) writes the
/// clock, which only A's sleep reads: every step of B is independent of
/// every step of A and of the clock's, so there is one trace. The search
/// runs it, and one more schedule that its sleep set finds redundant part
/// of the way (DPOR with sleep sets is not optimal).
#[test]
fn a_sleepers_wake_up_commutes_with_unrelated_work() {
    let program = || async {
        goro::go!(async {
            goro::time::sleep(std::time::Duration::from_millis(1)).await;
        });
        goro::go!(async {
            goro::yield_now().await;
            goro::yield_now().await;
        });
    };
    let r = explore(reduced(None, 1_000), program);
    let v = r.verdict().expect("a verdict");
    assert!(v.complete && r.findings().is_empty(), "{r}");
    let redundant = v.reduction.expect("reduced").redundant;
    assert_eq!((v.schedules, redundant), (2, 1), "{v}");
    let full = explore(exhaustive(None, 1_000), program);
    let fv = full.verdict().expect("a verdict");
    assert!(fv.complete && fv.schedules == 35, "{fv}");
}

/// Three philosophers at a round table of three forks (Mutexes).
/// Philosopher `i` yields, takes its left fork `i` with `try_lock`, yields,
/// tries its right fork `i + 1` (wrapping), eats if it has both, and puts
/// down what it holds. Its steps: `s1` (to the first yield; touches
/// nothing), `s2` (takes fork `i`), `s3` (tries fork `i + 1`, puts both
/// down). A fork is held across a scheduling point only by its left-hand
/// philosopher, between its `s2` and `s3`.
///
/// The hand count of traces. Fork `i` is touched by `s2_i`, `s3_i` and
/// `s3_{i-1}` (its right-hand neighbour's try). A trace is fixed by where
/// `s3_{i-1}` falls for each fork: before `s2_i`, between `s2_i` and
/// `s3_i` (the try fails: the fork is held), or after `s3_i`: 3^3 = 27
/// choices, minus those whose orders of the `s3`s form a cycle. "Before
/// or between" orders `s3_{i-1}` before `s3_i`, "after" orders it after;
/// around the table the three pairs form a cycle when all three are
/// "before or between" (2^3 = 8 choices) or all three "after" (1). So 27 -
/// 9 = 18 traces. (The `s2`s add no cycle: `s2_i` comes after nothing of
/// the others but a "before" `s3_{i-1}`.) The full search runs every
/// interleaving of the 3 × 3 steps: 9! / (3!)^3 = 1680.
///
/// Main first looks at each fork (a `try_lock`), so that every fork is
/// numbered before any choice: an object first touched past a choice point
/// gets numbers that differ between the schedules through it, and the
/// sleep sets must then count any two such objects as one (see
/// `footprint`), which costs schedules, not traces: without that look the
/// same table runs 78 schedules. The cyclic order of the forks is a
/// lock-order inversion, found either way.
#[test]
fn three_philosophers_have_18_traces() {
    let table = |look: bool| {
        move || async move {
            let forks: Arc<Vec<goro::sync::Mutex<u32>>> =
                Arc::new((0..3).map(|_| goro::sync::Mutex::new(0)).collect());
            if look {
                for f in forks.iter() {
                    drop(f.try_lock());
                }
            }
            philosophers(forks);
        }
    };
    let report = explore(reduced(None, 10_000), table(true));
    let v = report.verdict().expect("a verdict");
    assert!(
        v.complete && report.has(FindingKind::LockOrderInversion),
        "{report}"
    );
    let r = v.reduction.expect("reduced");
    assert_eq!((v.schedules, r.redundant), (18, 0), "{v}");
    let unlooked = explore(reduced(None, 10_000), table(false));
    let v = unlooked.verdict().expect("a verdict");
    assert!(
        v.complete && unlooked.has(FindingKind::LockOrderInversion),
        "{v}"
    );
    assert_eq!(v.schedules, 78, "{v}");
    let full = explore(exhaustive(None, 10_000), table(true));
    assert_eq!(full.verdict().expect("a verdict").schedules, 1680);
}

/// The philosophers of [`three_philosophers_have_18_traces`].
fn philosophers(forks: Arc<Vec<goro::sync::Mutex<u32>>>) {
    for i in 0..3 {
        let forks = forks.clone();
        goro::go!(async move {
            goro::yield_now().await;
            let left = forks[i].try_lock();
            goro::yield_now().await;
            let right = forks[(i + 1) % 3].try_lock();
            if let (Some(mut l), Some(mut r)) = (left, right) {
                *l += 1;
                *r += 1;
            }
        });
    }
}

/// Eight goroutines of twenty operations each: over 10^100 schedules. The
/// search stops at its budget, says so, and does not hang.
#[test]
fn a_program_too_large_ends_incomplete_at_its_budget() {
    let report = explore(exhaustive(None, 300), racers(8, 20));
    assert_eq!(report.schedules_run(), 300);
    let v = report.verdict().expect("a verdict");
    assert!(!v.complete);
    let why = v.stopped.as_deref().expect("a reason");
    assert!(why.contains("budget of 300 schedules"), "{why}");
    assert!(why.contains("untried choices left"), "{why}");
    assert!(v.to_string().starts_with("incomplete: "), "{v}");
    assert!(
        report.to_string().contains("exhaustive search incomplete"),
        "{report}"
    );
}

/// A schedule cut by the step limit leaves the choices past it unexplored:
/// the search says so rather than claiming completeness.
#[test]
fn a_schedule_at_the_step_limit_makes_the_search_incomplete() {
    let config = exhaustive(None, 100).max_steps(50);
    let report = explore(config, || async {
        loop {
            goro::yield_now().await;
        }
    });
    let v = report.verdict().expect("a verdict");
    assert!(!v.complete, "{v}");
    let why = v.stopped.as_deref().expect("a reason");
    assert!(why.contains("reached the step limit (50 steps)"), "{why}");
}

/// A program that runs differently each time (here, state kept across
/// schedules) cannot have its schedules enumerated: the search says so.
#[test]
fn a_program_that_is_not_deterministic_ends_incomplete() {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let report = explore(exhaustive(None, 1_000), || {
        let n = 2 + RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2;
        async move {
            let x = Arc::new(goro::Shared::new(0u32));
            for _ in 0..n {
                goro::go!(incrementer(x.clone(), 1));
            }
        }
    });
    let v = report.verdict().expect("a verdict");
    assert!(!v.complete, "{v}");
    let why = v.stopped.as_deref().expect("a reason");
    assert!(why.contains("outside goro's control"), "{why}");
}

/// With the reduction the space is still far too large (eight goroutines
/// racing on one variable: 160! / (20!)^8 traces): the search stops at its
/// budget with the same clear message.
#[test]
fn a_program_too_large_ends_incomplete_at_its_budget_with_the_reduction() {
    let report = explore(reduced(None, 300), racers(8, 20));
    assert_eq!(report.schedules_run(), 300);
    let v = report.verdict().expect("a verdict");
    assert!(!v.complete);
    let why = v.stopped.as_deref().expect("a reason");
    assert!(why.contains("budget of 300 schedules"), "{why}");
    assert!(why.contains("untried choices left"), "{why}");
    assert!(v.to_string().starts_with("incomplete: "), "{v}");
    assert!(v.to_string().contains("partial-order reduction"), "{v}");
}

/// A bounded search also stops at its budget: the bound shrinks the tree,
/// not always enough.
#[test]
fn a_preemption_bound_still_ends_incomplete_when_the_tree_is_too_large() {
    let report = explore(exhaustive(Some(2), 200), racers(8, 20));
    let v = report.verdict().expect("a verdict");
    assert!(!v.complete, "{v}");
    assert!(v.pruned > 0, "{v}");
}

/// Main reads a flag that a goroutine sets, under a lock: no race, but main
/// panics only in the schedules where the goroutine's lock comes first.
async fn late_flag() {
    let flag = Arc::new(goro::sync::Mutex::new(false));
    let f = flag.clone();
    goro::go!(async move {
        *f.lock().await = true;
    });
    goro::yield_now().await;
    if *flag.lock().await {
        panic!("the flag was set before main looked");
    }
}

#[test]
fn a_finding_of_some_schedules_is_found_and_replays_from_its_schedule() {
    let report = explore(exhaustive(None, 1_000), late_flag);
    assert!(report.verdict().expect("a verdict").complete);
    let found: Vec<_> = report
        .findings()
        .iter()
        .filter(|f| f.kind == FindingKind::Panic)
        .collect();
    assert_eq!(found.len(), 1, "{report}");
    let note = found[0]
        .notes
        .iter()
        .find(|n| n.contains("exhaustive search"))
        .expect("a replay note");
    let schedule = note
        .split("GORO_REPLAY=")
        .nth(1)
        .and_then(|s| s.split('`').next())
        .expect("a schedule in the note");
    let replayed = explore(
        Config::default()
            .env(false)
            .replay(schedule)
            .expect("the note's schedule parses"),
        late_flag,
    );
    assert!(replayed.has(FindingKind::Panic), "{schedule}: {replayed}");
    // Unshrunk (shrinking is off here), the finding still names its
    // schedule where a shrunk one would.
    let shrink = found[0].shrink.as_ref().expect("the schedule as found");
    assert_eq!(shrink.schedule, schedule);
    assert_eq!(shrink.replays, 0);
    // The schedule with no choice (main runs on) does not panic.
    let quiet = explore(
        Config::default().env(false).replay("_").expect("parses"),
        late_flag,
    );
    assert!(!quiet.has(FindingKind::Panic), "{quiet}");
}

#[test]
fn shrinking_gives_exhaustive_findings_a_replayable_schedule() {
    let config = exhaustive(None, 1_000).shrink(200);
    let report = explore(config, late_flag);
    let f = report
        .findings()
        .iter()
        .find(|f| f.kind == FindingKind::Panic)
        .expect("the panic");
    let shrunk = f.shrink.as_ref().expect("shrunk");
    let replayed = explore(
        Config::default()
            .env(false)
            .replay(&shrunk.schedule)
            .expect("parses"),
        late_flag,
    );
    assert!(replayed.has(FindingKind::Panic), "{replayed}");
}

#[test]
fn the_sampling_strategies_have_no_verdict() {
    for s in [
        Strategy::Random,
        Strategy::Portfolio,
        Strategy::Pct { depth: 2 },
    ] {
        let report = explore(
            Config::default().env(false).schedules(3).strategy(s),
            late_flag,
        );
        assert!(report.verdict().is_none(), "{s}");
    }
}

// ---- `select!`'s draw: among the ready cases only. ----

/// Searches main's `select!` over `a` and `b` (capacity 1 each; `a` holds
/// a value if `a_full`, `b` if `b_full`) fully, and returns the schedules
/// and the cases taken.
fn select_over(a_full: bool, b_full: bool) -> (u32, std::collections::BTreeSet<u32>) {
    let seen = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let s = seen.clone();
    let report = explore(exhaustive(None, 100), move || {
        let s = s.clone();
        async move {
            let (a, b) = (goro::chan::<u32>(1), goro::chan::<u32>(1));
            if a_full {
                a.send(1).await;
            }
            if b_full {
                b.send(2).await;
            }
            let v = goro::select! {
                recv(a) -> v => v.unwrap_or(0),
                recv(b) -> v => v.unwrap_or(0),
                default => 0,
            };
            s.lock().unwrap().insert(v);
        }
    });
    let v = report.verdict().expect("a verdict");
    assert!(v.complete && report.findings().is_empty(), "{report}");
    let cases = seen.lock().unwrap().clone();
    (v.schedules, cases)
}

/// Only main runs, so the schedules are the `select!`'s draws: with one
/// case ready (or none, and `default`) there is nothing to draw, one
/// schedule; with both ready, one per case. (A full case order was drawn
/// at every poll before, two schedules in each program.)
#[test]
fn a_select_draws_only_among_its_ready_cases() {
    assert_eq!(select_over(true, false), (1, [1].into()));
    assert_eq!(select_over(false, true), (1, [2].into()));
    assert_eq!(select_over(false, false), (1, [0].into()));
    assert_eq!(select_over(true, true), (2, [1, 2].into()));
}

/// Two receive cases on one unbuffered channel compete for the sender
/// that comes later: whichever the select parks first gets the value, and
/// that order is still drawn, so both cases are taken in some schedule.
/// With no preemption main runs until its select parks, and the sender
/// comes later in every schedule: only the parking order's draw can give
/// case 2.
#[test]
fn cases_that_share_a_channel_are_parked_in_a_drawn_order() {
    let seen = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let s = seen.clone();
    let report = explore(exhaustive(Some(0), 1_000), move || {
        let s = s.clone();
        async move {
            let ch = goro::chan::<u32>(0);
            let tx = ch.sender();
            goro::go!(async move { tx.send(7).await });
            let case = goro::select! {
                recv(ch) -> _ => 1,
                recv(ch) -> _ => 2,
            };
            s.lock().unwrap().insert(case);
        }
    });
    let v = report.verdict().expect("a verdict");
    assert!(v.complete && report.findings().is_empty(), "{report}");
    assert_eq!(*seen.lock().unwrap(), [1, 2].into());
}

// ---- Partial-order reduction: the same findings and outcomes as the
// full search, on many small random programs. ----

mod equivalence {
    use std::cell::RefCell;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use goro::race::{explore, Config, Report, Strategy};
    use goro::sync::atomic::AtomicI64;
    use goro::sync::Mutex;

    /// One operation of a generated goroutine.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        Send(usize, i64),
        Recv(usize),
        TrySend(usize, i64),
        TryRecv(usize),
        /// `select!` over receives on both channels, with `default`.
        SelectDefault,
        /// `select!` over a receive on one channel and a send on the other.
        SelectBlocking(usize, i64),
        Close(usize),
        /// Lock, read and bump the counter, unlock.
        Lock,
        TryLock,
        Read,
        Write(i64),
        AtomicAdd(i64),
        AtomicLoad,
        Len(usize),
        /// Sleep this many milliseconds (virtual time).
        Sleep(u64),
        /// Read the clock: milliseconds since main began.
        Now,
        /// `select!` over a receive on a channel and a `time::after` of
        /// this many milliseconds.
        After(usize, u64),
        /// Receive one tick of a `time::tick` of this many milliseconds,
        /// and drop it (the ticking stops at its next tick).
        Tick(u64),
        /// `select!` over the done channel of the program's context and a
        /// receive on a channel.
        CtxDone(usize),
        /// Read the program's context's error.
        CtxErr,
    }

    /// A program: main's steps (after it starts the others) and each
    /// other goroutine's, over two channels of the given capacities.
    #[derive(Debug, Clone)]
    struct Program {
        caps: [usize; 2],
        /// The deadline of the program's context, in milliseconds after
        /// main began (`None`: no deadline, main's cancel only).
        deadline: Option<u64>,
        goroutines: Vec<Vec<Step>>,
    }

    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn generate(seed: u64) -> Program {
        let mut state = mix(seed);
        let mut next = |n: u64| {
            state = mix(state);
            state % n
        };
        let caps = [next(2) as usize, next(3) as usize];
        // A third of the programs use timers beyond sleeps and the clock
        // (after, tick, a context's deadline): each pending timer adds the
        // clock as an option at every step, and the full search grows.
        let timers = next(3) == 0;
        let deadline = (timers && next(2) == 0).then(|| 1 + next(3));
        let count = 2 + next(3) as usize; // main and 1 to 3 others
        let goroutines = (0..count)
            .map(|g| {
                let len = if g == 0 { next(3) } else { 1 + next(4) };
                (0..len)
                    .map(|_| {
                        let ch = next(2) as usize;
                        let v = 1 + next(9) as i64;
                        match next(if timers { 21 } else { 17 }) {
                            0 | 1 => Step::Send(ch, v),
                            2 | 3 => Step::Recv(ch),
                            4 => Step::TrySend(ch, v),
                            5 => Step::TryRecv(ch),
                            6 => Step::SelectDefault,
                            7 => Step::SelectBlocking(ch, v),
                            8 => Step::Close(ch),
                            9 => Step::Lock,
                            10 => Step::TryLock,
                            11 => Step::Read,
                            12 => Step::Write(v),
                            13 => {
                                if next(2) == 0 {
                                    Step::AtomicAdd(v)
                                } else {
                                    Step::AtomicLoad
                                }
                            }
                            14 => Step::Len(ch),
                            15 => Step::Sleep(1 + next(3)),
                            16 => Step::Now,
                            17 => Step::After(ch, 1 + next(3)),
                            18 => Step::Tick(1 + next(2)),
                            19 => Step::CtxDone(ch),
                            _ => Step::CtxErr,
                        }
                    })
                    .collect()
            })
            .collect();
        Program {
            caps,
            deadline,
            goroutines,
        }
    }

    thread_local! {
        /// What each goroutine of the running schedule saw, in order: the
        /// schedule's outcome. Each goroutine writes only its own slot, so
        /// this state outside goro orders nothing between goroutines.
        static SEEN: RefCell<Vec<Vec<i64>>> = const { RefCell::new(Vec::new()) };
    }

    fn see(slot: usize, v: i64) {
        SEEN.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() <= slot {
                s.resize(slot + 1, Vec::new());
            }
            s[slot].push(v);
        });
    }

    struct World {
        chans: [goro::Chan<i64>; 2],
        mutex: Arc<Mutex<i64>>,
        shared: Arc<goro::Shared<i64>>,
        atomic: Arc<AtomicI64>,
        start: goro::time::Instant,
        ctx: goro::context::Context,
    }

    async fn run_steps(w: Arc<World>, slot: usize, steps: Vec<Step>) {
        for step in steps {
            match step {
                Step::Send(c, v) => {
                    w.chans[c].send(v).await;
                    see(slot, 0);
                }
                Step::Recv(c) => see(slot, w.chans[c].recv().await.unwrap_or(-1)),
                Step::TrySend(c, v) => see(slot, w.chans[c].try_send(v).is_ok() as i64),
                Step::TryRecv(c) => see(slot, w.chans[c].try_recv().unwrap_or(-2)),
                Step::SelectDefault => {
                    let (a, b) = (&w.chans[0], &w.chans[1]);
                    let v = goro::select! {
                        recv(a) -> v => 100 + v.unwrap_or(-1),
                        recv(b) -> v => 200 + v.unwrap_or(-1),
                        default => -3,
                    };
                    see(slot, v);
                }
                Step::SelectBlocking(c, v) => {
                    let (r, s) = (&w.chans[c], &w.chans[1 - c]);
                    let got = goro::select! {
                        recv(r) -> x => 300 + x.unwrap_or(-1),
                        send(s, v) => -4,
                    };
                    see(slot, got);
                }
                Step::Close(c) => {
                    w.chans[c].close();
                    see(slot, -5);
                }
                Step::Lock => {
                    let mut g = w.mutex.lock().await;
                    *g += 1;
                    see(slot, *g);
                }
                Step::TryLock => match w.mutex.try_lock() {
                    Some(mut g) => {
                        *g += 10;
                        see(slot, *g);
                    }
                    None => see(slot, -6),
                },
                Step::Read => see(slot, w.shared.get()),
                Step::Write(v) => {
                    w.shared.set(v);
                    see(slot, -7);
                }
                Step::AtomicAdd(v) => see(slot, w.atomic.add(v)),
                Step::AtomicLoad => see(slot, w.atomic.load()),
                Step::Len(c) => see(slot, w.chans[c].len() as i64),
                Step::Sleep(ms) => {
                    goro::time::sleep(std::time::Duration::from_millis(ms)).await;
                    see(slot, -8);
                }
                Step::Now => see(slot, goro::time::since(w.start).as_millis() as i64),
                Step::After(c, ms) => {
                    let r = &w.chans[c];
                    let timeout = goro::time::after(std::time::Duration::from_millis(ms));
                    let got = goro::select! {
                        recv(r) -> x => 400 + x.unwrap_or(-1),
                        recv(timeout) -> _ => -9,
                    };
                    see(slot, got);
                }
                Step::Tick(ms) => {
                    let ticks = goro::time::tick(std::time::Duration::from_millis(ms));
                    ticks.recv().await;
                    see(slot, goro::time::since(w.start).as_millis() as i64);
                }
                Step::CtxDone(c) => {
                    let (r, done) = (&w.chans[c], w.ctx.done());
                    let got = goro::select! {
                        recv(r) -> x => 500 + x.unwrap_or(-1),
                        recv(done) -> _ => -10,
                    };
                    see(slot, got);
                }
                Step::CtxErr => see(slot, w.ctx.err().is_some() as i64),
            }
        }
        see(slot, 999);
    }

    fn run(p: &Arc<Program>) -> impl std::future::Future<Output = ()> + 'static {
        let p = p.clone();
        async move {
            let background = goro::context::background();
            let (ctx, cancel) = match p.deadline {
                Some(ms) => {
                    goro::context::with_timeout(&background, std::time::Duration::from_millis(ms))
                }
                None => goro::context::with_cancel(&background),
            };
            let w = Arc::new(World {
                chans: [goro::chan(p.caps[0]), goro::chan(p.caps[1])],
                mutex: Arc::new(Mutex::new(0)),
                shared: Arc::new(goro::Shared::new(0)),
                atomic: Arc::new(AtomicI64::new(0)),
                start: goro::time::now(),
                ctx,
            });
            for (slot, steps) in p.goroutines.iter().enumerate().skip(1) {
                goro::go!(run_steps(w.clone(), slot, steps.clone()));
            }
            run_steps(w, 0, p.goroutines[0].clone()).await;
            // Main's return cancels the context: goroutines still running
            // see it done whether or not its deadline passed.
            cancel.cancel();
        }
    }

    /// What a search found: its report, and the outcome of each schedule
    /// (what every goroutine saw), as a set.
    fn search(p: &Arc<Program>, dpor: bool, budget: u32) -> (Report, BTreeSet<Vec<Vec<i64>>>) {
        let outcomes = RefCell::new(BTreeSet::new());
        let started = std::cell::Cell::new(false);
        let flush = || {
            let seen = SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()));
            if started.replace(true) {
                outcomes.borrow_mut().insert(seen);
            }
        };
        let config = Config::default()
            .env(false)
            .shrink(0)
            .schedules(budget)
            .strategy(Strategy::Exhaustive { preemptions: None })
            .dpor(dpor);
        let report = explore(config, || {
            flush();
            run(p)
        });
        flush();
        (report, outcomes.into_inner())
    }

    fn findings(r: &Report) -> BTreeSet<String> {
        r.findings()
            .iter()
            .map(|f| format!("{:?}", f.key()))
            .collect()
    }

    /// Searches the programs of `seeds` fully (up to `budget` schedules)
    /// and with the reduction, and asserts the same findings (kind and
    /// sites), the same set of outcomes (every goroutine's observations)
    /// and never more schedules. Returns how many programs the full search
    /// completed, and the schedules of both.
    fn compare(seeds: std::ops::Range<u64>, budget: u32) -> (u32, u64, u64) {
        compare_programs(seeds.map(|s| (s, generate(s))), budget)
    }

    /// [`compare`] on given programs, each named by a number.
    fn compare_programs(
        programs: impl Iterator<Item = (u64, Program)>,
        budget: u32,
    ) -> (u32, u64, u64) {
        let (mut compared, mut full_total, mut reduced_total) = (0u32, 0u64, 0u64);
        for (seed, p) in programs {
            let p = Arc::new(p);
            let (full, full_outcomes) = search(&p, false, budget);
            let full_v = full.verdict().expect("a verdict");
            if !full_v.complete {
                continue;
            }
            let (reduced, reduced_outcomes) = search(&p, true, budget);
            let v = reduced.verdict().expect("a verdict");
            assert!(v.complete, "seed {seed}: {v}\n{p:?}");
            assert!(
                v.schedules <= full_v.schedules,
                "seed {seed}: {} reduced vs {} full\n{p:?}",
                v.schedules,
                full_v.schedules
            );
            assert_eq!(
                findings(&reduced),
                findings(&full),
                "seed {seed}: findings differ\n{p:?}"
            );
            let missing: Vec<_> = full_outcomes.difference(&reduced_outcomes).collect();
            assert!(
                missing.is_empty(),
                "seed {seed}: outcomes the reduction missed: {missing:?}\n{p:?}"
            );
            assert_eq!(reduced_outcomes, full_outcomes, "seed {seed}\n{p:?}");
            compared += 1;
            full_total += u64::from(full_v.schedules);
            reduced_total += u64::from(v.schedules);
        }
        println!("{compared} programs: {full_total} schedules full, {reduced_total} reduced");
        (compared, full_total, reduced_total)
    }

    /// Many small random programs (main and one to three goroutines, up to
    /// four operations each over two channels, a Mutex, a Shared, an
    /// atomic, `select!` with and without `default`, closes, sleeps,
    /// reads of the clock and timers), each searched
    /// fully and with the reduction. An unsound reduction, one that skips a
    /// schedule no explored one is equivalent to, shows as a missing
    /// outcome or finding: these tests found such holes while the
    /// reduction was built (a panic's step independent of the steps it cut
    /// off; goroutines left able to run at the end chained as if they ran
    /// one after another; a step's footprint taken from one draw of the
    /// `select!` inside it; a sleeping goroutine taken to cover a race
    /// its parked step lost; a firing of a timer whose channel was gone
    /// taken to touch nothing but the clock). A third of the programs
    /// also use `time::after`, `time::tick` and a context's deadline.
    #[test]
    fn reduction_keeps_every_finding_and_outcome_of_random_programs() {
        let (compared, full, reduced) = compare(0..200, 800);
        assert!(compared >= 150, "only {compared} programs completed");
        assert!(
            reduced * 3 < full * 2,
            "{reduced} schedules reduced vs {full} full"
        );
    }

    /// Programs that found holes (shrunk). One: main's `select!` touches
    /// the channel a goroutine parks on with one of its case orders only;
    /// the sleep set of the goroutine's turn must know every object that
    /// step may touch.
    #[test]
    fn reduction_keeps_the_outcomes_of_programs_that_once_broke_it() {
        let select_draw = Program {
            caps: [0, 2],
            deadline: None,
            goroutines: vec![
                vec![Step::TrySend(0, 3), Step::SelectBlocking(0, 9)],
                vec![Step::Send(0, 9)],
            ],
        };
        // The clock's step touches what its firings touch. Here it only
        // wakes a sleeper, which once lost an outcome: the reduction took
        // a goroutine asleep at a choice point (put to sleep before the
        // clock's step, which is independent of it) as covering the
        // reversal of a race of its step that had parked, while that
        // step, run earlier, would not have parked but touched more.
        let clock = Program {
            caps: [1, 2],
            deadline: None,
            goroutines: vec![
                vec![Step::Recv(1)],
                vec![Step::Now, Step::Send(0, 4), Step::TrySend(1, 2)],
                vec![Step::Sleep(3), Step::Send(1, 3)],
                vec![Step::TrySend(0, 1)],
            ],
        };
        // The firing of an `after` whose receiver is gone sends nothing,
        // but reads that the channel is gone: it is dependent with the
        // drop of the receiver (at the end of the `select!` that waited
        // for it), whose order decides which case order of that `select!`
        // still finds the timeout ready.
        let dropped_after = Program {
            caps: [0, 2],
            deadline: Some(1),
            goroutines: vec![
                vec![Step::TrySend(0, 1)],
                vec![Step::CtxErr, Step::SelectDefault, Step::TrySend(0, 2)],
                vec![Step::TryLock, Step::TrySend(1, 2), Step::After(1, 1)],
            ],
        };
        let programs = [(0, select_draw), (1, clock), (2, dropped_after)];
        let (compared, _, _) = compare_programs(programs.into_iter(), 5_000);
        assert_eq!(compared, 3);
    }

    /// The same on more and larger programs (some minutes, unoptimized).
    #[test]
    #[ignore = "slow: thousands of programs, up to 5,000 schedules each"]
    fn reduction_keeps_every_finding_and_outcome_of_many_random_programs() {
        let (compared, full, reduced) = compare(200..2_200, 5_000);
        assert!(compared >= 1_500, "only {compared} programs completed");
        assert!(reduced < full, "{reduced} schedules reduced vs {full} full");
    }
}
