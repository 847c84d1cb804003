//! `select!` against Go's own channel tests (`runtime/chan_test.go`):
//! `TestPseudoRandomSend` (a parked select's cases are completed in random
//! order), `TestSelfSelect` (a select never pairs with itself) and
//! `TestSelectFairness` (the choice among ready cases is uniform), each in
//! production and under the detector, plus a property test that no select
//! ever completes with itself.

use std::sync::{Arc, Mutex};

use goro::race::{explore, Config, FindingKind, Strategy as Sched};
use proptest::prelude::*;

/// The detector's two strategies, each with a fixed base seed so that every
/// test here is deterministic.
const STRATEGIES: [(Sched, u64); 2] = [
    (Sched::Random, 0x005e_1ec7),
    (Sched::Pct { depth: 3 }, 0x005e_1ec8),
];

fn detector(strategy: Sched, seed: u64, schedules: u32) -> Config {
    Config::default()
        .schedules(schedules)
        .seed(seed)
        .strategy(strategy)
        .env(false)
}

// ------------------------------------------------------ TestPseudoRandomSend

/// Go's `TestPseudoRandomSend`: a receiver that yields before each receive,
/// so that the sender's select has usually parked, with both its cases on
/// the one channel, by the time the receiver completes one. Returns the
/// receiver's counts of 0s and 1s.
async fn pseudo_random_send(n: u32) -> (u32, u32) {
    let c = goro::chan::<u32>(0);
    let rx = c.clone();
    let counts = goro::spawn(async move {
        let (mut zeros, mut ones) = (0, 0);
        for _ in 0..n {
            goro::yield_now().await;
            match rx.recv().await {
                Some(0) => zeros += 1,
                Some(_) => ones += 1,
                None => unreachable!("never closed"),
            }
        }
        (zeros, ones)
    });
    for _ in 0..n {
        goro::select! {
            send(c, 1) => {},
            send(c, 0) => {},
        }
    }
    counts.await
}

#[test]
fn pseudo_random_send_in_production() {
    let n = 4000;
    let (zeros, ones) = goro::run(pseudo_random_send(n));
    assert_eq!(zeros + ones, n);
    // Binomial(4000, 1/2): sd 32, so 1600 is 12 standard deviations out.
    assert!(
        zeros >= 1600 && ones >= 1600,
        "zeros={zeros} ones={ones}: a parked select's cases are not completed at random"
    );
}

#[test]
fn pseudo_random_send_under_the_detector() {
    for (strategy, seed) in STRATEGIES {
        let counts = Arc::new(Mutex::new(Vec::new()));
        let out = counts.clone();
        let report = explore(detector(strategy, seed, 20), move || {
            let out = out.clone();
            async move {
                let c = pseudo_random_send(100).await;
                out.lock().unwrap().push(c);
            }
        });
        assert!(report.findings().is_empty(), "{strategy}: {report}");
        let counts = counts.lock().unwrap();
        assert_eq!(counts.len(), 20);
        for &(zeros, ones) in counts.iter() {
            // Binomial(100, 1/2): 20 is 6 standard deviations out.
            assert!(
                zeros >= 20 && ones >= 20,
                "{strategy}: zeros={zeros} ones={ones} in {counts:?}"
            );
        }
    }
}

// ------------------------------------------------------------ TestSelfSelect

/// Go's `TestSelfSelect`: two goroutines loop over a select with a send and
/// a receive on one channel. On an unbuffered channel a goroutine must never
/// receive its own value: nobody else ever took it.
async fn self_select(cap: usize, iterations: u32) {
    let c = goro::chan::<u32>(cap);
    let wg = goro::sync::WaitGroup::new();
    for p in 0..2u32 {
        wg.add(1);
        let (c, wg) = (c.clone(), wg.clone());
        goro::go!("selfselect", async move {
            for i in 0..iterations {
                // Go alternates the textual order of the cases too.
                let got = if p == 0 || i % 2 == 0 {
                    goro::select! {
                        send(c, p) => None,
                        recv(c) -> v => v,
                    }
                } else {
                    goro::select! {
                        recv(c) -> v => v,
                        send(c, p) => None,
                    }
                };
                if cap == 0 {
                    assert_ne!(got, Some(p), "self receive");
                }
            }
            wg.done();
        });
    }
    wg.wait().await;
}

#[test]
fn self_select_in_production() {
    for cap in [0, 10] {
        goro::run(self_select(cap, 1000));
    }
}

#[test]
fn self_select_under_the_detector() {
    for (strategy, seed) in STRATEGIES {
        for cap in [0, 10] {
            let report = explore(detector(strategy, seed, 200), move || self_select(cap, 20));
            assert!(
                report.findings().is_empty(),
                "{strategy}, cap {cap}: {report}"
            );
        }
    }
}

// -------------------------------------------------------- TestSelectFairness

/// Pearson's chi-square statistic of `counts` against a uniform spread.
fn chi_square(counts: &[u32]) -> f64 {
    let total: u32 = counts.iter().sum();
    let expected = f64::from(total) / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum()
}

/// `trials` selects over three always-ready channels, in one goroutine:
/// how often each case was chosen.
async fn ready_choices(trials: u32) -> [u32; 3] {
    let chans = [
        goro::chan::<()>(1),
        goro::chan::<()>(1),
        goro::chan::<()>(1),
    ];
    for c in &chans {
        c.try_send(()).unwrap();
    }
    let [a, b, c] = &chans;
    let mut n = [0u32; 3];
    for _ in 0..trials {
        let i = goro::select! {
            recv(a) => 0,
            recv(b) => 1,
            recv(c) => 2,
        };
        n[i] += 1;
        chans[i].try_send(()).unwrap();
    }
    n
}

/// Under the detector the choice among ready cases is uniform for every
/// seed's random stream: summed over 200 schedules of 90 selects each, the
/// chi-square statistic (400 degrees of freedom: mean 400, sd 28) stays far
/// below 600, and no single schedule strays beyond what a fair die does
/// once in 10^6 schedules.
#[test]
fn selects_choose_ready_cases_uniformly_under_the_detector() {
    for (strategy, seed) in STRATEGIES {
        let counts = Arc::new(Mutex::new(Vec::new()));
        let out = counts.clone();
        let report = explore(detector(strategy, seed, 200), move || {
            let out = out.clone();
            async move {
                // In a goroutine of its own as well as in main: the choice
                // must not depend on who makes it.
                let n = goro::spawn(ready_choices(90)).await;
                out.lock().unwrap().push(n);
            }
        });
        assert!(report.findings().is_empty(), "{strategy}: {report}");
        let counts = counts.lock().unwrap();
        assert_eq!(counts.len(), 200);
        let total: f64 = counts.iter().map(|n| chi_square(n)).sum();
        assert!(
            total < 600.0,
            "{strategy}: chi-square {total} over 200 schedules"
        );
        for n in counts.iter() {
            // Chi-square with 2 degrees of freedom exceeds 28 with
            // probability e^-14 < 10^-6.
            assert!(chi_square(n) < 28.0, "{strategy}: one schedule chose {n:?}");
        }
    }
}

/// A parked select whose cases share a channel: the partner that arrives
/// later completes each of them equally often, under the detector too.
#[test]
fn parked_selects_are_fair_under_the_detector() {
    for (strategy, seed) in STRATEGIES {
        let counts = Arc::new(Mutex::new(Vec::new()));
        let out = counts.clone();
        let report = explore(detector(strategy, seed, 200), move || {
            let out = out.clone();
            async move {
                let c = goro::chan::<usize>(0);
                let tx = c.clone();
                goro::go!(async move {
                    for _ in 0..90 {
                        goro::select! {
                            send(tx, 0) => {},
                            send(tx, 1) => {},
                            send(tx, 2) => {},
                        }
                    }
                });
                let mut n = [0u32; 3];
                for _ in 0..90 {
                    goro::yield_now().await;
                    n[c.recv().await.unwrap()] += 1;
                }
                out.lock().unwrap().push(n);
            }
        });
        assert!(report.findings().is_empty(), "{strategy}: {report}");
        let counts = counts.lock().unwrap();
        let total: f64 = counts.iter().map(|n| chi_square(n)).sum();
        assert!(
            total < 600.0,
            "{strategy}: chi-square {total} over 200 schedules"
        );
        for n in counts.iter() {
            assert!(chi_square(n) < 28.0, "{strategy}: one schedule chose {n:?}");
        }
    }
}

// ------------------------------------------------- no select pairs with itself

/// One case of a generated select: a send or a receive on channel `ch`.
#[derive(Clone, Copy, Debug)]
enum Case {
    Send(usize),
    Recv(usize),
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        (0..2usize).prop_map(Case::Send),
        (0..2usize).prop_map(Case::Recv)
    ]
}

/// A value tagged with the select that sent it: `(goroutine, round)`.
type Tag = (u32, u32);

/// Runs the select of goroutine `g`, round `round`, over `cases` (up to
/// four) on `chans`; returns what a receive case got, if one committed.
async fn generated_select(
    chans: &[goro::Chan<Tag>],
    cases: &[Case],
    g: u32,
    round: u32,
) -> Option<Tag> {
    let me = (g, round);
    // A case beyond `cases.len()` is a receive on a channel nobody uses.
    let idle = goro::chan::<Tag>(0);
    let pick = |i: usize| cases.get(i).copied();
    let ch = |c: Option<Case>| match c {
        Some(Case::Send(k) | Case::Recv(k)) => &chans[k],
        None => &idle,
    };
    let sends = |c: Option<Case>| matches!(c, Some(Case::Send(_)));
    let (c0, c1, c2, c3) = (pick(0), pick(1), pick(2), pick(3));
    // Every case is written both ways; the one that does not apply waits on
    // `idle`, which never becomes ready.
    macro_rules! arm_ch {
        ($c:expr, $send:expr) => {
            if sends($c) == $send {
                ch($c)
            } else {
                &idle
            }
        };
    }
    goro::select! {
        send(arm_ch!(c0, true), me) => None,
        recv(arm_ch!(c0, false)) -> v => v,
        send(arm_ch!(c1, true), me) => None,
        recv(arm_ch!(c1, false)) -> v => v,
        send(arm_ch!(c2, true), me) => None,
        recv(arm_ch!(c2, false)) -> v => v,
        send(arm_ch!(c3, true), me) => None,
        recv(arm_ch!(c3, false)) -> v => v,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// For any mix of send and receive cases on two shared channels, looped
    /// over by two goroutines as in `TestSelfSelect`, no select ever
    /// receives its own send, over 8,000 schedules (125 per generated
    /// program). On unbuffered channels no goroutine ever receives a value
    /// it sent, in any round: each went to the other goroutine.
    #[test]
    fn no_select_ever_completes_with_itself(
        programs in proptest::collection::vec(proptest::collection::vec(case(), 1..=4), 2),
        cap in 0..=1usize,
        pct in any::<bool>(),
    ) {
        let strategy = if pct { Sched::Pct { depth: 3 } } else { Sched::Random };
        let programs = Arc::new(programs);
        let report = explore(detector(strategy, 17, 125), move || {
            let programs = programs.clone();
            async move {
                let chans: Arc<Vec<goro::Chan<Tag>>> =
                    Arc::new((0..2).map(|_| goro::chan(cap)).collect());
                for g in 0..2 {
                    let (chans, programs) = (chans.clone(), programs.clone());
                    goro::go!("gen", async move {
                        for round in 0..16 {
                            let cases = &programs[g as usize];
                            let got = generated_select(&chans, cases, g, round).await;
                            assert_ne!(got, Some((g, round)), "a select received its own send");
                            if cap == 0 {
                                assert_ne!(got.map(|t| t.0), Some(g), "self receive in round {round}");
                            }
                        }
                    });
                }
                // The goroutines may stay blocked (a program of two sends
                // does): the check is the assertions, not termination.
                goro::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        prop_assert!(!report.has(FindingKind::Panic), "{}", report);
    }
}

/// Known gap, not yet fixed: with three goroutines, two receivers handed
/// values on one unbuffered channel at once take them in the order they
/// run, not the order they were handed them (the values in flight are not
/// bound to their receivers), so a goroutine can receive the value its own
/// previous select sent. Go never lets that happen. Binding each value to
/// its receiver fixes this one but breaks a guarantee `tests/chan.rs`
/// checks under cancellation (a value freed by a dropped receiver can then
/// reach a consumer after a later value of the same producer), so it needs
/// a design of its own.
#[test]
#[ignore = "known gap: in-flight values of an unbuffered channel are not bound to their receivers"]
fn three_goroutines_never_receive_their_own_unbuffered_send() {
    let report = explore(detector(Sched::Random, 17, 500), || async {
        let c = goro::chan::<u32>(0);
        let (tx, both, rx) = (c.clone(), c.clone(), c.clone());
        goro::go!(async move {
            for _ in 0..16 {
                tx.send(0).await;
            }
        });
        goro::go!(async move {
            for _ in 0..16 {
                let got = goro::select! {
                    send(both, 1) => None,
                    recv(both) -> v => v,
                };
                assert_ne!(got, Some(1), "self receive");
            }
        });
        goro::go!(async move {
            for _ in 0..16 {
                rx.recv().await;
            }
        });
        goro::time::sleep(std::time::Duration::from_secs(1)).await;
    });
    assert!(!report.has(FindingKind::Panic), "{report}");
}
