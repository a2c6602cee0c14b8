//! The wait list of Go's `sync.Cond` (runtime's `notifyList`), on the
//! project's one [`Waiter`].
//!
//! Go hands each `Wait` a ticket before it unlocks `L`, and `Signal` wakes
//! the oldest ticket not yet notified. Here `Wait` registers its waiter in
//! a FIFO list before it unlocks `L` (the same guarantee: a signal sent
//! after the registration is never missed), `signal` completes the oldest
//! live waiter and `broadcast` all of them. A waiter that gives up (timeout,
//! Ctrl-C) withdraws and removes itself, so a later signal goes to another
//! waiter instead of being lost on it.

use super::shim::{Arc, Mutex as Lock};
use super::waiter::{Defer, Waiter};
use std::collections::VecDeque;

/// The waiter type of a condition variable.
pub type CondWaiter = Waiter<()>;

/// A condition variable's list of waiters.
pub struct NotifyList {
    waiters: Lock<VecDeque<Arc<CondWaiter>>>,
}

impl Default for NotifyList {
    fn default() -> Self {
        Self::new()
    }
}

impl NotifyList {
    pub fn new() -> Self {
        NotifyList {
            waiters: Lock::new(VecDeque::new()),
        }
    }

    /// Registers a waiter (before unlocking `L`).
    pub fn add(&self, waiter: &Arc<CondWaiter>) {
        self.waiters.lock().push_back(waiter.clone());
    }

    /// Removes a waiter that gave up (if it is still listed).
    pub fn remove(&self, waiter: &Arc<CondWaiter>) {
        let mut q = self.waiters.lock();
        if let Some(i) = q.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            q.remove(i);
        }
    }

    /// Wakes the oldest waiter, if any; true if one was woken.
    pub fn notify_one(&self) -> bool {
        let mut d: Defer<()> = Defer::new();
        let mut q = self.waiters.lock();
        while let Some(w) = q.pop_front() {
            if w.complete(()).is_ok() {
                d.wake(w);
                return true;
            }
        }
        false
    }

    /// Wakes every waiter; returns how many.
    pub fn notify_all(&self) -> usize {
        let mut d: Defer<()> = Defer::new();
        let mut q = self.waiters.lock();
        let mut n = 0;
        for w in q.drain(..) {
            if w.complete(()).is_ok() {
                d.wake(w);
                n += 1;
            }
        }
        n
    }

    /// Waiters listed now.
    pub fn len(&self) -> usize {
        self.waiters.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::core::waiter::Wake;

    fn w() -> Arc<CondWaiter> {
        Waiter::new(Wake::Callback(Box::new(|| {})))
    }

    #[test]
    fn signal_wakes_oldest_broadcast_wakes_all() {
        let l = NotifyList::new();
        assert!(!l.notify_one());
        let (a, b, c) = (w(), w(), w());
        l.add(&a);
        l.add(&b);
        l.add(&c);
        assert!(l.notify_one());
        assert_eq!(a.take(), Some(()));
        assert_eq!(b.take(), None);
        assert_eq!(l.notify_all(), 2);
        assert_eq!(b.take(), Some(()));
        assert_eq!(c.take(), Some(()));
        assert!(l.is_empty());
    }

    #[test]
    fn a_waiter_that_gave_up_does_not_swallow_a_signal() {
        let l = NotifyList::new();
        let (a, b) = (w(), w());
        l.add(&a);
        l.add(&b);
        assert!(a.withdraw());
        // Not yet removed: the signal skips it.
        assert!(l.notify_one());
        assert_eq!(b.take(), Some(()));
        l.remove(&a);
        assert!(l.is_empty());
    }
}
