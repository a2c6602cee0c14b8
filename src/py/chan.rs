//! `Chan`, `nilchan`, `select` and `select_async`: thin wrappers that parse
//! arguments into a [`Plan`] and map the core's outcome to Python results.

use super::awaitable::{AsyncOp, Awaitable};
use super::timeout::Timeout;
use crate::blocking;
use crate::core::chan::{
    self as core, Case, ChanWaiter, Outcome, Poll, Selected, TryRecv, TrySendError,
};
use crate::core::waiter::{Waiter, Wake};
use parking_lot::Mutex;
use pyo3::PyTraverseError;
use pyo3::create_exception;
use pyo3::exceptions::{
    PyException, PyRuntimeError, PyStopAsyncIteration, PyStopIteration, PyTimeoutError,
    PyTypeError, PyValueError,
};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};
use smallvec::{SmallVec, smallvec};
use std::sync::Arc;

type Value = Py<PyAny>;
type Core = Arc<core::Chan<Value>>;

create_exception!(
    gocurrent,
    ChanClosedError,
    PyException,
    "Raised by a send on a closed channel and by closing a closed (or nil) channel."
);

fn closed_error(msg: &'static str) -> PyErr {
    ChanClosedError::new_err(msg)
}

/// A Go channel: `Chan(cap=0)`; `Chan[T]` for typing.
#[pyclass(frozen, module = "gocurrent", name = "Chan")]
pub struct Chan {
    /// `None` for `nilchan`, which is never ready.
    inner: Option<Core>,
}

/// What a case does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Recv,
    RecvOk,
    Send,
}

/// How the performed case becomes the Python result.
#[derive(Clone, Copy, Debug)]
enum Reply {
    /// The value (`recv`, `select` cases).
    Value,
    /// `(value, ok)`.
    ValueOk,
    /// For `__next__`: the value, StopIteration when closed.
    Next,
    /// For `__anext__`: the value, StopAsyncIteration when closed.
    ANext,
    /// `(index, value)` of a select.
    Select,
}

/// The cases of one operation (a single send or receive is a one-case
/// plan), without the nil channels, which are never ready.
struct Plan {
    chans: Cases<Core>,
    kinds: Cases<Kind>,
    /// The position of each case in the caller's argument list.
    index: Cases<usize>,
    /// The values of the send cases, until they are handed to the core.
    values: Cases<Option<Value>>,
    reply: Reply,
}

/// Most operations have one case, most selects a few.
type Cases<T> = SmallVec<[T; 2]>;

impl Plan {
    fn single(chan: &Chan, kind: Kind, value: Option<Value>, reply: Reply) -> Plan {
        let mut plan = Plan {
            chans: SmallVec::new(),
            kinds: smallvec![kind],
            index: smallvec![0],
            values: smallvec![value],
            reply,
        };
        match &chan.inner {
            Some(c) => plan.chans.push(c.clone()),
            None => plan.clear(),
        }
        plan
    }

    fn clear(&mut self) {
        self.chans.clear();
        self.kinds.clear();
        self.index.clear();
        self.values.clear();
    }

    /// The cases for the core, handing over the send values (or clones).
    fn cases<'a>(
        &'a mut self,
        py: Python<'a>,
        clone: bool,
    ) -> impl Iterator<Item = Case<'a, Value>> {
        let values = self.values.iter_mut().map(move |v| match clone {
            true => v.as_ref().map(|v| v.clone_ref(py)),
            false => v.take(),
        });
        self.chans.iter().zip(values).map(|(c, v)| match v {
            Some(v) => Case::Send(&**c, v),
            None => Case::Recv(&**c),
        })
    }

    /// Performs a case if one is ready now, without registering anything.
    fn try_now(&mut self, py: Python<'_>) -> Option<Selected<Value>> {
        if self.chans.len() != 1 {
            if self.chans.is_empty() {
                return None;
            }
            return match core::select(self.cases(py, true), None) {
                Poll::Ready(s) => Some(s),
                Poll::Pending => None,
            };
        }
        let outcome = match self.values[0].take() {
            Some(v) => match self.chans[0].try_send(v) {
                Ok(()) => Outcome::Sent,
                Err(TrySendError::Closed(_)) => Outcome::SendClosed,
                Err(TrySendError::Full(v)) => {
                    self.values[0] = Some(v);
                    return None;
                }
            },
            None => match self.chans[0].try_recv() {
                TryRecv::Value(v) => Outcome::Received(Some(v)),
                TryRecv::Closed => Outcome::Received(None),
                TryRecv::Empty => return None,
            },
        };
        Some(Selected { case: 0, outcome })
    }

    /// Polls again and, if nothing is ready, registers `waiter` everywhere.
    fn register(
        &mut self,
        py: Python<'_>,
        waiter: &Arc<ChanWaiter<Value>>,
    ) -> Option<Selected<Value>> {
        match core::select(self.cases(py, false), Some(waiter)) {
            Poll::Ready(s) => Some(s),
            Poll::Pending => None,
        }
    }

    fn unregister(&self, waiter: &Arc<ChanWaiter<Value>>) {
        core::unregister(self.chans.iter().map(|c| &**c), waiter);
    }

    /// The Python result of the performed case.
    fn reply(&self, py: Python<'_>, selected: Selected<Value>) -> PyResult<Value> {
        let received = match selected.outcome {
            Outcome::SendClosed => return Err(closed_error("send on closed channel")),
            Outcome::Sent => None,
            Outcome::Received(v) => Some(v),
        };
        let kind = self.kinds.get(selected.case).copied().unwrap_or(Kind::Send);
        let value = |v: Option<Option<Value>>| -> Value {
            match (kind, v) {
                (Kind::RecvOk, Some(Some(v))) => {
                    (v, true).into_pyobject(py).map(|t| t.into_any().unbind())
                }
                (Kind::RecvOk, _) => (py.None(), false)
                    .into_pyobject(py)
                    .map(|t| t.into_any().unbind()),
                (_, Some(Some(v))) => Ok(v),
                _ => Ok(py.None()),
            }
            .unwrap_or_else(|_| py.None())
        };
        match (self.reply, received) {
            (Reply::Next, Some(None)) => Err(PyStopIteration::new_err(())),
            (Reply::ANext, Some(None)) => Err(PyStopAsyncIteration::new_err(())),
            (Reply::Select, v) => {
                let index = self.index.get(selected.case).copied().unwrap_or(0);
                Ok((index, value(v)).into_pyobject(py)?.into_any().unbind())
            }
            (_, v) => Ok(value(v)),
        }
    }

    /// Runs the plan on this thread: at once if possible, else blocking
    /// (GIL released, Ctrl-C aware) until done or `timeout`.
    fn run(mut self, py: Python<'_>, timeout: Timeout) -> PyResult<Value> {
        if let Some(s) = self.try_now(py) {
            return self.reply(py, s);
        }
        let Some(deadline) = timeout.deadline() else {
            return Err(PyTimeoutError::new_err(()));
        };
        let waiter = Waiter::for_current_thread();
        let selected = match self.register(py, &waiter) {
            Some(s) => s,
            None => {
                let r = blocking::wait(py, &waiter, deadline);
                self.unregister(&waiter);
                r?.ok_or_else(|| PyTimeoutError::new_err(()))?
            }
        };
        self.reply(py, selected)
    }

    /// The plan as an awaitable.
    fn into_awaitable(self, py: Python<'_>, timeout: Timeout) -> PyResult<Py<PyAny>> {
        let op = ChanOp {
            plan: Mutex::new(self),
            waiter: Mutex::new(None),
        };
        Awaitable::wrap(py, Box::new(op), timeout.seconds())
    }
}

/// A channel operation awaited by a coroutine.
struct ChanOp {
    plan: Mutex<Plan>,
    waiter: Mutex<Option<Arc<ChanWaiter<Value>>>>,
}

impl AsyncOp for ChanOp {
    fn try_now(&self, py: Python<'_>) -> Option<PyResult<Value>> {
        let mut plan = self.plan.lock();
        let s = plan.try_now(py)?;
        Some(plan.reply(py, s))
    }

    fn register(&self, py: Python<'_>, wake: Wake) -> Option<PyResult<Value>> {
        let waiter = Waiter::new(wake);
        let mut plan = self.plan.lock();
        match plan.register(py, &waiter) {
            Some(s) => Some(plan.reply(py, s)),
            None => {
                *self.waiter.lock() = Some(waiter);
                None
            }
        }
    }

    fn finish(&self, py: Python<'_>) -> PyResult<Value> {
        let plan = self.plan.lock();
        let Some(waiter) = self.waiter.lock().take() else {
            return Err(PyRuntimeError::new_err("operation finished twice"));
        };
        plan.unregister(&waiter);
        match waiter.take() {
            Some(s) => plan.reply(py, s),
            None => Err(PyRuntimeError::new_err("operation woken before completion")),
        }
    }

    fn withdraw(&self) -> bool {
        let guard = self.waiter.lock();
        let Some(waiter) = guard.as_ref() else {
            return false;
        };
        let withdrawn = waiter.withdraw();
        if withdrawn {
            self.plan.lock().unregister(waiter);
        }
        withdrawn
    }
}

fn nil_error() -> PyErr {
    closed_error("close of nil channel")
}

impl Chan {
    pub fn nil() -> Chan {
        Chan { inner: None }
    }

    /// The core channel (`None` for `nilchan`), for other bindings that
    /// wait on a channel (a semaphore watching a context's `done()`).
    pub fn core(&self) -> Option<&Core> {
        self.inner.as_ref()
    }

    /// A Python channel over a core channel that Rust also holds (a
    /// timer's channel, a context's done channel).
    pub fn from_core(inner: Core) -> Chan {
        Chan { inner: Some(inner) }
    }
}

#[pymethods]
impl Chan {
    #[new]
    #[pyo3(signature = (cap = None))]
    fn new(cap: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let Some(cap) = cap else {
            return Ok(Chan {
                inner: Some(Arc::new(core::Chan::new(0))),
            });
        };
        if cap.is_instance_of::<pyo3::types::PyBool>()
            || !cap.is_instance_of::<pyo3::types::PyInt>()
        {
            let name = cap.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "Chan capacity must be an int, not {name}"
            )));
        }
        let cap: i64 = cap
            .extract()
            .map_err(|_| PyValueError::new_err("makechan: size out of range"))?;
        let cap = usize::try_from(cap)
            .map_err(|_| PyValueError::new_err("makechan: size out of range"))?;
        if cap > (1 << 40) {
            return Err(PyValueError::new_err("makechan: size out of range"));
        }
        Ok(Chan {
            inner: Some(Arc::new(core::Chan::new(cap))),
        })
    }

    /// `Chan[T]`: a generic alias, for type annotations.
    #[classmethod]
    #[pyo3(signature = (item, /))]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        static GENERIC_ALIAS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        let alias = GENERIC_ALIAS.import(cls.py(), "types", "GenericAlias")?;
        Ok(alias.call1((cls, item))?.unbind())
    }

    /// Sends `value`, blocking until a receiver takes it (unbuffered) or
    /// there is room in the buffer. Raises ChanClosedError if the channel
    /// is closed, also while blocked; TimeoutError after `timeout` seconds.
    #[pyo3(signature = (value, /, *, timeout = None))]
    fn send(
        &self,
        py: Python<'_>,
        value: Value,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let timeout = Timeout::parse(timeout)?;
        if let Some(c) = &self.inner {
            match c.try_send(value) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(_)) => return Err(closed_error("send on closed channel")),
                Err(TrySendError::Full(v)) => {
                    Plan::single(self, Kind::Send, Some(v), Reply::Value).run(py, timeout)?;
                }
            }
            return Ok(());
        }
        Plan::single(self, Kind::Send, Some(value), Reply::Value).run(py, timeout)?;
        Ok(())
    }

    /// Receives the next value; on a closed and drained channel returns None.
    #[pyo3(signature = (*, timeout = None))]
    fn recv(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        if let Some(c) = &self.inner {
            match c.try_recv() {
                TryRecv::Value(v) => return Ok(v),
                TryRecv::Closed => return Ok(py.None()),
                TryRecv::Empty => {}
            }
        }
        Plan::single(self, Kind::Recv, None, Reply::Value).run(py, timeout)
    }

    /// Receives `(value, ok)`; ok is False only when closed and drained.
    #[pyo3(signature = (*, timeout = None))]
    fn recv_ok(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        Plan::single(self, Kind::RecvOk, None, Reply::ValueOk).run(py, timeout)
    }

    /// Closes the channel: buffered values stay receivable, blocked
    /// receivers wake, blocked senders raise ChanClosedError.
    fn close(&self) -> PyResult<()> {
        match &self.inner {
            None => Err(nil_error()),
            Some(c) => c
                .close()
                .map_err(|_| closed_error("close of closed channel")),
        }
    }

    /// The number of buffered values.
    fn __len__(&self) -> usize {
        self.inner.as_ref().map_or(0, |c| c.len())
    }

    /// A channel is always true, even when empty (unlike a container).
    fn __bool__(&self) -> bool {
        true
    }

    /// The capacity of the buffer (0: unbuffered).
    #[getter]
    fn cap(&self) -> usize {
        self.inner.as_ref().map_or(0, |c| c.cap())
    }

    /// True once the channel has been closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.as_ref().is_some_and(|c| c.is_closed())
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Value>> {
        if let Some(c) = &self.inner {
            match c.try_recv() {
                TryRecv::Value(v) => return Ok(Some(v)),
                TryRecv::Closed => return Ok(None),
                TryRecv::Empty => {}
            }
        }
        match Plan::single(self, Kind::Recv, None, Reply::Next).run(py, Timeout::Forever) {
            Err(e) if e.is_instance_of::<PyStopIteration>(py) => Ok(None),
            other => other.map(Some),
        }
    }

    /// `await ch.send_async(v)`: send from a coroutine.
    #[pyo3(signature = (value, /, *, timeout = None))]
    fn send_async(
        &self,
        py: Python<'_>,
        value: Value,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let timeout = Timeout::parse(timeout)?;
        Plan::single(self, Kind::Send, Some(value), Reply::Value).into_awaitable(py, timeout)
    }

    /// `await ch.recv_async()`: receive from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn recv_async(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let timeout = Timeout::parse(timeout)?;
        Plan::single(self, Kind::Recv, None, Reply::Value).into_awaitable(py, timeout)
    }

    /// `await ch.recv_ok_async()`: `(value, ok)` from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn recv_ok_async(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let timeout = Timeout::parse(timeout)?;
        Plan::single(self, Kind::RecvOk, None, Reply::ValueOk).into_awaitable(py, timeout)
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Plan::single(self, Kind::Recv, None, Reply::ANext).into_awaitable(py, Timeout::Forever)
    }

    /// Garbage collector support: a channel whose buffer holds a value that
    /// refers back to the channel is a cycle the collector must see. Only a
    /// channel whose core nobody else holds (no timer, context or running
    /// operation shares it) reports its buffered values: then they belong
    /// to this object alone, so they are visited exactly once.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        match &self.inner {
            Some(c) if Arc::strong_count(c) == 1 => {
                c.try_for_each_buffered(|v| visit.call(v)).unwrap_or(Ok(()))
            }
            _ => Ok(()),
        }
    }

    /// Breaks a cycle through the buffer of an unreachable channel.
    fn __clear__(&self) {
        if let Some(c) = &self.inner
            && Arc::strong_count(c) == 1
        {
            // Dropped here, after the channel's lock was released.
            drop(c.take_buffered());
        }
    }

    fn __repr__(&self) -> String {
        match &self.inner {
            None => "nilchan".to_string(),
            Some(c) => {
                let closed = if c.is_closed() { " closed" } else { "" };
                format!("<Chan cap={} len={}{}>", c.cap(), c.len(), closed)
            }
        }
    }
}

/// The C functions behind the bound methods `ch.recv`, `ch.recv_ok` and
/// `ch.send`, learnt once from a channel of our own: a select case is
/// recognised by comparing its function pointer with these (two stable-ABI
/// calls) instead of looking up `__self__` and `__name__` (two attribute
/// lookups and a string compare per case, a third of a `select`'s cost).
struct CaseFunctions {
    recv: usize,
    recv_ok: usize,
    send: usize,
}

/// The C function of a builtin method object, or `None`.
fn c_function_of(f: &Bound<'_, PyAny>) -> Option<usize> {
    // SAFETY: the GIL is held (we have a `Bound`) and `f` is a live object;
    // `PyCFunction_GetFunction` is only called once `PyCFunction_Check`
    // said `f` is a builtin function or method, which it requires.
    unsafe {
        (pyo3::ffi::PyCFunction_Check(f.as_ptr()) != 0)
            .then(|| pyo3::ffi::PyCFunction_GetFunction(f.as_ptr()))
            .flatten()
            .map(|func| func as usize)
    }
}

/// The object a builtin method is bound to, if it is a `Chan`.
fn chan_of<'py>(f: &Bound<'py, PyAny>) -> Option<Bound<'py, Chan>> {
    // SAFETY: as in `c_function_of`, and `f` is a builtin function or method
    // (our caller matched its C function), as `PyCFunction_GetSelf`
    // requires. It returns a borrowed reference (or NULL for a module-less
    // function), which `from_borrowed_ptr_or_opt` increfs while `f` (and so
    // its `__self__`) is still alive.
    let slf = unsafe {
        Bound::from_borrowed_ptr_or_opt(f.py(), pyo3::ffi::PyCFunction_GetSelf(f.as_ptr()))
    };
    slf?.cast_into::<Chan>().ok()
}

fn case_functions(py: Python<'_>) -> PyResult<&'static CaseFunctions> {
    static FUNCTIONS: PyOnceLock<CaseFunctions> = PyOnceLock::new();
    FUNCTIONS.get_or_try_init(py, || {
        let probe = Bound::new(py, Chan::nil())?;
        let function = |name: &str| -> PyResult<usize> {
            c_function_of(&probe.getattr(name)?)
                .ok_or_else(|| PyRuntimeError::new_err("Chan methods are not builtin methods"))
        };
        Ok::<_, PyErr>(CaseFunctions {
            recv: function("recv")?,
            recv_ok: function("recv_ok")?,
            send: function("send")?,
        })
    })
}

/// Parses the cases of a select into a plan.
fn select_plan(cases: &Bound<'_, PyTuple>) -> PyResult<Plan> {
    let functions = case_functions(cases.py())?;
    let mut plan = Plan {
        chans: SmallVec::with_capacity(cases.len()),
        kinds: SmallVec::with_capacity(cases.len()),
        index: SmallVec::with_capacity(cases.len()),
        values: SmallVec::with_capacity(cases.len()),
        reply: Reply::Select,
    };
    for (i, case) in cases.iter().enumerate() {
        let (method, value) = match case.cast::<PyTuple>() {
            Ok(t) if t.len() == 2 => (t.get_item(0)?, Some(t.get_item(1)?.unbind())),
            _ => (case.clone(), None),
        };
        let kind = match (c_function_of(&method), value.is_some()) {
            (Some(f), false) if f == functions.recv => Some(Kind::Recv),
            (Some(f), false) if f == functions.recv_ok => Some(Kind::RecvOk),
            (Some(f), true) if f == functions.send => Some(Kind::Send),
            _ => None,
        };
        let Some((kind, chan)) = kind.zip(chan_of(&method)) else {
            let name = case.get_type().name().map(|n| n.to_string());
            let name = name.unwrap_or_default();
            return Err(PyTypeError::new_err(format!(
                "select case {i} must be ch.recv, ch.recv_ok or (ch.send, value), not {name}"
            )));
        };
        if let Some(c) = &chan.get().inner {
            plan.chans.push(c.clone());
            plan.kinds.push(kind);
            plan.index.push(i);
            plan.values.push(value);
        }
    }
    Ok(plan)
}

/// Go's `select`: waits until one of the cases can proceed, performs exactly
/// that one (chosen uniformly at random among those ready at once) and returns
/// `(index, value)`.
///
/// A case is one channel operation, written as the bound method that would
/// perform it alone:
///
/// - `ch.recv`: receive; `value` is the value received (`None` if `ch` is
///   closed and drained);
/// - `ch.recv_ok`: receive; `value` is `(v, ok)`, `ok` False once `ch` is
///   closed and drained (Go's `v, ok := <-ch`);
/// - `(ch.send, v)`: send `v`; `value` is `None`. A send case on a closed
///   channel raises `ChanClosedError("send on closed channel")` when chosen.
///
/// `index` is the case's position in `cases`. A case on `nilchan` never
/// proceeds, and `select()` with no case blocks for ever, as in Go.
///
/// `default=True` is Go's `default:` branch: when no case can proceed at once,
/// `select` returns `(-1, None)` without blocking.
///
/// `timeout=` is in seconds (`None`: wait for ever; `0` or less: one attempt):
/// when it expires before a case could proceed, the builtin `TimeoutError` is
/// raised and no case has been performed. Waiting releases the GIL; in the
/// main thread Ctrl-C raises `KeyboardInterrupt`, again with no case
/// performed. A case that is not one of the three forms raises `TypeError`.
///
/// Example: `i, v = select(results.recv, (jobs.send, job), after(1.0).recv)`.
#[pyfunction]
#[pyo3(signature = (*cases, default = false, timeout = None))]
pub fn select(
    py: Python<'_>,
    cases: &Bound<'_, PyTuple>,
    default: bool,
    timeout: Option<&Bound<'_, PyAny>>,
) -> PyResult<Value> {
    let timeout = Timeout::parse(timeout)?;
    let mut plan = select_plan(cases)?;
    if default {
        return match plan.try_now(py) {
            Some(s) => plan.reply(py, s),
            None => Ok((-1, py.None()).into_pyobject(py)?.into_any().unbind()),
        };
    }
    plan.run(py, timeout)
}

/// `await select_async(*cases, default=False, timeout=None)`: `select` from a
/// coroutine, with the same cases, result, `default=` and `timeout=` (on
/// expiry `TimeoutError` is raised and no case has been performed). The
/// awaitable does nothing until awaited; while it waits, the event loop runs
/// other tasks; cancelling it performs no case.
#[pyfunction]
#[pyo3(signature = (*cases, default = false, timeout = None))]
pub fn select_async(
    py: Python<'_>,
    cases: &Bound<'_, PyTuple>,
    default: bool,
    timeout: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let timeout = Timeout::parse(timeout)?;
    let plan = select_plan(cases)?;
    // With a default, the first attempt always completes (see try_now).
    let op = SelectDefault {
        inner: ChanOp {
            plan: Mutex::new(plan),
            waiter: Mutex::new(None),
        },
        default,
    };
    Awaitable::wrap(py, Box::new(op), timeout.seconds())
}

/// A select_async that may have a default case.
struct SelectDefault {
    inner: ChanOp,
    default: bool,
}

impl AsyncOp for SelectDefault {
    fn try_now(&self, py: Python<'_>) -> Option<PyResult<Value>> {
        match self.inner.try_now(py) {
            None if self.default => Some(
                (-1, py.None())
                    .into_pyobject(py)
                    .map(|t| t.into_any().unbind()),
            ),
            r => r,
        }
    }
    fn register(&self, py: Python<'_>, wake: Wake) -> Option<PyResult<Value>> {
        self.inner.register(py, wake)
    }
    fn finish(&self, py: Python<'_>) -> PyResult<Value> {
        self.inner.finish(py)
    }
    fn withdraw(&self) -> bool {
        self.inner.withdraw()
    }
}
