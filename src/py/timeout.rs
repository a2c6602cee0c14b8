//! The one parser of durations in seconds: `timeout=` arguments (None
//! waits for ever; 0 or less makes one non-blocking attempt) and the
//! durations of timers (`after`, `Timer`, `Ticker`...). Both agree on what
//! is for ever: anything from [`MAX_DELAY`] (a century) up, infinity
//! included.

use super::errors::must_be;
use crate::core::timers::MAX_DELAY;
pub use crate::wait::Timeout;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::time::Duration;

/// A number of seconds (int or float); NaN is a ValueError, anything else
/// a TypeError naming `what` ("timeout", "duration").
fn seconds(obj: &Bound<'_, PyAny>, what: &str, or: &str) -> PyResult<f64> {
    let secs: f64 = obj
        .extract()
        .map_err(|_| must_be(what, &format!("a number of seconds{or}"), obj))?;
    if secs.is_nan() {
        return Err(PyValueError::new_err(format!("{what} must not be NaN")));
    }
    Ok(secs)
}

/// True for a number of seconds that means "for ever".
fn forever(secs: f64) -> bool {
    secs >= MAX_DELAY.as_secs_f64()
}

impl Timeout {
    /// Parses a `timeout=` argument.
    pub fn parse(timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let Some(t) = timeout.filter(|t| !t.is_none()) else {
            return Ok(Timeout::Forever);
        };
        let secs = seconds(t, "timeout", " or None")?;
        Ok(if secs <= 0.0 {
            Timeout::Now
        } else if forever(secs) {
            Timeout::Forever
        } else {
            Timeout::Seconds(secs)
        })
    }
}

/// Parses a duration in seconds (a timer's).
pub fn parse_seconds(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    seconds(obj, "duration", "")
}

/// A number of seconds as a Duration: zero when not positive, [`MAX_DELAY`]
/// when for ever.
pub fn to_duration(secs: f64) -> Duration {
    if secs <= 0.0 {
        Duration::ZERO
    } else if forever(secs) {
        MAX_DELAY
    } else {
        Duration::from_secs_f64(secs)
    }
}
