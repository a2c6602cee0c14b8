//! `timeout=` arguments: seconds as a float; None waits for ever; 0 or less
//! makes one non-blocking attempt.

use crate::blocking::Deadline;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use std::time::{Duration, Instant};

/// A parsed `timeout=`.
#[derive(Clone, Copy, Debug)]
pub enum Timeout {
    Forever,
    /// One non-blocking attempt.
    Now,
    Seconds(f64),
}

impl Timeout {
    pub fn parse(timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let Some(t) = timeout.filter(|t| !t.is_none()) else {
            return Ok(Timeout::Forever);
        };
        let secs: f64 = t.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "timeout must be a number of seconds or None, not {}",
                t.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        if secs.is_nan() {
            Err(PyValueError::new_err("timeout must not be NaN"))
        } else if secs <= 0.0 {
            Ok(Timeout::Now)
        } else if secs.is_infinite() || secs > 1e9 {
            Ok(Timeout::Forever)
        } else {
            Ok(Timeout::Seconds(secs))
        }
    }

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
}
