//! The cancellation tree of `gocurrent.context`, as the private
//! `_CancelNode` that the Python contexts wrap (values, deadlines as
//! numbers and foreign parents are plain Python in `context.py`).
//!
//! A node's done channel is a real `Chan` closed on cancel, so `select`,
//! `select_async` and `for` need no special case. Its deadline is a timer of
//! the shared timer thread, stopped when the node is cancelled.

use super::chan::Chan;
use super::timers::{self, TIMERS, Target};
use crate::core::chan as core;
use crate::core::context::{AfterFunc, Node};
use crate::core::timers::TimerCell;
use pyo3::PyTraverseError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::sync::Arc;

type Value = Py<PyAny>;

/// Why a node was cancelled: Go's (err, cause) pair.
pub struct CtxErr {
    err: Value,
    cause: Value,
}

type Err = Arc<CtxErr>;
pub type CtxNode = Node<Value, Err, Value>;
type CtxAfterFunc = AfterFunc<Value, Err, Value>;

static DEADLINE_EXCEEDED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Cancels `node` with a new `DeadlineExceeded` (its deadline passed), and
/// `cause` (the error itself when None).
pub fn expire(py: Python<'_>, node: &Arc<CtxNode>, cause: Option<&Value>) {
    let exc = DEADLINE_EXCEEDED
        .import(py, "gocurrent.context", "DeadlineExceeded")
        .and_then(|cls| cls.call0());
    match exc {
        Ok(exc) => {
            let cause = match cause {
                Some(c) => c.clone_ref(py),
                None => exc.clone().unbind(),
            };
            let err = Arc::new(CtxErr {
                err: exc.unbind(),
                cause,
            });
            run(py, node.cancel(err, true));
        }
        Err(e) => e.write_unraisable(py, None),
    }
}

/// Starts the after-funcs that a cancellation made due, as goroutines.
fn run(py: Python<'_>, due: Vec<Value>) {
    for f in due {
        timers::go(py, f);
    }
}

/// A cancellable context's core: its done channel, error and cause, its
/// children, after-funcs and deadline timer. Private: use
/// `gocurrent.context`.
#[pyclass(frozen, module = "gocurrent._native", name = "_CancelNode")]
pub struct CancelNode {
    node: Arc<CtxNode>,
    done: Py<Chan>,
}

#[pymethods]
impl CancelNode {
    /// A node cancelled with `parent` (at once if `parent` is cancelled
    /// already); without a parent, cancelled only by `cancel`.
    #[new]
    #[pyo3(signature = (parent = None, /))]
    fn new(py: Python<'_>, parent: Option<&Bound<'_, CancelNode>>) -> PyResult<Self> {
        let chan = Arc::new(core::Chan::new(0));
        let done = Py::new(py, Chan::from_core(chan.clone()))?;
        let node = match parent {
            Some(p) => Node::child(&p.get().node, chan),
            None => Node::root(chan),
        };
        Ok(CancelNode { node, done })
    }

    /// The channel closed when the node is cancelled.
    #[getter]
    fn done(&self, py: Python<'_>) -> Py<Chan> {
        self.done.clone_ref(py)
    }

    /// The error it was cancelled with (the same object every time), or
    /// None.
    fn err(&self, py: Python<'_>) -> Option<Value> {
        self.node.err().map(|e| e.err.clone_ref(py))
    }

    /// The cause it was cancelled with, or None.
    fn cause(&self, py: Python<'_>) -> Option<Value> {
        self.node.err().map(|e| e.cause.clone_ref(py))
    }

    /// Cancels the node and its descendants with `err` (and `cause`, which
    /// defaults to `err`) unless it is cancelled already; `remove`: unlink
    /// it from its parent.
    #[pyo3(signature = (err, cause = None, remove = true))]
    fn cancel(&self, py: Python<'_>, err: Value, cause: Option<Value>, remove: bool) {
        let cause = match cause {
            Some(c) if !c.is_none(py) => c,
            _ => err.clone_ref(py),
        };
        let e = Arc::new(CtxErr { err, cause });
        run(py, self.node.cancel(e, remove));
    }

    /// Cancels the node with `DeadlineExceeded` (and `cause`, which
    /// defaults to that error) after `seconds` (at once if <= 0), on the
    /// shared timer thread; cancelling the node stops the timer.
    #[pyo3(signature = (seconds, cause = None, /))]
    fn set_deadline(&self, py: Python<'_>, seconds: f64, cause: Option<Value>) -> PyResult<()> {
        let cause = cause.filter(|c| !c.is_none(py));
        if seconds.is_nan() || seconds <= 0.0 {
            expire(py, &self.node, cause.as_ref());
            return Ok(());
        }
        let target = Target::Deadline(Arc::downgrade(&self.node), cause);
        let cell = TimerCell::new(target);
        timers::arm(&cell, seconds, None)?;
        let stop = Box::new(move || {
            TIMERS.stop(&cell, |_| ());
        });
        if let Err(stop) = self.node.on_cancel(stop) {
            stop();
        }
        Ok(())
    }

    /// Go's `context.AfterFunc`: runs `fn()` as a goroutine once the node
    /// is cancelled (at once if it is already); returns its stop function.
    #[pyo3(signature = (fn_, /))]
    fn after_func(&self, py: Python<'_>, fn_: Value) -> AfterFuncStop {
        let (f, now) = self.node.after_func(fn_);
        if let Some(f) = now {
            timers::go(py, f);
        }
        AfterFuncStop { f }
    }

    /// Garbage collector support. The error of a failed errgroup (or any
    /// cause) often refers back to its context through its traceback's
    /// frames: the collector must see the node's references to break such
    /// a cycle. The error pair is shared (an `Arc`) with the node's
    /// descendants, and a reference may be reported by one holder only, so
    /// it is reported only while this node alone holds it. No `__clear__`:
    /// the other members of a cycle (frames, instances) are cleared, which
    /// frees the node.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.done)?;
        self.node
            .try_with_err(|e| match e {
                Some(e) if Arc::strong_count(e) == 1 => {
                    visit.call(&e.err)?;
                    visit.call(&e.cause)
                }
                _ => Ok(()),
            })
            .unwrap_or(Ok(()))
    }

    /// Children not yet cancelled (for tests).
    fn _children(&self) -> usize {
        self.node.children()
    }
}

/// The stop function of `context.after_func`: returns True if it prevented
/// the function from running (only its first call can). `_AfterFuncStop()`
/// is the one of a context that is never cancelled.
#[pyclass(frozen, module = "gocurrent._native", name = "_AfterFuncStop")]
pub struct AfterFuncStop {
    f: Arc<CtxAfterFunc>,
}

#[pymethods]
impl AfterFuncStop {
    #[new]
    fn new() -> Self {
        AfterFuncStop {
            f: AfterFunc::never(),
        }
    }

    fn __call__(&self) -> bool {
        let (stopped, payload) = self.f.stop();
        drop(payload);
        stopped
    }
}
