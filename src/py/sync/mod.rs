//! Go's sync package (and x/sync/semaphore): one file per primitive, each a
//! pyclass over its core primitive (src/core) plus the [`WaitOp`] of its
//! waiting operations, which every driver runs: a thread
//! ([`crate::blocking::run`]: fast path attached, then GIL released and
//! Ctrl-C aware) and the awaitables of the `*_async` twins (asyncio and
//! trio tasks), so threads and coroutines contend for one primitive.

pub mod cond;
pub mod mutex;
pub mod once;
pub mod rwmutex;
pub mod semaphore;
pub mod waitgroup;

use crate::core::waiter::Waiter;
use crate::wait::{Value, WaitOp};
use pyo3::prelude::*;
use std::sync::Arc;

/// An operation that never waits: `f` runs when awaited (an `__aexit__`
/// that unlocks, a Cond's relock through a Python lock).
pub struct Ready<F> {
    what: &'static str,
    f: F,
}

impl<F> Ready<F>
where
    F: FnMut(Python<'_>) -> PyResult<Value> + Send + 'static,
{
    pub fn new(what: &'static str, f: F) -> Self {
        Ready { what, f }
    }
}

impl<F> WaitOp for Ready<F>
where
    F: FnMut(Python<'_>) -> PyResult<Value> + Send + 'static,
{
    type R = ();
    fn what(&self) -> &'static str {
        self.what
    }
    fn wait_reason(&self) -> &'static str {
        "running"
    }
    fn try_now(&mut self, py: Python<'_>) -> Option<PyResult<Value>> {
        Some((self.f)(py))
    }
    fn register(&mut self, py: Python<'_>, _w: &Arc<Waiter<()>>) -> Option<PyResult<Value>> {
        Some((self.f)(py))
    }
    fn unregister(&mut self, _w: &Arc<Waiter<()>>) {}
    fn finish(&mut self, py: Python<'_>, _w: &Arc<Waiter<()>>, _r: ()) -> Option<PyResult<Value>> {
        Some(Ok(py.None()))
    }
    fn abandon(&mut self, _w: &Arc<Waiter<()>>, _r: ()) {}
}
