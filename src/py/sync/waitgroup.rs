//! `WaitGroup`: Go's sync.WaitGroup over `core::waitgroup`.

use crate::blocking;
use crate::core::waitgroup::{WaitGroup as CoreWg, WgWaiter};
use crate::py::awaitable::Awaitable;
use crate::py::timeout::Timeout;
use crate::wait::{Value, WaitOp};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};
use std::sync::Arc;

/// Waiting for the counter to reach zero, as the wait protocol runs it.
struct WgOp {
    wg: Arc<CoreWg>,
    what: &'static str,
}

impl WaitOp for WgOp {
    type R = ();

    fn what(&self) -> &'static str {
        self.what
    }

    fn wait_reason(&self) -> &'static str {
        "sync.WaitGroup.Wait"
    }

    fn try_now(&mut self, py: Python<'_>) -> Option<PyResult<Value>> {
        self.wg.is_zero().then(|| Ok(py.None()))
    }

    fn register(&mut self, py: Python<'_>, w: &Arc<WgWaiter>) -> Option<PyResult<Value>> {
        self.wg.enqueue(w).then(|| Ok(py.None()))
    }

    fn unregister(&mut self, w: &Arc<WgWaiter>) {
        self.wg.dequeue(w);
    }

    fn finish(&mut self, py: Python<'_>, _w: &Arc<WgWaiter>, _r: ()) -> Option<PyResult<Value>> {
        Some(Ok(py.None()))
    }

    fn abandon(&mut self, _w: &Arc<WgWaiter>, _r: ()) {}
}

/// A Go wait group: `WaitGroup()`; `add`, `done`, `wait`, `go`.
#[pyclass(frozen, module = "gocurrent", name = "WaitGroup")]
pub struct WaitGroup {
    inner: Arc<CoreWg>,
}

#[pymethods]
impl WaitGroup {
    #[new]
    fn new() -> Self {
        WaitGroup {
            inner: Arc::new(CoreWg::new()),
        }
    }

    /// Adds `delta` (may be negative) to the counter; when it reaches zero,
    /// every `wait` returns. ValueError("sync: negative WaitGroup counter")
    /// if it would go below zero (the counter is then unchanged).
    #[pyo3(signature = (delta = 1))]
    fn add(&self, delta: i64) -> PyResult<()> {
        Ok(self.inner.add(delta)?)
    }

    /// Decrements the counter by one.
    fn done(&self) -> PyResult<()> {
        Ok(self.inner.add(-1)?)
    }

    /// Blocks until the counter is zero. Raises TimeoutError after
    /// `timeout` seconds.
    #[pyo3(signature = (*, timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let timeout = Timeout::parse(timeout)?;
        let mut op = WgOp {
            wg: self.inner.clone(),
            what: "WaitGroup.wait",
        };
        blocking::run(py, &mut op, timeout)?;
        Ok(())
    }

    /// `await wg.wait_async()`: wait from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn wait_async(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        let op = WgOp {
            wg: self.inner.clone(),
            what: "WaitGroup.wait_async",
        };
        Awaitable::wrap(py, op, timeout)
    }

    /// Runs `fn(*args, **kwargs)` as a goroutine counted by the group: adds
    /// one now, and `done()` when fn returns or raises (the exception is
    /// reported through `threading.excepthook`).
    #[pyo3(signature = (fn_, /, *args, **kwargs))]
    fn go(
        slf: &Bound<'_, Self>,
        fn_: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        static WG_GO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let py = slf.py();
        let spawn = WG_GO.import(py, "gocurrent._runtime", "wg_go")?;
        let this = slf.get();
        this.inner.add(1)?;
        let kwargs = match kwargs {
            Some(k) => k.clone(),
            None => PyDict::new(py),
        };
        if let Err(e) = spawn.call1((slf, fn_, args, kwargs)) {
            drop(this.inner.add(-1));
            return Err(e);
        }
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!(
            "<WaitGroup count={} waiting={}>",
            self.inner.count(),
            self.inner.waiters()
        )
    }
}
