//! The runtime's native half: the goroutine pool's queue (see
//! core/pool.rs for the scheduling), its monitor thread, the shutdown hook
//! and the fork hook. Goroutine threads are native threads started here
//! without the GIL; the loop they run is Python (`gocurrent._runtime`),
//! so tracebacks, profilers and `threading` see Python goroutines.

use super::asyncio::{CANCELLED_ERROR, asyncio_attr, has_asyncios_own, running_loop};
use super::call;
use crate::blocking;
use crate::core::futex_hash;
use crate::core::idmap::IdMap;
use crate::core::pool::{JobQueue, Submitted};
use parking_lot::{Mutex, RwLock};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{IntoPyDict, PyDict, PyTuple, PyType};

use std::cell::{Cell, OnceCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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

/// Goroutine threads alive (started and not exited).
static WORKERS: AtomicUsize = AtomicUsize::new(0);

/// Starts a goroutine thread for a start already claimed on `q`: a native
/// thread that attaches to the interpreter and runs
/// `gocurrent._runtime._worker`. Needs no GIL: creating a thread takes
/// ~30 µs of system time, which then overlaps with Python code. Thousands
/// of goroutine threads get the kernel's futex table grown for them.
fn start_worker(q: &Queue) {
    let workers = WORKERS.fetch_add(1, Ordering::Relaxed) + 1;
    let spawned = std::thread::Builder::new()
        .name("goroutine".into())
        .stack_size(STACK_SIZE)
        .spawn(|| {
            blocking::run_attached(run_worker);
            WORKERS.fetch_sub(1, Ordering::Relaxed);
        });
    match spawned {
        Ok(_) => futex_hash::fit(workers),
        Err(_) => {
            WORKERS.fetch_sub(1, Ordering::Relaxed);
            q.start_failed();
        }
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

/// The next goroutine id (unique for the process; 1 is the main thread's,
/// as in Go), for thread and coroutine goroutines alike.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(2);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The code and `f_lasti` of `frame` (where `go` was called), or
/// `(None, -1)` without one (a timer's `after_func`, called from Rust).
fn call_site<'py>(frame: &Bound<'py, PyAny>) -> PyResult<(Option<Bound<'py, PyAny>>, i64)> {
    if frame.is_none() {
        return Ok((None, -1));
    }
    static FRAME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let py = frame.py();
    if !frame.get_type().is(FRAME.import(py, "types", "FrameType")?) {
        return Err(PyTypeError::new_err(
            "a goroutine's call site must be a frame",
        ));
    }
    // SAFETY: `frame` is a live frame object (its exact type was checked);
    // PyFrame_GetCode returns a new reference to its code, never NULL.
    let code =
        unsafe { Bound::from_owned_ptr(py, ffi::PyFrame_GetCode(frame.as_ptr().cast()).cast()) };
    let lasti = frame.getattr(intern!(py, "f_lasti"))?.extract()?;
    Ok((Some(code), lasti))
}

/// The frame of the Python code that called the running native function
/// (`go`), or None when Rust called it (a timer's `after_func`).
fn calling_frame(py: Python<'_>) -> Bound<'_, PyAny> {
    // SAFETY: attached; PyEval_GetFrame returns a borrowed reference to the
    // thread's current frame (which outlives this call) or NULL.
    unsafe { Bound::from_borrowed_ptr_or_opt(py, ffi::PyEval_GetFrame().cast()) }
        .unwrap_or_else(|| py.None().into_bound(py))
}

/// Where each live coroutine goroutine was started: its id -> the code
/// and `f_lasti` of its `go(...)` call (the line is worked out only when
/// `gocurrent.runtime` asks). Kept here, not in a Python tuple beside its
/// task: the garbage collector runs by the count of tracked allocations
/// alive, and one more tuple per spawn, alive as long as its goroutine,
/// made `go(coroutine_function)` 8% slower (cachegrind, 20,000 spawns:
/// 42.2k -> 45.7k instructions each); see benches/PROFILES.md.
static CALL_SITES: Mutex<IdMap<(Py<PyAny>, i64)>> = Mutex::new(IdMap::new());

/// A new coroutine goroutine's id, for a `go(...)` called from `frame`
/// (None: from Rust), whose call site is kept until [`_forget`]; tells
/// gocurrent.testing of it while tracking.
#[pyfunction]
pub fn _record(frame: &Bound<'_, PyAny>) -> PyResult<u64> {
    record(frame)
}

fn record(frame: &Bound<'_, PyAny>) -> PyResult<u64> {
    let (code, lasti) = call_site(frame)?;
    let id = next_id();
    if let Some(code) = code {
        CALL_SITES.lock().insert(id, (code.unbind(), lasti));
    }
    tracked_spawn(frame.py(), id)?;
    Ok(id)
}

/// The coroutine goroutine `id` has finished: forget its call site.
#[pyfunction]
pub fn _forget(id: u64) {
    // Dropped after the lock is released: dropping may run Python code.
    let site = CALL_SITES.lock().remove(id);
    drop(site);
}

/// The code and `f_lasti` of the `go(...)` call of the live coroutine
/// goroutine `id`: `(None, -1)` if it was started from Rust or is gone.
#[pyfunction]
pub fn _call_site(py: Python<'_>, id: u64) -> (Option<Py<PyAny>>, i64) {
    match CALL_SITES.lock().get(id) {
        Some((code, lasti)) => (Some(code.clone_ref(py)), *lasti),
        None => (None, -1),
    }
}

/// Tells gocurrent.testing that goroutine `id` starts, while it tracks.
fn tracked_spawn(py: Python<'_>, id: u64) -> PyResult<()> {
    static SPAWNED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    if TRACKING.load(Ordering::Relaxed) {
        SPAWNED
            .import(py, "gocurrent._runtime", "tracked_spawn")?
            .call1((id,))?;
    }
    Ok(())
}

/// Whether the waiting policy takes the machine to be busy with other
/// processes' work (see core/spin.rs): for tests.
#[pyfunction]
pub fn _machine_busy() -> bool {
    crate::core::spin::machine_is_busy()
}

/// Turns the tracking of goroutines' owners (gocurrent.testing) on or off.
#[pyfunction]
pub fn _set_tracking(on: bool) {
    TRACKING.store(on, Ordering::Relaxed);
}

/// Runs `fn(*args, **kwargs)` concurrently, as Go's `go` statement.
///
/// A plain callable runs on the runtime's pool of threads, which reuses idle
/// threads and grows when all are busy. A coroutine function (or a coroutine
/// object) runs as a task: on the calling thread's running asyncio loop if
/// there is one, as a trio system task when called from a trio task, else
/// on the runtime's background loop. An exception that escapes the
/// goroutine is reported through `threading.excepthook`. Goroutines never
/// keep the process alive. Never blocks; TypeError if `fn` is not callable
/// (or is a coroutine object given arguments).
//
// Native, not Python: a spawn is a handful of steps, and as Python code the
// call, `sys._getframe` (with its audit event) and the attribute look-ups
// around them were a sixth of the cost of `go(noop)`.
#[pyfunction]
#[pyo3(signature = (fn_, /, *args, **kwargs))]
pub fn go<'py>(
    py: Python<'py>,
    fn_: Bound<'py, PyAny>,
    args: Bound<'py, PyTuple>,
    kwargs: Option<Bound<'py, PyDict>>,
) -> PyResult<()> {
    static FUNCTION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static BUILTIN_METHOD: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static COROUTINE_OF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static SPAWN_COROUTINE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    const CO_COROUTINE: u32 = 0x80;
    let frame = calling_frame(py);
    let kind = fn_.get_type();
    let coro = if kind.is(FUNCTION.import(py, "types", "FunctionType")?) {
        // The common case, decided by one flag of the code.
        let flags: u32 = fn_
            .getattr(intern!(py, "__code__"))?
            .getattr(intern!(py, "co_flags"))?
            .extract()?;
        match flags & CO_COROUTINE {
            0 => None,
            _ => Some(fn_.call(&args, kwargs.as_ref())?),
        }
    } else if kind.is(BUILTIN_METHOD.import(py, "types", "BuiltinMethodType")?) {
        None // ch.send, wg.done, list.append...: never a coroutine
    } else {
        let kw = match &kwargs {
            Some(kw) => kw.clone(),
            None => PyDict::new(py),
        };
        let coro = COROUTINE_OF
            .import(py, "gocurrent._runtime", "coroutine_of")?
            .call1((&fn_, &args, kw))?;
        (!coro.is_none()).then_some(coro)
    };
    match coro {
        None => {
            let kwargs = kwargs.map_or_else(|| PyDict::new(py), |kw| kw.clone());
            if _spawn(py, fn_, args.into_any(), kwargs.into_any(), frame)? {
                _start_worker(py);
            }
        }
        Some(coro) => {
            let id = record(&frame)?;
            let running = running_loop(py)?;
            let started = match running.is_none() {
                // A trio task's, or the background loop's.
                true => SPAWN_COROUTINE
                    .import(py, "gocurrent._runtime", "spawn_coroutine")?
                    .call1((coro, id))
                    .map(drop),
                false => _start_task(py, coro, running, id),
            };
            if started.is_err() {
                _forget(id);
            }
            started?;
        }
    }
    Ok(())
}

/// The asyncio tasks of live coroutine goroutines, by address: each with
/// its goroutine id and a strong reference until it ends (asyncio keeps
/// only weak references to tasks). In Rust, not in a Python dict: the
/// dict's inserts and deletes, a Python int per id and the dict's resizes
/// as a burst of spawns fills it cost a fresh process's 10,000
/// `go(coroutine_function)` spawns 5.29 -> 5.17 µs each in the harness
/// (benches/PROFILES.md, "Coroutine spawn: the done callback's context,
/// and the task registry").
type TaskMap = HashMap<usize, (u64, Py<PyAny>), BuildHasherDefault<DefaultHasher>>;
static TASKS: Mutex<TaskMap> = Mutex::new(HashMap::with_hasher(BuildHasherDefault::new()));

/// The live coroutine goroutines' asyncio tasks, each with its id.
#[pyfunction]
pub fn _coroutine_tasks(py: Python<'_>) -> Vec<(Py<PyAny>, u64)> {
    let tasks = TASKS.lock();
    tasks
        .values()
        .map(|(id, task)| (task.clone_ref(py), *id))
        .collect()
}

/// The goroutine id of `task` if it is a live coroutine goroutine's.
#[pyfunction]
pub fn _task_goroutine(task: &Bound<'_, PyAny>) -> Option<u64> {
    TASKS
        .lock()
        .get(&(task.as_ptr() as usize))
        .map(|(id, _)| *id)
}

/// How many live coroutine goroutines run as asyncio tasks.
#[pyfunction]
pub fn _coroutine_task_count() -> usize {
    TASKS.lock().len()
}

/// Runs `coro` as the coroutine goroutine `id` (see [`_record`]): a task of
/// `loop`, kept in [`TASKS`] until it ends, then [`_task_done`]. Must run
/// on the loop's thread.
#[pyfunction]
pub fn _start_task<'py>(
    py: Python<'py>,
    coro: Bound<'py, PyAny>,
    loop_: Bound<'py, PyAny>,
    id: u64,
) -> PyResult<()> {
    static DONE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let task = new_task(&loop_, &coro)?;
    let earlier = TASKS
        .lock()
        .insert(task.as_ptr() as usize, (id, task.clone().unbind()));
    // Dropped after the lock is released: dropping may run Python code.
    drop(earlier);
    let done = DONE.import(py, "gocurrent._native", "_task_done")?;
    add_done_callback(&task, done)
}

/// `task.add_done_callback(done)`. For asyncio's own tasks, with
/// `context=` a context of the calling thread's own, made once: left to
/// itself, `add_done_callback` copies the caller's context for every
/// callback, one more object for the garbage collector per live goroutine
/// (the collector runs by the count of tracked objects alive). Measured:
/// a fresh process's 10,000 `go(coroutine_function)` spawns, 5.37 -> 4.63
/// µs each, against asyncio's 5.12 (benches/PROFILES.md, the same
/// section). `_task_done` needs no context
/// variables, and one context per thread is never entered twice at once:
/// only the loop's thread runs these callbacks, one after the other
/// (an excepthook that runs an event loop of its own aside).
/// Other tasks (a task factory's, another loop's) get the plain call.
fn add_done_callback<'py>(task: &Bound<'py, PyAny>, done: &Bound<'py, PyAny>) -> PyResult<()> {
    static TASK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static ADD: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static NEW_CONTEXT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    thread_local! {
        /// `{"context": a context of this thread's own}`.
        static OWN_CONTEXT: OnceCell<Py<PyDict>> = const { OnceCell::new() };
    }
    let py = task.py();
    let task_type = asyncio_attr(py, &TASK, "Task")?;
    if !task.get_type().is(task_type) {
        call::method1(task, intern!(py, "add_done_callback"), done)?;
        return Ok(());
    }
    let add = ADD.get_or_try_init(py, || {
        task_type
            .getattr(intern!(py, "add_done_callback"))
            .map(Bound::unbind)
    })?;
    let kwargs = OWN_CONTEXT.with(|own| match own.get() {
        Some(kwargs) => Ok(kwargs.clone_ref(py)),
        None => {
            let context = NEW_CONTEXT.import(py, "contextvars", "Context")?.call0()?;
            let kwargs = [(intern!(py, "context"), context)].into_py_dict(py)?;
            Ok::<_, PyErr>(own.get_or_init(|| kwargs.unbind()).clone_ref(py))
        }
    })?;
    add.bind(py).call((task, done), Some(kwargs.bind(py)))?;
    Ok(())
}

/// `loop.create_task(coro)`, for the running loop of the calling thread.
///
/// When the loop creates its tasks as asyncio's own loops do (their
/// `create_task`, no task factory), the task is made here as that method
/// makes it: `asyncio.Task(coro, loop=loop_)`. This
/// skips the Python frame of `BaseEventLoop.create_task`: 2.6% of a
/// coroutine goroutine's whole life, start to finish (benches/PROFILES.md,
/// "Issue 12's bookkeeping"). A running loop cannot be closed, so that
/// method's `_check_closed` has nothing to say. In debug mode the task's
/// `_source_traceback` ends at the `go(...)` call, as create_task's does
/// once it has dropped its own frame. Any other loop (uvloop, a subclass
/// that overrides `create_task`, a task factory) gets the method call.
fn new_task<'py>(
    loop_: &Bound<'py, PyAny>,
    coro: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    static OWN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static TASK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = loop_.py();
    let name = intern!(py, "create_task");
    let plain = has_asyncios_own(loop_, name, &OWN)?
        && loop_
            .getattr_opt(intern!(py, "_task_factory"))?
            .is_some_and(|f| f.is_none());
    if plain {
        // With the loop given, the task does not look up the running loop
        // (on 3.10 and 3.11 a `getpid` system call), as create_task's own
        // `Task(coro, loop=self)` does not.
        let kwargs = [(intern!(py, "loop"), loop_)].into_py_dict(py)?;
        asyncio_attr(py, &TASK, "Task")?.call((coro,), Some(&kwargs))
    } else {
        call::method1(loop_, name, coro)
    }
}

/// The done callback of a coroutine goroutine's task: forgets it, and
/// reports an exception that escaped it (as threading does for a thread).
#[pyfunction]
pub fn _task_done<'py>(py: Python<'py>, task: Bound<'py, PyAny>) -> PyResult<()> {
    static REPORT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static FINISHED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let entry = TASKS.lock().remove(&(task.as_ptr() as usize));
    let id = entry.map(|(id, task)| {
        drop(task); // after the lock is released, as above
        _forget(id);
        id
    });
    // `exception()` raises CancelledError for a cancelled task: asking
    // `cancelled()` first would be one more call for every goroutine.
    match call::method0(&task, intern!(py, "exception")) {
        Ok(exc) if !exc.is_none() => {
            REPORT
                .import(py, "gocurrent._runtime", "report")?
                .call1((exc, id))?;
        }
        Ok(_) => {}
        Err(e) if e.is_instance(py, asyncio_attr(py, &CANCELLED_ERROR, "CancelledError")?) => {}
        Err(e) => return Err(e),
    }
    if let Some(id) = id
        && TRACKING.load(Ordering::Relaxed)
    {
        FINISHED
            .import(py, "gocurrent._runtime", "tracked_finish")?
            .call1((id,))?;
    }
    Ok(())
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
    let (code, lasti) = call_site(&frame)?;
    let id = next_id();
    tracked_spawn(py, id)?;
    let job = (fn_, args, kwargs, id, code, lasti).into_pyobject(py)?;
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
    let (job, handed) = blocking::detached(py, || q.next(finished, IDLE_TIMEOUT))?;
    if handed {
        q.started(); // it holds the GIL again: it can run the job
    }
    Some(job)
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
        return Some(Box::new(move || {
            start_worker(&q);
            crate::core::spin::yield_to_new_thread(|| q.starting());
        }));
    }
    None
}

/// Thread goroutines not finished yet: queued or running (a worker holds
/// its job), for `gocurrent.runtime.num_goroutine()`.
#[pyfunction]
pub fn _thread_goroutines() -> usize {
    POOL.read().jobs()
}

/// The jobs `(fn, args, kwargs, id, code, lasti)` of the thread goroutines
/// queued for a pool thread (none has taken them yet), oldest first, for
/// `gocurrent.runtime.goroutines()`.
#[pyfunction]
pub fn _queued_jobs(py: Python<'_>) -> Vec<Py<PyAny>> {
    queue().queued(|job| job.clone_ref(py))
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
    WORKERS.store(0, Ordering::Relaxed);
    futex_hash::after_fork_in_child();
    // The parent's coroutine goroutines are gone with its event loops.
    let sites = std::mem::take(&mut *CALL_SITES.lock());
    drop(sites);
    let tasks = std::mem::take(&mut *TASKS.lock());
    drop(tasks);
    super::timers::after_fork_in_child()
}
