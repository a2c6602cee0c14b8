//! Calling a Python method the way the interpreter does (`LOAD_METHOD`):
//! PyO3's `call_method*` under the limited API before 3.12 makes a bound
//! method and a tuple of the arguments for each call, two allocations on
//! every hand-off of a coroutine (the future's `set_result`, its
//! `result`) and every coroutine goroutine (`create_task`,
//! `add_done_callback`). `PyObject_CallMethodObjArgs` (in the limited API)
//! looks the method up without binding it and passes the arguments on the
//! stack.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::ptr::null_mut;

/// `obj.name()`.
pub fn method0<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: attached (we hold `Bound`s); both are live objects; the
    // argument list ends with NULL as the function requires; it returns a
    // new reference or NULL with an exception set.
    unsafe {
        Bound::from_owned_ptr_or_err(
            obj.py(),
            ffi::PyObject_CallMethodObjArgs(
                obj.as_ptr(),
                name.as_ptr(),
                null_mut::<ffi::PyObject>(),
            ),
        )
    }
}

/// `obj.name(arg)`.
pub fn method1<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
    arg: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: as in `method0`, with one more live object before the NULL.
    unsafe {
        Bound::from_owned_ptr_or_err(
            obj.py(),
            ffi::PyObject_CallMethodObjArgs(
                obj.as_ptr(),
                name.as_ptr(),
                arg.as_ptr(),
                null_mut::<ffi::PyObject>(),
            ),
        )
    }
}

/// `obj.name(a, b)`.
pub fn method2<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: as in `method0`, with two more live objects before the NULL.
    unsafe {
        Bound::from_owned_ptr_or_err(
            obj.py(),
            ffi::PyObject_CallMethodObjArgs(
                obj.as_ptr(),
                name.as_ptr(),
                a.as_ptr(),
                b.as_ptr(),
                null_mut::<ffi::PyObject>(),
            ),
        )
    }
}
