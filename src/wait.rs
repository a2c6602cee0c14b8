//! The one wait protocol.
//!
//! Every operation that can wait (a channel operation, a select, a lock, a
//! wait group, a semaphore, a condition variable) is described once, as a
//! [`WaitOp`]: try now; register a waiter; withdraw it (answering whether it
//! had completed); finish with what completed it; abandon that result when
//! nobody will receive it. One driver per way of waiting runs any such
//! operation:
//! - a thread: [`crate::blocking::run`] (fast path attached, park detached,
//!   signals, deadlines);
//! - an asyncio task or a trio task: the awaitable of `src/py/awaitable.rs`,
//!   through the object-safe [`DynOp`] that [`Driven`] makes of any
//!   [`WaitOp`].
//!
//! crossbeam-channel's `SelectHandle` with its one `run_select`, and trio's
//! `wait_task_rescheduled(abort_fn)`, are the models.

use crate::blocking::Deadline;
use crate::core::waiter::{Waiter, Wake};
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyTimeoutError};
use pyo3::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a finished operation answers to Python.
pub type Value = Py<PyAny>;

/// An operation that may have to wait, described once for every driver.
///
/// A driver calls `try_now`; if that does not complete the operation (and
/// the caller may wait), it makes a waiter whose wake suits the driver and
/// calls `register`. Once the waiter is completed, the driver calls
/// `finish` with its result; if the driver gives up first (timeout,
/// signal, cancellation) it withdraws the waiter: when that wins, nothing
/// happened and it calls `unregister`; when it loses, the operation did
/// happen and the driver calls `finish` (or `abandon`, if the result cannot
/// be delivered). No value is lost, none delivered twice.
pub trait WaitOp: Send + 'static {
    /// What completes the waiter.
    type R: Send + 'static;
    /// The Python name of the operation, for messages ("Mutex.lock").
    fn what(&self) -> &'static str;
    /// Go's wait reason for a party blocked in this operation ("chan
    /// receive", "sync.Mutex.Lock", ...), for the runtime's introspection.
    fn wait_reason(&self) -> &'static str;
    /// Performs the operation if it can complete at once.
    fn try_now(&mut self, py: Python<'_>) -> Option<PyResult<Value>>;
    /// Tries again and, if the operation must wait, registers `w`
    /// (`None`). `Some`: performed (or failed) now, nothing registered.
    fn register(&mut self, py: Python<'_>, w: &Arc<Waiter<Self::R>>) -> Option<PyResult<Value>>;
    /// Removes a waiter that was withdrawn before it completed.
    fn unregister(&mut self, w: &Arc<Waiter<Self::R>>);
    /// `w` was completed with `r`: the operation's result. `None`: not done
    /// yet, register a new waiter (a mutex waiter woken to retry).
    fn finish(
        &mut self,
        py: Python<'_>,
        w: &Arc<Waiter<Self::R>>,
        r: Self::R,
    ) -> Option<PyResult<Value>>;
    /// `w` was completed with `r`, but the result will never be delivered
    /// (the coroutine was closed, or an exception other than a cancellation
    /// reached it): release what it holds (a lock, tokens). Runs without
    /// the interpreter (from a destructor too).
    fn abandon(&mut self, w: &Arc<Waiter<Self::R>>, r: Self::R);
}

/// Withdraws `w`: `true` if it was still waiting (it is unregistered and
/// will never complete); `false` if it had completed (take its result).
pub fn withdraw<O: WaitOp>(op: &mut O, w: &Arc<Waiter<O::R>>) -> bool {
    let withdrawn = w.withdraw();
    if withdrawn {
        op.unregister(w);
    }
    withdrawn
}

/// "operation woken before completion": a driver resumed without a result
/// (a bug, or a caller other than the task resuming an awaitable early).
pub fn woken_early() -> PyErr {
    PyRuntimeError::new_err("operation woken before completion")
}

/// A parsed `timeout=` (see `Timeout::parse` in src/py/timeout.rs).
#[derive(Clone, Copy, Debug)]
pub enum Timeout {
    Forever,
    /// One non-blocking attempt.
    Now,
    Seconds(f64),
}

impl Timeout {
    /// The deadline of a blocking wait that starts now (`None`: do not wait).
    pub fn deadline(self) -> Option<Deadline> {
        match self {
            Timeout::Forever => Some(Deadline::Never),
            Timeout::Now => None,
            Timeout::Seconds(s) => Some(Deadline::At(Instant::now() + Duration::from_secs_f64(s))),
        }
    }

    /// The seconds an asynchronous wait may take (`None`: for ever).
    pub fn seconds(self) -> Option<f64> {
        match self {
            Timeout::Forever => None,
            Timeout::Now => Some(0.0),
            Timeout::Seconds(s) => Some(s),
        }
    }

    /// The TimeoutError of `what` giving up: "Mutex.lock timed out after 1s".
    pub fn error(self, what: &str) -> PyErr {
        let secs = self.seconds().unwrap_or(f64::INFINITY);
        PyTimeoutError::new_err(format!("{what} timed out after {secs}s"))
    }
}

/// The object-safe face of a [`WaitOp`] that keeps its own waiter: what an
/// awaitable drives (the wake is the driver's: an asyncio future, a trio
/// reschedule).
pub trait DynOp: Send + Sync {
    fn what(&self) -> &'static str;
    fn wait_reason(&self) -> &'static str;
    fn try_now(&self, py: Python<'_>) -> Option<PyResult<Value>>;
    /// Registers a waiter woken by `wake`; `Some`: performed now.
    fn register(&self, py: Python<'_>, wake: Wake) -> Option<PyResult<Value>>;
    /// `true`: withdrawn before completion (nothing happened, nor will);
    /// `false`: it completed (or was never registered), `finish` gives the
    /// result. Withdrawing again answers `false` and changes nothing.
    fn withdraw(&self) -> bool;
    /// Registered and not completed yet (for the runtime: a completed
    /// waiter's task is woken, so it is not asleep even before it runs).
    fn pending(&self) -> bool;
    /// After the wake: the result.
    fn finish(&self, py: Python<'_>) -> PyResult<Value>;
    /// Completed but never to be delivered: release what it holds
    /// (nothing if it was withdrawn or never registered).
    fn abandon(&self);
}

/// A [`WaitOp`] with the waiter a [`DynOp`] registers.
pub struct Driven<O: WaitOp> {
    op: Mutex<O>,
    waiter: Mutex<Option<Arc<Waiter<O::R>>>>,
    /// `(what, wait reason)` of the op, readable without the op's lock
    /// (which is held while dropped values may run Python code that asks
    /// for them: a goroutine dump from a finalizer). Locked only to copy.
    names: Mutex<(&'static str, &'static str)>,
}

impl<O: WaitOp> Driven<O> {
    pub fn new(op: O) -> Self {
        Driven {
            names: Mutex::new((op.what(), op.wait_reason())),
            op: Mutex::new(op),
            waiter: Mutex::new(None),
        }
    }

    /// Runs `f` on the op (for the binding's own use of a finished op).
    pub fn with_op<R>(&self, f: impl FnOnce(&mut O) -> R) -> R {
        f(&mut self.op.lock())
    }

    /// Makes a finished driver, which holds no waiter, drive `op` from the
    /// start; returns the old op, to be dropped after the locks.
    pub fn reset(&self, op: O) -> O {
        debug_assert!(self.waiter.lock().is_none());
        *self.names.lock() = (op.what(), op.wait_reason());
        std::mem::replace(&mut *self.op.lock(), op)
    }
}

impl<O: WaitOp> DynOp for Driven<O> {
    fn what(&self) -> &'static str {
        self.names.lock().0
    }

    fn wait_reason(&self) -> &'static str {
        self.names.lock().1
    }

    fn try_now(&self, py: Python<'_>) -> Option<PyResult<Value>> {
        self.op.lock().try_now(py)
    }

    fn register(&self, py: Python<'_>, wake: Wake) -> Option<PyResult<Value>> {
        let w = Waiter::new(wake);
        let r = self.op.lock().register(py, &w);
        if r.is_none() {
            *self.waiter.lock() = Some(w);
        }
        r
    }

    fn withdraw(&self) -> bool {
        // No lock of ours is held while the primitive's queues are touched.
        let Some(w) = self.waiter.lock().clone() else {
            return false;
        };
        if !w.withdraw() {
            return false;
        }
        *self.waiter.lock() = None;
        self.op.lock().unregister(&w);
        true
    }

    fn pending(&self) -> bool {
        self.waiter.lock().as_ref().is_some_and(|w| w.is_waiting())
    }

    fn finish(&self, py: Python<'_>) -> PyResult<Value> {
        let w = self.waiter.lock().take().ok_or_else(woken_early)?;
        let r = w.take().ok_or_else(woken_early)?;
        self.op
            .lock()
            .finish(py, &w, r)
            .unwrap_or_else(|| Err(woken_early()))
    }

    fn abandon(&self) {
        let Some(w) = self.waiter.lock().take() else {
            return;
        };
        if let Some(r) = w.take() {
            self.op.lock().abandon(&w, r);
        } else if w.withdraw() {
            self.op.lock().unregister(&w);
        }
    }
}

impl<O: WaitOp> Drop for Driven<O> {
    fn drop(&mut self) {
        // Dropped mid-wait (never awaited to the end): leave nothing
        // registered and give back anything handed over meanwhile.
        if let Some(w) = self.waiter.get_mut().take() {
            let op = self.op.get_mut();
            if withdraw(op, &w) {
                return;
            }
            if let Some(r) = w.take() {
                op.abandon(&w, r);
            }
        }
    }
}
