//! The binding layer: the pyclasses over the core, argument parsing, error
//! mapping (errors.rs) and the coroutine drivers of the wait protocol
//! (awaitable.rs, trio.rs); each waiting operation is described once, as a
//! `WaitOp` (src/wait.rs), next to its pyclass.

pub mod asyncio;
pub mod atomic;
pub mod awaitable;
pub mod call;
pub mod chan;
pub mod context;
pub mod errors;
pub mod runtime;
pub mod select;
pub mod sync;
pub mod timeout;
pub mod timers;
pub mod trio;
