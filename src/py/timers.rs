//! `Timer`, `Ticker`, `after`, `tick` and `after_func` over the one timer
//! thread of `core::timers`, which also serves context deadlines.
//!
//! A timer's channel is a `Chan(1)`: firing sends `time.monotonic()` without
//! blocking (a ticker's tick is dropped when the buffer is full, as Go
//! does). `stop` and `reset` take back a fired value nobody received, under
//! the timer's lock, so no stale value is received after they return (Go
//! 1.23). The timer thread attaches to the interpreter once per batch of due
//! timers, through `blocking::attach_if_alive` (it never touches Python
//! while the interpreter exits).

use super::chan::Chan;
use super::context::{self, CtxNode};
use super::errors::{must_be, timer_thread_error};
use super::timeout::{parse_seconds, to_duration};
use crate::blocking;
use crate::core::chan::{self as core, ChanDefer, TryRecv, TrySendError};
use crate::core::timers::{Due, TimerCell, Timers};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

type Value = Py<PyAny>;

/// What firing a timer does.
pub enum Target {
    /// Timer, Ticker, after, tick: send `time.monotonic()` on the channel.
    /// Held weakly: once nobody can receive from the channel (the Python
    /// `Chan` and its Timer are gone), firing does nothing and a ticker
    /// stops (as Go 1.23 collects unreferenced timers and tickers).
    Chan(Weak<core::Chan<Value>>),
    /// after_func: run the function as a goroutine.
    Func(Value),
    /// A context deadline: cancel it with `DeadlineExceeded` (and a cause).
    Deadline(Weak<CtxNode>, Option<Value>),
}

type Cell = Arc<TimerCell<Target>>;

/// The process's timer service (its thread starts on the first arming).
pub static TIMERS: LazyLock<Arc<Timers<Target>>> =
    LazyLock::new(|| Timers::new("gocurrent-timer", run_batch));

/// What a firing leaves to do once the timer's lock is released.
enum Action {
    /// The channel's deferred wakes (and a dropped tick).
    Delivered(ChanDefer<Value>),
    /// Nobody can receive from the channel any more: disarm the timer.
    Unreachable,
    Go(Value),
    Expire(Weak<CtxNode>, Option<Value>),
}

static MONOTONIC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static GO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `time.monotonic()`.
pub fn monotonic(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    MONOTONIC.import(py, "time", "monotonic")?.call0()
}

/// Starts `f` as a goroutine (`gocurrent.go(f)`); a failure to start it is
/// reported as unraisable (there is no caller to raise it to).
pub fn go(py: Python<'_>, f: Value) {
    let r = GO
        .import(py, "gocurrent", "go")
        .and_then(|go| go.call1((f,)));
    if let Err(e) = r {
        e.write_unraisable(py, None);
    }
}

/// Fires `target` (under the timer's lock); `now` is the value to send.
fn fire_target(target: &Target, now: &mut Option<Value>, py: Python<'_>) -> Action {
    match target {
        Target::Chan(c) => {
            let Some(c) = c.upgrade() else {
                return Action::Unreachable;
            };
            let mut d = ChanDefer::new();
            if let Some(v) = now.take()
                && let Err(TrySendError::Full(v) | TrySendError::Closed(v)) =
                    c.try_send_with(v, &mut d)
            {
                // A slow receiver: the tick is dropped (Go's rule).
                d.drop_later(v);
            }
            Action::Delivered(d)
        }
        Target::Func(f) => Action::Go(f.clone_ref(py)),
        Target::Deadline(node, cause) => {
            Action::Expire(node.clone(), cause.as_ref().map(|c| c.clone_ref(py)))
        }
    }
}

fn run_action(py: Python<'_>, action: Action) {
    match action {
        Action::Delivered(d) => drop(d),
        Action::Unreachable => {}
        Action::Go(f) => go(py, f),
        Action::Expire(node, cause) => {
            if let Some(node) = node.upgrade() {
                context::expire(py, &node, cause.as_ref());
            }
        }
    }
}

/// Takes back a fired value nobody received (under the timer's lock).
fn drain(target: &Target, d: &mut ChanDefer<Value>) -> bool {
    match target {
        Target::Chan(c) => match c.upgrade().map(|c| c.try_recv_with(d)) {
            Some(TryRecv::Value(v)) => {
                d.drop_later(v);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// The timer thread's runner: one attach per batch of due timers.
fn run_batch(timers: &Arc<Timers<Target>>, batch: Vec<Due<Target>>) {
    blocking::attach_if_alive(|py| {
        for due in &batch {
            // Made before the timer's lock is taken: no Python under it.
            let mut now = monotonic(py).ok().map(Bound::unbind);
            let action = timers.fire(due, |t| fire_target(t, &mut now, py));
            drop(now);
            match action {
                // A ticker nobody can receive from: stop it.
                Some(Action::Unreachable) => {
                    timers.stop(due.cell(), |_| ());
                }
                Some(action) => run_action(py, action),
                None => {}
            }
        }
        drop(batch);
    });
}

/// Arms `cell` on the timer thread, with the previous arming cancelled and
/// its undelivered value taken back; returns whether that prevented a value
/// (Go 1.23's Stop/Reset result).
pub fn arm(cell: &Cell, secs: f64, period: Option<Duration>) -> PyResult<bool> {
    let mut d = ChanDefer::new();
    let (armed, drained) = TIMERS
        .reset(cell, to_duration(secs), period, |t| drain(t, &mut d))
        .map_err(timer_thread_error)?;
    drop(d);
    Ok(armed || drained)
}

/// Fires `cell` at once on this thread (a timer of zero or negative delay),
/// after cancelling its previous arming as [`arm`] does.
fn fire_now(py: Python<'_>, cell: &Cell) -> PyResult<bool> {
    let mut now = Some(monotonic(py)?.unbind());
    let mut d = ChanDefer::new();
    let (armed, (drained, action)) = TIMERS.fire_now(cell, |t| {
        let drained = drain(t, &mut d);
        (drained, fire_target(t, &mut now, py))
    });
    drop(d);
    drop(now);
    run_action(py, action);
    Ok(armed || drained)
}

/// Disarms `cell` and takes back an undelivered value.
fn stop(cell: &Cell) -> bool {
    let mut d = ChanDefer::new();
    let (armed, drained) = TIMERS.stop(cell, |t| drain(t, &mut d));
    drop(d);
    armed || drained
}

/// Arms a one-shot timer: fires at once when `secs <= 0`.
fn start_once(py: Python<'_>, cell: &Cell, secs: f64) -> PyResult<bool> {
    if secs <= 0.0 {
        fire_now(py, cell)
    } else {
        arm(cell, secs, None)
    }
}

fn new_chan(py: Python<'_>) -> PyResult<(Arc<core::Chan<Value>>, Py<Chan>)> {
    let core = Arc::new(core::Chan::new(1));
    let chan = Py::new(py, Chan::timer_chan(core.clone()))?;
    Ok((core, chan))
}

/// Go's `time.Timer`: `Timer(seconds)` sends the firing time
/// (`time.monotonic()`) on `.c` once; `after_func(seconds, fn)` makes one
/// that runs `fn` as a goroutine instead (its `.c` is `nilchan`, as Go's
/// is a nil channel).
#[pyclass(frozen, module = "gocurrent", name = "Timer")]
pub struct Timer {
    cell: Cell,
    c: Py<Chan>,
}

#[pymethods]
impl Timer {
    #[new]
    #[pyo3(signature = (seconds, /))]
    fn new(py: Python<'_>, seconds: &Bound<'_, PyAny>) -> PyResult<Self> {
        let secs = parse_seconds(seconds)?;
        let (core, chan) = new_chan(py)?;
        let cell = TimerCell::new(Target::Chan(Arc::downgrade(&core)));
        start_once(py, &cell, secs)?;
        Ok(Timer { cell, c: chan })
    }

    /// The channel on which the firing time is delivered (`nilchan` for
    /// an `after_func` timer).
    #[getter]
    fn c(&self, py: Python<'_>) -> Py<Chan> {
        self.c.clone_ref(py)
    }

    /// Stops the timer. True if that prevented a value from being received
    /// (the timer was pending, or had fired with its value unreceived) or,
    /// for an `after_func` timer, prevented the function from running.
    fn stop(&self) -> bool {
        stop(&self.cell)
    }

    /// Re-arms the timer to fire after `seconds` (at once if <= 0); no
    /// value of the previous arming is received afterwards. Returns what
    /// `stop()` would have returned.
    #[pyo3(signature = (seconds, /))]
    fn reset(&self, py: Python<'_>, seconds: &Bound<'_, PyAny>) -> PyResult<bool> {
        let secs = parse_seconds(seconds)?;
        start_once(py, &self.cell, secs)
    }

    fn __repr__(&self) -> String {
        let state = if self.cell.is_armed() {
            "armed"
        } else {
            "stopped"
        };
        let kind = if self.c.get().core().is_some() {
            ""
        } else {
            " func"
        };
        format!("<Timer{kind} {state}>")
    }
}

/// Go's `time.Ticker`: `Ticker(seconds)` sends the time on `.c` every
/// period, dropping ticks a slow receiver has not taken.
#[pyclass(frozen, module = "gocurrent", name = "Ticker")]
pub struct Ticker {
    cell: Cell,
    c: Py<Chan>,
}

fn positive(secs: f64, msg: &'static str) -> PyResult<Duration> {
    if secs <= 0.0 {
        return Err(PyValueError::new_err(msg));
    }
    // A period must not round to zero.
    Ok(to_duration(secs).max(Duration::from_nanos(1)))
}

#[pymethods]
impl Ticker {
    #[new]
    #[pyo3(signature = (seconds, /))]
    fn new(py: Python<'_>, seconds: &Bound<'_, PyAny>) -> PyResult<Self> {
        let period = positive(
            parse_seconds(seconds)?,
            "non-positive interval for NewTicker",
        )?;
        let (core, c) = new_chan(py)?;
        let cell = TimerCell::new(Target::Chan(Arc::downgrade(&core)));
        arm(&cell, period.as_secs_f64(), Some(period))?;
        Ok(Ticker { cell, c })
    }

    /// The channel on which the ticks are delivered.
    #[getter]
    fn c(&self, py: Python<'_>) -> Py<Chan> {
        self.c.clone_ref(py)
    }

    /// Stops the ticker: no more ticks, and no stale tick is received.
    fn stop(&self) {
        stop(&self.cell);
    }

    /// Stops the ticker and restarts it with a new period: the next tick
    /// arrives after `seconds`.
    #[pyo3(signature = (seconds, /))]
    fn reset(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let period = positive(
            parse_seconds(seconds)?,
            "non-positive interval for Ticker.Reset",
        )?;
        arm(&self.cell, period.as_secs_f64(), Some(period))?;
        Ok(())
    }

    fn __repr__(&self) -> String {
        let state = if self.cell.is_armed() {
            "running"
        } else {
            "stopped"
        };
        format!("<Ticker {state}>")
    }
}

/// A channel that receives the time (`time.monotonic()`) once, after
/// `seconds` (at once if `seconds <= 0`).
#[pyfunction]
#[pyo3(signature = (seconds, /))]
pub fn after(py: Python<'_>, seconds: &Bound<'_, PyAny>) -> PyResult<Py<Chan>> {
    let secs = parse_seconds(seconds)?;
    let (core, chan) = new_chan(py)?;
    let cell = TimerCell::new(Target::Chan(Arc::downgrade(&core)));
    start_once(py, &cell, secs)?;
    Ok(chan)
}

/// A channel that receives the time every `seconds`, dropping ticks for a
/// slow receiver. A non-positive interval raises ValueError.
#[pyfunction]
#[pyo3(signature = (seconds, /))]
pub fn tick(py: Python<'_>, seconds: &Bound<'_, PyAny>) -> PyResult<Py<Chan>> {
    let period = positive(
        parse_seconds(seconds)?,
        "non-positive interval for NewTicker",
    )?;
    let (core, chan) = new_chan(py)?;
    let cell = TimerCell::new(Target::Chan(Arc::downgrade(&core)));
    arm(&cell, period.as_secs_f64(), Some(period))?;
    Ok(chan)
}

/// Runs `fn()` as a goroutine after `seconds`; returns its Timer (whose
/// `.c` is `nilchan`; `stop()` returns True if it prevented the call).
#[pyfunction]
#[pyo3(signature = (seconds, fn_, /))]
pub fn after_func(
    py: Python<'_>,
    seconds: &Bound<'_, PyAny>,
    fn_: &Bound<'_, PyAny>,
) -> PyResult<Timer> {
    let secs = parse_seconds(seconds)?;
    if !fn_.is_callable() {
        return Err(must_be("after_func() argument", "callable", fn_));
    }
    let cell = TimerCell::new(Target::Func(fn_.clone().unbind()));
    start_once(py, &cell, secs)?;
    Ok(Timer {
        cell,
        c: Chan::nil_object(py)?,
    })
}

/// Timers armed and not yet fired or stopped (for tests).
#[pyfunction]
pub fn _timers_pending() -> usize {
    TIMERS.pending()
}

/// Installs the fork handlers of the timer heap (once, at module init):
/// its lock is taken inside `fork()` and released on both sides, so a
/// child never inherits it held by a thread it does not have.
pub fn install_fork_handlers() {
    #[cfg(unix)]
    {
        extern "C" fn prepare() {
            TIMERS.before_fork();
        }
        extern "C" fn parent() {
            TIMERS.after_fork_in_parent();
        }
        extern "C" fn child() {
            TIMERS.after_fork_in_child_handler();
        }
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            LazyLock::force(&TIMERS);
            // SAFETY: the three handlers are `extern "C"` functions that
            // live for the whole process; they take and release one lock
            // and never unwind (nothing in them panics).
            unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        });
    }
}

/// In a forked child: restart the timer thread.
pub fn after_fork_in_child() -> PyResult<()> {
    TIMERS.after_fork_in_child().map_err(timer_thread_error)
}
