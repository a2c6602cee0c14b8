//! `Semaphore`: golang.org/x/sync/semaphore's weighted semaphore over
//! `core::sema`, optionally watching a context.

use crate::blocking;
use crate::core::chan::{self as cchan, Case, ChanWaiter, Poll};
use crate::core::sema::{Acquired, SemWaiter, Semaphore as CoreSem};
use crate::core::waiter::{Waiter, Wake};
use crate::py::awaitable::Awaitable;
use crate::py::chan::Chan;
use crate::py::errors::must_be;
use crate::py::timeout::Timeout;
use crate::wait::{Value, WaitOp, woken_early};
use pyo3::exceptions::{PyBaseException, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use std::sync::Arc;

/// A context as `Semaphore.acquire` watches it: any object with `done()`
/// (a gocurrent Chan, closed when the context is done) and `err()`.
struct Ctx {
    ctx: Py<PyAny>,
    done: Option<Arc<cchan::Chan<Value>>>,
}

impl Ctx {
    fn of(ctx: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Ctx>> {
        let Some(ctx) = ctx.filter(|c| !c.is_none()) else {
            return Ok(None);
        };
        let py = ctx.py();
        if !ctx.hasattr(intern!(py, "done"))? || !ctx.hasattr(intern!(py, "err"))? {
            return Err(must_be("ctx", "a context (with done() and err())", ctx));
        }
        let done = ctx.call_method0(intern!(py, "done"))?;
        let chan = done
            .cast::<Chan>()
            .map_err(|_| PyTypeError::new_err("ctx.done() must return a gocurrent Chan"))?;
        Ok(Some(Ctx {
            ctx: ctx.clone().unbind(),
            done: chan.get().core().cloned(),
        }))
    }

    fn is_done(&self) -> bool {
        self.done.as_ref().is_some_and(|c| c.is_closed())
    }

    /// `ctx.err()` as the exception to raise.
    fn err(&self, py: Python<'_>) -> PyErr {
        match self.ctx.call_method0(py, intern!(py, "err")) {
            Ok(e) if e.bind(py).is_instance_of::<PyBaseException>() => {
                PyErr::from_value(e.into_bound(py))
            }
            Ok(_) => PyRuntimeError::new_err("context is done but its err() is None"),
            Err(e) => e,
        }
    }

    /// Makes `waiter` complete with `Acquired::No` once the context is
    /// done: a receive on its done channel, registered with a waiter of
    /// its own whose wake aborts `waiter` (so no polling, and nothing new in
    /// the channel core). `None`: the context is done already.
    fn watch(&self, waiter: &Arc<SemWaiter>) -> Option<Option<Watch>> {
        let Some(chan) = &self.done else {
            return Some(None);
        };
        let target = waiter.clone();
        let bridge: Arc<ChanWaiter<Value>> = Waiter::new(Wake::Callback(Box::new(move || {
            if target.complete(Acquired::No).is_ok() {
                target.wake();
            }
        })));
        match cchan::select([Case::Recv(&**chan)], Some(&bridge)) {
            Poll::Ready(_) => None,
            Poll::Pending => Some(Some(Watch {
                chan: chan.clone(),
                bridge,
            })),
        }
    }
}

/// A registered watch on a context's done channel; dropping it unregisters.
struct Watch {
    chan: Arc<cchan::Chan<Value>>,
    bridge: Arc<ChanWaiter<Value>>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.bridge.withdraw();
        cchan::unregister([&*self.chan], &self.bridge);
    }
}

/// Acquiring tokens, as the wait protocol runs it. A waiter is completed
/// with the tokens granted, or refused by the context becoming done.
struct SemOp {
    sem: Arc<CoreSem>,
    n: i64,
    ctx: Option<Ctx>,
    watch: Option<Watch>,
    what: &'static str,
}

impl SemOp {
    fn ctx_err(&self, py: Python<'_>) -> PyErr {
        self.ctx.as_ref().map_or_else(woken_early, |c| c.err(py))
    }
}

impl WaitOp for SemOp {
    type R = Acquired;

    fn what(&self) -> &'static str {
        self.what
    }

    fn wait_reason(&self) -> &'static str {
        "semacquire"
    }

    fn try_now(&mut self, py: Python<'_>) -> Option<PyResult<Value>> {
        if self.ctx.as_ref().is_some_and(Ctx::is_done) {
            return Some(Err(self.ctx_err(py)));
        }
        match self.sem.try_acquire(self.n) {
            Ok(true) => Some(Ok(py.None())),
            Ok(false) => None,
            Err(e) => Some(Err(e.into())),
        }
    }

    fn register(&mut self, py: Python<'_>, w: &Arc<SemWaiter>) -> Option<PyResult<Value>> {
        let watch = match self.ctx.as_ref().map(|c| c.watch(w)) {
            None => None,
            Some(Some(watch)) => watch,
            Some(None) => return Some(Err(self.ctx_err(py))),
        };
        match self.sem.enqueue(self.n, w) {
            Ok(true) => Some(Ok(py.None())),
            Err(e) => Some(Err(e.into())),
            Ok(false) => {
                self.watch = watch;
                None
            }
        }
    }

    fn unregister(&mut self, w: &Arc<SemWaiter>) {
        self.watch = None;
        self.sem.cancel(self.n, w, false);
    }

    fn finish(
        &mut self,
        py: Python<'_>,
        w: &Arc<SemWaiter>,
        r: Acquired,
    ) -> Option<PyResult<Value>> {
        self.watch = None;
        Some(match r {
            // Granted, but the context is done too: Go gives the tokens back.
            Acquired::Yes => match self.ctx.as_ref().filter(|c| c.is_done()) {
                Some(c) => self
                    .sem
                    .release(self.n)
                    .map_err(PyErr::from)
                    .and_then(|()| Err(c.err(py))),
                None => Ok(py.None()),
            },
            Acquired::No => {
                self.sem.cancel(self.n, w, false);
                Err(self.ctx_err(py))
            }
        })
    }

    fn abandon(&mut self, w: &Arc<SemWaiter>, r: Acquired) {
        self.watch = None;
        self.sem.cancel(self.n, w, r == Acquired::Yes);
    }
}

/// golang.org/x/sync/semaphore's weighted semaphore: `Semaphore(n)`.
/// Waiters are served first come, first served.
#[pyclass(frozen, module = "gocurrent", name = "Semaphore")]
pub struct Semaphore {
    inner: Arc<CoreSem>,
}

impl Semaphore {
    fn op(&self, n: i64, ctx: Option<&Bound<'_, PyAny>>, what: &'static str) -> PyResult<SemOp> {
        Ok(SemOp {
            sem: self.inner.clone(),
            n,
            ctx: Ctx::of(ctx)?,
            watch: None,
            what,
        })
    }
}

#[pymethods]
impl Semaphore {
    #[new]
    fn new(n: i64) -> PyResult<Self> {
        let n = u64::try_from(n).map_err(|_| PyValueError::new_err("semaphore: negative size"))?;
        Ok(Semaphore {
            inner: Arc::new(CoreSem::new(n)),
        })
    }

    /// Acquires `n` tokens, blocking until they are available (first come,
    /// first served). With `ctx`, raises `ctx.err()` if the context is done,
    /// even when tokens are free; TimeoutError after `timeout` seconds.
    /// ValueError if n exceeds the semaphore's size.
    #[pyo3(signature = (n = 1, *, ctx = None, timeout = None))]
    fn acquire(
        &self,
        py: Python<'_>,
        n: i64,
        ctx: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let timeout = Timeout::parse(timeout)?;
        let mut op = self.op(n, ctx, "Semaphore.acquire")?;
        blocking::run(py, &mut op, timeout)?;
        Ok(())
    }

    /// Acquires `n` tokens if they are free now and nobody waits; returns
    /// whether it did.
    #[pyo3(signature = (n = 1))]
    fn try_acquire(&self, n: i64) -> PyResult<bool> {
        Ok(self.inner.try_acquire(n)?)
    }

    /// Releases `n` tokens. RuntimeError("semaphore: released more than
    /// held") if more are released than are held.
    #[pyo3(signature = (n = 1))]
    fn release(&self, n: i64) -> PyResult<()> {
        Ok(self.inner.release(n)?)
    }

    /// `await sem.acquire_async(n)`: acquire from a coroutine.
    #[pyo3(signature = (n = 1, *, ctx = None, timeout = None))]
    fn acquire_async(
        &self,
        py: Python<'_>,
        n: i64,
        ctx: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        let op = self.op(n, ctx, "Semaphore.acquire_async")?;
        Awaitable::wrap(py, op, timeout)
    }

    fn __repr__(&self) -> String {
        format!(
            "<Semaphore size={} held={} waiting={}>",
            self.inner.size(),
            self.inner.held(),
            self.inner.waiting()
        )
    }
}
