//! Go's `sync` package.

mod mutex;
mod rwlock;

pub use mutex::{LockFuture, Mutex, MutexGuard};
pub use rwlock::{ReadFuture, RwLock, RwLockReadGuard, RwLockWriteGuard, WriteFuture};
