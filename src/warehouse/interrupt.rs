//! Stopping a run on SIGINT or SIGTERM: a process-wide flag the scheduler
//! reads before it starts each node, and the interrupt handles of the open
//! warehouse connections, so statements still running are cancelled
//! (DuckDB's interrupt) and their transactions roll back, leaving the
//! previous tables as they were.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Nodes are running: a signal stops the run and lets it report, instead
/// of ending the process at once.
static RUN_ACTIVE: AtomicBool = AtomicBool::new(false);

/// Marks whether nodes are running (set around the scheduler by `build`).
pub fn set_run_active(active: bool) {
    RUN_ACTIVE.store(active, Ordering::SeqCst);
}

/// Whether nodes are running, so a signal should stop the run gracefully.
pub fn run_active() -> bool {
    RUN_ACTIVE.load(Ordering::SeqCst)
}

/// A way to cancel what one connection is running.
type Handle = Box<dyn Fn() + Send + Sync>;

static HANDLES: Mutex<Vec<Handle>> = Mutex::new(Vec::new());

/// Whether the run was asked to stop: no node starts after this is true.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Asks the run to stop (the SIGINT/SIGTERM handler calls this): sets the
/// flag and cancels the statements of every registered connection.
pub fn request() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    for cancel in HANDLES.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        cancel();
    }
}

/// Registers `cancel`, which stops the statement a connection is running
/// (a no-op when it runs none). Called by each adapter as it connects.
pub fn register(cancel: Handle) {
    HANDLES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(cancel);
}
