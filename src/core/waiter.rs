//! The one waiter type of the project.
//!
//! A [`Waiter`] is a small shared cell that a blocked operation leaves in the
//! queues of the primitives it waits on (one channel for `recv`, several for
//! a `select`, a mutex, a wait group...). Whoever makes the operation
//! possible *completes* the waiter with a result; the blocked party then
//! *takes* it. The slot's mutex is the arbiter: a waiter is completed at most
//! once, so a `select` registered on several channels is performed by exactly
//! one of them, and an abort (timeout, Ctrl-C, asyncio cancellation) either
//! wins, and nothing happened, or loses, and the result is handed back.
//!
//! Completion happens under the lock of the primitive that completes it;
//! waking the waiter ([`Waiter::wake`]) must happen after that lock is
//! released, because an asyncio wake calls into Python.

use super::sync::{Arc, Mutex, MutexGuard};
use std::fmt;
use std::time::Instant;

/// How a waiter is woken once it has been completed.
pub enum Wake {
    /// A parked OS thread: `unpark` it.
    Thread(std::thread::Thread),
    /// Anything else (an asyncio future, a test hook): call it.
    Callback(Box<dyn Fn() + Send + Sync>),
}

impl fmt::Debug for Wake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wake::Thread(t) => write!(f, "Wake::Thread({:?})", t.id()),
            Wake::Callback(_) => f.write_str("Wake::Callback"),
        }
    }
}

#[derive(Debug)]
enum Slot<R> {
    /// Registered and not yet completed: the only state `complete` accepts.
    Waiting,
    /// Completed, the result not yet taken.
    Done(R),
    /// Taken or aborted: final.
    Finished,
}

/// A blocked operation's rendezvous cell; `R` is what completes it.
#[derive(Debug)]
pub struct Waiter<R> {
    slot: Mutex<Slot<R>>,
    wake: Wake,
}

impl<R> Waiter<R> {
    /// A new waiter in the waiting state.
    pub fn new(wake: Wake) -> Arc<Self> {
        Arc::new(Waiter {
            slot: Mutex::new(Slot::Waiting),
            wake,
        })
    }

    /// A waiter that wakes the calling thread.
    pub fn for_current_thread() -> Arc<Self> {
        Self::new(Wake::Thread(std::thread::current()))
    }

    /// Claims the waiter for completion if it is still waiting: the returned
    /// [`Claim`] holds the waiter's slot until it is filled (or dropped,
    /// which leaves the waiter waiting). This lets a completer find out
    /// whether a waiter is live before it gives up the value it would hand it.
    pub fn claim(&self) -> Option<Claim<'_, R>> {
        let slot = self.slot.lock();
        matches!(*slot, Slot::Waiting).then_some(Claim { slot })
    }

    /// Completes the waiter with `result` if it is still waiting; otherwise
    /// (completed by someone else, or aborted) hands `result` back.
    /// The caller must call [`Waiter::wake`] afterwards, outside its locks.
    pub fn complete(&self, result: R) -> Result<(), R> {
        match self.claim() {
            Some(claim) => {
                claim.fill(result);
                Ok(())
            }
            None => Err(result),
        }
    }

    /// True while nobody has completed or aborted the waiter.
    pub fn is_waiting(&self) -> bool {
        matches!(*self.slot.lock(), Slot::Waiting)
    }

    /// Takes the result if the waiter has been completed.
    pub fn take(&self) -> Option<R> {
        let mut slot = self.slot.lock();
        match std::mem::replace(&mut *slot, Slot::Finished) {
            Slot::Done(r) => Some(r),
            other => {
                *slot = other;
                None
            }
        }
    }

    /// Withdraws the waiter. `true`: it was still waiting and now never will
    /// be completed (the caller removes it from the queues). `false`: it had
    /// been completed already, and [`Waiter::take`] returns the result.
    pub fn withdraw(&self) -> bool {
        let mut slot = self.slot.lock();
        match *slot {
            Slot::Waiting => {
                *slot = Slot::Finished;
                true
            }
            Slot::Done(_) | Slot::Finished => false,
        }
    }

    /// Parks the calling thread until the waiter is completed (the result is
    /// returned and taken) or `deadline` passes (`None`; the waiter stays
    /// registered, to be aborted or parked on again). The waiter must have
    /// been made by [`Waiter::for_current_thread`] on this thread.
    pub fn park(&self, deadline: Option<Instant>) -> Option<R> {
        loop {
            if let Some(r) = self.take() {
                return Some(r);
            }
            match deadline {
                None => std::thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    std::thread::park_timeout(deadline - now);
                }
            }
        }
    }

    /// Wakes whoever waits on this waiter. Call it after `complete`
    /// succeeded, and after releasing every lock.
    pub fn wake(&self) {
        match &self.wake {
            Wake::Thread(t) => t.unpark(),
            Wake::Callback(f) => f(),
        }
    }
}

/// A waiter claimed for completion (see [`Waiter::claim`]).
pub struct Claim<'a, R> {
    slot: MutexGuard<'a, Slot<R>>,
}

impl<R> Claim<'_, R> {
    /// Completes the claimed waiter with `result`.
    pub fn fill(mut self, result: R) {
        *self.slot = Slot::Done(result);
    }
}

/// Work that must wait until the caller's locks are released: waking
/// completed waiters and dropping values. Declare it *before* taking a lock
/// guard, so that it drops (and runs) after the guard.
pub struct Deferred<W: Wakeable, T> {
    wakes: Vec<Arc<W>>,
    trash: Vec<T>,
}

/// Anything that [`Deferred`] can wake.
pub trait Wakeable {
    fn wake_up(&self);
}

impl<R> Wakeable for Waiter<R> {
    fn wake_up(&self) {
        self.wake();
    }
}

impl<W: Wakeable, T> Deferred<W, T> {
    pub fn new() -> Self {
        Deferred {
            wakes: Vec::new(),
            trash: Vec::new(),
        }
    }
    /// Wake `w` once the locks are released.
    pub fn wake(&mut self, w: Arc<W>) {
        self.wakes.push(w);
    }
    /// Drop `value` once the locks are released (dropping a Python object
    /// may run arbitrary code, which must never run under a core lock).
    pub fn drop_later(&mut self, value: T) {
        self.trash.push(value);
    }
}

impl<W: Wakeable, T> Default for Deferred<W, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: Wakeable, T> Drop for Deferred<W, T> {
    fn drop(&mut self) {
        for w in self.wakes.drain(..) {
            w.wake_up();
        }
        self.trash.clear();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting() -> (Arc<Waiter<u32>>, Arc<AtomicUsize>) {
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        let w = Waiter::new(Wake::Callback(Box::new(move || {
            n2.fetch_add(1, Ordering::SeqCst);
        })));
        (w, n)
    }

    #[test]
    fn completed_once() {
        let (w, woken) = counting();
        assert!(w.is_waiting());
        assert_eq!(w.complete(1), Ok(()));
        assert_eq!(w.complete(2), Err(2));
        w.wake();
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert_eq!(w.take(), Some(1));
        assert_eq!(w.take(), None);
        assert!(!w.withdraw());
    }

    #[test]
    fn withdraw_before_completion_wins() {
        let (w, _) = counting();
        assert!(w.withdraw());
        assert_eq!(w.complete(7), Err(7));
        assert!(!w.is_waiting());
    }

    #[test]
    fn withdraw_after_completion_keeps_the_result() {
        let (w, _) = counting();
        w.complete(5).unwrap();
        assert!(!w.withdraw());
        assert_eq!(w.take(), Some(5));
        assert_eq!(w.take(), None);
    }

    #[test]
    fn racing_completers_exactly_one_wins() {
        for _ in 0..200 {
            let (w, _) = counting();
            let winners = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..4)
                .map(|i| {
                    let w = w.clone();
                    let winners = winners.clone();
                    std::thread::spawn(move || {
                        if w.complete(i).is_ok() {
                            winners.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            let withdrawn = w.withdraw();
            for h in hs {
                h.join().unwrap();
            }
            let n = winners.load(Ordering::SeqCst);
            // Either the withdrawal won (no completer did) or exactly one
            // completer won and its value is there to take.
            if withdrawn {
                assert_eq!(n, 0);
                assert_eq!(w.take(), None);
            } else {
                assert_eq!(n, 1);
                assert!(w.take().is_some());
            }
        }
    }

    #[test]
    fn deferred_wakes_after_scope() {
        let (w, woken) = counting();
        {
            let mut d: Deferred<Waiter<u32>, String> = Deferred::new();
            d.wake(w.clone());
            d.drop_later("x".to_string());
            assert_eq!(woken.load(Ordering::SeqCst), 0);
        }
        assert_eq!(woken.load(Ordering::SeqCst), 1);
    }
}
