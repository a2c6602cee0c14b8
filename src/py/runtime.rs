//! The runtime's native half: the goroutine pool's queue, the shutdown
//! hook and the fork hook. The worker loop itself is Python
//! (`gocurrent._runtime`), so that goroutines are ordinary Python threads
//! and no Rust frame sits below user code.

use crate::blocking;
use crate::core::pool::{JobQueue, Submitted};
use parking_lot::RwLock;
use pyo3::prelude::*;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// How long an idle goroutine thread waits for work before it exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Queue = Arc<JobQueue<Py<PyAny>>>;

static POOL: LazyLock<RwLock<Queue>> = LazyLock::new(|| RwLock::new(Arc::new(JobQueue::new())));

/// Submits a job to the pool; True if the caller must start a new
/// goroutine thread (which then calls `_arrive`).
#[pyfunction]
pub fn _submit(job: Py<PyAny>) -> bool {
    let queue = POOL.read().clone();
    matches!(queue.submit(job), Submitted::Queued { start_worker: true })
}

/// Called first by a new goroutine thread: `(job or None, start_another)`.
#[pyfunction]
pub fn _arrive() -> (Option<Py<PyAny>>, bool) {
    POOL.read().arrive()
}

/// Called by a goroutine thread between jobs: the next job, or None when
/// the thread has idled long enough and should exit.
#[pyfunction]
pub fn _next_job(py: Python<'_>) -> Option<Py<PyAny>> {
    let queue = POOL.read().clone();
    blocking::detached(py, || queue.next(IDLE_TIMEOUT))
}

/// Idle goroutine threads (for tests).
#[pyfunction]
pub fn _idle_workers() -> usize {
    POOL.read().idle()
}

/// The interpreter is exiting: waits stop re-attaching (see blocking.rs).
#[pyfunction]
pub fn _begin_exit(py: Python<'_>) {
    blocking::begin_exit(py);
}

/// In a forked child: the parent's threads are gone, start afresh.
#[pyfunction]
pub fn _after_fork_in_child(main_thread_ident: u64) {
    // Waiters of the parent's other threads are dead: never hand them anything.
    crate::core::waiter::after_fork_in_child();
    blocking::reset_after_fork();
    blocking::set_main_thread(main_thread_ident);
    *POOL.write() = Arc::new(JobQueue::new());
    super::timers::after_fork_in_child();
}
