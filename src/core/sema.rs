//! golang.org/x/sync/semaphore's `Weighted`, on the project's one
//! [`Waiter`]: a weighted semaphore whose waiters are served first come,
//! first served. A large request at the front holds up smaller ones behind
//! it (Go's rule: otherwise large requests could starve), and
//! `try_acquire` fails while anyone waits.
//!
//! A waiter is completed with [`Acquired::Yes`] by `release` (the tokens
//! are then already counted as held by it), or with [`Acquired::No`] by an
//! outside canceller (a context that became done); a timeout withdraws it.
//! Either way, a waiter that gives up calls [`Semaphore::cancel`].

use super::shim::{Arc, Mutex as Lock};
use super::waiter::{Defer, Waiter};
use std::collections::VecDeque;
use std::time::Instant;

/// What a semaphore waiter is completed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// The tokens were granted.
    Yes,
    /// Aborted from outside (a context became done).
    No,
}

/// The waiter type of the semaphore.
pub type SemWaiter = Waiter<Acquired>;

/// Misuse.
#[derive(Debug, PartialEq, Eq)]
pub enum SemError {
    /// More tokens asked for than the semaphore's size (could never succeed).
    TooLarge,
    /// A negative count.
    Negative,
    /// Go: "semaphore: released more than held".
    ReleasedMoreThanHeld,
}

struct Entry {
    n: u64,
    waiter: Arc<SemWaiter>,
}

struct State {
    cur: u64,
    waiters: VecDeque<Entry>,
}

/// A weighted semaphore of `size` tokens.
pub struct Semaphore {
    size: u64,
    state: Lock<State>,
}

impl Semaphore {
    pub fn new(size: u64) -> Self {
        Semaphore {
            size,
            state: Lock::new(State {
                cur: 0,
                waiters: VecDeque::new(),
            }),
        }
    }

    /// The number of tokens.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Tokens held now.
    pub fn held(&self) -> u64 {
        self.state.lock().cur
    }

    /// Waiters queued now (stale ones included until removed).
    pub fn waiting(&self) -> usize {
        self.state.lock().waiters.len()
    }

    fn check(&self, n: i64) -> Result<u64, SemError> {
        let n = u64::try_from(n).map_err(|_| SemError::Negative)?;
        if n > self.size {
            return Err(SemError::TooLarge);
        }
        Ok(n)
    }

    /// Takes `n` tokens if they are free and nobody waits.
    pub fn try_acquire(&self, n: i64) -> Result<bool, SemError> {
        let n = self.check(n)?;
        let mut st = self.state.lock();
        if self.size - st.cur >= n && st.waiters.is_empty() {
            st.cur += n;
            return Ok(true);
        }
        Ok(false)
    }

    /// Takes `n` tokens now if possible (`Ok(true)`), else queues `waiter`
    /// at the tail (`Ok(false)`).
    pub fn enqueue(&self, n: i64, waiter: &Arc<SemWaiter>) -> Result<bool, SemError> {
        let n = self.check(n)?;
        let mut st = self.state.lock();
        if self.size - st.cur >= n && st.waiters.is_empty() {
            st.cur += n;
            return Ok(true);
        }
        st.waiters.push_back(Entry {
            n,
            waiter: waiter.clone(),
        });
        Ok(false)
    }

    /// A queued waiter gives up. `granted`: it had been granted its tokens
    /// all the same (they are put back). Otherwise its entry is removed,
    /// and if it was at the front, those behind it may now fit.
    pub fn cancel(&self, n: i64, waiter: &Arc<SemWaiter>, granted: bool) {
        let n = self.check(n).unwrap_or(0);
        let mut d = Defer::new();
        let mut st = self.state.lock();
        if granted {
            st.cur = st.cur.saturating_sub(n);
            self.notify(&mut st, &mut d);
            return;
        }
        if let Some(i) = st
            .waiters
            .iter()
            .position(|e| Arc::ptr_eq(&e.waiter, waiter))
        {
            st.waiters.remove(i);
            if i == 0 && self.size > st.cur {
                self.notify(&mut st, &mut d);
            }
        }
    }

    /// Returns `n` tokens and serves the waiters that now fit, in order.
    pub fn release(&self, n: i64) -> Result<(), SemError> {
        let n = u64::try_from(n).map_err(|_| SemError::Negative)?;
        let mut d = Defer::new();
        let mut st = self.state.lock();
        if n > st.cur {
            return Err(SemError::ReleasedMoreThanHeld);
        }
        st.cur -= n;
        self.notify(&mut st, &mut d);
        Ok(())
    }

    /// Go's `notifyWaiters`: grant the front waiters while they fit; stop at
    /// the first that does not (no overtaking).
    fn notify(&self, st: &mut State, d: &mut Defer<Acquired>) {
        while let Some(front) = st.waiters.front() {
            if self.size - st.cur < front.n {
                break;
            }
            let Some(e) = st.waiters.pop_front() else {
                break;
            };
            if let Some(claim) = e.waiter.claim() {
                st.cur += e.n;
                claim.fill(Acquired::Yes);
                d.wake(e.waiter.clone());
            }
            // A stale entry (given up, not yet removed) is simply dropped.
        }
    }

    /// Acquires parking the calling thread (for Rust callers and tests);
    /// false on timeout.
    pub fn acquire_parked(&self, n: i64, deadline: Option<Instant>) -> Result<bool, SemError> {
        let w = SemWaiter::for_current_thread();
        if self.enqueue(n, &w)? {
            return Ok(true);
        }
        match w.park(deadline) {
            Some(Acquired::Yes) => Ok(true),
            Some(Acquired::No) => {
                self.cancel(n, &w, false);
                Ok(false)
            }
            None if w.withdraw() => {
                self.cancel(n, &w, false);
                Ok(false)
            }
            None => match w.take() {
                Some(Acquired::Yes) => Ok(true),
                _ => {
                    self.cancel(n, &w, false);
                    Ok(false)
                }
            },
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::core::waiter::Wake;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;
    use std::time::Duration;

    fn w() -> Arc<SemWaiter> {
        Waiter::new(Wake::Callback(Box::new(|| {})))
    }

    #[test]
    fn misuse() {
        let s = Semaphore::new(3);
        assert_eq!(s.try_acquire(4), Err(SemError::TooLarge));
        assert_eq!(s.try_acquire(-1), Err(SemError::Negative));
        assert_eq!(s.release(1), Err(SemError::ReleasedMoreThanHeld));
        assert_eq!(s.try_acquire(2), Ok(true));
        assert_eq!(s.release(3), Err(SemError::ReleasedMoreThanHeld));
        assert_eq!(s.held(), 2);
        assert_eq!(s.release(2), Ok(()));
        assert_eq!(s.held(), 0);
    }

    #[test]
    fn fifo_and_no_overtaking() {
        let s = Semaphore::new(4);
        assert_eq!(s.try_acquire(3), Ok(true));
        let big = w();
        let small = w();
        assert_eq!(s.enqueue(4, &big), Ok(false));
        assert_eq!(s.enqueue(1, &small), Ok(false));
        // One token is free, but the small waiter must not overtake.
        assert_eq!(s.try_acquire(1), Ok(false));
        assert_eq!(small.take(), None);
        s.release(3).unwrap();
        assert_eq!(big.take(), Some(Acquired::Yes));
        assert_eq!(small.take(), None);
        s.release(4).unwrap();
        assert_eq!(small.take(), Some(Acquired::Yes));
        assert_eq!(s.held(), 1);
    }

    #[test]
    fn cancel_at_front_lets_others_in() {
        let s = Semaphore::new(4);
        assert_eq!(s.try_acquire(2), Ok(true));
        let big = w();
        let small = w();
        assert_eq!(s.enqueue(4, &big), Ok(false));
        assert_eq!(s.enqueue(2, &small), Ok(false));
        assert!(big.withdraw());
        s.cancel(4, &big, false);
        assert_eq!(small.take(), Some(Acquired::Yes));
        assert_eq!(s.held(), 4);
        assert_eq!(s.waiting(), 0);
    }

    #[test]
    fn granted_then_cancelled_puts_tokens_back() {
        let s = Semaphore::new(1);
        assert_eq!(s.try_acquire(1), Ok(true));
        let a = w();
        let b = w();
        assert_eq!(s.enqueue(1, &a), Ok(false));
        assert_eq!(s.enqueue(1, &b), Ok(false));
        s.release(1).unwrap();
        assert_eq!(a.take(), Some(Acquired::Yes));
        s.cancel(1, &a, true);
        assert_eq!(b.take(), Some(Acquired::Yes));
        assert_eq!(s.held(), 1);
    }

    #[test]
    fn stress_never_exceeds_size() {
        let s = Arc::new(Semaphore::new(3));
        let inside = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let (s, inside) = (s.clone(), inside.clone());
                thread::spawn(move || {
                    for j in 0..2000 {
                        let n = ((i + j) % 3 + 1) as i64;
                        let d = (j % 5 == 0).then(|| Instant::now() + Duration::from_micros(20));
                        if s.acquire_parked(n, d).unwrap() {
                            let now = inside.fetch_add(n as usize, Ordering::SeqCst) + n as usize;
                            assert!(now <= 3);
                            thread::yield_now();
                            inside.fetch_sub(n as usize, Ordering::SeqCst);
                            s.release(n).unwrap();
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(s.held(), 0);
        assert_eq!(s.waiting(), 0);
    }
}
