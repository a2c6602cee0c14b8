//! The runtime's native half: the goroutine pool's queue (see
//! core/pool.rs for the scheduling), its monitor thread, the shutdown hook
//! and the fork hook. The worker loop itself is Python
//! (`gocurrent._runtime`), so that goroutines are ordinary Python threads
//! and no Rust frame sits below user code.

use crate::blocking;
use crate::core::pool::{JobQueue, Submitted};
use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
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

type Queue = Arc<JobQueue<Py<PyAny>>>;

static POOL: LazyLock<RwLock<Queue>> = LazyLock::new(|| RwLock::new(Arc::new(JobQueue::default())));
/// The monitor thread, once started (per process: reset after fork).
static MONITOR: Mutex<Option<Thread>> = Mutex::new(None);
/// Starts claimed by blocking workers, for the monitor to carry out.
static START_PENDING: AtomicUsize = AtomicUsize::new(0);

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
        for _ in 0..START_PENDING.swap(0, Ordering::SeqCst) {
            start_worker(&q);
        }
        if q.monitor(&mut last_taken) {
            start_worker(&q);
        }
    }
}

/// Starts a goroutine thread (`gocurrent._runtime._start_worker`) for a
/// start already claimed on `q`.
fn start_worker(q: &Queue) {
    static START: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let mut started = false;
    blocking::attach_if_alive(|py| {
        started = START
            .import(py, "gocurrent._runtime", "_start_worker")
            .and_then(|f| f.call0())
            .is_ok();
    });
    if !started {
        q.start_failed();
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

/// Called by the blocking helper around a wait: a goroutine thread that
/// blocks no longer counts as runnable, and may be replaced at once.
pub fn note_blocked(blocked: bool) {
    if IS_WORKER.with(Cell::get) && queue().block(blocked) {
        START_PENDING.fetch_add(1, Ordering::SeqCst);
        kick_monitor();
    }
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
    *POOL.write() = Arc::new(JobQueue::default());
    *MONITOR.lock() = None;
    START_PENDING.store(0, Ordering::SeqCst);
    super::timers::after_fork_in_child();
}
