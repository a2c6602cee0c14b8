//! `Mutex`: Go's sync.Mutex over `core::mutex`.

use super::Ready;
use crate::blocking;
use crate::core::mutex::{Enqueue, Grant, Mutex as CoreMutex, MutexWaiter};
use crate::py::awaitable::Awaitable;
use crate::py::timeout::Timeout;
use crate::wait::{Value, WaitOp};
use pyo3::prelude::*;
use std::sync::Arc;
use std::time::Instant;

/// Locking a mutex, as the wait protocol runs it.
pub struct MutexOp {
    m: Arc<CoreMutex>,
    what: &'static str,
    /// A waiter that cannot retry by itself (a coroutine) is handed the
    /// lock; a thread is woken to retry (Go's normal mode).
    handoff: bool,
    /// When the waiter first queued (for starvation mode).
    since: Option<Instant>,
    /// It was woken to retry and lost.
    retry: bool,
}

impl MutexOp {
    /// For a thread.
    pub fn thread(m: &Arc<CoreMutex>, what: &'static str) -> Self {
        Self::new(m, what, false)
    }

    /// For a coroutine.
    pub fn task(m: &Arc<CoreMutex>, what: &'static str) -> Self {
        Self::new(m, what, true)
    }

    fn new(m: &Arc<CoreMutex>, what: &'static str, handoff: bool) -> Self {
        MutexOp {
            m: m.clone(),
            what,
            handoff,
            since: None,
            retry: false,
        }
    }
}

impl WaitOp for MutexOp {
    type R = Grant;

    fn what(&self) -> &'static str {
        self.what
    }

    fn wait_reason(&self) -> &'static str {
        "sync.Mutex.Lock"
    }

    fn try_now(&mut self, py: Python<'_>) -> Option<PyResult<Value>> {
        self.m.try_lock().then(|| Ok(py.None()))
    }

    fn register(&mut self, py: Python<'_>, w: &Arc<MutexWaiter>) -> Option<PyResult<Value>> {
        let how = Enqueue {
            since: *self.since.get_or_insert_with(Instant::now),
            retry: self.retry,
            handoff: self.handoff,
        };
        self.m.enqueue(w, how).then(|| Ok(py.None()))
    }

    fn unregister(&mut self, w: &Arc<MutexWaiter>) {
        self.m.dequeue(w);
    }

    fn finish(
        &mut self,
        py: Python<'_>,
        _w: &Arc<MutexWaiter>,
        g: Grant,
    ) -> Option<PyResult<Value>> {
        match g {
            Grant::Owned => Some(Ok(py.None())),
            Grant::Retry => {
                self.m.retrying();
                self.retry = true;
                None
            }
        }
    }

    fn abandon(&mut self, _w: &Arc<MutexWaiter>, g: Grant) {
        match g {
            Grant::Owned => drop(self.m.unlock()),
            Grant::Retry => {
                // Woken to retry: retry once, so that the wake-up passes on
                // to the next waiter instead of being lost with us.
                self.m.retrying();
                if self.m.try_lock() {
                    drop(self.m.unlock());
                }
            }
        }
    }
}

/// A Go mutual exclusion lock: `Mutex()`. Not reentrant and not owned: any
/// thread (or coroutine) may unlock it, as in Go.
#[pyclass(frozen, module = "gocurrent", name = "Mutex")]
pub struct Mutex {
    pub(crate) inner: Arc<CoreMutex>,
}

impl Mutex {
    /// Locks from a thread, waiting for ever.
    #[inline]
    pub fn lock_forever(py: Python<'_>, m: &Arc<CoreMutex>, what: &'static str) -> PyResult<()> {
        if !m.try_lock() {
            blocking::run(py, &mut MutexOp::thread(m, what), Timeout::Forever)?;
        }
        Ok(())
    }
}

#[pymethods]
impl Mutex {
    #[new]
    pub fn new() -> Self {
        Mutex {
            inner: Arc::new(CoreMutex::new()),
        }
    }

    /// Locks the mutex, blocking until it is available. Raises TimeoutError
    /// after `timeout` seconds (the mutex is then not taken).
    #[pyo3(signature = (*, timeout = None))]
    fn lock(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        if timeout.is_none() && self.inner.try_lock() {
            return Ok(());
        }
        let timeout = Timeout::parse(timeout)?;
        blocking::run(py, &mut MutexOp::thread(&self.inner, "Mutex.lock"), timeout)?;
        Ok(())
    }

    /// Unlocks the mutex. RuntimeError("sync: unlock of unlocked mutex") if
    /// it is not locked.
    fn unlock(&self) -> PyResult<()> {
        Ok(self.inner.unlock()?)
    }

    /// Locks the mutex if it is free now; returns whether it did.
    fn try_lock(&self) -> bool {
        self.inner.try_lock()
    }

    /// True while the mutex is locked.
    #[getter]
    fn locked(&self) -> bool {
        self.inner.is_locked()
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        if self.inner.try_lock() {
            return Ok(());
        }
        let mut op = MutexOp::thread(&self.inner, "Mutex.__enter__");
        blocking::run(py, &mut op, Timeout::Forever)?;
        Ok(())
    }

    #[pyo3(signature = (_exc_type, _exc, _tb, /))]
    fn __exit__(
        &self,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        Ok(self.inner.unlock()?)
    }

    /// `await mu.lock_async()`: lock from a coroutine (the event loop keeps
    /// running while it waits).
    #[pyo3(signature = (*, timeout = None))]
    fn lock_async(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        Awaitable::wrap(py, MutexOp::task(&self.inner, "Mutex.lock_async"), timeout)
    }

    fn __aenter__(&self, py: Python<'_>) -> PyResult<Value> {
        Awaitable::wrap(
            py,
            MutexOp::task(&self.inner, "Mutex.__aenter__"),
            Timeout::Forever,
        )
    }

    #[pyo3(signature = (_exc_type, _exc, _tb, /))]
    fn __aexit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<Value> {
        let m = self.inner.clone();
        let unlock = Ready::new("Mutex.__aexit__", move |py| {
            m.unlock()?;
            Ok(py.None())
        });
        Awaitable::wrap(py, unlock, Timeout::Forever)
    }

    fn __repr__(&self) -> String {
        let state = if self.inner.is_locked() {
            "locked"
        } else {
            "unlocked"
        };
        format!("<Mutex {state} waiting={}>", self.inner.waiting())
    }
}
