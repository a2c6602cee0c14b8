//! The runtime's native half: the goroutine pool's queue (see
//! core/pool.rs for the scheduling), its monitor thread, the shutdown hook
//! and the fork hook. Goroutine threads are native threads started here
//! without the GIL; the loop they run is Python (`gocurrent._runtime`),
//! so tracebacks, profilers and `threading` see Python goroutines.

use crate::blocking;
use crate::core::pool::{JobQueue, Submitted};
use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::cell::Cell;
use std::sync::{Arc, LazyLock};
use std::thread::Thread;
use std::time::Duration;

/// How long an idle goroutine thread waits for work before it exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the monitor looks at a non-empty backlog.
const MONITOR_TICK: Duration = Duration::from_millis(1);
/// How long the monitor sleeps while the backlog is empty (it is also
/// woken when a job enters the backlog).
const MONITOR_IDLE: Duration = Duration::from_millis(100);

/// A goroutine thread's stack: 8 MiB, as CPython's own threads get on Linux
/// (the default RLIMIT_STACK), so recursion goes as deep as in a
/// `threading.Thread`. (Rust's default, 2 MiB, was also slower to start
/// here: a 2 MiB stack can be backed by a transparent huge page, which is
/// zeroed whole when first touched.)
const STACK_SIZE: usize = 8 << 20;

type Queue = Arc<JobQueue<Py<PyAny>>>;

static POOL: LazyLock<RwLock<Queue>> = LazyLock::new(|| RwLock::new(Arc::new(JobQueue::default())));
/// The monitor thread, once started (per process: reset after fork).
static MONITOR: Mutex<Option<Thread>> = Mutex::new(None);

thread_local! {
    /// True on goroutine threads (set when they arrive).
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
}

fn queue() -> Queue {
    POOL.read().clone()
}

/// Wakes the monitor, starting it on first use.
fn kick_monitor() {
    let mut monitor = MONITOR.lock();
    match &*monitor {
        Some(t) => t.unpark(),
        None => {
            let spawned = std::thread::Builder::new()
                .name("gocurrent-sysmon".into())
                .spawn(monitor_loop);
            if let Ok(handle) = spawned {
                *monitor = Some(handle.thread().clone());
            }
        }
    }
}

/// The monitor (Go's sysmon): starts a worker when the backlog stalls or a
/// worker blocked. A Rust thread: it touches Python only to start a worker
/// thread, and never once the interpreter is exiting.
fn monitor_loop() {
    let mut last_taken = 0;
    loop {
        if blocking::exiting() {
            return;
        }
        let q = queue();
        let tick = if q.backlogged() {
            MONITOR_TICK
        } else {
            MONITOR_IDLE
        };
        drop(q);
        std::thread::park_timeout(tick);
        let q = queue();
        if q.monitor(&mut last_taken) {
            start_worker(&q);
        }
    }
}

/// Starts a goroutine thread for a start already claimed on `q`: a native
/// thread that attaches to the interpreter and runs
/// `gocurrent._runtime._worker`. Needs no GIL: creating a thread takes
/// ~30 µs of system time, which then overlaps with Python code.
fn start_worker(q: &Queue) {
    let spawned = std::thread::Builder::new()
        .name("goroutine".into())
        .stack_size(STACK_SIZE)
        .spawn(|| blocking::run_attached(run_worker));
    if spawned.is_err() {
        q.start_failed();
    }
}

/// The body of a goroutine thread: `gocurrent._runtime._worker()`, called
/// as all user code called from Rust is (see [`blocking::call0`]).
fn run_worker(py: Python<'_>) {
    static WORKER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let result = WORKER
        .import(py, "gocurrent._runtime", "_worker")
        .and_then(blocking::call0);
    if let Err(e) = result {
        e.write_unraisable(py, None);
    }
}

/// Submits a job to the pool; True if the caller must start a new
/// goroutine thread (which then calls `_arrive`).
#[pyfunction]
pub fn _submit(job: Py<PyAny>) -> bool {
    match queue().submit(job) {
        Submitted::Queued { start_worker: true } => true,
        Submitted::Queued {
            start_worker: false,
        } => {
            kick_monitor();
            false
        }
        Submitted::ToIdleWorker => false,
    }
}

/// Starts a goroutine thread for a start claimed by `_submit` or
/// `_arrive`, with the GIL released.
#[pyfunction]
pub fn _start_worker(py: Python<'_>) {
    let q = queue();
    py.detach(|| start_worker(&q));
}

/// Called first by a new goroutine thread: `(job or None, start_another)`.
#[pyfunction]
pub fn _arrive() -> (Option<Py<PyAny>>, bool) {
    IS_WORKER.with(|w| w.set(true));
    queue().arrive()
}

/// Called by a goroutine thread after a job (`finished`), or after
/// arriving without one: the next job, or None when the thread has idled
/// long enough and should exit.
#[pyfunction]
pub fn _next_job(py: Python<'_>, finished: bool) -> Option<Py<PyAny>> {
    let q = queue();
    blocking::detached(py, || q.next(finished, IDLE_TIMEOUT))
}

/// The blocking hook (installed at module init, see
/// [`blocking::set_block_hook`]): a goroutine thread that blocks no longer
/// counts as runnable, and may be replaced at once; the replacement
/// starts once the blocked thread has released the GIL.
pub fn on_block(blocked: Option<&blocking::Blocked>) -> Option<blocking::Detached> {
    if !IS_WORKER.with(Cell::get) {
        return None;
    }
    let q = queue();
    if q.block(blocked.is_some()) {
        return Some(Box::new(move || start_worker(&q)));
    }
    None
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
pub fn _after_fork_in_child(main_thread_ident: u64) -> PyResult<()> {
    // Waiters of the parent's other threads are dead: never hand them anything.
    crate::core::waiter::after_fork_in_child();
    blocking::reset_after_fork();
    blocking::set_main_thread(main_thread_ident);
    *POOL.write() = Arc::new(JobQueue::default());
    *MONITOR.lock() = None;
    super::timers::after_fork_in_child()
}
