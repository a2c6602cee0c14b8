//! The loom shim: the synchronisation primitives the core is built on (its
//! `Arc`, its locks, the atomics of the mutex, rwmutex, wait group and the
//! pool's job queue), in one place so that `--cfg loom` can swap in loom's
//! model-checked versions.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};

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

/// The pool's counters. loom models `SeqCst` loads and stores as `AcqRel`
/// (loom's README, "Unsupported features"), so it would let through the
/// store-buffering outcome that the pool's handshakes rely on `SeqCst` to
/// rule out (a submitter stores the backlog's length, then loads the idle
/// count; a worker going idle does the reverse; each must see the other's
/// store or have its own seen) and report it as a deadlock. `fence(SeqCst)`
/// loom does model, so under loom every `SeqCst` load is preceded by one:
/// whatever a thread stored before a load is then ordered before it, as
/// `SeqCst` guarantees. (Read-modify-writes need none: loom has them read
/// the latest value.)
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct AtomicUsize(loom::sync::atomic::AtomicUsize);
#[cfg(loom)]
impl AtomicUsize {
    pub(crate) fn new(v: usize) -> Self {
        AtomicUsize(loom::sync::atomic::AtomicUsize::new(v))
    }
    fn fence(order: std::sync::atomic::Ordering) {
        if order == std::sync::atomic::Ordering::SeqCst {
            loom::sync::atomic::fence(order);
        }
    }
    pub(crate) fn load(&self, order: std::sync::atomic::Ordering) -> usize {
        Self::fence(order);
        self.0.load(order)
    }
    pub(crate) fn store(&self, v: usize, order: std::sync::atomic::Ordering) {
        self.0.store(v, order)
    }
    pub(crate) fn fetch_add(&self, v: usize, order: std::sync::atomic::Ordering) -> usize {
        self.0.fetch_add(v, order)
    }
    pub(crate) fn fetch_sub(&self, v: usize, order: std::sync::atomic::Ordering) -> usize {
        self.0.fetch_sub(v, order)
    }
    pub(crate) fn fetch_update<F>(
        &self,
        set: std::sync::atomic::Ordering,
        fetch: std::sync::atomic::Ordering,
        f: F,
    ) -> Result<usize, usize>
    where
        F: FnMut(usize) -> Option<usize>,
    {
        self.0.fetch_update(set, fetch, f)
    }
}
