//! The runtime's native half: the goroutine pool's queue (see
//! core/pool.rs for the scheduling), its monitor thread, the shutdown hook
//! and the fork hook. Goroutine threads are native threads started here
//! without the GIL; the loop they run is Python (`gocurrent._runtime`),
//! so tracebacks, profilers and `threading` see Python goroutines.

use crate::blocking;
use crate::core::pool::{JobQueue, Submitted};
use parking_lot::{Mutex, RwLock};
use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyIterator, PyTuple};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// True while gocurrent.testing tracks who starts each goroutine.
static TRACKING: AtomicBool = AtomicBool::new(false);

/// The next goroutine id, from `gocurrent._runtime.ids` (an
/// `itertools.count` shared with the coroutine goroutines; 1 is the main
/// thread's, as in Go).
fn next_id(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    static IDS: PyOnceLock<Py<PyIterator>> = PyOnceLock::new();
    let ids = IDS.get_or_try_init(py, || {
        let ids = py.import("gocurrent._runtime")?.getattr("ids")?;
        Ok::<_, PyErr>(ids.cast_into::<PyIterator>()?.unbind())
    })?;
    let next = ids.bind(py).clone().next();
    next.unwrap_or_else(|| Err(PyRuntimeError::new_err("goroutine ids ran out")))
}

/// Turns the tracking of goroutines' owners (gocurrent.testing) on or off.
#[pyfunction]
pub fn _set_tracking(on: bool) {
    TRACKING.store(on, Ordering::Relaxed);
}

/// `go(fn, *args, **kwargs)` for a plain callable, called from `frame`:
/// queues the job `(fn, args, kwargs, id, code, lasti)` (what
/// `gocurrent.runtime` shows: the line is worked out from the code and
/// `f_lasti` only when asked; `(None, -1)` without a frame: a timer's
/// `after_func`). True if the caller must start a new goroutine thread
/// (`_start_worker`).
#[pyfunction]
pub fn _spawn<'py>(
    py: Python<'py>,
    fn_: Bound<'py, PyAny>,
    args: Bound<'py, PyAny>,
    kwargs: Bound<'py, PyAny>,
    frame: Bound<'py, PyAny>,
) -> PyResult<bool> {
    static SPAWNED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let id = next_id(py)?;
    let (code, lasti) = if frame.is_none() {
        (frame, (-1i64).into_pyobject(py)?.into_any())
    } else {
        (
            frame.getattr(intern!(py, "f_code"))?,
            frame.getattr(intern!(py, "f_lasti"))?,
        )
    };
    if TRACKING.load(Ordering::Relaxed) {
        SPAWNED
            .import(py, "gocurrent._runtime", "tracked_spawn")?
            .call1((&id,))?;
    }
    let job = PyTuple::new(py, [fn_, args, kwargs, id, code, lasti])?;
    Ok(_submit(job.into_any().unbind()))
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

/// Thread goroutines not finished yet: queued or running (a worker holds
/// its job), for `gocurrent.runtime.num_goroutine()`.
#[pyfunction]
pub fn _thread_goroutines() -> usize {
    POOL.read().jobs()
}

/// Every thread in a gocurrent wait: `{ident: (reason, seconds, has
/// timeout, pending)}` (pending: not woken yet).
#[pyfunction]
pub fn _wait_states() -> std::collections::HashMap<u64, crate::waitstate::State> {
    crate::waitstate::states().into_iter().collect()
}

/// How many waits began or ended so far, on any thread or task.
#[pyfunction]
pub fn _activity() -> u64 {
    crate::waitstate::activity()
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
    crate::waitstate::after_fork_in_child();
    blocking::set_main_thread(main_thread_ident);
    *POOL.write() = Arc::new(JobQueue::default());
    *MONITOR.lock() = None;
    super::timers::after_fork_in_child()
}
