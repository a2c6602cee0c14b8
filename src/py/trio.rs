//! The trio driver's native half. A trio task that awaits an operation
//! that must wait registers a waiter whose wake reschedules the task
//! (`trio.lowlevel.reschedule`, directly on trio's thread, else through
//! the run's `TrioToken.run_sync_soon`), then waits in
//! `gocurrent._trio.wait`: `trio.lowlevel.wait_task_rescheduled` with an
//! abort that withdraws the waiter (`Abort.SUCCEEDED`: nothing happened)
//! or refuses when it already completed (`Abort.FAILED`: the wake is on
//! its way and the value is delivered). trio is never imported by
//! gocurrent itself: only a program that runs trio has it in `sys.modules`.

use crate::blocking;
use crate::core::waiter::Wake;
use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyWeakrefReference};

static MODULES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static WAKER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static WAIT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// True when the caller runs in a trio task (trio imported, and
/// `trio.lowlevel.current_task()` answers).
pub fn in_trio_task(py: Python<'_>) -> PyResult<bool> {
    let modules = MODULES.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("sys")?.getattr("modules")?.unbind())
    })?;
    let Ok(modules) = modules.bind(py).cast::<PyDict>() else {
        return Ok(false);
    };
    let Some(trio) = modules.get_item(intern!(py, "trio"))? else {
        return Ok(false);
    };
    let current = trio
        .getattr(intern!(py, "lowlevel"))?
        .call_method0(intern!(py, "current_task"));
    match current {
        Ok(_) => Ok(true),
        Err(e) if e.is_instance_of::<PyRuntimeError>(py) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The wake of the current trio task: reschedules it (see the module docs).
pub fn wake(py: Python<'_>) -> PyResult<Wake> {
    let reschedule = WAKER
        .import(py, "gocurrent._trio", "waker")?
        .call0()?
        .unbind();
    Ok(Wake::Callback(Box::new(move || {
        blocking::attach_if_alive(|py| {
            if let Err(e) = reschedule.call0(py) {
                e.write_unraisable(py, None);
            }
        })
    })))
}

/// `gocurrent._trio.wait(weakref(aw), timeout)`: the coroutine that waits
/// for the registered operation of `aw`. `aw` holds the coroutine, so the
/// coroutine holds `aw` weakly: a strong reference would be a cycle the
/// collector cannot see (the awaitable is not tracked), and an awaitable
/// dropped while registered would never withdraw, its value handed to
/// nobody and its wake rescheduling a task that no longer waits.
pub fn waiting<'py>(aw: &Bound<'py, PyAny>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
    let weak = PyWeakrefReference::new(aw)?;
    WAIT.import(aw.py(), "gocurrent._trio", "wait")?
        .call1((weak, timeout))
}
