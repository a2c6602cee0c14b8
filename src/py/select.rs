//! `select` and `select_async`: the parsing of select cases into a
//! [`Plan`] of src/py/chan.rs, run by the drivers of the wait protocol.

use super::awaitable::Awaitable;
use super::chan::{Chan, Kind, Plan};
use super::errors::type_name;
use super::timeout::Timeout;
use crate::blocking;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

type Value = Py<PyAny>;

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

/// What is wrong with a select case.
fn bad_case(i: usize, detail: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "select case {i} must be ch.recv, ch.recv_ok or (ch.send, value): {detail}"
    ))
}

/// Says why `method` (with a value, or without) is not a case.
fn describe(method: &Bound<'_, PyAny>, with_value: bool, functions: &CaseFunctions) -> String {
    let f = c_function_of(method).filter(|_| chan_of(method).is_some());
    match (f, with_value) {
        (Some(f), true) if f == functions.recv || f == functions.recv_ok => {
            "a receive case takes no value: pass ch.recv (or ch.recv_ok) alone".to_string()
        }
        (Some(f), false) if f == functions.send => {
            "a send case is (ch.send, value), got ch.send alone".to_string()
        }
        (_, true) => format!(
            "the first item of a send case must be ch.send, got {}",
            type_name(method)
        ),
        (_, false) if !method.is_callable() => {
            format!("got {}, which is not callable", type_name(method))
        }
        (_, false) => format!(
            "got {}, not a channel's recv or recv_ok method",
            type_name(method)
        ),
    }
}

/// Parses the cases of a select into a plan.
fn select_plan(cases: &Bound<'_, PyTuple>) -> PyResult<Plan> {
    let functions = case_functions(cases.py())?;
    let mut plan = Plan::select(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let (method, value) = match case.cast::<PyTuple>() {
            Ok(t) if t.len() == 2 => (t.get_item(0)?, Some(t.get_item(1)?.unbind())),
            Ok(t) => {
                let detail = format!("a send case is (ch.send, value), got a {}-tuple", t.len());
                return Err(bad_case(i, &detail));
            }
            Err(_) => (case.clone(), None),
        };
        let kind = match (c_function_of(&method), value.is_some()) {
            (Some(f), false) if f == functions.recv => Some(Kind::Recv),
            (Some(f), false) if f == functions.recv_ok => Some(Kind::RecvOk),
            (Some(f), true) if f == functions.send => Some(Kind::Send),
            _ => None,
        };
        let Some((kind, chan)) = kind.zip(chan_of(&method)) else {
            return Err(bad_case(i, &describe(&method, value.is_some(), functions)));
        };
        plan.push(i, chan.get(), kind, value);
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
    let mut op = select_plan(cases)?.into_op("select", default);
    blocking::run(py, &mut op, timeout)
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
) -> PyResult<Value> {
    let timeout = Timeout::parse(timeout)?;
    let op = select_plan(cases)?.into_op("select_async", default);
    Awaitable::wrap_chan(py, op, timeout)
}
