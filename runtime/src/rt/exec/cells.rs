//! The count that keeps an executor alive for its task cells.
//!
//! A task cell's schedule function refers to its executor by address, not
//! by an `Arc` (see `task::ExecRef`): an `Arc` clone per cell was a
//! read-modify-write at each spawn and another at each cell's end, on a
//! line that both workers write. The executor must still outlive every
//! cell, because a waker can outlive its run. So the executor keeps one
//! `Arc` of itself for all its cells (made by `Arc::into_raw` at its start)
//! and a count, [`Cells`]; whoever brings the count to zero drops that
//! `Arc`.
//!
//! The count holds a [`SHARE`] for each worker and one for the `Runtime`,
//! plus the cells made minus the cells dropped. A worker counts the cells
//! made and dropped on it in a plain thread-local (a spawn on one worker
//! and the cell's end on the other write no shared line), adds that to the
//! count when it reaches [`FLUSH_AT`] either way, and with its share when
//! it stops. Cells made or dropped elsewhere update the count directly.
//! While any share is held the count stays above zero: a share is worth
//! more than all the workers' unflushed counts together, and the cells
//! alive are never negative. Once every share is given back the count is
//! exact, and the last cell's end frees the executor.
//!
//! Everything here goes through `super::prims`: `runtime/tests/loom_cells.rs`
//! compiles this file against loom's types and checks it under loom.

use std::ptr::NonNull;

use super::prims::{
    fence, Arc, AtomicI64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

/// A worker's or the `Runtime`'s part of the count: more than any number of
/// workers' unflushed counts (each below [`FLUSH_AT`]) add up to.
pub(super) const SHARE: i64 = 1 << 40;

/// A worker adds its count to the shared one when it gets this far from
/// zero: its unflushed count stays far below a [`SHARE`].
pub(super) const FLUSH_AT: i64 = 1 << 20;

/// Task cells alive plus the shares still held (see the module docs).
pub(super) struct Cells(AtomicI64);

/// What keeps a [`Cells`] and is freed when it reaches zero.
pub(super) trait HasCells {
    fn cells(&self) -> &Cells;
}

impl Cells {
    /// A count holding `shares` shares and no cell.
    pub(super) fn new(shares: usize) -> Cells {
        Cells(AtomicI64::new(SHARE * shares as i64))
    }

    /// `n` more cells, counted by a holder of a cell or a share (so the
    /// count is above zero): nothing to order, as an `Arc` clone.
    pub(super) fn add(&self, n: i64) {
        self.0.fetch_add(n, Relaxed);
    }
}

/// Takes `n` off `owner`'s count, and frees `owner` (drops the `Arc` its
/// count stands for) if that brought it to zero.
///
/// # Safety
///
/// The caller gives back `n` it holds (cells it counted, or a share less
/// the cells its thread counted), and `owner` came from an `Arc` one of
/// whose references the count stands for. Past this call the caller must
/// not use `owner` unless something else keeps it alive.
pub(super) unsafe fn release<T: HasCells>(owner: NonNull<T>, n: i64) {
    // SAFETY: the caller holds `n` of the count, so it is above zero and
    // `owner` alive until this decrement.
    let before = unsafe { owner.as_ref() }.cells().0.fetch_sub(n, Release);
    if before == n {
        // As `Arc`'s drop: every use of `owner` by a holder happened before
        // its decrement, and those happen before this free.
        fence(Acquire);
        // SAFETY: the count reached zero: no holder is left and none can
        // come (only holders make new cells), and the count stood for one
        // reference of `owner`'s `Arc` (the caller's contract).
        drop(unsafe { Arc::from_raw(owner.as_ptr().cast_const()) });
    }
}

/// Gives back a share of `owner`'s count, with the cells its holder counted
/// on its own (`counted`, made minus dropped).
///
/// # Safety
///
/// As [`release`]: the caller holds that share and gives it back once.
pub(super) unsafe fn release_share<T: HasCells>(owner: NonNull<T>, counted: i64) {
    // SAFETY: the caller's contract.
    unsafe { release(owner, SHARE - counted) };
}
