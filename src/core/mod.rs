//! The pure-Rust core: no pyo3 here. Everything is generic over the value
//! type so that `cargo test` (and loom) exercise the very code the Python
//! binding runs, with plain integers instead of Python objects.

pub mod chan;
pub mod cond;
#[cfg(not(loom))]
pub mod context;
#[cfg(not(loom))]
pub mod futex_hash;
pub mod idmap;
pub mod mutex;
pub mod pool;
pub mod rwmutex;
pub mod sema;
pub mod shim;
#[cfg(not(loom))]
pub(crate) mod spin;
#[cfg(not(loom))]
pub mod timers;
pub mod waiter;
pub mod waitgroup;

#[cfg(all(test, loom))]
mod loom_sync;
#[cfg(all(test, not(loom)))]
mod tests;
