//! `Once`: Go's sync.Once.

use super::mutex::Mutex;
use crate::blocking;
use crate::core::mutex::Mutex as CoreMutex;
use pyo3::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Go's `sync.Once`: `once.do(fn)` calls fn only on the first call.
#[pyclass(frozen, module = "gocurrent", name = "Once")]
pub struct Once {
    done: AtomicBool,
    m: Arc<CoreMutex>,
}

#[pymethods]
impl Once {
    #[new]
    fn new() -> Self {
        Once {
            done: AtomicBool::new(false),
            m: Arc::new(CoreMutex::new()),
        }
    }

    /// Calls `fn()` if and only if this is the first call of `do` on this
    /// Once. Other callers block until that call returns. If fn raises, the
    /// exception propagates from that call only, and the Once is done all
    /// the same (as in Go).
    #[pyo3(name = "do", signature = (fn_, /))]
    fn do_(&self, py: Python<'_>, fn_: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.done.load(Ordering::Acquire) {
            return Ok(());
        }
        Mutex::lock_forever(py, &self.m, "Once.do")?;
        let r = if self.done.load(Ordering::Relaxed) {
            Ok(())
        } else {
            let r = blocking::call0(fn_).map(drop);
            self.done.store(true, Ordering::Release);
            r
        };
        drop(self.m.unlock());
        r
    }

    fn __repr__(&self) -> String {
        let done = if self.done.load(Ordering::Relaxed) {
            " done"
        } else {
            ""
        };
        format!("<Once{done}>")
    }
}
