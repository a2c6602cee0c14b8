//! Tests of the core that live outside the files they test (so that those
//! files stay small and edits to them do not conflict with the tests).
//! The channel tests are in `chan/tests.rs` and `chan/tests/`.

mod pool;
