//! What each thread is waiting for, as Go's runtime keeps a goroutine's
//! wait reason: read by `gocurrent.runtime` (goroutine states, the dump)
//! and by the deadlock watch of the main thread.
//!
//! The drivers tell it what they do, each in one place: the thread driver
//! ([`crate::blocking::run`]) calls [`enter`] around each wait (the guard
//! it returns leaves the state when dropped) and runs a [`DeadlockWatch`]
//! in the main thread's wait slices; the asyncio awaitable keeps its own
//! state (read through its `_wait_state`) and calls [`note_activity`] when
//! a task suspends or resumes. Each thread counts its own activity (no
//! cache line shared between threads that hand values to each other).
//!
//! A deadlock is declared only when a scan of every goroutine found all of
//! them asleep, and found them so again [`STABLE`] later with no wait
//! entered or left in between ([`activity`] unchanged): a goroutine woken
//! (its waiter completed) but not yet running counts as awake, so the scan
//! never mistakes a hand-off in flight for a deadlock. The scan walks
//! every goroutine's frames, so it runs only after a check found the
//! activity unchanged since the previous one ([`CHECK_EVERY`] earlier): a
//! busy program (10,000 goroutines passing a value down a chain) never
//! pays for it. Detection takes about `2 * CHECK_EVERY + STABLE`.

use crate::core::waiter::Waiter;
use parking_lot::Mutex;
use pyo3::create_exception;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

create_exception!(
    gocurrent,
    DeadlockError,
    PyRuntimeError,
    "Raised in the main thread's waiting call when every goroutine is asleep and nothing could ever wake it (Go's \"all goroutines are asleep - deadlock!\")."
);

/// How often the main thread's wait looks for a deadlock.
const CHECK_EVERY: Duration = Duration::from_millis(100);
/// How long a deadlock must hold, unchanged, before it is declared.
const STABLE: Duration = Duration::from_millis(300);

/// A waiter that can say whether it is still waiting (not completed).
pub trait Pending: Send + Sync {
    fn pending(&self) -> bool;
}

impl<R: Send> Pending for Waiter<R> {
    fn pending(&self) -> bool {
        self.is_waiting()
    }
}

/// When a wait began, on the coarse monotonic clock: a wait's age is shown
/// in seconds (Go's dump in minutes), and the coarse clock is read from
/// memory in 5 ns where the precise one took 23 ns here (a virtual
/// machine), twice per hand-off.
#[derive(Clone, Copy, Debug)]
pub struct Since(Duration);

impl Since {
    pub fn now() -> Since {
        Since(coarse_now())
    }

    /// Seconds since then.
    pub fn seconds(self) -> f64 {
        coarse_now().saturating_sub(self.0).as_secs_f64()
    }
}

#[cfg(target_os = "linux")]
fn coarse_now() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec; CLOCK_MONOTONIC_COARSE
    // exists on every Linux since 2.6.32 (on failure `t` stays zero, which
    // only makes an age wrong).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut t) };
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

#[cfg(not(target_os = "linux"))]
fn coarse_now() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

struct Wait {
    reason: &'static str,
    since: Since,
    timeout: bool,
    /// The waiter of the wait, borrowed for the life of its [`Entered`]
    /// guard (no reference count: the waiter's count is touched by the
    /// thread that completes it, and sharing that cache line would slow
    /// every hand-off down).
    waiter: *const dyn Pending,
}

// SAFETY: `waiter` is only dereferenced under the slot's lock, while the
// `Entered` guard that stored it (and the borrow of the waiter it holds)
// is alive (see `states`); the pointee is `Sync`.
unsafe impl Send for Wait {}

/// One thread's entry: its wait, if any, and its activity count.
#[derive(Default)]
struct SlotData {
    wait: Mutex<Option<Wait>>,
    /// Bumped whenever this thread begins or ends a wait (or a task of its
    /// event loop suspends or resumes): per thread, so that threads
    /// handing values to each other never share a counter's cache line.
    changes: AtomicU64,
}

type Slot = Arc<SlotData>;

/// Every thread that has waited, by `PyThread_get_thread_ident()`.
static SLOTS: LazyLock<Mutex<HashMap<u64, Slot>>> = LazyLock::new(Default::default);
/// The activity counts of the threads that have ended (so that the total,
/// [`activity`], never goes back).
static REMOVED: AtomicU64 = AtomicU64::new(0);

/// A thread's entry in [`SLOTS`], removed when the thread ends.
struct Registered {
    ident: u64,
    slot: Slot,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut slots = SLOTS.lock();
        // The ident may already belong to a newer thread.
        if slots
            .get(&self.ident)
            .is_some_and(|s| Arc::ptr_eq(s, &self.slot))
        {
            slots.remove(&self.ident);
        }
        REMOVED.fetch_add(self.slot.changes.load(SeqCst), SeqCst);
    }
}

thread_local! {
    static SLOT: Registered = {
        let ident = crate::blocking::current_thread_ident();
        let slot = Slot::default();
        SLOTS.lock().insert(ident, slot.clone());
        Registered { ident, slot }
    };
}

/// Records a new activity of the calling thread (a wait begun or ended).
pub fn note_activity() {
    // Err while the thread's locals are being destroyed: nothing to note.
    let _ = SLOT.try_with(|r| r.slot.changes.fetch_add(1, SeqCst));
}

/// The total activity of all threads, ever (see [`SlotData::changes`]).
pub fn activity() -> u64 {
    let slots = SLOTS.lock();
    let live: u64 = slots.values().map(|s| s.changes.load(SeqCst)).sum();
    live + REMOVED.load(SeqCst)
}

/// The calling thread is in a gocurrent wait until the guard is dropped.
pub struct Entered<'a> {
    entered: bool,
    /// The waiter the slot points to must outlive the guard.
    _waiter: PhantomData<&'a dyn Pending>,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if self.entered {
            let _ = SLOT.try_with(|r| {
                *r.slot.wait.lock() = None;
                r.slot.changes.fetch_add(1, SeqCst);
            });
        }
    }
}

/// The calling thread starts waiting for `reason` (Go's wait reason) on
/// `waiter`, with or without a timeout, until the guard is dropped.
pub fn enter<'a, R: Send + 'static>(
    reason: &'static str,
    timeout: bool,
    waiter: &'a Waiter<R>,
) -> Entered<'a> {
    let pending: &'a (dyn Pending + 'static) = waiter;
    let wait = Wait {
        reason,
        since: Since::now(),
        timeout,
        waiter: pending as *const dyn Pending,
    };
    // Err while the thread's locals are being destroyed.
    let entered = SLOT
        .try_with(|r| {
            *r.slot.wait.lock() = Some(wait);
            r.slot.changes.fetch_add(1, SeqCst);
        })
        .is_ok();
    Entered {
        entered,
        _waiter: PhantomData,
    }
}

/// One thread's wait: reason, seconds so far, has a timeout, still pending.
pub type State = (&'static str, f64, bool, bool);

/// The wait of every thread in a gocurrent wait, by thread ident.
pub fn states() -> Vec<(u64, State)> {
    let slots: Vec<(u64, Slot)> = SLOTS.lock().iter().map(|(k, v)| (*k, v.clone())).collect();
    slots
        .into_iter()
        .filter_map(|(ident, slot)| {
            let guard = slot.wait.lock();
            let w = guard.as_ref()?;
            // SAFETY: the pointer was stored by `enter` from a borrow that
            // outlives its `Entered` guard, and the guard clears it under
            // this lock before the borrow ends (a thread that never drops
            // it is parked for ever with its stack, so the waiter stays):
            // while we hold the lock with the pointer present, the waiter
            // is alive.
            let pending = unsafe { &*w.waiter }.pending();
            let state = (w.reason, w.since.seconds(), w.timeout, pending);
            Some((ident, state))
        })
        .collect()
}

/// In a forked child: the parent's other threads are gone.
pub fn after_fork_in_child() {
    if let Some(mut slots) = SLOTS.try_lock() {
        let me = crate::blocking::current_thread_ident();
        slots.retain(|ident, _| *ident == me);
    }
}

/// The main thread's deadlock watch over one wait without a timeout.
pub struct DeadlockWatch {
    reason: &'static str,
    next_check: Instant,
    /// The activity count at the previous check: only a program in which
    /// nothing happened between two checks is examined (the examination
    /// walks every goroutine; a busy program never pays for it).
    last_activity: Option<u64>,
    /// When all goroutines were first found asleep, and the activity then.
    candidate: Option<(Instant, u64)>,
}

impl DeadlockWatch {
    pub fn new(reason: &'static str) -> Self {
        DeadlockWatch {
            reason,
            next_check: Instant::now() + CHECK_EVERY,
            last_activity: None,
            candidate: None,
        }
    }

    /// Called between the wait's slices: the DeadlockError to raise, once
    /// every goroutine has been asleep for [`STABLE`] with no activity.
    pub fn check(&mut self, py: Python<'_>) -> Option<PyErr> {
        let now = Instant::now();
        if now < self.next_check {
            return None;
        }
        self.next_check = now + CHECK_EVERY;
        let before = activity();
        if self.last_activity.replace(before) != Some(before) {
            self.candidate = None;
            return None;
        }
        let message = deadlock_message(py, self.reason);
        let Some(message) = message.filter(|_| activity() == before) else {
            self.candidate = None;
            return None;
        };
        match self.candidate {
            None => {
                self.candidate = Some((now, before));
                None
            }
            Some((since, _)) if now.duration_since(since) >= STABLE => {
                Some(DeadlockError::new_err(message))
            }
            Some(_) => None,
        }
    }
}

/// `gocurrent.runtime._deadlock_message(reason)`: the error's message if
/// every goroutine is asleep now, else None (also if it fails).
fn deadlock_message(py: Python<'_>, reason: &str) -> Option<String> {
    static CHECK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let result = CHECK
        .import(py, "gocurrent.runtime", "_deadlock_message")
        .and_then(|f| f.call1((reason,)))
        .and_then(|m| m.extract::<Option<String>>());
    match result {
        Ok(m) => m,
        Err(e) => {
            e.write_unraisable(py, None);
            None
        }
    }
}
