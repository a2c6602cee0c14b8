//! `Cond`: Go's sync.Cond over `core::cond`'s wait list. Threads wait
//! through the thread driver, coroutines through `wait_async` (asyncio or
//! trio), on the same Cond.

use super::Ready;
use super::mutex::{Mutex, MutexOp};
use super::rwmutex::{RLocker, RWMutex, RwOp};
use crate::blocking;
use crate::core::cond::{CondWaiter, NotifyList};
use crate::core::mutex::Mutex as CoreMutex;
use crate::core::rwmutex::RwMutex as CoreRw;
use crate::py::awaitable::Awaitable;
use crate::py::errors::must_be;
use crate::py::timeout::Timeout;
use crate::wait::{Value, WaitOp};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
        Err(must_be(
            "Cond lock",
            "a Locker (lock()/unlock() or acquire()/release())",
            l,
        ))
    }

    fn unlock(&self, py: Python<'_>) -> PyResult<()> {
        match self {
            Locker::Mutex(m) => Ok(m.unlock()?),
            Locker::Writer(rw) => Ok(rw.unlock()?),
            Locker::Reader(rw) => Ok(rw.runlock()?),
            Locker::Methods(l, _, unlock) => {
                blocking::call0(&l.bind(py).getattr(*unlock)?).map(drop)
            }
        }
    }

    /// Locks from a thread.
    fn lock(&self, py: Python<'_>) -> PyResult<()> {
        match self {
            Locker::Mutex(m) => Mutex::lock_forever(py, m, "Cond.wait"),
            Locker::Writer(rw) => RwOp::new(rw, true, "Cond.wait").run(py, Timeout::Forever),
            Locker::Reader(rw) => RwOp::new(rw, false, "Cond.wait").run(py, Timeout::Forever),
            Locker::Methods(l, lock, _) => blocking::call0(&l.bind(py).getattr(*lock)?).map(drop),
        }
    }

    /// The awaitable that locks from a coroutine (a Python lock is locked
    /// by calling its method).
    fn lock_async(&self, py: Python<'_>) -> PyResult<Value> {
        match self {
            Locker::Mutex(m) => {
                Awaitable::wrap(py, MutexOp::task(m, "Cond.wait_async"), Timeout::Forever)
            }
            Locker::Writer(rw) => {
                RwOp::new(rw, true, "Cond.wait_async").awaitable(py, Timeout::Forever)
            }
            Locker::Reader(rw) => {
                RwOp::new(rw, false, "Cond.wait_async").awaitable(py, Timeout::Forever)
            }
            Locker::Methods(l, lock, _) => {
                let method = l.bind(py).getattr(*lock)?.unbind();
                let call = Ready::new("Cond.wait_async", move |py| {
                    blocking::call0(method.bind(py)).map(Bound::unbind)
                });
                Awaitable::wrap(py, call, Timeout::Forever)
            }
        }
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

/// Waiting for a signal, as the wait protocol runs it: registering
/// unlocks L (after the waiter is listed, so no signal is missed).
struct CondOp {
    cond: Arc<Shared>,
    what: &'static str,
    /// L was unlocked (and must be locked again).
    unlocked: Arc<AtomicBool>,
}

impl WaitOp for CondOp {
    type R = ();

    fn what(&self) -> &'static str {
        self.what
    }

    fn wait_reason(&self) -> &'static str {
        "sync.Cond.Wait"
    }

    fn try_now(&mut self, _py: Python<'_>) -> Option<PyResult<Value>> {
        None
    }

    fn register(&mut self, py: Python<'_>, w: &Arc<CondWaiter>) -> Option<PyResult<Value>> {
        self.cond.list.add(w);
        if let Err(e) = self.cond.locker.unlock(py) {
            self.cond.list.remove(w);
            return Some(Err(e));
        }
        self.unlocked.store(true, Ordering::Relaxed);
        None
    }

    fn unregister(&mut self, w: &Arc<CondWaiter>) {
        self.cond.list.remove(w);
    }

    fn finish(&mut self, py: Python<'_>, _w: &Arc<CondWaiter>, _r: ()) -> Option<PyResult<Value>> {
        Some(Ok(py.None()))
    }

    fn abandon(&mut self, _w: &Arc<CondWaiter>, _r: ()) {
        // Signalled, but the waiter is gone: pass the signal on.
        self.cond.list.notify_one();
    }
}

struct Shared {
    locker: Locker,
    list: NotifyList,
}

/// A Go condition variable: `Cond(lock=None)`, whose `L` is any Locker (a
/// new Mutex when None).
#[pyclass(frozen, module = "gocurrent", name = "Cond")]
pub struct Cond {
    l: Py<PyAny>,
    shared: Arc<Shared>,
}

impl Cond {
    fn op(&self, what: &'static str) -> CondOp {
        CondOp {
            cond: self.shared.clone(),
            what,
            unlocked: Arc::new(AtomicBool::new(false)),
        }
    }
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
        let shared = Shared {
            locker: Locker::of(&l)?,
            list: NotifyList::new(),
        };
        Ok(Cond {
            l: l.unbind(),
            shared: Arc::new(shared),
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
    /// this raises what `L.unlock()` raises. With `timeout <= 0` it raises
    /// TimeoutError at once, L untouched.
    #[pyo3(signature = (*, timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let timeout = Timeout::parse(timeout)?;
        let mut op = self.op("Cond.wait");
        let r = blocking::run(py, &mut op, timeout);
        if !op.unlocked.load(Ordering::Relaxed) {
            return r.map(drop);
        }
        let interrupt = self.shared.locker.relock(py)?;
        r?;
        match interrupt {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `await cond.wait_async()`: `wait` from a coroutine (asyncio or
    /// trio); L is locked again with its async lock, so the loop never
    /// blocks (a Python lock's `lock()` is called as is), and held when
    /// the await returns or raises (a cancellation included).
    #[pyo3(signature = (*, timeout = None))]
    fn wait_async(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
        static COND_WAIT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let timeout = Timeout::parse(timeout)?;
        let op = self.op("Cond.wait_async");
        let unlocked = op.unlocked.clone();
        let wait = Awaitable::wrap(py, op, timeout)?;
        let shared = self.shared.clone();
        let relock = PyCFunction::new_closure(py, None, None, move |args, _| {
            shared.locker.lock_async(args.py())
        })?;
        let was_unlocked = PyCFunction::new_closure(py, None, None, move |_, _| {
            Ok::<bool, PyErr>(unlocked.load(Ordering::Relaxed))
        })?;
        let cond_wait = COND_WAIT.import(py, "gocurrent._sync", "cond_wait")?;
        Ok(cond_wait.call1((wait, relock, was_unlocked))?.unbind())
    }

    /// Wakes one waiting party (the longest waiting), if any.
    fn signal(&self) {
        self.shared.list.notify_one();
    }

    /// Wakes every waiting party.
    fn broadcast(&self) {
        self.shared.list.notify_all();
    }

    fn __repr__(&self) -> String {
        format!("<Cond waiting={}>", self.shared.list.len())
    }
}
