//! The binding layer: thin pyclass wrappers over the core, argument
//! parsing and error mapping; no concurrency logic of its own.

pub mod atomic;
pub mod awaitable;
pub mod chan;
pub mod context;
pub mod runtime;
pub mod sync;
pub mod timeout;
pub mod timers;
