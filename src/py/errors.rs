//! Every error the binding raises for the core, in one place: one
//! `From<CoreError> for PyErr` per error of the core (Go's messages), the
//! one "must be X, not Y" of argument errors, and `ChanClosedError`.

use crate::core::chan::AlreadyClosed;
use crate::core::mutex::NotLocked;
use crate::core::rwmutex::RwError;
use crate::core::sema::SemError;
use crate::core::waitgroup::WgError;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    gocurrent,
    ChanClosedError,
    PyException,
    "Raised by a send on a closed channel and by closing a closed (or nil) channel."
);

/// Go's "send on closed channel".
pub fn send_on_closed() -> PyErr {
    ChanClosedError::new_err("send on closed channel")
}

/// Go's "close of nil channel".
pub fn close_of_nil() -> PyErr {
    ChanClosedError::new_err("close of nil channel")
}

impl From<AlreadyClosed> for PyErr {
    fn from(_: AlreadyClosed) -> PyErr {
        ChanClosedError::new_err("close of closed channel")
    }
}

impl From<NotLocked> for PyErr {
    fn from(_: NotLocked) -> PyErr {
        PyRuntimeError::new_err("sync: unlock of unlocked mutex")
    }
}

impl From<RwError> for PyErr {
    fn from(e: RwError) -> PyErr {
        PyRuntimeError::new_err(match e {
            RwError::RUnlockOfUnlocked => "sync: RUnlock of unlocked RWMutex",
            RwError::UnlockOfUnlocked => "sync: Unlock of unlocked RWMutex",
        })
    }
}

impl From<WgError> for PyErr {
    fn from(e: WgError) -> PyErr {
        match e {
            WgError::Negative => PyValueError::new_err("sync: negative WaitGroup counter"),
            WgError::Overflow => PyOverflowError::new_err("sync: WaitGroup counter overflow"),
        }
    }
}

impl From<SemError> for PyErr {
    fn from(e: SemError) -> PyErr {
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
}

/// The name of `obj`'s type, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// TypeError("{what} must be {expected}, not {type of obj}").
pub fn must_be(what: &str, expected: &str, obj: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("{what} must be {expected}, not {}", type_name(obj)))
}

/// The timer thread could not be started.
pub fn timer_thread_error(e: std::io::Error) -> PyErr {
    PyRuntimeError::new_err(format!("cannot start the timer thread: {e}"))
}
