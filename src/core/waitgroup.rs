//! Go's `sync.WaitGroup`, on the project's one [`Waiter`].
//!
//! As in Go, one atomic word holds the counter (high 32 bits, signed) and
//! the number of waiters (low 32 bits), so `add`/`done` are a lock-free
//! compare-and-swap unless they bring the counter to zero while someone
//! waits: that transition happens under the queue lock, which releases
//! every waiter registered before it. Waiters register under the same lock,
//! so none can slip in between and be missed. A group is reusable as soon
//! as `wait` returns.

use super::shim::{Arc, AtomicU64, Mutex as Lock};
use super::waiter::{Defer, Waiter};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The waiter type of a wait group.
pub type WgWaiter = Waiter<()>;

/// Misuse of `add`.
#[derive(Debug, PartialEq, Eq)]
pub enum WgError {
    /// Go: "sync: negative WaitGroup counter".
    Negative,
    /// The counter would not fit in Go's int32.
    Overflow,
}

/// Go's `sync.WaitGroup`.
pub struct WaitGroup {
    state: AtomicU64,
    queue: Lock<Vec<Arc<WgWaiter>>>,
}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

fn counter(s: u64) -> i64 {
    i64::from((s >> 32) as u32 as i32)
}

fn waiters(s: u64) -> u64 {
    s & 0xffff_ffff
}

fn pack(counter: i64, waiters: u64) -> u64 {
    (u64::from(counter as i32 as u32) << 32) | waiters
}

impl WaitGroup {
    pub fn new() -> Self {
        WaitGroup {
            state: AtomicU64::new(0),
            queue: Lock::new(Vec::new()),
        }
    }

    /// The counter.
    pub fn count(&self) -> i64 {
        counter(self.state.load(Ordering::Acquire))
    }

    /// True when `wait` would return at once.
    pub fn is_zero(&self) -> bool {
        self.count() == 0
    }

    fn next(s: u64, delta: i64) -> Result<i64, WgError> {
        let n = counter(s).checked_add(delta).ok_or(WgError::Overflow)?;
        if n < 0 {
            Err(WgError::Negative)
        } else if n > i64::from(i32::MAX) {
            Err(WgError::Overflow)
        } else {
            Ok(n)
        }
    }

    /// Adds `delta` to the counter; at zero, every waiter is released. A
    /// result that would be negative is refused and changes nothing.
    pub fn add(&self, delta: i64) -> Result<(), WgError> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let n = Self::next(s, delta)?;
            if n == 0 && waiters(s) > 0 {
                return self.add_and_release(delta);
            }
            match self.state.compare_exchange_weak(
                s,
                pack(n, waiters(s)),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => s = now,
            }
        }
    }

    /// `add` that may reach zero with waiters: under the queue lock, where
    /// the waiter count cannot change.
    fn add_and_release(&self, delta: i64) -> Result<(), WgError> {
        let mut d: Defer<()> = Defer::new();
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        let zero = loop {
            let n = Self::next(s, delta)?;
            // At zero the waiter count resets too: they are all released.
            let new = if n == 0 { 0 } else { pack(n, waiters(s)) };
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break n == 0,
                Err(now) => s = now,
            }
        };
        if zero {
            for w in q.drain(..) {
                if w.complete(()).is_ok() {
                    d.wake(w);
                }
            }
        }
        Ok(())
    }

    /// Registers `waiter` unless the counter is zero (`true`: nothing to
    /// wait for, nothing registered).
    pub fn enqueue(&self, waiter: &Arc<WgWaiter>) -> bool {
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if counter(s) == 0 {
                return true;
            }
            match self
                .state
                .compare_exchange_weak(s, s + 1, Ordering::Relaxed, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        q.push(waiter.clone());
        false
    }

    /// Removes a withdrawn waiter (if it is still registered).
    pub fn dequeue(&self, waiter: &Arc<WgWaiter>) {
        let mut q = self.queue.lock();
        if let Some(i) = q.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            q.swap_remove(i);
            self.state.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Waits parking the calling thread (for Rust callers and tests); false
    /// on timeout.
    pub fn wait_parked(&self, deadline: Option<Instant>) -> bool {
        if self.is_zero() {
            return true;
        }
        let w = WgWaiter::for_current_thread();
        if self.enqueue(&w) {
            return true;
        }
        let done = match w.park(deadline) {
            Some(()) => true,
            None if w.withdraw() => false,
            None => w.take().is_some(),
        };
        if !done {
            self.dequeue(&w);
        }
        done
    }

    /// Waiters registered now (for `repr` and tests).
    pub fn waiters(&self) -> u64 {
        waiters(self.state.load(Ordering::Relaxed))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn counter_and_misuse() {
        let wg = WaitGroup::new();
        assert!(wg.is_zero());
        wg.add(2).unwrap();
        assert_eq!(wg.count(), 2);
        assert_eq!(wg.add(-3), Err(WgError::Negative));
        assert_eq!(wg.count(), 2);
        wg.add(-1).unwrap();
        wg.add(-1).unwrap();
        assert_eq!(wg.add(-1), Err(WgError::Negative));
        assert_eq!(wg.count(), 0);
        assert_eq!(wg.add(i64::from(i32::MAX) + 1), Err(WgError::Overflow));
        wg.add(i64::from(i32::MAX)).unwrap();
        assert_eq!(wg.add(1), Err(WgError::Overflow));
        assert_eq!(wg.count(), i64::from(i32::MAX));
    }

    #[test]
    fn wait_releases_all_and_is_reusable() {
        let wg = Arc::new(WaitGroup::new());
        for round in 0..50 {
            wg.add(3).unwrap();
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let wg = wg.clone();
                    thread::spawn(move || assert!(wg.wait_parked(None)))
                })
                .collect();
            let workers: Vec<_> = (0..3)
                .map(|_| {
                    let wg = wg.clone();
                    thread::spawn(move || wg.add(-1).unwrap())
                })
                .collect();
            for h in waiters.into_iter().chain(workers) {
                h.join().unwrap();
            }
            assert_eq!(wg.count(), 0, "round {round}");
            assert_eq!(wg.waiters(), 0);
        }
    }

    #[test]
    fn timeout_unregisters() {
        let wg = WaitGroup::new();
        wg.add(1).unwrap();
        assert!(!wg.wait_parked(Some(Instant::now() + Duration::from_millis(20))));
        assert_eq!(wg.waiters(), 0);
        wg.add(-1).unwrap();
        assert!(wg.wait_parked(Some(Instant::now())));
    }
}
