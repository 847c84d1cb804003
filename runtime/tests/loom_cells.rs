//! Loom model of the count that keeps goro's production executor alive for
//! its task cells (`runtime/src/rt/exec/cells.rs`), on the real code.
//!
//! `cells.rs` is compiled here, as a module of this test, against the
//! `prims` shim below (loom's `Arc`, `AtomicI64` and `fence` under the
//! names it imports from its sibling `prims` module in the crate). No
//! `--cfg loom` rebuild: plain `cargo test -p goro --test loom_cells`.
//!
//! The model's executor, [`Exec`], counts its drops and the cells alive
//! outside itself; two workers (each with a share and a thread-local count
//! of its own, as `worker.rs` keeps it), the `Runtime` (a share) and a
//! thread that is not a worker make and drop cells in every order loom
//! finds. The properties: the executor is freed exactly once, only after
//! every cell is gone, and never while a holder still reads it (loom's
//! `Arc` reports a leak, and a use after the free reads `freed`).
//!
//! Checked to fail on a seeded bug, by hand, then reverted: a share worth
//! less than the workers' unflushed counts (`SHARE` at 1) frees the
//! executor while a worker still uses it (the test process aborts on the
//! freed memory). The `Acquire` fence of `release` is not shown needed by
//! these models (loom's `Arc` orders its own free).

use std::ptr::NonNull;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;

/// The real count.
#[allow(dead_code)]
#[path = "../src/rt/exec/cells.rs"]
mod cells;

/// loom's types under the names `cells.rs` imports.
mod prims {
    pub(crate) use loom::sync::atomic::{fence, AtomicI64, Ordering};
    pub(crate) use loom::sync::Arc;
}

use cells::{Cells, HasCells};
use prims::Arc;

/// What the model checks about the executor, kept outside it.
struct Stats {
    /// Cells alive: made minus dropped.
    live: AtomicUsize,
    /// Times the executor was dropped.
    drops: AtomicUsize,
    freed: AtomicBool,
}

/// The model's executor: its count, and a drop that records itself.
struct Exec {
    cells: Cells,
    stats: std::sync::Arc<Stats>,
}

impl HasCells for Exec {
    fn cells(&self) -> &Cells {
        &self.cells
    }
}

impl Drop for Exec {
    fn drop(&mut self) {
        assert_eq!(
            self.stats.live.load(SeqCst),
            0,
            "freed while cells are alive"
        );
        self.stats.drops.fetch_add(1, SeqCst);
        self.stats.freed.store(true, SeqCst);
    }
}

/// An `Exec` address that moves between the model's threads.
#[derive(Clone, Copy)]
struct Ptr(NonNull<Exec>);
// SAFETY: only ever read through `&Exec`, which is `Sync`.
unsafe impl Send for Ptr {}

impl Ptr {
    /// Reads the executor as a cell's schedule function does.
    fn touch(self) {
        // SAFETY: the caller holds a cell or a share: the executor is alive.
        let e = unsafe { self.0.as_ref() };
        assert!(!e.stats.freed.load(SeqCst), "used after the free");
    }
}

/// A worker's thread-local count, as `worker::count_cell` and
/// `worker::uncount_cell` keep it (the model never reaches `FLUSH_AT`).
struct Worker {
    exec: Ptr,
    counted: i64,
}

impl Worker {
    fn make(&mut self, stats: &Stats) {
        self.exec.touch();
        stats.live.fetch_add(1, SeqCst);
        self.counted += 1;
    }

    fn drop_cell(&mut self, stats: &Stats) {
        self.exec.touch();
        stats.live.fetch_sub(1, SeqCst);
        self.counted -= 1;
    }

    /// The worker stops: its share goes back with its count (`Exit::drop`).
    fn stop(self) {
        self.exec.touch();
        // SAFETY: the worker's share, given back once.
        unsafe { cells::release_share(self.exec.0, self.counted) };
    }
}

/// Starts an executor with `shares` shares, as `Runtime::start` does.
fn start(shares: usize) -> (Ptr, std::sync::Arc<Stats>) {
    let stats = std::sync::Arc::new(Stats {
        live: AtomicUsize::new(0),
        drops: AtomicUsize::new(0),
        freed: AtomicBool::new(false),
    });
    let exec = Arc::new(Exec {
        cells: Cells::new(shares),
        stats: stats.clone(),
    });
    let raw = Arc::into_raw(exec);
    (Ptr(NonNull::new(raw.cast_mut()).unwrap()), stats)
}

/// A cell made off the workers (`Cells::add`), dropped off them
/// (`cells::release`).
fn make_shared(exec: Ptr, stats: &Stats) {
    exec.touch();
    stats.live.fetch_add(1, SeqCst);
    // SAFETY: the caller holds a share or a cell.
    unsafe { exec.0.as_ref() }.cells().add(1);
}

fn drop_shared(exec: Ptr, stats: &Stats) {
    exec.touch();
    stats.live.fetch_sub(1, SeqCst);
    // SAFETY: one cell given back, once.
    unsafe { cells::release(exec.0, 1) };
}

/// Cells made on one worker and ended on the other (a spawn storm), one
/// made off the workers and ended on a worker, and every share given back
/// in any order: freed once, after the last cell.
#[test]
fn cells_made_on_one_worker_and_ended_on_another() {
    loom::model(|| {
        let (exec, stats) = start(3);
        // Worker A makes two cells and hands them to worker B; the run's
        // thread makes one that B ends too.
        let (tx, rx) = loom::sync::mpsc::channel::<()>();
        let s1 = stats.clone();
        let a = thread::spawn(move || {
            let mut w = Worker { exec, counted: 0 };
            w.make(&s1);
            tx.send(()).unwrap();
            w.make(&s1);
            tx.send(()).unwrap();
            w.stop();
        });
        make_shared(exec, &stats);
        let s2 = stats.clone();
        let b = thread::spawn(move || {
            let mut w = Worker { exec, counted: 0 };
            rx.recv().unwrap();
            w.drop_cell(&s2);
            rx.recv().unwrap();
            w.drop_cell(&s2);
            // The run thread's cell, ended here.
            w.drop_cell(&s2);
            w.stop();
        });
        // The `Runtime`'s share, given back at the end of `shutdown`.
        // SAFETY: the `Runtime`'s share, once.
        unsafe { cells::release_share(exec.0, 0) };
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(stats.drops.load(SeqCst), 1);
        assert_eq!(stats.live.load(SeqCst), 0);
    });
}

/// A cell that outlives the run (a stale waker's): the workers and the
/// `Runtime` give their shares back first, and the cell's end, on a thread
/// that is no worker, frees the executor.
#[test]
fn a_cell_that_outlives_the_run_frees_the_executor() {
    loom::model(|| {
        let (exec, stats) = start(2);
        let s1 = stats.clone();
        let a = thread::spawn(move || {
            let mut w = Worker { exec, counted: 0 };
            w.make(&s1);
            w.stop();
        });
        a.join().unwrap();
        let s2 = stats.clone();
        let late = thread::spawn(move || drop_shared(exec, &s2));
        // SAFETY: the `Runtime`'s share, once.
        unsafe { cells::release_share(exec.0, 0) };
        late.join().unwrap();
        assert_eq!(stats.drops.load(SeqCst), 1);
    });
}
