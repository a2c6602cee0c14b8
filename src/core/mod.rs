//! The pure-Rust core: no pyo3 here. Everything is generic over the value
//! type so that `cargo test` (and loom) exercise the very code the Python
//! binding runs, with plain integers instead of Python objects.

pub mod chan;
// The pool's queue is built on crossbeam and std atomics, which loom cannot
// model; it is not part of the loom build.
#[cfg(not(loom))]
pub mod pool;
pub mod sync;
pub mod waiter;

#[cfg(all(test, not(loom)))]
mod tests;
