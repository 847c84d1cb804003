//! The task cell and the run's task registry.
//!
//! A goroutine is one `async_task` allocation: its future, its state word
//! and its waker's vtable in one cell. The [`Task`] handle of every live
//! goroutine is kept so that the end of the run can drop goroutines that
//! are still parked (Go's end of program; a parked future may be reachable
//! only from its own channel, which nobody will wake): in the goroutine's
//! census entry when it has one (every goroutine of a `goro::run`; see
//! `rt::asleep::TaskHome`), else in this module's sharded registry.

use std::future::Future;
use std::ptr::NonNull;

use async_task::{Runnable, ScheduleInfo, Task, WithInfo};
use crossbeam_utils::CachePadded;
use parking_lot::Mutex;

use super::{cells, worker, Shared};
use crate::rt::asleep::TaskHome;

/// A task cell's reference to its executor, held by its schedule function.
///
/// By address: an `Arc` clone per cell was a read-modify-write at every
/// spawn and another at every cell's end, on one line that both workers
/// write. The executor stays alive while any cell does: each `ExecRef` is
/// counted in [`Shared::cells`] (on the worker that makes or drops it,
/// without a shared write; see [`cells`]).
struct ExecRef(NonNull<Shared>);

// SAFETY: an `ExecRef` is a shared reference to a `Shared` (which is
// `Sync`) in effect: it only ever gives out `&Shared`.
unsafe impl Send for ExecRef {}
// SAFETY: as above.
unsafe impl Sync for ExecRef {}

impl ExecRef {
    /// A reference for a new cell of `shared`, counted.
    #[inline]
    fn new(shared: &Shared) -> ExecRef {
        worker::count_cell(shared);
        ExecRef(NonNull::from(shared))
    }

    #[inline]
    fn get(&self) -> &Shared {
        // SAFETY: this reference is counted in `cells` until it is dropped,
        // and the executor is not freed while the count is above zero.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for ExecRef {
    fn drop(&mut self) {
        if !worker::uncount_cell(self.0) {
            // SAFETY: this reference was counted (it is given back once,
            // here), and only the address is used past the decrement.
            unsafe { cells::release(self.0, 1) };
        }
    }
}

const SHARDS: usize = 16;

/// One shard: a slab of tasks (with their goroutine ids) and its free
/// indexes. A goroutine knows its index, so its removal neither hashes nor
/// searches, and a slot is reused by the next spawn instead of a hash table
/// growing and rehashing through a spawn storm.
#[derive(Default)]
struct Shard {
    tasks: Vec<Option<(u64, Task<()>)>>,
    free: Vec<usize>,
}

/// The `Task` handle of every goroutine that has not finished.
pub(super) struct Registry {
    /// A cache line each (see the census's shards).
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

impl Registry {
    pub(super) fn new() -> Self {
        Registry {
            shards: (0..SHARDS)
                .map(|_| CachePadded::new(Mutex::new(Shard::default())))
                .collect(),
        }
    }

    /// Takes goroutine `id`'s handle out of slot `index` of shard `shard`
    /// (gone already if the run's end cancelled it).
    fn remove(&self, shard: usize, index: usize, id: u64) -> Option<Task<()>> {
        let mut sh = self.shards[shard].lock();
        let slot = sh.tasks.get_mut(index)?;
        if !matches!(slot, Some((i, _)) if *i == id) {
            return None;
        }
        let t = slot.take().map(|(_, t)| t);
        sh.free.push(index);
        t
    }

    /// Drops every registered task: each is cancelled, and its future is
    /// dropped through the schedule function (see `Shared::schedule`).
    /// Returns whether there was any.
    pub(super) fn cancel_all(&self) -> bool {
        let mut any = false;
        for s in self.shards.iter() {
            let tasks = std::mem::take(&mut *s.lock()).tasks;
            any |= tasks.iter().any(Option::is_some);
            // Dropped outside the lock: cancelling schedules the task.
            drop(tasks);
        }
        any
    }
}

/// Starts `fut` as goroutine `id` on the executor `shared`; its task handle
/// goes to `home` (its census entry) if it has one, else to the registry.
#[inline(always)]
pub(super) fn spawn<F>(shared: &Shared, id: u64, fut: F, home: Option<TaskHome>)
where
    F: Future<Output = ()> + Send + 'static,
{
    if shared.is_shut_down() {
        // A drop at the end of the run started a goroutine: Go's program
        // has ended, nothing runs any more.
        return;
    }
    if let Some(home) = home {
        let for_schedule = ExecRef::new(shared);
        let (runnable, task) = async_task::spawn(
            fut,
            WithInfo(move |r: Runnable, info: ScheduleInfo| {
                for_schedule.get().schedule(r, info.woken_while_running)
            }),
        );
        // Kept before it can run, so that its end finds it.
        // SAFETY: the cell is made and not scheduled (this function holds
        // its `Runnable`): the goroutine's tracker, in its future, is alive.
        unsafe { home.keep(task) };
        shared.schedule_spawned(runnable);
        return;
    }
    let shard = id as usize % SHARDS;
    let mut sh = shared.registry.shards[shard].lock();
    let index = match sh.free.pop() {
        Some(i) => i,
        None => {
            sh.tasks.push(None);
            sh.tasks.len() - 1
        }
    };
    let wrapped = async move {
        fut.await;
        // Done: its handle leaves the registry, detached (it is running:
        // nothing to cancel); the cell lives until `run` returns. A
        // goroutine is polled only on its executor's workers, whose
        // current executor is this one (untracked goroutines only: rare).
        let t = super::current().and_then(|e| e.registry.remove(shard, index, id));
        if let Some(t) = t {
            t.detach();
        }
    };
    let for_schedule = ExecRef::new(shared);
    let (runnable, task) = async_task::spawn(
        wrapped,
        WithInfo(move |r: Runnable, info: ScheduleInfo| {
            for_schedule.get().schedule(r, info.woken_while_running)
        }),
    );
    // Registered before it can run, so that its own removal finds it.
    sh.tasks[index] = Some((id, task));
    drop(sh);
    shared.schedule_spawned(runnable);
}
