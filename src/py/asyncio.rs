//! The asyncio driver's half in Rust: the future an awaiting asyncio task
//! waits on, the wake that resolves it from any thread, and the
//! re-delivery of a cancellation that was absorbed because the operation
//! had completed (see src/py/awaitable.rs). src/py/trio.rs is the trio
//! driver's counterpart.

use super::call;
use crate::blocking;
use crate::core::waiter::{Wake, fork_generation};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{IntoPyDict, PyCFunction, PyDict, PyString, PyTuple};
use std::thread::ThreadId;

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static RESOLVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
pub(super) static CANCELLED_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static CURRENT_TASK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

pub(super) fn asyncio_attr<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("asyncio")?.getattr(name)?.unbind())
    })
    .map(|o| o.bind(py))
}

/// The running asyncio loop of the calling thread, or None: what
/// `asyncio._get_running_loop()` returns. On Python 3.10 and 3.11 that
/// function makes a `getpid` system call whenever a loop runs (to tell a
/// forked child, where the parent's loop does not run, from the parent;
/// 3.12 dropped the call), 180 ns here, and every await that blocks asks
/// it: two per coroutine ping-pong round trip, which ran 9% faster without
/// them (benches/PROFILES.md, "The running loop"). On those versions
/// the answer is remembered in the thread's state dict, with the holder
/// object that `asyncio._set_running_loop` stores there (a new one at
/// every call, so the same holder means no loop was set or unset since),
/// and with the process's fork generation (`waiter::fork_generation`,
/// advanced in every forked child). The entry keeps its holder (so its
/// address cannot be reused) and loop alive until the thread next asks
/// with another loop running, or ends. Without asyncio's C module there
/// is no holder: asked each time.
pub(super) fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let ask = || asyncio_attr(py, &GET_RUNNING_LOOP, "_get_running_loop")?.call0();
    static ASKS_GETPID: PyOnceLock<bool> = PyOnceLock::new();
    if !*ASKS_GETPID.get_or_init(py, || py.version_info() < (3, 12)) {
        return ask();
    }
    // SAFETY: attached (`py`); the result is a borrowed reference to the
    // thread state's dict (owned by the thread state, which outlives this
    // call), or NULL with no exception set, which gives None.
    let dict = unsafe { Bound::from_borrowed_ptr_or_opt(py, ffi::PyThreadState_GetDict()) };
    let Some(dict) = dict.and_then(|d| d.cast_into::<PyDict>().ok()) else {
        return ask();
    };
    let Some(holder) = dict.get_item(intern!(py, "__asyncio_running_event_loop__"))? else {
        return ask();
    };
    let key = intern!(py, "gocurrent.running_loop");
    let forks = fork_generation();
    if let Some(seen) = dict.get_item(key)? {
        let seen = seen.cast_into::<PyTuple>()?;
        if seen.get_item(0)?.is(&holder) && seen.get_item(2)?.extract::<u64>()? == forks {
            return seen.get_item(1);
        }
    }
    let running = ask()?;
    if !running.is_none() {
        dict.set_item(key, (holder, &running, forks))?;
    }
    Ok(running)
}

/// Sets a future's result to None. A future that is done already (cancelled,
/// timed out) refuses with InvalidStateError, which the waker ignores: one
/// call instead of asking `done()` first on every wake.
fn resolve_future(args: &Bound<'_, PyTuple>) -> PyResult<()> {
    set_none_result(&args.get_item(0)?)
}

/// `fut.set_result(None)`.
fn set_none_result(fut: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = fut.py();
    call::method1(fut, intern!(py, "set_result"), &py.None().into_bound(py)).map(drop)
}

fn resolve_fn(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    RESOLVE
        .get_or_try_init(py, || {
            PyCFunction::new_closure(py, None, None, |args, _kwargs| resolve_future(args))
                .map(|f| f.into_any().unbind())
        })
        .map(|f| f.bind(py))
}

/// Whether `event_loop`'s method `name` is asyncio's own
/// (`BaseEventLoop`'s, not overridden by a subclass; uvloop's loops have
/// their own), whose work the caller may then do itself. A method replaced
/// on the loop object itself is not looked for: that would read the loop's
/// `__dict__`, which turns its attribute storage into a dictionary for
/// good (CPython 3.11/3.12), and every attribute read of asyncio's loop
/// code then took twice as long (29 -> 58 ns; a full benchmark run made
/// coroutine ping-pong 8% slower). asyncio's hook for making tasks is the
/// task factory, which is honoured.
pub(super) fn has_asyncios_own(
    event_loop: &Bound<'_, PyAny>,
    name: &Bound<'_, PyString>,
    own: &'static PyOnceLock<Py<PyAny>>,
) -> PyResult<bool> {
    let py = event_loop.py();
    let own = own.get_or_try_init(py, || {
        let base = py.import("asyncio.base_events")?.getattr("BaseEventLoop")?;
        Ok::<_, PyErr>(base.getattr(name)?.unbind())
    })?;
    Ok(event_loop
        .get_type()
        .getattr(name)
        .is_ok_and(|method| method.is(own)))
}

/// `event_loop.create_future()`, for the running loop of the calling
/// thread. When the loop's `create_future` is asyncio's own, the future is
/// made as that method makes it, `asyncio.Future(loop=event_loop)`, without
/// the method's Python frame: two per round trip of a coroutine ping-pong
/// (see benches/PROFILES.md). Given no loop, `Future()` would look up the
/// running loop, which on 3.10 and 3.11 costs a `getpid` system call.
fn new_future<'py>(event_loop: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static OWN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static FUTURE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = event_loop.py();
    let name = intern!(py, "create_future");
    if has_asyncios_own(event_loop, name, &OWN)? {
        let kwargs = [(intern!(py, "loop"), event_loop)].into_py_dict(py)?;
        asyncio_attr(py, &FUTURE, "Future")?.call((), Some(&kwargs))
    } else {
        call::method0(event_loop, name)
    }
}

/// An asyncio future of the running loop, and the [`Wake`] that resolves it
/// from any thread: directly on the loop's own thread, else through
/// `call_soon_threadsafe` (a closed loop is ignored).
pub(super) fn future_and_wake<'py>(
    py: Python<'py>,
    event_loop: Bound<'py, PyAny>,
) -> PyResult<(Py<PyAny>, Py<PyAny>, Wake)> {
    let fut = new_future(&event_loop)?.unbind();
    resolve_fn(py)?;
    let loop_thread: ThreadId = std::thread::current().id();
    let (l, f) = (event_loop.clone().unbind(), fut.clone_ref(py));
    let wake = Wake::Callback(Box::new(move || {
        blocking::attach_if_alive(|py| {
            let res = if std::thread::current().id() == loop_thread {
                set_none_result(f.bind(py))
            } else {
                resolve_fn(py).and_then(|resolve| {
                    let name = intern!(py, "call_soon_threadsafe");
                    call::method2(l.bind(py), name, resolve, f.bind(py)).map(drop)
                })
            };
            // The loop may be closed: nobody awaits the future any more.
            drop(res);
        })
    }));
    Ok((event_loop.unbind(), fut, wake))
}

static REDELIVER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `redeliver(task, requested)`, run by the loop after the step in which a
/// cancellation was absorbed: cancels `task` again unless it is done or
/// (Python >= 3.11, where `requested` is `task.cancelling()` at the absorbed
/// cancel) a canceller has withdrawn its request since. The re-delivery
/// does not count as a new request (`cancel()` then `uncancel()`), so
/// `asyncio.timeout` and task groups still see the original one.
fn redeliver(args: &Bound<'_, PyTuple>) -> PyResult<()> {
    let task = args.get_item(0)?;
    let requested: Option<i64> = args.get_item(1)?.extract()?;
    if task.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    match requested {
        None => {
            task.call_method0("cancel")?;
        }
        Some(n) => {
            let now: i64 = task.call_method0("cancelling")?.extract()?;
            if n > 0 && now >= n {
                task.call_method0("cancel")?;
                task.call_method0("uncancel")?;
            }
        }
    }
    Ok(())
}

/// Schedules [`redeliver`] for the current task on `fut`'s loop.
pub(super) fn schedule_redelivery(py: Python<'_>, fut: &Bound<'_, PyAny>) -> PyResult<()> {
    let task = asyncio_attr(py, &CURRENT_TASK, "current_task")?.call0()?;
    if task.is_none() {
        return Ok(());
    }
    let requested = match task.hasattr("cancelling")? {
        true => task.call_method0("cancelling")?,
        false => py.None().into_bound(py),
    };
    let f = REDELIVER.get_or_try_init(py, || {
        PyCFunction::new_closure(py, None, None, |args, _kwargs| redeliver(args))
            .map(|f| f.into_any().unbind())
    })?;
    fut.call_method0("get_loop")?
        .call_method1("call_soon", (f, task, requested))?;
    Ok(())
}
