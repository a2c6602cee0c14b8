//! The loom shim: the synchronisation primitives the core is built on (its
//! `Arc`, its locks, the atomics of the mutex, rwmutex and wait group), in
//! one place so that `--cfg loom` can swap in loom's model-checked versions.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64};

/// A mutex whose `lock` returns the guard directly (parking_lot's shape).
#[cfg(not(loom))]
pub(crate) type Mutex<T> = parking_lot::Mutex<T>;
#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
#[cfg(loom)]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex(loom::sync::Mutex::new(value))
    }
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        // loom's mutex cannot be poisoned by a model thread without failing the model.
        self.0.lock().expect("loom mutex poisoned")
    }
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock().ok()
    }
}

/// Shuffles the poll order of a select (Go's `pollorder`). Under loom the
/// order is left as it is: loom replays each schedule and needs the model to
/// be deterministic, which a random source outside loom's control breaks.
/// The loom models vary the case order themselves.
#[cfg(not(loom))]
pub(crate) fn shuffle<T>(order: &mut [T]) {
    fastrand::shuffle(order);
}
#[cfg(loom)]
pub(crate) fn shuffle<T>(_order: &mut [T]) {}
