//! `Chan` and `nilchan`: argument parsing into a [`Plan`] (the cases of
//! one operation; a send or a receive is a one-case plan), run as a
//! [`ChanOp`] by the drivers of the wait protocol (src/wait.rs), with the
//! core's outcome mapped to Python results. `select` parses its cases in
//! src/py/select.rs into the same plan.

use super::awaitable::Awaitable;
use super::errors::{close_of_nil, must_be, send_on_closed};
use super::timeout::Timeout;
use crate::blocking;
use crate::core::chan::{
    self as core, Case, ChanDefer, ChanWaiter, Outcome, Poll, Selected, TryRecv, TrySendError,
};
use crate::wait::WaitOp;
use pyo3::PyTraverseError;
use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration, PyStopIteration, PyValueError};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use smallvec::{SmallVec, smallvec};
use std::sync::Arc;

type Value = Py<PyAny>;
type Core = Arc<core::Chan<Value>>;

/// A Go channel: `Chan(cap=0)`; `Chan[T]` for typing.
#[pyclass(frozen, module = "gocurrent", name = "Chan")]
pub struct Chan {
    /// `None` for `nilchan`, which is never ready.
    inner: Option<Core>,
    /// A timer's or ticker's channel: as in Go 1.23, `len` and `cap`
    /// report 0 (its one-value buffer is an implementation detail).
    timer: bool,
}

/// What a case does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Recv,
    RecvOk,
    Send,
}

/// How the performed case becomes the Python result.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
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
pub struct Plan {
    /// A send or a receive has one case, kept inline: every `*_async` call
    /// builds a plan, and a small one is cheap to make and to move. A
    /// select's cases take one allocation.
    cases: SmallVec<[Entry; 1]>,
    reply: Reply,
    /// Go's wait reason of a party blocked in this plan.
    reason: &'static str,
}

/// One case of a [`Plan`].
struct Entry {
    chan: Core,
    kind: Kind,
    /// The position of the case in the caller's argument list.
    index: usize,
    /// The value of a send case, until it is handed to the core.
    value: Option<Value>,
}

impl Plan {
    /// An empty select of `given` cases, to be filled by [`Plan::push`].
    pub fn select(given: usize) -> Plan {
        Plan {
            cases: SmallVec::with_capacity(given),
            reply: Reply::Select,
            reason: if given == 0 {
                "select (no cases)"
            } else {
                "select"
            },
        }
    }

    /// Adds case `index` of a select (nothing for a nil channel, which is
    /// never ready).
    pub fn push(&mut self, index: usize, chan: &Chan, kind: Kind, value: Option<Value>) {
        if let Some(c) = &chan.inner {
            self.cases.push(Entry {
                chan: c.clone(),
                kind,
                index,
                value,
            });
        }
    }

    fn single(chan: &Chan, kind: Kind, value: Option<Value>, reply: Reply) -> Plan {
        let cases = match &chan.inner {
            Some(c) => smallvec![Entry {
                chan: c.clone(),
                kind,
                index: 0,
                value,
            }],
            None => SmallVec::new(),
        };
        Plan {
            cases,
            reply,
            reason: match (kind, chan.inner.is_some()) {
                (Kind::Send, true) => "chan send",
                (Kind::Send, false) => "chan send (nil chan)",
                (_, true) => "chan receive",
                (_, false) => "chan receive (nil chan)",
            },
        }
    }

    /// The cases for the core, handing over the send values (or clones).
    fn cases<'a>(
        &'a mut self,
        py: Python<'a>,
        clone: bool,
    ) -> impl Iterator<Item = Case<'a, Value>> {
        self.cases.iter_mut().map(move |Entry { chan, value, .. }| {
            let value = match clone {
                true => value.as_ref().map(|v| v.clone_ref(py)),
                false => value.take(),
            };
            match value {
                Some(v) => Case::Send(&**chan, v),
                None => Case::Recv(&**chan),
            }
        })
    }

    /// Performs a case if one is ready now, without registering anything.
    fn try_now(&mut self, py: Python<'_>) -> Option<Selected<Value>> {
        let [one] = &mut self.cases[..] else {
            if self.cases.is_empty() {
                return None;
            }
            return match core::select(self.cases(py, true), None) {
                Poll::Ready(s) => Some(s),
                Poll::Pending => None,
            };
        };
        let outcome = match one.value.take() {
            Some(v) => match one.chan.try_send(v) {
                Ok(()) => Outcome::Sent,
                Err(TrySendError::Closed(_)) => Outcome::SendClosed,
                Err(TrySendError::Full(v)) => {
                    one.value = Some(v);
                    return None;
                }
            },
            None => match one.chan.try_recv() {
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
        core::unregister(self.cases.iter().map(|e| &*e.chan), waiter);
    }

    /// After `waiter` was completed: the channel that completed it took
    /// that entry off its queue, so only a select's other cases are left
    /// to remove (a send or a receive skips the channel's lock).
    fn unregister_completed(&self, waiter: &Arc<ChanWaiter<Value>>) {
        if self.cases.len() > 1 {
            self.unregister(waiter);
        }
    }

    /// The Python result of the performed case.
    fn reply(&self, py: Python<'_>, selected: Selected<Value>) -> PyResult<Value> {
        let received = match selected.outcome {
            Outcome::SendClosed => return Err(send_on_closed()),
            Outcome::Sent => None,
            Outcome::Received(v) => Some(v),
        };
        let Some(&Entry { kind, index, .. }) = self.cases.get(selected.case) else {
            return Err(PyRuntimeError::new_err(format!(
                "internal error: case {} performed, of {}",
                selected.case,
                self.cases.len()
            )));
        };
        let value = match (kind, received) {
            (Kind::RecvOk, Some(Some(v))) => (v, true).into_pyobject(py)?.into_any().unbind(),
            (Kind::RecvOk, _) => (py.None(), false).into_pyobject(py)?.into_any().unbind(),
            (_, Some(Some(v))) => v,
            (_, Some(None)) => match self.reply {
                Reply::Next => return Err(PyStopIteration::new_err(())),
                Reply::ANext => return Err(PyStopAsyncIteration::new_err(())),
                _ => py.None(),
            },
            (_, None) => py.None(),
        };
        match self.reply {
            Reply::Select => Ok((index, value).into_pyobject(py)?.into_any().unbind()),
            _ => Ok(value),
        }
    }

    /// The plan as an operation named `what`; with `default`, an attempt
    /// that finds nothing ready answers `(-1, None)`.
    pub fn into_op(self, what: &'static str, default: bool) -> ChanOp {
        ChanOp {
            plan: self,
            what,
            default,
        }
    }
    /// Runs the plan on this thread (see [`blocking::run`]).
    fn run(self, py: Python<'_>, what: &'static str, timeout: Timeout) -> PyResult<Value> {
        blocking::run(py, &mut self.into_op(what, false), timeout)
    }

    /// The plan as an awaitable.
    fn into_awaitable(
        self,
        py: Python<'_>,
        what: &'static str,
        timeout: Timeout,
    ) -> PyResult<Value> {
        Awaitable::wrap_chan(py, self.into_op(what, false), timeout)
    }
}

/// A channel operation or a select, as the wait protocol runs it.
pub struct ChanOp {
    plan: Plan,
    what: &'static str,
    default: bool,
}

impl ChanOp {
    /// A send or a receive on a channel (not a select, nor `nilchan`): the
    /// op of an awaitable that may be kept for reuse (`Awaitable::park`).
    fn is_single(&self) -> bool {
        !self.default && self.plan.cases.len() == 1 && !matches!(self.plan.reply, Reply::Select)
    }

    /// The channel of a finished send or receive, taken out of the op,
    /// which then holds nothing (`None` for any other op).
    pub fn take_chan(&mut self) -> Option<Core> {
        if !self.is_single() {
            return None;
        }
        self.plan.cases.pop().map(|e| e.chan)
    }

    /// The channel of a send or a receive (`None` for any other op).
    pub fn single_chan(&self) -> Option<&Core> {
        match self.is_single() {
            true => self.plan.cases.first().map(|e| &e.chan),
            false => None,
        }
    }
}

impl WaitOp for ChanOp {
    type R = Selected<Value>;

    fn what(&self) -> &'static str {
        self.what
    }

    fn wait_reason(&self) -> &'static str {
        self.plan.reason
    }

    fn try_now(&mut self, py: Python<'_>) -> Option<PyResult<Value>> {
        match self.plan.try_now(py) {
            Some(s) => Some(self.plan.reply(py, s)),
            None if self.default => Some(
                (-1, py.None())
                    .into_pyobject(py)
                    .map(|t| t.into_any().unbind()),
            ),
            None => None,
        }
    }

    fn register(&mut self, py: Python<'_>, w: &Arc<ChanWaiter<Value>>) -> Option<PyResult<Value>> {
        let s = self.plan.register(py, w)?;
        Some(self.plan.reply(py, s))
    }

    fn unregister(&mut self, w: &Arc<ChanWaiter<Value>>) {
        self.plan.unregister(w);
    }

    fn finish(
        &mut self,
        py: Python<'_>,
        w: &Arc<ChanWaiter<Value>>,
        r: Selected<Value>,
    ) -> Option<PyResult<Value>> {
        self.plan.unregister_completed(w);
        Some(self.plan.reply(py, r))
    }

    fn abandon(&mut self, w: &Arc<ChanWaiter<Value>>, r: Selected<Value>) {
        // A received value nobody will see is dropped (the sender moved on).
        self.plan.unregister_completed(w);
        drop(r);
    }
}

impl Chan {
    pub fn nil() -> Chan {
        Chan {
            inner: None,
            timer: false,
        }
    }

    /// The module's `nilchan` object (one for the process), for bindings
    /// that hand out a nil channel (an `after_func` timer's `.c`).
    pub fn nil_object(py: Python<'_>) -> PyResult<Py<Chan>> {
        static NIL: PyOnceLock<Py<Chan>> = PyOnceLock::new();
        NIL.get_or_try_init(py, || Py::new(py, Chan::nil()))
            .map(|c| c.clone_ref(py))
    }

    /// The core channel (`None` for `nilchan`), for other bindings that
    /// wait on a channel (a semaphore watching a context's `done()`).
    pub fn core(&self) -> Option<&Core> {
        self.inner.as_ref()
    }

    /// A Python channel over a core channel that Rust also holds (a
    /// timer's channel, a context's done channel).
    pub fn from_core(inner: Core) -> Chan {
        Chan {
            inner: Some(inner),
            timer: false,
        }
    }

    /// A timer's or ticker's channel over its core channel: reports `len`
    /// and `cap` 0, as Go 1.23's timer channels do.
    pub fn timer_chan(inner: Core) -> Chan {
        Chan {
            inner: Some(inner),
            timer: true,
        }
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
                timer: false,
            });
        };
        if cap.is_instance_of::<pyo3::types::PyBool>()
            || !cap.is_instance_of::<pyo3::types::PyInt>()
        {
            return Err(must_be("Chan capacity", "an int", cap));
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
            timer: false,
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
            // Two paths, not one through `hand_off(py, may, d)`: the
            // single path cost idle spsc 11% (0.124 vs 0.110 s per million
            // items, median of 24 interleaved runs) and thread ping-pong
            // 0.471 vs 0.425 s (14), benches/PROFILES.md "One path".
            let sent = if may_hand_off(c) {
                let mut d = ChanDefer::new();
                let sent = c.try_send_with(value, &mut d);
                hand_off(py, d);
                sent
            } else {
                c.try_send(value)
            };
            match sent {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(_)) => return Err(send_on_closed()),
                Err(TrySendError::Full(v)) => {
                    Plan::single(self, Kind::Send, Some(v), Reply::Value).run(
                        py,
                        "Chan.send",
                        timeout,
                    )?;
                }
            }
            return Ok(());
        }
        Plan::single(self, Kind::Send, Some(value), Reply::Value).run(py, "Chan.send", timeout)?;
        Ok(())
    }

    /// Receives the next value; on a closed and drained channel returns None.
    #[pyo3(signature = (*, timeout = None))]
    fn recv(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        if let Some(c) = &self.inner {
            let got = if may_hand_off(c) {
                let mut d = ChanDefer::new();
                let got = c.try_recv_with(&mut d);
                hand_off(py, d);
                got
            } else {
                c.try_recv()
            };
            match got {
                TryRecv::Value(v) => return Ok(v),
                TryRecv::Closed => return Ok(py.None()),
                TryRecv::Empty => {}
            }
        }
        Plan::single(self, Kind::Recv, None, Reply::Value).run(py, "Chan.recv", timeout)
    }

    /// Receives `(value, ok)`; ok is False only when closed and drained.
    #[pyo3(signature = (*, timeout = None))]
    fn recv_ok(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        Plan::single(self, Kind::RecvOk, None, Reply::ValueOk).run(py, "Chan.recv_ok", timeout)
    }

    /// Closes the channel: buffered values stay receivable, blocked
    /// receivers wake, blocked senders raise ChanClosedError.
    fn close(&self) -> PyResult<()> {
        match &self.inner {
            None => Err(close_of_nil()),
            Some(c) => Ok(c.close()?),
        }
    }

    /// The number of buffered values (0 for a timer's channel, as in Go).
    fn __len__(&self) -> usize {
        match &self.inner {
            Some(c) if !self.timer => c.len(),
            _ => 0,
        }
    }

    /// A channel is always true, even when empty (unlike a container).
    fn __bool__(&self) -> bool {
        true
    }

    /// The capacity of the buffer (0: unbuffered; 0 for a timer's
    /// channel, as in Go).
    #[getter]
    fn cap(&self) -> usize {
        match &self.inner {
            Some(c) if !self.timer => c.cap(),
            _ => 0,
        }
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
        match Plan::single(self, Kind::Recv, None, Reply::Next).run(
            py,
            "Chan.__next__",
            Timeout::Forever,
        ) {
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
        Plan::single(self, Kind::Send, Some(value), Reply::Value).into_awaitable(
            py,
            "Chan.send_async",
            timeout,
        )
    }

    /// `await ch.recv_async()`: receive from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn recv_async(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let timeout = Timeout::parse(timeout)?;
        Plan::single(self, Kind::Recv, None, Reply::Value).into_awaitable(
            py,
            "Chan.recv_async",
            timeout,
        )
    }

    /// `await ch.recv_ok_async()`: `(value, ok)` from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn recv_ok_async(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let timeout = Timeout::parse(timeout)?;
        Plan::single(self, Kind::RecvOk, None, Reply::ValueOk).into_awaitable(
            py,
            "Chan.recv_ok_async",
            timeout,
        )
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Plan::single(self, Kind::Recv, None, Reply::ANext).into_awaitable(
            py,
            "Chan.__anext__",
            Timeout::Forever,
        )
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
                let (cap, len) = if self.timer {
                    (0, 0)
                } else {
                    (c.cap(), c.len())
                };
                format!("<Chan cap={cap} len={len}{closed}>")
            }
        }
    }
}

/// Whether a send or receive on `c` that completes at once may let its
/// partner run first (`hand_off`): an unbuffered channel on a machine the
/// waiting policy takes to be busy. Asked before the operation, from the
/// verdict alone: see `spin::partner_runs_first` for why.
fn may_hand_off(c: &core::Chan<Value>) -> bool {
    c.cap() == 0 && crate::core::spin::busy_verdict()
}

/// Does the wakes of a channel operation that completed at once and may
/// hand off (`may_hand_off`, asked before it): with the GIL released if the
/// partner should run first (`spin::partner_runs_first` says when and why).
/// Operations that may not take the plain `try_send`/`try_recv`: nothing is
/// asked between completing the partner and releasing the GIL.
fn hand_off(py: Python<'_>, mut d: ChanDefer<Value>) {
    if crate::core::spin::partner_runs_first(&d) {
        py.detach(|| d.wake_now_from_here());
    }
    // The rest (values to drop) with the GIL held.
    drop(d);
}
