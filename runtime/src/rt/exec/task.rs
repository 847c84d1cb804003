//! The task cell and the run's task registry.
//!
//! A goroutine is one `async_task` allocation: its future, its state word
//! and its waker's vtable in one cell. The [`Task`] handle of every live
//! goroutine sits in a sharded registry so that the end of the run can drop
//! goroutines that are still parked (Go's end of program; a parked future
//! may be reachable only from its own channel, which nobody will wake).

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use async_task::{Runnable, ScheduleInfo, Task, WithInfo};
use parking_lot::Mutex;

use super::Shared;

const SHARDS: usize = 16;

/// Goroutine ids are unique and dense: a multiplicative hash spreads them.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Shard = HashMap<u64, Task<()>, BuildHasherDefault<IdHasher>>;

/// The `Task` handle of every goroutine that has not finished.
pub(super) struct Registry {
    shards: Box<[Mutex<Shard>]>,
}

impl Registry {
    pub(super) fn new() -> Self {
        Registry {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, id: u64) -> &Mutex<Shard> {
        &self.shards[id as usize % SHARDS]
    }

    /// Drops every registered task: each is cancelled, and its future is
    /// dropped through the schedule function (see `Shared::schedule`).
    /// Returns whether there was any.
    pub(super) fn cancel_all(&self) -> bool {
        let mut any = false;
        for s in self.shards.iter() {
            let tasks = std::mem::take(&mut *s.lock());
            any |= !tasks.is_empty();
            // Dropped outside the lock: cancelling schedules the task.
            drop(tasks);
        }
        any
    }
}

/// Starts `fut` as goroutine `id` on the executor `shared`.
pub(super) fn spawn<F>(shared: &Arc<Shared>, id: u64, fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if shared.is_shut_down() {
        // A drop at the end of the run started a goroutine: Go's program
        // has ended, nothing runs any more.
        return;
    }
    let for_remove = shared.clone();
    let wrapped = async move {
        fut.await;
        // Done: its handle leaves the registry. Dropping a `Task` of a
        // running task only marks it; the cell lives until `run` returns.
        let t = for_remove.registry.shard(id).lock().remove(&id);
        drop(t);
    };
    let for_schedule = shared.clone();
    let (runnable, task) = async_task::spawn(
        wrapped,
        WithInfo(move |r: Runnable, info: ScheduleInfo| {
            for_schedule.schedule(r, info.woken_while_running)
        }),
    );
    // Registered before it can run, so that its own removal finds it.
    shared.registry.shard(id).lock().insert(id, task);
    shared.schedule_spawned(runnable);
}
