//! Go's `sync.Mutex` (runtime/sema.go + sync/mutex.go), on the project's
//! one [`Waiter`].
//!
//! The lock is one atomic word; when nobody waits, `lock` and `unlock` are a
//! single compare-and-swap each and never touch the wait queue. Blocked
//! parties queue (FIFO) behind a small internal lock that is taken only on
//! the slow paths.
//!
//! Fairness follows Go's two modes:
//! - Normal mode: `unlock` releases the lock and wakes the oldest waiter
//!   with [`Grant::Retry`]; it competes with newly arriving lockers (which
//!   usually win: they are already running, which is what makes a contended
//!   mutex fast). At most one woken waiter is in flight at a time (the
//!   `WOKEN` bit), so unlocks do not wake a stampede. A woken waiter that
//!   loses goes back to the *front* of the queue.
//! - Starvation mode: a woken waiter that has waited more than
//!   [`STARVATION_THRESHOLD`] and still loses switches the mutex to
//!   starvation mode, in which `unlock` hands ownership directly to the
//!   waiter at the front ([`Grant::Owned`]) and newcomers queue at the tail
//!   instead of barging. The mode ends when the waiter that was handed the
//!   lock is the last one or waited less than the threshold (Go's rule).
//!
//! Waiters that cannot retry by themselves (asyncio coroutines: their wake
//! is a callback, not a thread that can loop) queue with `handoff`: they
//! are always handed the lock directly.
//!
//! A waiter that gives up (timeout, Ctrl-C, cancellation) first withdraws
//! its [`Waiter`]; if that wins it removes its entry ([`Mutex::dequeue`]).
//! If it loses, the waiter was completed meanwhile: with `Owned` it holds
//! the lock; with `Retry` it must retry at least once (that is what keeps
//! the wake-up from being lost).

use super::shim::{Arc, AtomicU32, Mutex as Lock};
use super::waiter::{Defer, Waiter};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The lock is held.
const LOCKED: u32 = 1;
/// A waiter was woken with `Retry` and has not retried yet.
const WOKEN: u32 = 2;
/// Starvation mode: unlock hands the lock to the front waiter.
const STARVING: u32 = 4;
/// The queue is not empty (changed only under the queue lock).
const PARKED: u32 = 8;

/// Go's `starvationThresholdNs`.
pub const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);

/// What a waiter is completed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// The lock was released: try to take it again.
    Retry,
    /// The lock was handed over: the waiter holds it.
    Owned,
}

/// The waiter type of the mutex.
pub type MutexWaiter = Waiter<Grant>;

/// `unlock` of an unlocked mutex (Go: "sync: unlock of unlocked mutex").
#[derive(Debug, PartialEq, Eq)]
pub struct NotLocked;

struct Entry {
    waiter: Arc<MutexWaiter>,
    /// When the waiter first queued (for starvation).
    since: Instant,
    /// Always hand the lock over (the waiter cannot retry).
    handoff: bool,
}

/// How a waiter queues.
#[derive(Clone, Copy, Debug)]
pub struct Enqueue {
    /// When the waiter first queued.
    pub since: Instant,
    /// It was woken with `Retry` and lost: queue at the front, and switch
    /// to starvation mode if it has waited too long.
    pub retry: bool,
    /// It must be handed the lock (see the module docs).
    pub handoff: bool,
}

/// Go's `sync.Mutex`: not reentrant, not owned (any thread may unlock it).
pub struct Mutex {
    state: AtomicU32,
    queue: Lock<VecDeque<Entry>>,
}

impl Default for Mutex {
    fn default() -> Self {
        Self::new()
    }
}

impl Mutex {
    pub fn new() -> Self {
        Mutex {
            state: AtomicU32::new(0),
            queue: Lock::new(VecDeque::new()),
        }
    }

    /// True while the mutex is held.
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }

    /// Takes the lock if that needs no waiting (Go's `TryLock`): fails while
    /// it is held, or in starvation mode (the front waiter is next).
    #[inline]
    pub fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            || self.try_lock_slow()
    }

    fn try_lock_slow(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & (LOCKED | STARVING) != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                s | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Releases the lock, waking or handing it to a waiter if one waits.
    #[inline]
    pub fn unlock(&self) -> Result<(), NotLocked> {
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return Ok(());
        }
        self.unlock_slow()
    }

    fn unlock_slow(&self) -> Result<(), NotLocked> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 {
                return Err(NotLocked);
            }
            // Nobody to wake, or a woken waiter is on its way (normal mode).
            if s & PARKED == 0 || s & (WOKEN | STARVING) == WOKEN {
                match self.state.compare_exchange_weak(
                    s,
                    s & !LOCKED,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(()),
                    Err(now) => {
                        s = now;
                        continue;
                    }
                }
            }
            break;
        }
        let mut d: Defer<Grant> = Defer::new();
        let mut q = self.queue.lock();
        // We hold LOCKED, and PARKED and STARVING change only under the
        // queue lock: of the state, only WOKEN can change (be cleared) now.
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s & (WOKEN | STARVING) == WOKEN {
                self.state.fetch_and(!LOCKED, Ordering::Release);
                return Ok(());
            }
            let Some(e) = q.pop_front() else {
                // Only stale entries were left.
                self.state
                    .fetch_and(!(LOCKED | PARKED | STARVING), Ordering::Release);
                return Ok(());
            };
            // A stale entry (withdrawn, its owner not yet back to remove it)
            // cannot be claimed: drop it and look at the next.
            let Some(claim) = e.waiter.claim() else {
                continue;
            };
            let empty = if q.is_empty() { PARKED } else { 0 };
            if s & STARVING != 0 || e.handoff {
                // Hand the lock over: it stays LOCKED.
                let calm = q.is_empty() || e.since.elapsed() < STARVATION_THRESHOLD;
                let clear = empty | if calm { STARVING } else { 0 };
                self.state.fetch_and(!clear, Ordering::Release);
                claim.fill(Grant::Owned);
            } else {
                // Release and wake it; WOKEN is set before it can see Retry.
                let r = self
                    .state
                    .fetch_update(Ordering::Release, Ordering::Relaxed, |s| {
                        Some((s | WOKEN) & !(LOCKED | empty))
                    });
                debug_assert!(r.is_ok());
                claim.fill(Grant::Retry);
            }
            d.wake(e.waiter.clone());
            return Ok(());
        }
    }

    /// Queues `waiter`, unless the lock can be taken now (`true`: it was,
    /// and the caller holds it; nothing was queued).
    pub fn enqueue(&self, waiter: &Arc<MutexWaiter>, how: Enqueue) -> bool {
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 && (s & STARVING == 0 || q.is_empty()) {
                let new = match q.is_empty() {
                    true => (s | LOCKED) & !(STARVING | PARKED),
                    false => s | LOCKED,
                };
                match self
                    .state
                    .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
                {
                    Ok(_) => return true,
                    Err(now) => {
                        s = now;
                        continue;
                    }
                }
            }
            let starving =
                how.retry && s & LOCKED != 0 && how.since.elapsed() > STARVATION_THRESHOLD;
            let new = s | PARKED | if starving { STARVING } else { 0 };
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        let e = Entry {
            waiter: waiter.clone(),
            since: how.since,
            handoff: how.handoff,
        };
        if how.retry {
            q.push_front(e);
        } else {
            q.push_back(e);
        }
        false
    }

    /// Removes a withdrawn waiter's entry (if it is still queued).
    pub fn dequeue(&self, waiter: &Arc<MutexWaiter>) {
        let mut q = self.queue.lock();
        if let Some(i) = q.iter().position(|e| Arc::ptr_eq(&e.waiter, waiter)) {
            let e = q.remove(i);
            drop(e);
        }
        if q.is_empty() {
            self.state
                .fetch_and(!(PARKED | STARVING), Ordering::Relaxed);
        }
    }

    /// A waiter woken with `Retry` is retrying: another may be woken now.
    pub fn retrying(&self) {
        self.state.fetch_and(!WOKEN, Ordering::Relaxed);
    }

    /// Locks, blocking through `wait`: given a registered waiter (from
    /// `make`), it returns `Ok(Some(grant))` once the waiter is completed,
    /// `Ok(None)` if it gave up (timeout) after withdrawing the waiter, or
    /// `Err` (e.g. a signal) after withdrawing it. Returns `Ok(true)` when
    /// locked, `Ok(false)` on timeout; the queue is left clean either way.
    pub fn lock_with<E>(
        &self,
        mut make: impl FnMut() -> Arc<MutexWaiter>,
        mut wait: impl FnMut(&Arc<MutexWaiter>) -> Result<Option<Grant>, E>,
    ) -> Result<bool, E> {
        if self.try_lock() {
            return Ok(true);
        }
        let since = Instant::now();
        let mut retry = false;
        loop {
            let waiter = make();
            let how = Enqueue {
                since,
                retry,
                handoff: false,
            };
            if self.enqueue(&waiter, how) {
                return Ok(true);
            }
            match wait(&waiter) {
                Ok(Some(Grant::Owned)) => return Ok(true),
                Ok(Some(Grant::Retry)) => {
                    self.retrying();
                    retry = true;
                }
                Ok(None) => {
                    self.dequeue(&waiter);
                    return Ok(false);
                }
                Err(e) => {
                    self.dequeue(&waiter);
                    return Err(e);
                }
            }
        }
    }

    /// Locks, parking the calling thread (no Python): for Rust callers and
    /// tests. `deadline` None waits for ever; returns false on timeout.
    pub fn lock_parked(&self, deadline: Option<Instant>) -> bool {
        let r: Result<bool, ()> = self.lock_with(MutexWaiter::for_current_thread, |w| {
            Ok(match w.park(deadline) {
                Some(g) => Some(g),
                None if w.withdraw() => None,
                None => w.take(),
            })
        });
        r.unwrap_or(false)
    }

    /// Waiters queued now (for `repr` and tests).
    pub fn waiting(&self) -> usize {
        self.queue.lock().len()
    }

    #[cfg(all(test, not(loom)))]
    fn queued(&self) -> usize {
        self.waiting()
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> u32 {
        self.state.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
