//! `RWMutex` and its `RLocker`: Go's sync.RWMutex over `core::rwmutex`.

use super::Ready;
use crate::blocking;
use crate::core::rwmutex::{RwMutex as CoreRw, RwWaiter};
use crate::py::awaitable::Awaitable;
use crate::py::timeout::Timeout;
use crate::wait::{Value, WaitOp};
use pyo3::prelude::*;
use std::sync::Arc;

/// Taking a read (`writer` false) or the write lock, as the wait protocol
/// runs it. A completed waiter holds the lock.
pub struct RwOp {
    rw: Arc<CoreRw>,
    writer: bool,
    what: &'static str,
}

impl RwOp {
    pub fn new(rw: &Arc<CoreRw>, writer: bool, what: &'static str) -> Self {
        RwOp {
            rw: rw.clone(),
            writer,
            what,
        }
    }

    /// Takes the lock from a thread.
    pub fn run(self, py: Python<'_>, timeout: Timeout) -> PyResult<()> {
        blocking::run(py, &mut { self }, timeout)?;
        Ok(())
    }

    /// The awaitable that takes the lock.
    pub fn awaitable(self, py: Python<'_>, timeout: Timeout) -> PyResult<Value> {
        Awaitable::wrap(py, self, timeout)
    }
}

impl WaitOp for RwOp {
    type R = ();

    fn what(&self) -> &'static str {
        self.what
    }

    fn wait_reason(&self) -> &'static str {
        if self.writer {
            "sync.RWMutex.Lock"
        } else {
            "sync.RWMutex.RLock"
        }
    }

    fn try_now(&mut self, py: Python<'_>) -> Option<PyResult<Value>> {
        let got = if self.writer {
            self.rw.try_lock()
        } else {
            self.rw.try_rlock()
        };
        got.then(|| Ok(py.None()))
    }

    fn register(&mut self, py: Python<'_>, w: &Arc<RwWaiter>) -> Option<PyResult<Value>> {
        self.rw.enqueue(w, self.writer).then(|| Ok(py.None()))
    }

    fn unregister(&mut self, w: &Arc<RwWaiter>) {
        self.rw.dequeue(w);
    }

    fn finish(&mut self, py: Python<'_>, _w: &Arc<RwWaiter>, _r: ()) -> Option<PyResult<Value>> {
        Some(Ok(py.None()))
    }

    fn abandon(&mut self, _w: &Arc<RwWaiter>, _r: ()) {
        drop(if self.writer {
            self.rw.unlock()
        } else {
            self.rw.runlock()
        });
    }
}

/// A Go reader/writer mutual exclusion lock: `RWMutex()`. Any number of
/// readers or one writer; a waiting writer blocks new readers.
#[pyclass(frozen, module = "gocurrent", name = "RWMutex")]
pub struct RWMutex {
    pub(crate) inner: Arc<CoreRw>,
}

#[pymethods]
impl RWMutex {
    #[new]
    fn new() -> Self {
        RWMutex {
            inner: Arc::new(CoreRw::new()),
        }
    }

    /// Locks for writing, blocking until no reader or writer holds the lock.
    /// Raises TimeoutError after `timeout` seconds.
    #[pyo3(signature = (*, timeout = None))]
    fn lock(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let timeout = Timeout::parse(timeout)?;
        RwOp::new(&self.inner, true, "RWMutex.lock").run(py, timeout)
    }

    /// Unlocks for writing. RuntimeError("sync: Unlock of unlocked RWMutex")
    /// if it is not write-locked.
    fn unlock(&self) -> PyResult<()> {
        Ok(self.inner.unlock()?)
    }

    /// Locks for writing if that needs no waiting; returns whether it did.
    fn try_lock(&self) -> bool {
        self.inner.try_lock()
    }

    /// Locks for reading, blocking while a writer holds the lock or waits
    /// for it. Raises TimeoutError after `timeout` seconds.
    #[pyo3(signature = (*, timeout = None))]
    fn rlock(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let timeout = Timeout::parse(timeout)?;
        RwOp::new(&self.inner, false, "RWMutex.rlock").run(py, timeout)
    }

    /// Undoes one `rlock`. RuntimeError("sync: RUnlock of unlocked RWMutex")
    /// if it is not read-locked.
    fn runlock(&self) -> PyResult<()> {
        Ok(self.inner.runlock()?)
    }

    /// Locks for reading if that needs no waiting; returns whether it did.
    fn try_rlock(&self) -> bool {
        self.inner.try_rlock()
    }

    /// A Locker whose `lock`/`unlock` (and `with`) take the read lock.
    fn rlocker(&self) -> RLocker {
        RLocker {
            inner: self.inner.clone(),
        }
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        RwOp::new(&self.inner, true, "RWMutex.__enter__").run(py, Timeout::Forever)
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

    /// `await rw.lock_async()`: lock for writing from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn lock_async(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        RwOp::new(&self.inner, true, "RWMutex.lock_async").awaitable(py, timeout)
    }

    /// `await rw.rlock_async()`: lock for reading from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn rlock_async(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        RwOp::new(&self.inner, false, "RWMutex.rlock_async").awaitable(py, timeout)
    }

    fn __aenter__(&self, py: Python<'_>) -> PyResult<Value> {
        RwOp::new(&self.inner, true, "RWMutex.__aenter__").awaitable(py, Timeout::Forever)
    }

    #[pyo3(signature = (_exc_type, _exc, _tb, /))]
    fn __aexit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<Value> {
        let rw = self.inner.clone();
        let unlock = Ready::new("RWMutex.__aexit__", move |py| {
            rw.unlock()?;
            Ok(py.None())
        });
        Awaitable::wrap(py, unlock, Timeout::Forever)
    }

    fn __repr__(&self) -> String {
        let holders = if self.inner.write_locked() {
            "write-locked".to_string()
        } else {
            format!("readers={}", self.inner.readers())
        };
        format!("<RWMutex {holders} waiting={}>", self.inner.waiting())
    }
}

/// The Locker of `RWMutex.rlocker()`: `lock`/`unlock` take and release
/// the read lock.
#[pyclass(frozen, module = "gocurrent", name = "RLocker")]
pub struct RLocker {
    pub(crate) inner: Arc<CoreRw>,
}

#[pymethods]
impl RLocker {
    /// Takes the read lock (`rw.rlock()`).
    #[pyo3(signature = (*, timeout = None))]
    fn lock(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let timeout = Timeout::parse(timeout)?;
        RwOp::new(&self.inner, false, "RLocker.lock").run(py, timeout)
    }

    /// Releases the read lock (`rw.runlock()`).
    fn unlock(&self) -> PyResult<()> {
        Ok(self.inner.runlock()?)
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        RwOp::new(&self.inner, false, "RLocker.__enter__").run(py, Timeout::Forever)
    }

    #[pyo3(signature = (_exc_type, _exc, _tb, /))]
    fn __exit__(
        &self,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.unlock()
    }
}
