//! The tokio runtime inside goro: a current-thread runtime with I/O and
//! time drivers, driven by one background thread, whose handle every
//! worker enters. `tokio::net` types created in a goroutine register with
//! its reactor, `tokio::time` works, and `tokio::spawn` runs tasks there.

use std::thread::JoinHandle;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// The background tokio runtime of one run.
pub(super) struct Io {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Io {
    pub(super) fn start() -> Io {
        let rt = Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("goro::run: cannot start the I/O runtime: {e}"));
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("goro-io".into())
            .spawn(move || {
                // Parked in the reactor until the run ends; then the runtime
                // and the tokio tasks left in it are dropped here.
                let _ = rt.block_on(stopped);
            })
            .unwrap_or_else(|e| panic!("goro::run: cannot start the I/O thread: {e}"));
        Io {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub(super) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Stops the driver thread and waits for it.
    pub(super) fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        self.stop();
    }
}
