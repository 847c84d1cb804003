//! Each bug of the demo service, shown under the detector. Under a plain
//! `cargo test` these pass (they assert the bug is there); under
//! `cargo race test -p goro-demo` their findings are rendered as
//! diagnostics and the run fails, as CI would.

use std::sync::Arc;
use std::time::Duration;

use goro::race::{explore, Config, FindingKind};
use goro_demo::{cache::Cache, handler, pipeline, pool};

/// Few schedules: the bugs show in the first ones, and `cargo race test
/// --schedules N` raises it.
fn config() -> Config {
    Config::default().schedules(30)
}

#[test]
fn cache_hit_counter_races() {
    let report = explore(config(), || async {
        let cache = Arc::new(Cache::default());
        cache.get("home", |_| "<html>".into());
        let done = goro::chan::<()>(2);
        for _ in 0..2 {
            let (cache, done) = (cache.clone(), done.clone());
            goro::go!("handler", async move {
                cache.get("home", |_| unreachable!("cached"));
                done.send(()).await;
            });
        }
        done.recv().await;
        done.recv().await;
    });
    assert!(report.has(FindingKind::DataRace), "{report}");
}

#[test]
fn worker_pool_closes_results_twice() {
    let report = explore(config(), || async {
        pool::square_all(vec![1, 2, 3, 4], 2).await;
    });
    assert!(report.has(FindingKind::DoubleClose), "{report}");
}

#[test]
fn worker_pool_with_one_worker_is_fine() {
    let report = explore(config(), || async {
        let mut out = pool::square_all(vec![1, 2, 3], 1).await;
        out.sort_unstable();
        assert_eq!(out, [1, 4, 9]);
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn handler_answers_before_its_deadline() {
    // The lost cancel is reported once the detector tracks CancelFuncs
    // (`lost-cancel`); the handler's behaviour is checked here meanwhile.
    let report = explore(config(), || async {
        let name = handler::handle(&goro::context::background(), 7).await;
        assert_eq!(name.as_deref(), Some("user-7"));
    });
    assert!(report.findings().is_empty(), "{report}");
}

#[test]
fn pipeline_leaks_its_producer_on_early_return() {
    let report = explore(config(), || async {
        assert_eq!(pipeline::sum(vec![3, 0, 4]).await, Err(1));
        // Give the producer all the (virtual) time in the world: it is
        // still blocked on its send. The detector reports this as a
        // `goroutine-leak` once leak detection lands.
        goro::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(goro::num_goroutine(), 2, "main and the stuck producer");
    });
    assert!(
        !report.has(FindingKind::Panic),
        "the assertions above held in every schedule: {report}"
    );
}
