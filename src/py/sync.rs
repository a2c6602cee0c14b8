//! `WaitGroup`, `Mutex`, `RWMutex` (and its `RLocker`), `Cond`, `Once` and
//! `Semaphore`: thin pyclasses over the core primitives (src/core). Every
//! blocking method tries its fast path while attached, then waits through
//! [`blocking::wait`] (GIL released, Ctrl-C aware); every `*_async` twin is
//! an [`Awaitable`] over the same core object, so threads and coroutines
//! can contend for one primitive.

use super::awaitable::{AsyncOp, Awaitable};
use super::chan::Chan;
use super::timeout::Timeout;
use crate::blocking::{self, Deadline};
use crate::core::chan::{self as cchan, Case, ChanWaiter, Poll};
use crate::core::cond::{CondWaiter, NotifyList};
use crate::core::mutex::{Enqueue, Grant, Mutex as CoreMutex, MutexWaiter};
use crate::core::rwmutex::{RwError, RwMutex as CoreRw, RwWaiter};
use crate::core::sema::{Acquired, SemError, SemWaiter, Semaphore as CoreSem};
use crate::core::waiter::{Waiter, Wake};
use crate::core::waitgroup::{WaitGroup as CoreWg, WgError, WgWaiter};
use parking_lot::Mutex as PlMutex;
use pyo3::exceptions::{
    PyBaseException, PyKeyboardInterrupt, PyOverflowError, PyRuntimeError, PyTimeoutError,
    PyTypeError, PyValueError,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

type Value = Py<PyAny>;

const UNLOCK_OF_UNLOCKED: &str = "sync: unlock of unlocked mutex";
const RUNLOCK_OF_UNLOCKED: &str = "sync: RUnlock of unlocked RWMutex";
const RW_UNLOCK_OF_UNLOCKED: &str = "sync: Unlock of unlocked RWMutex";
const NEGATIVE_COUNTER: &str = "sync: negative WaitGroup counter";

fn timeout_error() -> PyErr {
    PyTimeoutError::new_err(())
}

fn mutex_error() -> PyErr {
    PyRuntimeError::new_err(UNLOCK_OF_UNLOCKED)
}

fn rw_error(e: RwError) -> PyErr {
    PyRuntimeError::new_err(match e {
        RwError::RUnlockOfUnlocked => RUNLOCK_OF_UNLOCKED,
        RwError::UnlockOfUnlocked => RW_UNLOCK_OF_UNLOCKED,
    })
}

fn wg_error(e: WgError) -> PyErr {
    match e {
        WgError::Negative => PyValueError::new_err(NEGATIVE_COUNTER),
        WgError::Overflow => PyOverflowError::new_err("sync: WaitGroup counter overflow"),
    }
}

fn sem_error(e: SemError) -> PyErr {
    match e {
        SemError::TooLarge => {
            PyValueError::new_err("semaphore: acquire of more tokens than the semaphore's size")
        }
        SemError::Negative => PyValueError::new_err("semaphore: negative token count"),
        SemError::ReleasedMoreThanHeld => {
            PyRuntimeError::new_err("semaphore: released more than held")
        }
    }
}

/// The deadline of a blocking call (`None`: `timeout <= 0`, do not wait).
fn deadline_of(timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Deadline>> {
    Ok(Timeout::parse(timeout)?.deadline())
}

/// Locks `m` from a thread, blocking (GIL released, Ctrl-C aware); false
/// on timeout.
fn lock_mutex(py: Python<'_>, m: &CoreMutex, deadline: Deadline) -> PyResult<bool> {
    m.lock_with(MutexWaiter::for_current_thread, |w| {
        blocking::wait(py, w, deadline)
    })
}

/// Takes a read (`writer` false) or write lock of `rw` from a thread.
fn lock_rw(py: Python<'_>, rw: &CoreRw, writer: bool, deadline: Deadline) -> PyResult<bool> {
    rw.lock_with(writer, RwWaiter::for_current_thread, |w| {
        blocking::wait(py, w, deadline)
    })
}

/// The result of a lock call: `Ok(())`, or TimeoutError.
fn locked_or_timeout(got: bool) -> PyResult<()> {
    if got { Ok(()) } else { Err(timeout_error()) }
}

// ---------------------------------------------------------------------------
// Async operations

/// A core primitive whose waiters are completed by handing them what they
/// wait for (a lock, the end of a wait group), as an [`AsyncOp`] drives it.
trait Handoff: Send + Sync + 'static {
    type R: Send + 'static;
    /// Performs the operation if it need not wait.
    fn try_now(&self) -> bool;
    /// Queues the waiter, or performs the operation at once (`true`).
    fn enqueue(&self, w: &Arc<Waiter<Self::R>>) -> bool;
    /// Removes a withdrawn waiter.
    fn dequeue(&self, w: &Arc<Waiter<Self::R>>);
    /// Gives back what a completed waiter got but nobody will receive.
    fn give_back(&self, r: Self::R);
}

struct MutexHandoff(Arc<CoreMutex>);

impl Handoff for MutexHandoff {
    type R = Grant;
    fn try_now(&self) -> bool {
        self.0.try_lock()
    }
    fn enqueue(&self, w: &Arc<MutexWaiter>) -> bool {
        let how = Enqueue {
            since: Instant::now(),
            retry: false,
            handoff: true,
        };
        self.0.enqueue(w, how)
    }
    fn dequeue(&self, w: &Arc<MutexWaiter>) {
        self.0.dequeue(w);
    }
    fn give_back(&self, r: Grant) {
        if r == Grant::Owned {
            drop(self.0.unlock());
        }
    }
}

struct RwHandoff {
    rw: Arc<CoreRw>,
    writer: bool,
}

impl Handoff for RwHandoff {
    type R = ();
    fn try_now(&self) -> bool {
        if self.writer {
            self.rw.try_lock()
        } else {
            self.rw.try_rlock()
        }
    }
    fn enqueue(&self, w: &Arc<RwWaiter>) -> bool {
        self.rw.enqueue(w, self.writer)
    }
    fn dequeue(&self, w: &Arc<RwWaiter>) {
        self.rw.dequeue(w);
    }
    fn give_back(&self, _: ()) {
        drop(if self.writer {
            self.rw.unlock()
        } else {
            self.rw.runlock()
        });
    }
}

struct WgHandoff(Arc<CoreWg>);

impl Handoff for WgHandoff {
    type R = ();
    fn try_now(&self) -> bool {
        self.0.is_zero()
    }
    fn enqueue(&self, w: &Arc<WgWaiter>) -> bool {
        self.0.enqueue(w)
    }
    fn dequeue(&self, w: &Arc<WgWaiter>) {
        self.0.dequeue(w);
    }
    fn give_back(&self, _: ()) {}
}

/// The awaited form of a [`Handoff`] operation; it returns None.
struct HandoffOp<H: Handoff> {
    prim: H,
    waiter: PlMutex<Option<Arc<Waiter<H::R>>>>,
}

impl<H: Handoff> HandoffOp<H> {
    fn awaitable(py: Python<'_>, prim: H, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let timeout = Timeout::parse(timeout)?;
        let op = HandoffOp {
            prim,
            waiter: PlMutex::new(None),
        };
        Awaitable::wrap(py, Box::new(op), timeout.seconds())
    }
}

impl<H: Handoff> AsyncOp for HandoffOp<H> {
    fn try_now(&self, py: Python<'_>) -> Option<PyResult<Value>> {
        self.prim.try_now().then(|| Ok(py.None()))
    }

    fn register(&self, py: Python<'_>, wake: Wake) -> Option<PyResult<Value>> {
        let w = Waiter::new(wake);
        if self.prim.enqueue(&w) {
            return Some(Ok(py.None()));
        }
        *self.waiter.lock() = Some(w);
        None
    }

    fn finish(&self, py: Python<'_>) -> PyResult<Value> {
        let w = self.waiter.lock().take();
        match w.and_then(|w| w.take()) {
            Some(_) => Ok(py.None()),
            None => Err(PyRuntimeError::new_err("operation woken before completion")),
        }
    }

    fn withdraw(&self) -> bool {
        // No lock of ours is held while the primitive's queue is touched
        // (dequeuing may wake other waiters, which calls into Python).
        let Some(w) = self.waiter.lock().clone() else {
            return false;
        };
        let withdrawn = w.withdraw();
        if withdrawn {
            self.prim.dequeue(&w);
        }
        withdrawn
    }

    fn abandon(&self, _py: Python<'_>) {
        let w = self.waiter.lock().take();
        if let Some(r) = w.and_then(|w| w.take()) {
            self.prim.give_back(r);
        }
    }
}

impl<H: Handoff> Drop for HandoffOp<H> {
    fn drop(&mut self) {
        // Dropped mid-wait (never awaited to the end): leave nothing queued
        // and give back anything handed over meanwhile.
        if let Some(w) = self.waiter.get_mut().take() {
            if w.withdraw() {
                self.prim.dequeue(&w);
            } else if let Some(r) = w.take() {
                self.prim.give_back(r);
            }
        }
    }
}

/// An awaitable that runs `f` when awaited and completes at once.
struct Ready<F>(F);

impl<F> AsyncOp for Ready<F>
where
    F: Fn(Python<'_>) -> PyResult<Value> + Send + Sync,
{
    fn try_now(&self, py: Python<'_>) -> Option<PyResult<Value>> {
        Some((self.0)(py))
    }
    fn register(&self, py: Python<'_>, _wake: Wake) -> Option<PyResult<Value>> {
        Some((self.0)(py))
    }
    fn finish(&self, py: Python<'_>) -> PyResult<Value> {
        Ok(py.None())
    }
    fn withdraw(&self) -> bool {
        false
    }
}

fn ready<F>(py: Python<'_>, f: F) -> PyResult<Value>
where
    F: Fn(Python<'_>) -> PyResult<Value> + Send + Sync + 'static,
{
    Awaitable::wrap(py, Box::new(Ready(f)), None)
}

// ---------------------------------------------------------------------------
// Mutex

/// A Go mutual exclusion lock: `Mutex()`. Not reentrant and not owned: any
/// thread (or coroutine) may unlock it, as in Go.
#[pyclass(frozen, module = "gocurrent", name = "Mutex")]
pub struct Mutex {
    inner: Arc<CoreMutex>,
}

#[pymethods]
impl Mutex {
    #[new]
    fn new() -> Self {
        Mutex {
            inner: Arc::new(CoreMutex::new()),
        }
    }

    /// Locks the mutex, blocking until it is available. Raises TimeoutError
    /// after `timeout` seconds (the mutex is then not taken).
    #[pyo3(signature = (*, timeout = None))]
    fn lock(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        if timeout.is_none() && self.inner.try_lock() {
            return Ok(());
        }
        let deadline = deadline_of(timeout)?;
        if self.inner.try_lock() {
            return Ok(());
        }
        let Some(deadline) = deadline else {
            return Err(timeout_error());
        };
        locked_or_timeout(lock_mutex(py, &self.inner, deadline)?)
    }

    /// Unlocks the mutex. RuntimeError("sync: unlock of unlocked mutex") if
    /// it is not locked.
    fn unlock(&self) -> PyResult<()> {
        self.inner.unlock().map_err(|_| mutex_error())
    }

    /// Locks the mutex if it is free now; returns whether it did.
    fn try_lock(&self) -> bool {
        self.inner.try_lock()
    }

    /// True while the mutex is locked.
    #[getter]
    fn locked(&self) -> bool {
        self.inner.is_locked()
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        if self.inner.try_lock() {
            return Ok(());
        }
        locked_or_timeout(lock_mutex(py, &self.inner, Deadline::Never)?)
    }

    #[pyo3(signature = (_exc_type, _exc, _tb, /))]
    fn __exit__(
        &self,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.inner.unlock().map_err(|_| mutex_error())
    }

    /// `await mu.lock_async()`: lock from a coroutine (the event loop keeps
    /// running while it waits).
    #[pyo3(signature = (*, timeout = None))]
    fn lock_async(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        HandoffOp::awaitable(py, MutexHandoff(self.inner.clone()), timeout)
    }

    fn __aenter__(&self, py: Python<'_>) -> PyResult<Value> {
        self.lock_async(py, None)
    }

    #[pyo3(signature = (_exc_type, _exc, _tb, /))]
    fn __aexit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<Value> {
        let m = self.inner.clone();
        ready(py, move |py| {
            m.unlock().map_err(|_| mutex_error())?;
            Ok(py.None())
        })
    }

    fn __repr__(&self) -> String {
        let state = if self.inner.is_locked() {
            "locked"
        } else {
            "unlocked"
        };
        format!("<Mutex {state} waiting={}>", self.inner.waiting())
    }
}

// ---------------------------------------------------------------------------
// RWMutex

/// A Go reader/writer mutual exclusion lock: `RWMutex()`. Any number of
/// readers or one writer; a waiting writer blocks new readers.
#[pyclass(frozen, module = "gocurrent", name = "RWMutex")]
pub struct RWMutex {
    inner: Arc<CoreRw>,
}

impl RWMutex {
    fn lock_impl(
        &self,
        py: Python<'_>,
        writer: bool,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let deadline = deadline_of(timeout)?;
        let fast = if writer {
            self.inner.try_lock()
        } else {
            self.inner.try_rlock()
        };
        if fast {
            return Ok(());
        }
        let Some(deadline) = deadline else {
            return Err(timeout_error());
        };
        locked_or_timeout(lock_rw(py, &self.inner, writer, deadline)?)
    }
}

#[pymethods]
impl RWMutex {
    #[new]
    fn new() -> Self {
        RWMutex {
            inner: Arc::new(CoreRw::new()),
        }
    }

    /// Locks for writing, blocking until no reader or writer holds the lock.
    /// Raises TimeoutError after `timeout` seconds.
    #[pyo3(signature = (*, timeout = None))]
    fn lock(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.lock_impl(py, true, timeout)
    }

    /// Unlocks for writing. RuntimeError("sync: Unlock of unlocked RWMutex")
    /// if it is not write-locked.
    fn unlock(&self) -> PyResult<()> {
        self.inner.unlock().map_err(rw_error)
    }

    /// Locks for writing if that needs no waiting; returns whether it did.
    fn try_lock(&self) -> bool {
        self.inner.try_lock()
    }

    /// Locks for reading, blocking while a writer holds the lock or waits
    /// for it. Raises TimeoutError after `timeout` seconds.
    #[pyo3(signature = (*, timeout = None))]
    fn rlock(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.lock_impl(py, false, timeout)
    }

    /// Undoes one `rlock`. RuntimeError("sync: RUnlock of unlocked RWMutex")
    /// if it is not read-locked.
    fn runlock(&self) -> PyResult<()> {
        self.inner.runlock().map_err(rw_error)
    }

    /// Locks for reading if that needs no waiting; returns whether it did.
    fn try_rlock(&self) -> bool {
        self.inner.try_rlock()
    }

    /// A Locker whose `lock`/`unlock` (and `with`) take the read lock.
    fn rlocker(&self) -> RLocker {
        RLocker {
            inner: self.inner.clone(),
        }
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        self.lock_impl(py, true, None)
    }

    #[pyo3(signature = (_exc_type, _exc, _tb, /))]
    fn __exit__(
        &self,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.inner.unlock().map_err(rw_error)
    }

    /// `await rw.lock_async()`: lock for writing from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn lock_async(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let prim = RwHandoff {
            rw: self.inner.clone(),
            writer: true,
        };
        HandoffOp::awaitable(py, prim, timeout)
    }

    /// `await rw.rlock_async()`: lock for reading from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn rlock_async(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        let prim = RwHandoff {
            rw: self.inner.clone(),
            writer: false,
        };
        HandoffOp::awaitable(py, prim, timeout)
    }

    fn __aenter__(&self, py: Python<'_>) -> PyResult<Value> {
        self.lock_async(py, None)
    }

    #[pyo3(signature = (_exc_type, _exc, _tb, /))]
    fn __aexit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<Value> {
        let rw = self.inner.clone();
        ready(py, move |py| {
            rw.unlock().map_err(rw_error)?;
            Ok(py.None())
        })
    }

    fn __repr__(&self) -> String {
        let holders = if self.inner.write_locked() {
            "write-locked".to_string()
        } else {
            format!("readers={}", self.inner.readers())
        };
        format!("<RWMutex {holders} waiting={}>", self.inner.waiting())
    }
}

/// The Locker of `RWMutex.rlocker()`: `lock`/`unlock` take and release
/// the read lock.
#[pyclass(frozen, module = "gocurrent", name = "RLocker")]
pub struct RLocker {
    inner: Arc<CoreRw>,
}

#[pymethods]
impl RLocker {
    /// Takes the read lock (`rw.rlock()`).
    #[pyo3(signature = (*, timeout = None))]
    fn lock(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let deadline = deadline_of(timeout)?;
        if self.inner.try_rlock() {
            return Ok(());
        }
        let Some(deadline) = deadline else {
            return Err(timeout_error());
        };
        locked_or_timeout(lock_rw(py, &self.inner, false, deadline)?)
    }

    /// Releases the read lock (`rw.runlock()`).
    fn unlock(&self) -> PyResult<()> {
        self.inner.runlock().map_err(rw_error)
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        self.lock(py, None)
    }

    #[pyo3(signature = (_exc_type, _exc, _tb, /))]
    fn __exit__(
        &self,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.unlock()
    }
}

// ---------------------------------------------------------------------------
// WaitGroup

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
        self.inner.add(delta).map_err(wg_error)
    }

    /// Decrements the counter by one.
    fn done(&self) -> PyResult<()> {
        self.inner.add(-1).map_err(wg_error)
    }

    /// Blocks until the counter is zero. Raises TimeoutError after
    /// `timeout` seconds.
    #[pyo3(signature = (*, timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let deadline = deadline_of(timeout)?;
        if self.inner.is_zero() {
            return Ok(());
        }
        let Some(deadline) = deadline else {
            return Err(timeout_error());
        };
        let w = WgWaiter::for_current_thread();
        if self.inner.enqueue(&w) {
            return Ok(());
        }
        let r = blocking::wait(py, &w, deadline);
        if !matches!(r, Ok(Some(()))) {
            self.inner.dequeue(&w);
        }
        r?.ok_or_else(timeout_error)
    }

    /// `await wg.wait_async()`: wait from a coroutine.
    #[pyo3(signature = (*, timeout = None))]
    fn wait_async(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        HandoffOp::awaitable(py, WgHandoff(self.inner.clone()), timeout)
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
        this.inner.add(1).map_err(wg_error)?;
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

// ---------------------------------------------------------------------------
// Cond

/// How a Cond locks and unlocks its L.
enum Locker {
    Mutex(Arc<CoreMutex>),
    Writer(Arc<CoreRw>),
    Reader(Arc<CoreRw>),
    /// Any other object, through these two methods.
    Methods(Py<PyAny>, &'static str, &'static str),
}

impl Locker {
    fn of(l: &Bound<'_, PyAny>) -> PyResult<Locker> {
        if let Ok(m) = l.cast::<Mutex>() {
            return Ok(Locker::Mutex(m.get().inner.clone()));
        }
        if let Ok(rw) = l.cast::<RWMutex>() {
            return Ok(Locker::Writer(rw.get().inner.clone()));
        }
        if let Ok(r) = l.cast::<RLocker>() {
            return Ok(Locker::Reader(r.get().inner.clone()));
        }
        for (lock, unlock) in [("lock", "unlock"), ("acquire", "release")] {
            if l.hasattr(lock)? && l.hasattr(unlock)? {
                return Ok(Locker::Methods(l.clone().unbind(), lock, unlock));
            }
        }
        let name = l.get_type().name()?;
        Err(PyTypeError::new_err(format!(
            "Cond lock must be a Locker (lock()/unlock() or acquire()/release()), not {name}"
        )))
    }

    fn unlock(&self, py: Python<'_>) -> PyResult<()> {
        match self {
            Locker::Mutex(m) => m.unlock().map_err(|_| mutex_error()),
            Locker::Writer(rw) => rw.unlock().map_err(rw_error),
            Locker::Reader(rw) => rw.runlock().map_err(rw_error),
            Locker::Methods(l, _, unlock) => {
                blocking::call0(&l.bind(py).getattr(*unlock)?).map(drop)
            }
        }
    }

    fn lock(&self, py: Python<'_>) -> PyResult<()> {
        let got = match self {
            Locker::Mutex(m) => m.try_lock() || lock_mutex(py, m, Deadline::Never)?,
            Locker::Writer(rw) => rw.try_lock() || lock_rw(py, rw, true, Deadline::Never)?,
            Locker::Reader(rw) => rw.try_rlock() || lock_rw(py, rw, false, Deadline::Never)?,
            Locker::Methods(l, lock, _) => {
                blocking::call0(&l.bind(py).getattr(*lock)?)?;
                true
            }
        };
        locked_or_timeout(got)
    }

    /// Locks again after a wait, whatever happens: a KeyboardInterrupt
    /// while waiting for the lock is kept for later, so that L is held
    /// when `Cond.wait` returns or raises. Returns that interrupt, if any.
    fn relock(&self, py: Python<'_>) -> PyResult<Option<PyErr>> {
        let mut interrupt = None;
        loop {
            match self.lock(py) {
                Ok(()) => return Ok(interrupt),
                Err(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => {
                    interrupt.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A Go condition variable: `Cond(lock=None)`, whose `L` is any Locker (a
/// new Mutex when None).
#[pyclass(frozen, module = "gocurrent", name = "Cond")]
pub struct Cond {
    l: Py<PyAny>,
    locker: Locker,
    list: NotifyList,
}

#[pymethods]
impl Cond {
    #[new]
    #[pyo3(signature = (lock = None))]
    fn new(py: Python<'_>, lock: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let l = match lock.filter(|l| !l.is_none()) {
            Some(l) => l.clone(),
            None => Bound::new(py, Mutex::new())?.into_any(),
        };
        Ok(Cond {
            locker: Locker::of(&l)?,
            l: l.unbind(),
            list: NotifyList::new(),
        })
    }

    /// The Locker held while observing or changing the condition.
    #[getter(L)]
    fn l(&self, py: Python<'_>) -> Value {
        self.l.clone_ref(py)
    }

    /// Atomically unlocks L and waits for `signal` or `broadcast`, then
    /// locks L again before returning (or raising: TimeoutError after
    /// `timeout` seconds, KeyboardInterrupt). L must be held: otherwise
    /// this raises what `L.unlock()` raises.
    #[pyo3(signature = (*, timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let deadline = deadline_of(timeout)?.unwrap_or(Deadline::At(Instant::now()));
        let w = CondWaiter::for_current_thread();
        self.list.add(&w);
        if let Err(e) = self.locker.unlock(py) {
            self.list.remove(&w);
            return Err(e);
        }
        let r = blocking::wait(py, &w, deadline);
        if !matches!(r, Ok(Some(()))) {
            self.list.remove(&w);
        }
        let interrupt = self.locker.relock(py)?;
        r?.ok_or_else(timeout_error)?;
        match interrupt {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Wakes one waiting party (the longest waiting), if any.
    fn signal(&self) {
        self.list.notify_one();
    }

    /// Wakes every waiting party.
    fn broadcast(&self) {
        self.list.notify_all();
    }

    fn __repr__(&self) -> String {
        format!("<Cond waiting={}>", self.list.len())
    }
}

// ---------------------------------------------------------------------------
// Once

/// Go's `sync.Once`: `once.do(fn)` calls fn only on the first call.
#[pyclass(frozen, module = "gocurrent", name = "Once")]
pub struct Once {
    done: AtomicBool,
    m: CoreMutex,
}

#[pymethods]
impl Once {
    #[new]
    fn new() -> Self {
        Once {
            done: AtomicBool::new(false),
            m: CoreMutex::new(),
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
        if !self.m.try_lock() {
            locked_or_timeout(lock_mutex(py, &self.m, Deadline::Never)?)?;
        }
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

// ---------------------------------------------------------------------------
// Semaphore

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
            let name = ctx.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "ctx must be a context (with done() and err()), not {name}"
            )));
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

/// golang.org/x/sync/semaphore's weighted semaphore: `Semaphore(n)`.
/// Waiters are served first come, first served.
#[pyclass(frozen, module = "gocurrent", name = "Semaphore")]
pub struct Semaphore {
    inner: Arc<CoreSem>,
}

/// The outcome of a semaphore wait, as the caller reports it.
fn sem_outcome(
    py: Python<'_>,
    sem: &CoreSem,
    n: i64,
    ctx: Option<&Ctx>,
    w: &Arc<SemWaiter>,
    r: PyResult<Option<Acquired>>,
) -> PyResult<()> {
    match r {
        Ok(Some(Acquired::Yes)) => match ctx.filter(|c| c.is_done()) {
            // Granted, but the context is done too: Go gives the tokens back.
            Some(c) => {
                sem.release(n).map_err(sem_error)?;
                Err(c.err(py))
            }
            None => Ok(()),
        },
        Ok(Some(Acquired::No)) => {
            sem.cancel(n, w, false);
            Err(ctx.map_or_else(timeout_error, |c| c.err(py)))
        }
        Ok(None) => {
            sem.cancel(n, w, false);
            Err(timeout_error())
        }
        Err(e) => {
            sem.cancel(n, w, false);
            Err(e)
        }
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
        let deadline = deadline_of(timeout)?;
        let ctx = Ctx::of(ctx)?;
        if let Some(c) = ctx.as_ref().filter(|c| c.is_done()) {
            return Err(c.err(py));
        }
        if self.inner.try_acquire(n).map_err(sem_error)? {
            return Ok(());
        }
        let Some(deadline) = deadline else {
            return Err(timeout_error());
        };
        let w = SemWaiter::for_current_thread();
        let watch = match ctx.as_ref().map(|c| c.watch(&w)) {
            None => None,
            Some(Some(watch)) => watch,
            Some(None) => return Err(ctx.as_ref().map_or_else(timeout_error, |c| c.err(py))),
        };
        if self.inner.enqueue(n, &w).map_err(sem_error)? {
            return Ok(());
        }
        let r = blocking::wait(py, &w, deadline);
        drop(watch);
        sem_outcome(py, &self.inner, n, ctx.as_ref(), &w, r)
    }

    /// Acquires `n` tokens if they are free now and nobody waits; returns
    /// whether it did.
    #[pyo3(signature = (n = 1))]
    fn try_acquire(&self, n: i64) -> PyResult<bool> {
        self.inner.try_acquire(n).map_err(sem_error)
    }

    /// Releases `n` tokens. RuntimeError("semaphore: released more than
    /// held") if more are released than are held.
    #[pyo3(signature = (n = 1))]
    fn release(&self, n: i64) -> PyResult<()> {
        self.inner.release(n).map_err(sem_error)
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
        let op = SemOp {
            sem: self.inner.clone(),
            n,
            ctx: Ctx::of(ctx)?,
            state: PlMutex::new(None),
        };
        Awaitable::wrap(py, Box::new(op), timeout.seconds())
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

/// `acquire_async`'s operation.
struct SemOp {
    sem: Arc<CoreSem>,
    n: i64,
    ctx: Option<Ctx>,
    state: PlMutex<Option<(Arc<SemWaiter>, Option<Watch>)>>,
}

impl SemOp {
    fn ctx_err(&self, py: Python<'_>) -> PyErr {
        self.ctx.as_ref().map_or_else(timeout_error, |c| c.err(py))
    }
}

impl AsyncOp for SemOp {
    fn try_now(&self, py: Python<'_>) -> Option<PyResult<Value>> {
        if self.ctx.as_ref().is_some_and(Ctx::is_done) {
            return Some(Err(self.ctx_err(py)));
        }
        match self.sem.try_acquire(self.n) {
            Ok(true) => Some(Ok(py.None())),
            Ok(false) => None,
            Err(e) => Some(Err(sem_error(e))),
        }
    }

    fn register(&self, py: Python<'_>, wake: Wake) -> Option<PyResult<Value>> {
        let w = Waiter::new(wake);
        let watch = match self.ctx.as_ref().map(|c| c.watch(&w)) {
            None => None,
            Some(Some(watch)) => watch,
            Some(None) => return Some(Err(self.ctx_err(py))),
        };
        match self.sem.enqueue(self.n, &w) {
            Ok(true) => Some(Ok(py.None())),
            Err(e) => Some(Err(sem_error(e))),
            Ok(false) => {
                *self.state.lock() = Some((w, watch));
                None
            }
        }
    }

    fn finish(&self, py: Python<'_>) -> PyResult<Value> {
        let Some((w, watch)) = self.state.lock().take() else {
            return Err(PyRuntimeError::new_err("operation finished twice"));
        };
        drop(watch);
        let r = w.take();
        if r.is_none() {
            return Err(PyRuntimeError::new_err("operation woken before completion"));
        }
        sem_outcome(py, &self.sem, self.n, self.ctx.as_ref(), &w, Ok(r))?;
        Ok(py.None())
    }

    fn withdraw(&self) -> bool {
        let Some(w) = self.state.lock().as_ref().map(|(w, _)| w.clone()) else {
            return false;
        };
        if !w.withdraw() {
            return false;
        }
        // Withdrawn: nobody else touches the state now; no lock of ours is
        // held while the semaphore serves the next waiters.
        let taken = self.state.lock().take();
        self.sem.cancel(self.n, &w, false);
        drop(taken);
        true
    }

    fn abandon(&self, _py: Python<'_>) {
        let Some((w, watch)) = self.state.lock().take() else {
            return;
        };
        drop(watch);
        match w.take() {
            Some(Acquired::Yes) => self.sem.cancel(self.n, &w, true),
            _ => self.sem.cancel(self.n, &w, false),
        }
    }
}

impl Drop for SemOp {
    fn drop(&mut self) {
        if let Some((w, watch)) = self.state.get_mut().take() {
            drop(watch);
            let granted = !w.withdraw() && w.take() == Some(Acquired::Yes);
            self.sem.cancel(self.n, &w, granted);
        }
    }
}
