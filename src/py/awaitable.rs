//! The asyncio side of waiting: the awaitables every `*_async` method returns.
//!
//! An [`Awaitable`] does nothing until awaited, like a coroutine. Its first
//! step tries the operation: if it completes at once (the fast path), the
//! await returns without a future and without a loop round trip. Otherwise
//! it registers a waiter whose wake resolves an asyncio future of the
//! running loop, awaits that future, then takes the result from the
//! waiter. If the awaiting task is
//!   cancelled (or a `timeout=` expires) the waiter is withdrawn first: when
//!   it was still waiting, nothing happened and the exception propagates;
//!   when it had just been completed, the operation happened, so its result
//!   is returned and a cancellation is re-delivered at the task's next
//!   `await` (no value lost, no cancellation lost).

use crate::blocking;
use crate::core::waiter::Wake;
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTimeoutError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyIterator, PyTuple};
use std::thread::ThreadId;

/// An asynchronous operation as [`Awaitable`] drives it.
pub trait AsyncOp: Send + Sync {
    /// Performs the operation if it can complete at once.
    fn try_now(&self, py: Python<'_>) -> Option<PyResult<Py<PyAny>>>;
    /// Tries again and, if the operation must wait, registers a waiter that
    /// `wake` wakes once it has been completed. `Some`: performed now.
    fn register(&self, py: Python<'_>, wake: Wake) -> Option<PyResult<Py<PyAny>>>;
    /// After the wake: the operation's result (or exception).
    fn finish(&self, py: Python<'_>) -> PyResult<Py<PyAny>>;
    /// Withdraws a registered operation: `true` if it was still waiting
    /// (nothing happened, nor will); `false` if it completed already and
    /// [`AsyncOp::finish`] gives its result.
    fn withdraw(&self) -> bool;
    /// The operation completed but its result will never be delivered (the
    /// coroutine was closed, or an exception other than a cancellation was
    /// thrown in at the `await`): release what it holds. By default the
    /// result is finished and dropped (a received value is simply dropped);
    /// an operation that acquired something (a lock, tokens) gives it back.
    fn abandon(&self, py: Python<'_>) {
        drop(self.finish(py));
    }
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static RESOLVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static CANCELLED_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static CURRENT_TASK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn asyncio_attr<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("asyncio")?.getattr(name)?.unbind())
    })
    .map(|o| o.bind(py))
}

/// The running event loop of this thread (RuntimeError if there is none).
pub fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    asyncio_attr(py, &GET_RUNNING_LOOP, "get_running_loop")?.call0()
}

/// Sets a future's result to None unless it is done (cancelled, timed out).
fn resolve_future(args: &Bound<'_, PyTuple>) -> PyResult<()> {
    let fut = args.get_item(0)?;
    let py = args.py();
    if !fut.call_method0(intern!(py, "done"))?.is_truthy()? {
        fut.call_method1(intern!(py, "set_result"), (py.None(),))?;
    }
    Ok(())
}

fn resolve_fn(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    RESOLVE
        .get_or_try_init(py, || {
            PyCFunction::new_closure(py, None, None, |args, _kwargs| resolve_future(args))
                .map(|f| f.into_any().unbind())
        })
        .map(|f| f.bind(py))
}

/// An asyncio future of the running loop, and the [`Wake`] that resolves it
/// from any thread: directly on the loop's own thread, else through
/// `call_soon_threadsafe` (a closed loop is ignored).
pub fn future_and_wake(py: Python<'_>) -> PyResult<(Py<PyAny>, Py<PyAny>, Wake)> {
    let event_loop = running_loop(py)?;
    let fut = event_loop
        .call_method0(intern!(py, "create_future"))?
        .unbind();
    resolve_fn(py)?;
    let loop_thread: ThreadId = std::thread::current().id();
    let (l, f) = (event_loop.clone().unbind(), fut.clone_ref(py));
    let wake = Wake::Callback(Box::new(move || {
        blocking::attach_if_alive(|py| {
            let Ok(resolve) = resolve_fn(py) else { return };
            let res = if std::thread::current().id() == loop_thread {
                resolve.call1((&f,)).map(drop)
            } else {
                l.call_method1(py, intern!(py, "call_soon_threadsafe"), (resolve, &f))
                    .map(drop)
            };
            // The loop may be closed: nobody awaits the future any more.
            drop(res);
        })
    }));
    Ok((event_loop.unbind(), fut, wake))
}

/// Builds the exception of a `throw(typ[, val[, tb]])` call.
fn to_exception(
    typ: &Bound<'_, PyAny>,
    val: Option<&Bound<'_, PyAny>>,
    tb: Option<&Bound<'_, PyAny>>,
) -> PyErr {
    let make = || -> PyResult<PyErr> {
        let exc = match val {
            Some(v) if !v.is_none() && v.is_instance(typ).unwrap_or(false) => v.clone(),
            Some(v) if !v.is_none() => typ.call1((v,))?,
            _ if typ.is_instance_of::<pyo3::types::PyType>() => typ.call0()?,
            _ => typ.clone(),
        };
        if let Some(tb) = tb.filter(|tb| !tb.is_none()) {
            exc.setattr("__traceback__", tb)?;
        }
        Ok(PyErr::from_value(exc))
    };
    make().unwrap_or_else(|e| e)
}

enum State {
    /// Not awaited yet: nothing has happened.
    Start,
    /// Registered; delegating to the future's `__await__()` iterator.
    Waiting {
        iter: Py<PyAny>,
        fut: Py<PyAny>,
        /// The `loop.call_later` handle of a `timeout=`.
        timer: Option<Py<PyAny>>,
    },
    /// Returned, raised or withdrawn.
    Finished,
}

/// What every `*_async` method returns: like a coroutine, it does nothing
/// until awaited (see the module docs).
#[pyclass(frozen, module = "gocurrent._native", name = "Awaitable")]
pub struct Awaitable {
    op: Box<dyn AsyncOp>,
    /// `None`: wait for ever; `Some(t)`: give up after t seconds (t <= 0:
    /// one attempt).
    timeout: Option<f64>,
    state: Mutex<State>,
}

/// What `__next__` answers: `Some(x)` yields x (the task suspends on it);
/// `None`, returned without an exception set, is CPython's cheap "the
/// await returned None"; any other result travels in a StopIteration.
type Step = PyResult<Option<Py<PyAny>>>;

fn done(py: Python<'_>, result: PyResult<Py<PyAny>>) -> Step {
    match result {
        Ok(v) if v.is_none(py) => Ok(None),
        other => Err(stop(other)),
    }
}

/// One step of the future's iterator: `Some(yielded)`, or `None` when it
/// finished (its StopIteration is dropped: the result comes from the op).
fn next_of(py: Python<'_>, iter: &Py<PyAny>) -> PyResult<Option<Py<PyAny>>> {
    let iter = iter.bind(py).cast::<PyIterator>()?;
    iter.clone()
        .next()
        .transpose()
        .map(|o| o.map(Bound::unbind))
}

/// A finished operation's result as the exception that ends an iterator
/// (for `send` and `throw`, which cannot use the `None` shortcut).
fn stop(result: PyResult<Py<PyAny>>) -> PyErr {
    match result {
        Ok(v) => PyStopIteration::new_err((v,)),
        Err(e) => e,
    }
}

impl Awaitable {
    pub fn wrap(py: Python<'_>, op: Box<dyn AsyncOp>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let aw = Awaitable {
            op,
            timeout,
            state: Mutex::new(State::Start),
        };
        Ok(Py::new(py, aw)?.into_any())
    }

    fn cancel_timer(py: Python<'_>, timer: Option<Py<PyAny>>) {
        if let Some(handle) = timer {
            drop(handle.call_method0(py, "cancel"));
        }
    }

    /// Ends the await: cancels the timer, marks the state finished.
    fn finish_state(&self, py: Python<'_>) {
        let old = std::mem::replace(&mut *self.state.lock(), State::Finished);
        if let State::Waiting { timer, .. } = old {
            Self::cancel_timer(py, timer);
        }
    }

    fn first_step(slf: &Bound<'_, Self>) -> Step {
        let py = slf.py();
        let this = slf.get();
        if let Some(result) = this.op.try_now(py) {
            *this.state.lock() = State::Finished;
            return done(py, result);
        }
        if this.timeout.is_some_and(|t| t <= 0.0) {
            *this.state.lock() = State::Finished;
            return Err(PyTimeoutError::new_err(()));
        }
        let (event_loop, fut, wake) = future_and_wake(py)?;
        if let Some(result) = this.op.register(py, wake) {
            *this.state.lock() = State::Finished;
            return done(py, result);
        }
        let iter = fut.call_method0(py, intern!(py, "__await__"))?;
        let timer = match this.timeout {
            Some(t) => {
                let expire = slf.getattr("_expire")?;
                Some(event_loop.call_method1(py, "call_later", (t, expire))?)
            }
            None => None,
        };
        *this.state.lock() = State::Waiting {
            iter: iter.clone_ref(py),
            fut,
            timer,
        };
        next_of(py, &iter)
    }

    fn step(slf: &Bound<'_, Self>) -> Step {
        let py = slf.py();
        let this = slf.get();
        let iter = match &*this.state.lock() {
            State::Start => None,
            State::Waiting { iter, .. } => Some(iter.clone_ref(py)),
            State::Finished => {
                return Err(PyRuntimeError::new_err(
                    "cannot reuse already awaited operation",
                ));
            }
        };
        let Some(iter) = iter else {
            return Self::first_step(slf);
        };
        match next_of(py, &iter) {
            Ok(Some(yielded)) => Ok(Some(yielded)),
            Ok(None) => {
                this.finish_state(py);
                done(py, this.op.finish(py))
            }
            Err(e) => {
                this.finish_state(py);
                Err(e)
            }
        }
    }
}

#[pymethods]
impl Awaitable {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }
    fn __next__(slf: &Bound<'_, Self>) -> Step {
        Self::step(slf)
    }
    #[pyo3(signature = (_value, /))]
    fn send(slf: &Bound<'_, Self>, _value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match Self::step(slf)? {
            Some(yielded) => Ok(yielded),
            None => Err(stop(Ok(slf.py().None()))),
        }
    }

    /// An exception thrown in at the `await` (cancellation above all).
    #[pyo3(signature = (typ, val=None, tb=None, /))]
    fn throw(
        &self,
        py: Python<'_>,
        typ: &Bound<'_, PyAny>,
        val: Option<&Bound<'_, PyAny>>,
        tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let exc = to_exception(typ, val, tb);
        let old = std::mem::replace(&mut *self.state.lock(), State::Finished);
        let State::Waiting { fut, timer, .. } = old else {
            return Err(exc);
        };
        Self::cancel_timer(py, timer);
        if self.op.withdraw() {
            drop(fut.call_method0(py, "cancel"));
            return Err(exc);
        }
        let cancelled = asyncio_attr(py, &CANCELLED_ERROR, "CancelledError")?;
        if !exc.matches(py, cancelled)? {
            self.op.abandon(py);
            return Err(exc);
        }
        // The operation completed before the cancellation reached us: keep
        // its result and re-deliver the cancellation at the next await.
        let result = self.op.finish(py);
        let task = asyncio_attr(py, &CURRENT_TASK, "current_task")?.call0()?;
        if !task.is_none() {
            if task.hasattr("uncancel")? {
                task.call_method0("uncancel")?;
            }
            task.call_method0("cancel")?;
        }
        Err(stop(result))
    }

    fn close(&self, py: Python<'_>) {
        let old = std::mem::replace(&mut *self.state.lock(), State::Finished);
        if let State::Waiting { timer, .. } = old {
            Self::cancel_timer(py, timer);
            if !self.op.withdraw() {
                // Completed but never to be received: release what it holds.
                self.op.abandon(py);
            }
        }
    }

    /// The `timeout=` expired: withdraw, and fail the future if that won.
    fn _expire(&self, py: Python<'_>) -> PyResult<()> {
        let fut = match &mut *self.state.lock() {
            State::Waiting { fut, timer, .. } => {
                *timer = None;
                fut.clone_ref(py)
            }
            _ => return Ok(()),
        };
        if self.op.withdraw() && !fut.call_method0(py, "done")?.is_truthy(py)? {
            let exc = PyTimeoutError::new_err(()).into_value(py);
            fut.call_method1(py, "set_exception", (exc,))?;
        }
        Ok(())
    }
}

impl Drop for Awaitable {
    fn drop(&mut self) {
        // Dropped while registered (never awaited to the end): withdraw so
        // no value is handed to a waiter that nobody will read.
        if let State::Waiting { .. } = self.state.get_mut() {
            self.op.withdraw();
        }
    }
}
