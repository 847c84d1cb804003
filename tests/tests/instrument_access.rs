//! `#[goro::instrument]` on functions, impl blocks and modules: tracked
//! `static mut` and raw-pointer accesses with their spans, call chains in
//! findings, and expansions that keep the code's meaning.
//!
//! Runs under `goro::race::explore` in plain `#[test]`s, so the findings can
//! be inspected (an instrumented test would fail on them).

use goro::race::{explore, Config, Finding, FindingKind, Report};

/// The 1-based line of this file holding `marker`, and the column where
/// `at` starts on it: the expected site of an access.
fn site_of(marker: &str, at: &str) -> (u32, u32) {
    let src = include_str!("instrument_access.rs");
    for (i, line) in src.lines().enumerate() {
        if line.contains(marker) && !line.contains("site_of(") {
            let col = line.find(at).unwrap_or_else(|| panic!("`{at}` on {line}"));
            return (i as u32 + 1, col as u32 + 1);
        }
    }
    panic!("no line with {marker}")
}

fn config() -> Config {
    Config::default().schedules(30).seed(1).env(false)
}

fn races(report: &Report) -> Vec<&Finding> {
    report
        .findings()
        .iter()
        .filter(|f| f.kind == FindingKind::DataRace)
        .collect()
}

/// Sends a raw pointer to another goroutine (the tests are racy on purpose).
struct SendPtr<T>(*mut T);

impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so that closures capture the `Send` wrapper
    /// rather than its field).
    fn get(self) -> *mut T {
        self.0
    }
}
// SAFETY: the pointees outlive every goroutine of the exploration (they are
// leaked), and the races on them are what the tests look for.
unsafe impl<T> Send for SendPtr<T> {}

fn leak<T>(v: T) -> SendPtr<T> {
    SendPtr(Box::into_raw(Box::new(v)))
}

#[goro::instrument]
mod counter {
    pub static mut HITS: u64 = 0;
    pub static mut PAIR: (u64, u64) = (0, 0);

    pub fn hit() {
        // SAFETY: racy on purpose.
        unsafe { HITS += 1 } // ACCESS: static-compound
    }

    pub fn read() -> u64 {
        // SAFETY: racy on purpose.
        unsafe { HITS } // ACCESS: static-read
    }

    pub fn set_first(v: u64) {
        // SAFETY: racy on purpose.
        unsafe { PAIR.0 = v }
    }

    pub fn set_second(v: u64) {
        // SAFETY: racy on purpose.
        unsafe { PAIR.1 = v }
    }

    pub fn shadowed() -> u64 {
        // An item named like a module static, declared in the body, shadows
        // it: not tracked (its address could not even be taken).
        const PAIR: u64 = 5;
        // SAFETY: no unsafe operation; the block mirrors the others.
        #[allow(unused_unsafe)]
        unsafe {
            PAIR
        }
    }
}

#[test]
fn race_through_static_mut_is_found_at_the_access() {
    let report = explore(config(), || async {
        let a = goro::spawn(async { counter::hit() });
        let b = goro::spawn(async { counter::hit() });
        a.await;
        b.await;
    });
    let races = races(&report);
    assert_eq!(races.len(), 1, "{report}");
    let race = races[0];
    let (line, column) = site_of("ACCESS: static-compound", "HITS");
    for site in std::iter::once(&race.primary).chain(&race.related) {
        assert!(site.file.ends_with("instrument_access.rs"), "{}", site.file);
        assert_eq!((site.line, site.column), (line, column), "{report}");
    }
    assert!(race.message.contains("u64"), "{}", race.message);
}

#[test]
fn static_read_races_with_write_but_reads_do_not_race() {
    let report = explore(config(), || async {
        let a = goro::spawn(async { counter::read() });
        let b = goro::spawn(async { counter::read() });
        a.await;
        b.await;
    });
    assert!(races(&report).is_empty(), "{report}");

    let report = explore(config(), || async {
        let a = goro::spawn(async { counter::read() });
        let b = goro::spawn(async { counter::hit() });
        a.await;
        b.await;
    });
    let races = races(&report);
    assert_eq!(races.len(), 1, "{report}");
    let lines: Vec<u32> = std::iter::once(&races[0].primary)
        .chain(&races[0].related)
        .map(|s| s.line)
        .collect();
    assert!(
        lines.contains(&site_of("ACCESS: static-read", "HITS").0),
        "{report}"
    );
    assert!(
        lines.contains(&site_of("ACCESS: static-compound", "HITS").0),
        "{report}"
    );
}

#[test]
fn distinct_fields_of_a_static_do_not_race() {
    let report = explore(config(), || async {
        let a = goro::spawn(async { counter::set_first(1) });
        let b = goro::spawn(async { counter::set_second(2) });
        a.await;
        b.await;
    });
    assert!(races(&report).is_empty(), "{report}");
    assert_eq!(counter::shadowed(), 5);
}

struct Node {
    value: u64,
    other: u64,
}

#[goro::instrument]
fn write_value(p: *mut Node, v: u64) {
    // SAFETY: p is a live, leaked Node; racy on purpose.
    unsafe { (*p).value = v } // ACCESS: raw-field-write
}

#[goro::instrument]
fn write_other(p: *mut Node, v: u64) {
    // SAFETY: as above.
    unsafe { (*p).other = v }
}

#[goro::instrument]
fn read_through(p: *const u64) -> u64 {
    // SAFETY: p is live; racy on purpose.
    unsafe { *p } // ACCESS: raw-read
}

#[goro::instrument]
fn add_through(p: *mut u64) {
    // SAFETY: p is live; racy on purpose.
    unsafe { *p += 1 }
}

#[test]
fn race_through_raw_pointer_is_found_at_the_deref() {
    let report = explore(config(), || async {
        let p = leak(0u64);
        let a = goro::spawn(async move { read_through(p.get()) });
        let b = goro::spawn(async move { add_through(p.get()) });
        a.await;
        b.await;
    });
    let races = races(&report);
    assert_eq!(races.len(), 1, "{report}");
    let (line, column) = site_of("ACCESS: raw-read", "*p");
    let read = std::iter::once(&races[0].primary)
        .chain(&races[0].related)
        .find(|s| s.line == line)
        .unwrap_or_else(|| panic!("no site at line {line}: {report}"));
    assert_eq!(read.column, column);
    assert_eq!(read.op, "read");
}

#[test]
fn raw_pointer_fields_race_only_with_the_same_field() {
    let report = explore(config(), || async {
        let p = leak(Node { value: 0, other: 0 });
        let a = goro::spawn(async move { write_value(p.get(), 1) });
        let b = goro::spawn(async move { write_other(p.get(), 2) });
        a.await;
        b.await;
    });
    assert!(races(&report).is_empty(), "{report}");

    let report = explore(config(), || async {
        let p = leak(Node { value: 0, other: 0 });
        let a = goro::spawn(async move { write_value(p.get(), 1) });
        let b = goro::spawn(async move { write_value(p.get(), 2) });
        a.await;
        b.await;
    });
    let races = races(&report);
    assert_eq!(races.len(), 1, "{report}");
    let (line, column) = site_of("ACCESS: raw-field-write", "(*p)");
    assert_eq!(
        (races[0].primary.line, races[0].primary.column),
        (line, column)
    );
    assert_eq!(races[0].primary.op, "write");
}

#[goro::instrument]
async fn store_received(p: SendPtr<u64>, ch: goro::Chan<u64>) {
    // SAFETY: p is live; the write is ordered after the sender's by the
    // channel, and is recorded only once the value has been received.
    unsafe { *p.get() = ch.recv().await.unwrap() }
}

#[test]
fn a_write_is_recorded_after_its_value_is_computed() {
    let report = explore(config(), || async {
        let p = leak(0u64);
        let ch = goro::chan(0);
        let tx = ch.clone();
        let a = goro::spawn(async move {
            // SAFETY: p is live; ordered before the send.
            unsafe { *p.get() = 1 };
            tx.send(2).await;
        });
        let b = goro::spawn(store_received(p, ch));
        a.await;
        b.await;
    });
    assert!(races(&report).is_empty(), "{report}");
}

struct Counter {
    n: *mut u64,
}

// SAFETY: the tests share the counter on purpose.
unsafe impl Send for Counter {}
// SAFETY: as above.
unsafe impl Sync for Counter {}

#[goro::instrument]
impl Counter {
    fn add(&self) {
        // SAFETY: n is live; racy on purpose.
        unsafe { *self.n += 1 }
    }

    fn add_via(&self) {
        self.add();
    }
}

#[goro::instrument]
async fn outer(c: std::sync::Arc<Counter>) {
    goro::yield_now().await;
    middle(&c);
}

#[goro::instrument]
fn middle(c: &Counter) {
    c.add_via();
}

#[test]
fn findings_carry_the_chain_of_instrumented_calls() {
    let report = explore(config(), || async {
        let c = std::sync::Arc::new(Counter { n: leak(0u64).0 });
        let a = goro::spawn(outer(c.clone()));
        let b = goro::spawn(outer(c));
        a.await;
        b.await;
    });
    let races = races(&report);
    assert_eq!(races.len(), 1, "{report}");
    for site in std::iter::once(&races[0].primary).chain(&races[0].related) {
        let chain: Vec<&str> = site.frames.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(
            chain,
            [
                "instrument_access::outer",
                "instrument_access::middle",
                "instrument_access::Counter::add_via",
                "instrument_access::Counter::add",
            ],
            "{report}"
        );
        let add = site.frames.last().unwrap();
        let (line, column) = site_of("fn add(&self)", "add");
        assert_eq!((add.line, add.column), (line, column));
        assert!(add.file.ends_with("instrument_access.rs"));
    }
}

static MARK: u8 = 0;

#[test]
fn frames_are_popped_on_return() {
    let report = explore(config(), || async {
        let c = Counter { n: leak(0u64).0 };
        middle(&c);
        let a = goro::spawn(async { goro::race::write(&MARK) });
        goro::race::write(&MARK);
        a.await;
    });
    let races = races(&report);
    assert_eq!(races.len(), 1, "{report}");
    // main's frames from `middle` were popped when it returned.
    for site in std::iter::once(&races[0].primary).chain(&races[0].related) {
        assert!(site.frames.is_empty(), "{report}");
    }
}

fn next(i: &mut usize) -> usize {
    *i += 1;
    *i
}

#[goro::instrument]
fn expansions_keep_meaning() {
    let mut buf = [0u64; 4];
    let p = buf.as_mut_ptr();
    let mut calls = 0;
    // SAFETY: every index is within buf.
    unsafe {
        // An rvalue operand is evaluated once.
        *p.add(next(&mut calls)) = 7;
        assert_eq!(calls, 1);
        assert_eq!(*p.add(1), 7);
        // Inference through the written value is kept.
        *p = Default::default();
        *p.add(2) += 3;
        let f: *mut fn(u64) -> u64 = &mut ((|x| x) as fn(u64) -> u64);
        *f = |x| x + 1;
        assert_eq!((*f)(1), 2);
        // Places stay places: borrows, method receivers, comparisons,
        // `let ref`, `if let`, `match`.
        let r = &mut *p.add(3);
        *r = 9;
        assert!(*p.add(3) == 9 && *p.add(2) > 2);
        // `let ref` on purpose: the initializer must stay a place.
        #[allow(clippy::toplevel_ref_arg)]
        let ref q = *p.add(3);
        assert_eq!(*q, 9);
        let s: *mut String = &mut String::from("a");
        (*s).push('b');
        assert_eq!((&*s).len(), 2);
        assert!(*s == "ab");
        let o: *mut Option<String> = &mut Some(String::from("x"));
        if let Some(v) = &mut *o {
            v.push('y');
        }
        match *o {
            Some(ref v) => assert_eq!(v, "xy"),
            None => unreachable!(),
        }
        // Derefs of references and boxes are left as they are.
        let mut local = 1u64;
        let m = &mut local;
        *m += 1;
        *m += 1;
        let b = Box::new(String::from("boxed"));
        let moved: String = *b;
        assert_eq!(moved, "boxed");
        assert_eq!(local, 3);
    }
    assert_eq!(buf, [0, 7, 3, 9]);
}

#[test]
fn instrumented_code_behaves_the_same() {
    // Without a detector (what goro-bench's `instrument` workload times),
    // frames and probes change nothing.
    assert!(!goro::race::enabled());
    expansions_keep_meaning();
    let report = explore(config(), || async { expansions_keep_meaning() });
    assert!(report.findings().is_empty(), "{report}");
}
