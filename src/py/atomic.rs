//! `gocurrent.atomic`: Go's sync/atomic types, lock-free.
//!
//! The integers and `Bool` are Rust atomics (sequentially consistent, as
//! Go's are). `Value` holds a Python object in an `arc_swap::ArcSwapOption`:
//! loads never lock or wait (they only bump a reference count), and stores,
//! swaps and compare-and-swaps are single atomic pointer operations.
//! `compare_and_swap` compares by identity (`is`): calling `==` would run
//! arbitrary Python code in the middle of an atomic operation.

use arc_swap::ArcSwapOption;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyType};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

const SEQ: Ordering = Ordering::SeqCst;

/// A delta for `add`, reduced modulo 2**bits (so -1 works on unsigned
/// types, as `^uint32(0)` does in Go). Any int is accepted.
fn wrapping_delta(delta: &Bound<'_, PyAny>, bits: u32) -> PyResult<u64> {
    match delta.extract::<i64>() {
        Ok(d) => Ok(d as u64),
        Err(e) if !delta.is_instance_of::<PyInt>() => Err(e),
        Err(_) => {
            let mask: u64 = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            delta.bitand(mask)?.extract::<u64>()
        }
    }
}

macro_rules! atomic_int {
    ($name:ident, $pyname:literal, $t:ty, $atomic:ty, $bits:literal, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(frozen, module = "gocurrent.atomic", name = $pyname)]
        pub struct $name {
            v: $atomic,
        }

        #[pymethods]
        impl $name {
            #[new]
            #[pyo3(signature = (value = 0, /))]
            fn new(value: $t) -> Self {
                $name {
                    v: <$atomic>::new(value),
                }
            }

            /// Atomically loads the value.
            fn load(&self) -> $t {
                self.v.load(SEQ)
            }

            /// Atomically stores `v` (OverflowError if out of range).
            fn store(&self, v: $t) {
                self.v.store(v, SEQ)
            }

            /// Atomically adds `delta` (wrapping around, as in Go) and
            /// returns the new value.
            fn add(&self, delta: &Bound<'_, PyAny>) -> PyResult<$t> {
                let d = wrapping_delta(delta, $bits)? as $t;
                Ok(self.v.fetch_add(d, SEQ).wrapping_add(d))
            }

            /// Atomically stores `v` and returns the previous value.
            fn swap(&self, v: $t) -> $t {
                self.v.swap(v, SEQ)
            }

            /// Stores `new` if the value is `old`; returns whether it did.
            fn compare_and_swap(&self, old: $t, new: $t) -> bool {
                self.v.compare_exchange(old, new, SEQ, SEQ).is_ok()
            }

            /// Atomically ANDs `mask` into the value; returns the old value.
            fn and_(&self, mask: $t) -> $t {
                self.v.fetch_and(mask, SEQ)
            }

            /// Atomically ORs `mask` into the value; returns the old value.
            fn or_(&self, mask: $t) -> $t {
                self.v.fetch_or(mask, SEQ)
            }

            fn __repr__(&self) -> String {
                format!("{}({})", $pyname, self.v.load(SEQ))
            }
        }
    };
}

atomic_int!(
    Int32,
    "Int32",
    i32,
    AtomicI32,
    32,
    "An atomic int32 (Go's atomic.Int32): `Int32(value=0)`."
);
atomic_int!(
    Int64,
    "Int64",
    i64,
    AtomicI64,
    64,
    "An atomic int64 (Go's atomic.Int64): `Int64(value=0)`."
);
atomic_int!(
    Uint32,
    "Uint32",
    u32,
    AtomicU32,
    32,
    "An atomic uint32 (Go's atomic.Uint32): `Uint32(value=0)`."
);
atomic_int!(
    Uint64,
    "Uint64",
    u64,
    AtomicU64,
    64,
    "An atomic uint64 (Go's atomic.Uint64): `Uint64(value=0)`."
);

/// An atomic boolean (Go's atomic.Bool): `Bool(value=False)`.
#[pyclass(frozen, module = "gocurrent.atomic", name = "Bool")]
pub struct Bool {
    v: AtomicBool,
}

#[pymethods]
impl Bool {
    #[new]
    #[pyo3(signature = (value = false, /))]
    fn new(value: bool) -> Self {
        Bool {
            v: AtomicBool::new(value),
        }
    }

    /// Atomically loads the value.
    fn load(&self) -> bool {
        self.v.load(SEQ)
    }

    /// Atomically stores `v`.
    fn store(&self, v: bool) {
        self.v.store(v, SEQ)
    }

    /// Atomically stores `v` and returns the previous value.
    fn swap(&self, v: bool) -> bool {
        self.v.swap(v, SEQ)
    }

    /// Stores `new` if the value is `old`; returns whether it did.
    fn compare_and_swap(&self, old: bool, new: bool) -> bool {
        self.v.compare_exchange(old, new, SEQ, SEQ).is_ok()
    }

    fn __repr__(&self) -> String {
        let v = if self.v.load(SEQ) { "True" } else { "False" };
        format!("Bool({v})")
    }
}

/// Go's atomic.Value: holds any object; `load()` is None until the first
/// store. As in Go, None cannot be stored and every stored value must be of
/// the type of the first one. `compare_and_swap` compares by identity.
#[pyclass(frozen, module = "gocurrent.atomic", name = "Value")]
pub struct Value {
    v: ArcSwapOption<Py<PyAny>>,
    /// The type of the first stored value (Go's "consistently typed" rule).
    ty: OnceLock<Py<PyType>>,
}

impl Value {
    /// Go's checks on a value about to be stored (`op`: "store", "swap").
    fn check(&self, value: &Bound<'_, PyAny>, op: &str) -> PyResult<()> {
        if value.is_none() {
            return Err(PyValueError::new_err(format!(
                "sync/atomic: {op} of nil value into Value"
            )));
        }
        let ty = value.get_type();
        let first = self.ty.get_or_init(|| ty.clone().unbind());
        if !first.bind(value.py()).is(&ty) {
            return Err(PyTypeError::new_err(format!(
                "sync/atomic: {op} of inconsistently typed value into Value"
            )));
        }
        Ok(())
    }
}

#[pymethods]
impl Value {
    #[new]
    fn new() -> Self {
        Value {
            v: ArcSwapOption::empty(),
            ty: OnceLock::new(),
        }
    }

    /// Atomically loads the value (None if nothing was stored yet).
    fn load(&self, py: Python<'_>) -> Py<PyAny> {
        match &*self.v.load() {
            Some(v) => v.clone_ref(py),
            None => py.None(),
        }
    }

    /// Atomically stores `v`.
    fn store(&self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check(v, "store")?;
        self.v.store(Some(Arc::new(v.clone().unbind())));
        Ok(())
    }

    /// Atomically stores `v` and returns the previous value (None if
    /// nothing was stored yet).
    fn swap(&self, py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.check(v, "swap")?;
        let old = self.v.swap(Some(Arc::new(v.clone().unbind())));
        Ok(match old {
            Some(v) => v.clone_ref(py),
            None => py.None(),
        })
    }

    /// Stores `new` if the current value *is* `old` (identity; None matches
    /// an empty Value); returns whether it did.
    fn compare_and_swap(&self, old: &Bound<'_, PyAny>, new: &Bound<'_, PyAny>) -> PyResult<bool> {
        if new.is_none() {
            return Err(PyValueError::new_err(
                "sync/atomic: compare and swap of nil value into Value",
            ));
        }
        if !old.is_none() && !old.get_type().is(new.get_type()) {
            return Err(PyTypeError::new_err(
                "sync/atomic: compare and swap of inconsistently typed values",
            ));
        }
        if old.is_none() || self.ty.get().is_some() {
            self.check(new, "compare and swap")?;
        }
        let want = (!old.is_none()).then(|| old.as_ptr());
        let new = Some(Arc::new(new.clone().unbind()));
        loop {
            let cur = self.v.load();
            if cur.as_ref().map(|v| v.as_ptr()) != want {
                return Ok(false);
            }
            let prev = self.v.compare_and_swap(&cur, new.clone());
            let same = match (&*prev, &*cur) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
            if same {
                return Ok(true);
            }
            // Another store came in between (perhaps of the same object):
            // look again.
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let v = self.load(py);
        Ok(format!("Value({})", v.bind(py).repr()?))
    }
}
