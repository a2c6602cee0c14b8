//! The coroutine drivers of the wait protocol (src/wait.rs): the awaitables
//! every `*_async` method returns, for asyncio tasks and trio tasks alike.
//!
//! An [`Awaitable`] does nothing until awaited, like a coroutine. Its first
//! step tries the operation: if it completes at once (the fast path), the
//! await returns without a future and without a loop round trip. Otherwise
//! it decides how the awaiting task waits. In an asyncio task it registers
//! a waiter whose wake resolves an asyncio future of the running loop
//! (src/py/asyncio.rs),
//! awaits that future, then takes the result from the waiter. In a trio
//! task it registers a waiter whose wake reschedules the task and delegates
//! to `gocurrent._trio.wait`, which waits in
//! `trio.lowlevel.wait_task_rescheduled` with an abort that withdraws (see
//! src/py/trio.rs).
//!
//! asyncio: if the awaiting task is cancelled (or a `timeout=` expires) the
//! waiter is withdrawn first: when it was still waiting, nothing happened and
//! the exception propagates; when it had just been completed, the operation
//! happened, so its result is returned (the cancel is absorbed, as a
//! completed future ignores cancel) and the cancellation is re-delivered at
//! the task's next suspension, unless by then the task has finished (its
//! result, which may be the value, is kept: `asyncio.wait_for` and a task
//! that returns the value lose nothing) or the canceller has withdrawn its
//! request (`asyncio.timeout` leaving its block uncancels): no value lost,
//! no cancellation lost, no spurious one either.

use super::asyncio::{
    CANCELLED_ERROR, asyncio_attr, future_and_wake, running_loop, schedule_redelivery,
};
use super::call;
use super::chan::ChanOp;
use super::trio;
use crate::wait::{Driven, DynOp, Timeout, Value, WaitOp};
use crate::waitstate::{self, Since};
use parking_lot::Mutex;
use pyo3::exceptions::{PyBaseException, PyRuntimeError, PyStopIteration};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

/// How the awaiting task waits, decided at each await: on this thread's
/// running asyncio loop, else in a trio task.
enum Flavor<'py> {
    Asyncio(Bound<'py, PyAny>),
    Trio,
}

fn flavor(py: Python<'_>) -> PyResult<Flavor<'_>> {
    let running = running_loop(py)?;
    if !running.is_none() {
        return Ok(Flavor::Asyncio(running));
    }
    if trio::in_trio_task(py)? {
        return Ok(Flavor::Trio);
    }
    Err(PyRuntimeError::new_err("no running event loop"))
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
    /// asyncio: registered; the task waits on the future (yielded as a
    /// future's `__await__` iterator yields it).
    Waiting {
        fut: Py<PyAny>,
        /// The `loop.call_later` handle of a `timeout=`.
        timer: Option<Py<PyAny>>,
        /// runtime: when the wait began.
        since: Since,
    },
    /// trio: registered; the steps go to `gocurrent._trio.wait`'s coroutine.
    Delegating { inner: Py<PyAny> },
    /// Returned, raised or withdrawn.
    Finished,
}

/// What every `*_async` method returns: like a coroutine, it does nothing
/// until awaited (see the module docs).
// `weakref`: trio's wait coroutine refers to its awaitable weakly (see
// src/py/trio.rs).
#[pyclass(
    frozen,
    weakref,
    freelist = 64,
    module = "gocurrent._native",
    name = "Awaitable"
)]
pub struct Awaitable {
    op: Op,
    timeout: Timeout,
    state: Mutex<State>,
}

/// What a step does: yield to the task (it suspends on the object), or
/// end the await with the operation's result.
enum Step {
    Yield(Py<PyAny>),
    Done(PyResult<Py<PyAny>>),
}

/// A finished operation's result as the exception that ends an iterator
/// (for `send` and `throw`; `__next__` has the cheaper [`end_next`]).
fn stop(result: PyResult<Py<PyAny>>) -> PyErr {
    match result {
        Ok(v) => PyStopIteration::new_err((v,)),
        Err(e) => e,
    }
}

/// Ends `__next__` (the step of every `await` but trio's resumptions) with
/// `value` as the await's value. `None` is CPython's "the iterator ended"
/// with no exception set: the await returns None. Any other value travels
/// in StopIteration, set the way CPython's own generators set it,
/// `PyErr_SetObject(StopIteration, value)`: on 3.10 and 3.11 that
/// allocates nothing (the awaiting frame takes the value straight from the
/// error indicator), on 3.12 and later one exception object. PyO3's
/// exception for the same (`stop`) also allocates its arguments tuple and a
/// boxed closure: a third of what an `await ch.recv_async()` that finds a
/// value ready cost. A tuple would be read as the exception's arguments and
/// an exception as the exception itself, so those are set inside a 1-tuple
/// of arguments (a select's `(index, value)` among them).
fn end_next(py: Python<'_>, value: Py<PyAny>) -> PyResult<Option<Py<PyAny>>> {
    if value.is_none(py) {
        return Ok(None);
    }
    let v = value.into_bound(py);
    let set = if v.is_instance_of::<PyTuple>() || v.is_instance_of::<PyBaseException>() {
        PyTuple::new(py, [v])?.into_any()
    } else {
        v
    };
    // SAFETY: attached (`py`), and `set` is a live object, of which the
    // error indicator takes its own reference. PyO3's `tp_iternext`
    // wrapper turns the `Ok(None)` returned next into NULL without
    // touching the indicator, and nothing runs in between that could see
    // or clear it (dropping `set` leaves the indicator's reference).
    unsafe { pyo3::ffi::PyErr_SetObject(pyo3::ffi::PyExc_StopIteration, set.as_ptr()) };
    Ok(None)
}

/// Whether finished awaitables are reused (`Awaitable::park`), and how
/// [`only_reference`] tells that one has no weak reference. Reused only
/// where a reference count of 1 proves that nothing else refers to the
/// object: in a free-threaded build a count read by one thread does not
/// prove that (other threads' references are counted apart), so there
/// every await has a new awaitable. Set by [`init`].
static REUSE: PyOnceLock<Option<WeakList>> = PyOnceLock::new();

/// CPython's `__weakrefoffset__` of the class: where in an instance the
/// head of its list of weak references is (0: the class has none).
#[derive(Clone, Copy)]
struct WeakList(isize);

/// Decides [`REUSE`] at the module's import, not at a first await, which
/// may run on a thread that the interpreter's exit stops in an import.
pub fn init(py: Python<'_>) -> PyResult<()> {
    let free_threaded = py
        .import("sysconfig")?
        .call_method1("get_config_var", ("Py_GIL_DISABLED",))?
        .is_truthy()?;
    let offset: isize = py
        .get_type::<Awaitable>()
        .getattr("__weakrefoffset__")?
        .extract()?;
    // A negative offset means the list is kept elsewhere, which
    // `only_reference` does not read: then there is no reuse either.
    let reuse = (!free_threaded && offset >= 0).then_some(WeakList(offset));
    let _ = REUSE.set(py, reuse);
    Ok(())
}

fn reuse_allowed(py: Python<'_>) -> bool {
    matches!(REUSE.get(py), Some(Some(_)))
}

/// Whether `aw` is unreachable but through the caller's reference: its
/// reference count is 1 and no weak reference to it exists.
fn only_reference(aw: &Bound<'_, Awaitable>) -> bool {
    let Some(Some(WeakList(offset))) = REUSE.get(aw.py()).copied() else {
        return false;
    };
    let ptr = aw.as_ptr();
    // SAFETY: attached (`aw.py()`), with a reference to the live object
    // `ptr`. Its count is read on the thread that holds the GIL (there is
    // no reuse where there is none), so no other thread changes it
    // meanwhile.
    if unsafe { pyo3::ffi::Py_REFCNT(ptr) } != 1 {
        return false;
    }
    if offset == 0 {
        return true;
    }
    // SAFETY: a positive `__weakrefoffset__` is the offset, within every
    // instance of the class, of a `PyObject *` that is NULL while no weak
    // reference to the object exists (CPython's `tp_weaklistoffset`).
    // `aw` is an instance of exactly `Awaitable` (it cannot be
    // subclassed), so the offset is in bounds and aligned.
    let head = unsafe {
        *ptr.cast::<u8>()
            .offset(offset)
            .cast::<*mut pyo3::ffi::PyObject>()
    };
    head.is_null()
}

/// The outcome of a step of the delegated (trio) coroutine: what it
/// yields, or, once it returned or raised, the result.
enum Forwarded {
    Yielded(Py<PyAny>),
    Ended(PyResult<Py<PyAny>>),
}

fn forwarded(py: Python<'_>, r: PyResult<Bound<'_, PyAny>>) -> Forwarded {
    match r {
        Ok(y) => Forwarded::Yielded(y.unbind()),
        Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
            let value = e.value(py).getattr(intern!(py, "value")).map(Bound::unbind);
            Forwarded::Ended(value)
        }
        Err(e) => Forwarded::Ended(Err(e)),
    }
}

/// The operation an awaitable drives. A channel operation (the common
/// case, and mostly one that completes at once) is kept inline: no
/// allocation of its own per `await`.
enum Op {
    Chan(Driven<ChanOp>),
    Other(Box<dyn DynOp>),
}

impl std::ops::Deref for Op {
    type Target = dyn DynOp;

    fn deref(&self) -> &Self::Target {
        match self {
            Op::Chan(op) => op,
            Op::Other(op) => &**op,
        }
    }
}

impl Awaitable {
    /// An awaitable that drives `op`; `timeout` bounds the wait.
    pub fn wrap<O: WaitOp>(py: Python<'_>, op: O, timeout: Timeout) -> PyResult<Value> {
        Self::into_object(py, Op::Other(Box::new(Driven::new(op))), timeout)
    }

    /// An awaitable that drives a channel operation or a select. A send
    /// or a receive without a timeout reuses the channel's spare: the
    /// last such awaitable that finished at its first step, if nothing
    /// else refers to it any more (see [`Awaitable::park`]).
    pub fn wrap_chan(py: Python<'_>, op: ChanOp, timeout: Timeout) -> PyResult<Value> {
        let spare = match (timeout, op.single_chan()) {
            (Timeout::Forever, Some(chan)) => chan.swap_spare(None),
            _ => None,
        };
        let op = match spare {
            Some(spare) => match Self::reuse(py, spare, op) {
                Ok(aw) => return Ok(aw),
                Err(op) => op,
            },
            None => op,
        };
        Self::into_object(py, Op::Chan(Driven::new(op)), timeout)
    }

    /// `spare` made to drive `op` from the start, if it is unreachable but
    /// for this reference (no other reference, no weak reference): then
    /// no one can tell it from a new awaitable. Else `op` is handed back
    /// and `spare`, finished and holding nothing, is dropped.
    fn reuse(py: Python<'_>, spare: Py<PyAny>, op: ChanOp) -> Result<Value, ChanOp> {
        let Ok(aw) = spare.bind(py).cast::<Awaitable>() else {
            return Err(op);
        };
        if !only_reference(aw) {
            return Err(op);
        }
        let this = aw.get();
        let (Op::Chan(driven), Some(mut state)) = (&this.op, this.state.try_lock()) else {
            return Err(op);
        };
        // Only a finished awaitable without a timeout is ever parked.
        if !matches!(*state, State::Finished) {
            return Err(op);
        }
        // The old op holds no Python object (`park` took its channel), so
        // dropping it here runs no Python code.
        drop(driven.reset(op));
        *state = State::Start;
        drop(state);
        Ok(spare)
    }

    /// Keeps `slf`, finished at its first step, as its channel's spare
    /// for the next send or receive (`wrap_chan`): an `await ch.recv_async()`
    /// that finds a value ready then allocates no awaitable. Its op gives
    /// up the channel, so the spare holds nothing: not the channel (which
    /// holds the spare), no value, no waiter (none was registered, or it
    /// was withdrawn).
    fn park(slf: &Bound<'_, Self>) {
        let this = slf.get();
        let Op::Chan(driven) = &this.op else {
            return;
        };
        if !matches!(this.timeout, Timeout::Forever) || !reuse_allowed(slf.py()) {
            return;
        }
        if let Some(chan) = driven.with_op(ChanOp::take_chan) {
            drop(chan.swap_spare(Some(slf.clone().into_any().unbind())));
        }
    }

    fn into_object(py: Python<'_>, op: Op, timeout: Timeout) -> PyResult<Value> {
        let aw = Awaitable {
            op,
            timeout,
            state: Mutex::new(State::Start),
        };
        let aw = Py::new(py, aw)?;
        // PyO3 makes every class a GC type, but this one reports no
        // references to the collector (no `__traverse__`), so tracking it
        // would only add to the allocations that trigger collections: one
        // awaitable per `await`.
        // SAFETY: attached (`py`); `aw` is a live object of a GC type (so
        // it has the GC header this reads), and untracking is allowed at
        // any time (PyO3's dealloc untracks only if still tracked).
        unsafe { pyo3::ffi::PyObject_GC_UnTrack(aw.as_ptr().cast()) };
        Ok(aw.into_any())
    }

    fn cancel_timer(py: Python<'_>, timer: Option<Py<PyAny>>) {
        if let Some(handle) = timer {
            drop(handle.call_method0(py, "cancel"));
        }
    }

    /// Ends the await: cancels the timer, marks the state finished.
    fn finish_state(&self, py: Python<'_>) {
        let old = self.leave();
        if let State::Waiting { timer, .. } = old {
            Self::cancel_timer(py, timer);
        }
    }

    /// Marks the state finished, noting the end of a wait for the runtime.
    fn leave(&self) -> State {
        let old = std::mem::replace(&mut *self.state.lock(), State::Finished);
        if let State::Waiting { .. } = old {
            waitstate::note_activity();
        }
        old
    }

    /// Withdraws a registered operation that will not be delivered (an
    /// error after registering, a close): if it completed meanwhile, what
    /// it holds is released.
    fn give_up(&self) {
        if !self.op.withdraw() {
            self.op.abandon();
        }
    }

    /// The first step, with the state (still `Start`) locked: one lock for
    /// the whole fast path.
    fn first_step(slf: &Bound<'_, Self>, state: &mut State) -> Step {
        let py = slf.py();
        let this = slf.get();
        if let Some(result) = this.op.try_now(py) {
            *state = State::Finished;
            return Step::Done(result);
        }
        if let Timeout::Now = this.timeout {
            *state = State::Finished;
            return Step::Done(Err(this.timeout.error(this.op.what())));
        }
        let (next, result) = match flavor(py) {
            Ok(Flavor::Asyncio(event_loop)) => Self::start_asyncio(slf, event_loop),
            Ok(Flavor::Trio) => Self::start_trio(slf),
            Err(e) => (State::Finished, Step::Done(Err(e))),
        };
        *state = next;
        result
    }

    /// asyncio: registers a waiter that resolves a future of the loop,
    /// arms the timeout, and yields the future.
    fn start_asyncio(slf: &Bound<'_, Self>, event_loop: Bound<'_, PyAny>) -> (State, Step) {
        let py = slf.py();
        let this = slf.get();
        let (event_loop, fut, wake) = match future_and_wake(py, event_loop) {
            Ok(x) => x,
            Err(e) => return (State::Finished, Step::Done(Err(e))),
        };
        if let Some(result) = this.op.register(py, wake) {
            return (State::Finished, Step::Done(result));
        }
        // Registered: from here on every failure withdraws, so no value is
        // ever handed to a waiter nobody reads.
        let armed = || -> PyResult<Option<Py<PyAny>>> {
            let timer = match this.timeout.seconds() {
                Some(t) => {
                    let expire = slf.getattr(intern!(py, "_expire"))?;
                    Some(event_loop.call_method1(py, intern!(py, "call_later"), (t, expire))?)
                }
                None => None,
            };
            // What the future's own `__await__` iterator does, without the
            // iterator and the StopIteration that ends it: mark the future
            // as awaited and yield it to the task, which resumes this step
            // once the future is done (see `step`).
            if let Err(e) = fut.setattr(py, intern!(py, "_asyncio_future_blocking"), true) {
                Self::cancel_timer(py, timer);
                return Err(e);
            }
            Ok(timer)
        };
        match armed() {
            Ok(timer) => {
                let yielded = fut.clone_ref(py);
                waitstate::note_activity();
                let waiting = State::Waiting {
                    fut,
                    timer,
                    since: Since::now(),
                };
                (waiting, Step::Yield(yielded))
            }
            Err(e) => {
                this.give_up();
                (State::Finished, Step::Done(Err(e)))
            }
        }
    }

    /// trio: registers a waiter that reschedules the task, then delegates
    /// to `gocurrent._trio.wait`'s coroutine (stepped once here).
    fn start_trio(slf: &Bound<'_, Self>) -> (State, Step) {
        let py = slf.py();
        let this = slf.get();
        let wake = match trio::wake(py) {
            Ok(wake) => wake,
            Err(e) => return (State::Finished, Step::Done(Err(e))),
        };
        if let Some(result) = this.op.register(py, wake) {
            return (State::Finished, Step::Done(result));
        }
        let inner = match trio::waiting(slf, this.timeout.seconds()) {
            Ok(inner) => inner,
            Err(e) => {
                this.give_up();
                return (State::Finished, Step::Done(Err(e)));
            }
        };
        // Its first step only yields to trio (the abort is its business
        // from here on).
        match forwarded(py, inner.call_method1(intern!(py, "send"), (py.None(),))) {
            Forwarded::Yielded(y) => (
                State::Delegating {
                    inner: inner.unbind(),
                },
                Step::Yield(y),
            ),
            Forwarded::Ended(r) => (State::Finished, Step::Done(r)),
        }
    }

    /// A step of a delegated (trio) wait: `call` sends or throws into the
    /// inner coroutine.
    fn forward<'py>(
        &self,
        py: Python<'py>,
        inner: Bound<'py, PyAny>,
        call: impl FnOnce(&Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>>,
    ) -> Step {
        match forwarded(py, call(&inner)) {
            Forwarded::Yielded(y) => Step::Yield(y),
            Forwarded::Ended(r) => {
                *self.state.lock() = State::Finished;
                Step::Done(r)
            }
        }
    }

    fn step(slf: &Bound<'_, Self>, value: Option<&Bound<'_, PyAny>>) -> Step {
        let py = slf.py();
        let this = slf.get();
        // Locked only by a step, `throw`, `close` or `_expire`, which the
        // awaiting task runs one at a time: a lock already held means the
        // awaitable was re-entered from its own step (a finalizer that
        // awaits it), which is an error, as for a running generator.
        let Some(mut state) = this.state.try_lock() else {
            return Step::Done(Err(PyRuntimeError::new_err("operation already executing")));
        };
        let fut = match &mut *state {
            State::Start => {
                let step = Self::first_step(slf, &mut state);
                drop(state);
                if let Step::Done(_) = step {
                    Self::park(slf);
                }
                return step;
            }
            State::Waiting { fut, .. } => fut.clone_ref(py),
            State::Delegating { inner } => {
                let inner = inner.clone_ref(py).into_bound(py);
                drop(state);
                let value = value.map_or_else(|| py.None().into_bound(py), Bound::clone);
                return this.forward(py, inner, |c| c.call_method1(intern!(py, "send"), (value,)));
            }
            State::Finished => {
                return Step::Done(Err(PyRuntimeError::new_err(
                    "cannot reuse already awaited operation",
                )));
            }
        };
        drop(state);
        // Resumed: the future is done (its `result()` raises if it failed or
        // was cancelled, or, if a caller other than a task resumed us early,
        // that it is not done yet).
        let resumed = call::method0(fut.bind(py), intern!(py, "result"));
        this.finish_state(py);
        if let Err(e) = resumed {
            this.give_up();
            return Step::Done(Err(e));
        }
        Step::Done(this.op.finish(py))
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
    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        match Self::step(slf, None) {
            Step::Yield(y) => Ok(Some(y)),
            Step::Done(Ok(v)) => end_next(slf.py(), v),
            Step::Done(Err(e)) => Err(e),
        }
    }
    #[pyo3(signature = (value, /))]
    fn send(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match Self::step(slf, Some(value)) {
            Step::Yield(y) => Ok(y),
            Step::Done(r) => Err(stop(r)),
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
        let old = self.leave();
        let (fut, timer) = match old {
            State::Waiting { fut, timer, .. } => (fut, timer),
            State::Delegating { inner } => {
                *self.state.lock() = State::Delegating {
                    inner: inner.clone_ref(py),
                };
                let exc = exc.into_value(py);
                let r = self.forward(py, inner.into_bound(py), |c| {
                    c.call_method1(intern!(py, "throw"), (exc,))
                });
                return match r {
                    Step::Yield(y) => Ok(y),
                    Step::Done(r) => Err(stop(r)),
                };
            }
            _ => return Err(exc),
        };
        Self::cancel_timer(py, timer);
        if self.op.withdraw() {
            drop(fut.call_method0(py, "cancel"));
            return Err(exc);
        }
        let cancelled = asyncio_attr(py, &CANCELLED_ERROR, "CancelledError")?;
        if !exc.matches(py, cancelled)? {
            self.op.abandon();
            return Err(exc);
        }
        // The operation completed before the cancellation reached us: keep
        // its result and re-deliver the cancellation at the next suspension
        // (see the module docs). Re-cancelling at once instead would make a
        // task that returns the value end cancelled, losing it.
        let result = self.op.finish(py);
        if let Err(e) = schedule_redelivery(py, fut.bind(py)) {
            e.write_unraisable(py, None);
        }
        Err(stop(result))
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let old = self.leave();
        match old {
            State::Waiting { timer, .. } => {
                Self::cancel_timer(py, timer);
                // Completed but never to be received: release what it holds.
                self.give_up();
            }
            State::Delegating { inner } => {
                inner.call_method0(py, intern!(py, "close"))?;
                self.give_up();
            }
            _ => {}
        }
        Ok(())
    }

    /// For `gocurrent.runtime`: `(reason, seconds waited, has a timeout,
    /// pending: not woken yet)` while the awaiting asyncio task is
    /// suspended on this operation, else None.
    #[getter]
    fn _wait_state(&self) -> Option<(&'static str, f64, bool, bool)> {
        match &*self.state.try_lock()? {
            State::Waiting { since, .. } => Some((
                self.op.wait_reason(),
                since.seconds(),
                self.timeout.seconds().is_some(),
                self.op.pending(),
            )),
            _ => None,
        }
    }

    /// For `gocurrent.runtime`: Go's wait reason of the operation
    /// (`"chan receive"`...), whatever its state (a trio task's wait keeps
    /// the rest on the task: see `gocurrent._trio.wait`).
    #[getter]
    fn _wait_reason(&self) -> &'static str {
        self.op.wait_reason()
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
            let exc = self.timeout.error(self.op.what()).into_value(py);
            fut.call_method1(py, "set_exception", (exc,))?;
        }
        Ok(())
    }

    /// trio's abort: `True` if the operation was withdrawn before it
    /// completed (nothing happened); `False` if it completed (the wake
    /// reschedules the task, and `_finish` gives the result).
    fn _withdraw(&self) -> bool {
        self.op.withdraw()
    }

    /// The result of the completed operation (trio, after the wake).
    fn _finish(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.op.finish(py)
    }

    /// The wait ended with an exception (trio): withdraw, or release what
    /// a completed operation holds.
    fn _give_up(&self) {
        self.give_up();
    }

    /// The TimeoutError of this operation's `timeout=`.
    fn _timeout_error(&self, py: Python<'_>) -> Py<PyAny> {
        self.timeout.error(self.op.what()).into_value(py).into_any()
    }
}

impl Drop for Awaitable {
    fn drop(&mut self) {
        // Dropped while registered (never awaited to the end): withdraw so
        // no value is handed to a waiter that nobody will read (the op's
        // own drop gives back anything it was handed meanwhile).
        if let State::Waiting { .. } | State::Delegating { .. } = self.state.get_mut() {
            self.op.withdraw();
        }
    }
}
