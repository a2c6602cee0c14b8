//! gocurrent: Go's concurrency model for Python, in Rust.
//!
//! `core` is pure Rust (channels, waiters, the pool's queue); `wait` is the
//! one wait protocol that every waiting operation implements; `blocking` is
//! its thread driver, the one place where a wait releases the GIL and
//! watches for signals; `py` is the binding layer (pyclasses, argument
//! parsing, error mapping, the asyncio and trio drivers). `core`, `wait`
//! and `blocking` name nothing of `py`.

// Under `--cfg loom` only the core is built (loom model-checks it); the
// binding and the blocking helper use real threads and the interpreter.
#[cfg(not(loom))]
pub mod blocking;
pub mod core;
#[cfg(not(loom))]
mod py;
#[cfg(not(loom))]
pub mod wait;
#[cfg(not(loom))]
pub mod waitstate;

#[cfg(not(loom))]
use pyo3::prelude::*;

/// The native half of gocurrent; import `gocurrent` instead.
#[cfg(not(loom))]
#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let main_ident: u64 = py
        .import("threading")?
        .call_method0("main_thread")?
        .getattr("ident")?
        .extract()?;
    blocking::set_main_thread(main_ident);
    blocking::set_block_hook(py::runtime::on_block);
    py::timers::install_fork_handlers();
    py::awaitable::init(py)?;

    m.add_class::<py::chan::Chan>()?;
    m.add_class::<py::awaitable::Awaitable>()?;
    m.add("nilchan", py::chan::Chan::nil_object(py)?)?;
    m.add(
        "ChanClosedError",
        py.get_type::<py::errors::ChanClosedError>(),
    )?;
    m.add_function(wrap_pyfunction!(py::select::select, m)?)?;
    m.add_function(wrap_pyfunction!(py::select::select_async, m)?)?;
    m.add_class::<py::sync::waitgroup::WaitGroup>()?;
    m.add_class::<py::sync::mutex::Mutex>()?;
    m.add_class::<py::sync::rwmutex::RWMutex>()?;
    m.add_class::<py::sync::rwmutex::RLocker>()?;
    m.add_class::<py::sync::cond::Cond>()?;
    m.add_class::<py::sync::once::Once>()?;
    m.add_class::<py::sync::semaphore::Semaphore>()?;
    m.add_class::<py::atomic::Int32>()?;
    m.add_class::<py::atomic::Int64>()?;
    m.add_class::<py::atomic::Uint32>()?;
    m.add_class::<py::atomic::Uint64>()?;
    m.add_class::<py::atomic::Bool>()?;
    m.add_class::<py::atomic::Value>()?;
    m.add_function(wrap_pyfunction!(py::runtime::_submit, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::go, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_spawn, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_record, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_forget, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_start_task, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_task_done, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_coroutine_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_task_goroutine, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_coroutine_task_count, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_call_site, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_set_tracking, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_machine_busy, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_arrive, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_start_worker, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_next_job, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_idle_workers, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_thread_goroutines, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_wait_states, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_queued_jobs, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_activity, m)?)?;
    m.add("DeadlockError", py.get_type::<waitstate::DeadlockError>())?;
    m.add_function(wrap_pyfunction!(py::runtime::_begin_exit, m)?)?;
    m.add_function(wrap_pyfunction!(py::runtime::_after_fork_in_child, m)?)?;

    m.add_class::<py::timers::Timer>()?;
    m.add_class::<py::timers::Ticker>()?;
    m.add_function(wrap_pyfunction!(py::timers::after, m)?)?;
    m.add_function(wrap_pyfunction!(py::timers::tick, m)?)?;
    m.add_function(wrap_pyfunction!(py::timers::after_func, m)?)?;
    m.add_function(wrap_pyfunction!(py::timers::_timers_pending, m)?)?;
    m.add_class::<py::context::CancelNode>()?;
    m.add_class::<py::context::AfterFuncStop>()?;
    Ok(())
}
