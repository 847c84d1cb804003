//! Property test of the detector's WaitGroup funding rule: correct
//! WaitGroup code of every usual shape raises no finding, whatever the
//! schedule, and the one unfunded `done` in it is always found.
//!
//! A program is a few rounds over one WaitGroup (reuse after `wait`); each
//! round starts workers the way Go code does: one `add(n)` then n `go`, or
//! `add(1)` before each `go`, or errgroup-like (a worker that starts a
//! helper adds for it first), with `done` called directly or by a
//! `done_on_drop` guard. The buggy variant starts one worker before its
//! `add`.

use std::sync::Arc;

use goro::race::{explore, Config, FindingKind};
use goro::sync::WaitGroup;
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Start {
    /// `add(n)`, then n goroutines.
    AddN,
    /// `add(1)` before each `go`.
    AddEach,
    /// `add(1); go`, and each worker adds for and starts one helper.
    Nested,
}

#[derive(Debug, Clone)]
struct Round {
    start: Start,
    workers: usize,
    guard: bool,
}

fn round() -> impl Strategy<Value = Round> {
    (
        prop_oneof![Just(Start::AddN), Just(Start::AddEach), Just(Start::Nested)],
        1usize..4,
        any::<bool>(),
    )
        .prop_map(|(start, workers, guard)| Round {
            start,
            workers,
            guard,
        })
}

/// A worker: does its share (a send on a buffered channel, a goro
/// operation where the schedule may switch), then its `done`.
fn worker(wg: WaitGroup, out: goro::Chan<usize>, i: usize, guard: bool, helper: bool) {
    goro::go!(async move {
        let _done = guard.then(|| wg.done_on_drop());
        if helper {
            wg.add(1);
            worker(wg.clone(), out.clone(), i + 100, guard, false);
        }
        out.send(i).await;
        if !guard {
            wg.done();
        }
    });
}

/// Runs `rounds` over one WaitGroup; with `unfunded`, the first round's
/// first worker starts before its `add`.
async fn program(rounds: Arc<Vec<Round>>, unfunded: bool) {
    let wg = WaitGroup::new();
    let out = goro::chan::<usize>(64);
    for (r, round) in rounds.iter().enumerate() {
        let bug = unfunded && r == 0;
        if let Start::AddN = round.start {
            if !bug {
                wg.add(round.workers as isize);
            }
        }
        for i in 0..round.workers {
            let late = bug && i == 0;
            let each = !matches!(round.start, Start::AddN);
            if each && !late {
                wg.add(1);
            }
            let nested = matches!(round.start, Start::Nested);
            worker(wg.clone(), out.clone(), i, round.guard, nested);
            if late {
                // The add that should have come first.
                wg.add(if each { 1 } else { round.workers as isize });
            }
        }
        wg.wait().await;
    }
    drop(out);
}

fn cfg() -> Config {
    Config::default().schedules(20).env(false)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn funded_waitgroups_raise_no_finding(rounds in prop::collection::vec(round(), 1..4)) {
        let rounds = Arc::new(rounds);
        let report = explore(cfg(), move || program(rounds.clone(), false));
        prop_assert!(report.findings().is_empty(), "{}", report);
    }

    #[test]
    fn a_worker_started_before_its_add_is_found(rounds in prop::collection::vec(round(), 1..4)) {
        let rounds = Arc::new(rounds);
        let report = explore(cfg(), move || program(rounds.clone(), true));
        prop_assert!(report.has(FindingKind::WaitGroupMisuse), "{}", report);
        prop_assert!(
            report.findings().iter().all(|f| f.kind == FindingKind::WaitGroupMisuse),
            "{}",
            report
        );
    }
}
