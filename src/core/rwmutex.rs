//! Go's `sync.RWMutex`, on the project's one [`Waiter`].
//!
//! One atomic word holds the writer bit, the reader count and two flags;
//! uncontended `rlock`/`runlock`/`lock`/`unlock` are a compare-and-swap
//! each. Blocked parties queue behind an internal lock and are always
//! handed the lock (a completed waiter holds it).
//!
//! Go's rules, kept:
//! - A writer that waits blocks new readers (`WRITER_WAITING`), so writers
//!   never starve: the readers already in finish, the last one hands the
//!   lock to the writer.
//! - When a writer unlocks, every reader that queued meanwhile is let in
//!   (before the next writer, which then waits for them), so readers never
//!   starve either.
//! - Writers are served in FIFO order.

use super::shim::{Arc, AtomicU64, Mutex as Lock};
use super::waiter::{Defer, Waiter};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// A writer holds the lock.
const WRITER: u64 = 1;
/// A writer is queued: new readers queue too (changed under the queue lock).
const WRITER_WAITING: u64 = 2;
/// The queue is not empty (changed under the queue lock).
const PARKED: u64 = 4;
/// One reader (the reader count is `state >> 3`).
const READER: u64 = 8;

/// The waiter type of the RWMutex: completed once the lock is held.
pub type RwWaiter = Waiter<()>;

/// Misuse: Go's "sync: RUnlock of unlocked RWMutex" and
/// "sync: Unlock of unlocked RWMutex".
#[derive(Debug, PartialEq, Eq)]
pub enum RwError {
    RUnlockOfUnlocked,
    UnlockOfUnlocked,
}

struct Entry {
    waiter: Arc<RwWaiter>,
    writer: bool,
}

struct Queue {
    entries: VecDeque<Entry>,
    /// Writer entries in `entries` (stale ones included until removed).
    writers: usize,
}

/// Go's `sync.RWMutex`.
pub struct RwMutex {
    state: AtomicU64,
    queue: Lock<Queue>,
}

impl Default for RwMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl RwMutex {
    pub fn new() -> Self {
        RwMutex {
            state: AtomicU64::new(0),
            queue: Lock::new(Queue {
                entries: VecDeque::new(),
                writers: 0,
            }),
        }
    }

    /// Readers holding the lock.
    pub fn readers(&self) -> u64 {
        self.state.load(Ordering::Relaxed) / READER
    }

    /// True while a writer holds the lock.
    pub fn write_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & WRITER != 0
    }

    /// Takes a read lock unless a writer holds the lock or waits for it.
    #[inline]
    pub fn try_rlock(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & (WRITER | WRITER_WAITING) != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                s + READER,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Takes the write lock if nobody holds the lock or waits for it.
    #[inline]
    pub fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Releases a read lock; the last reader hands the lock to a waiting writer.
    pub fn runlock(&self) -> Result<(), RwError> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s < READER {
                return Err(RwError::RUnlockOfUnlocked);
            }
            let new = s - READER;
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => {
                    if new < READER && new & WRITER_WAITING != 0 {
                        let mut d = Defer::new();
                        let mut q = self.queue.lock();
                        self.dispatch(&mut q, &mut d);
                    }
                    return Ok(());
                }
                Err(now) => s = now,
            }
        }
    }

    /// Releases the write lock: lets in every queued reader, else the next
    /// writer.
    pub fn unlock(&self) -> Result<(), RwError> {
        if self
            .state
            .compare_exchange(WRITER, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return Ok(());
        }
        if self.state.load(Ordering::Relaxed) & WRITER == 0 {
            return Err(RwError::UnlockOfUnlocked);
        }
        let mut d = Defer::new();
        let mut q = self.queue.lock();
        // Queued parties keep PARKED set, so no fast path can take the lock
        // between these steps.
        self.state.fetch_and(!WRITER, Ordering::Release);
        self.grant_readers(&mut q, &mut d);
        self.dispatch(&mut q, &mut d);
        Ok(())
    }

    /// Queues `waiter` for a read lock (`writer` false) or the write lock,
    /// unless it can be taken now (`true`: taken, nothing queued).
    pub fn enqueue(&self, waiter: &Arc<RwWaiter>, writer: bool) -> bool {
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let free = s & WRITER == 0 && q.writers == 0 && (!writer || s < READER);
            let new = match (free, writer) {
                (true, false) => s + READER,
                (true, true) => s | WRITER,
                (false, false) => s | PARKED,
                (false, true) => s | PARKED | WRITER_WAITING,
            };
            let order = if free {
                Ordering::Acquire
            } else {
                Ordering::Relaxed
            };
            match self
                .state
                .compare_exchange_weak(s, new, order, Ordering::Relaxed)
            {
                Ok(_) if free => return true,
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        q.entries.push_back(Entry {
            waiter: waiter.clone(),
            writer,
        });
        q.writers += usize::from(writer);
        false
    }

    /// Removes a withdrawn waiter's entry (if it is still queued), and lets
    /// in whoever it was holding up.
    pub fn dequeue(&self, waiter: &Arc<RwWaiter>) {
        let mut d = Defer::new();
        let mut q = self.queue.lock();
        if let Some(i) = q
            .entries
            .iter()
            .position(|e| Arc::ptr_eq(&e.waiter, waiter))
            && let Some(e) = q.entries.remove(i)
        {
            q.writers -= usize::from(e.writer);
        }
        self.dispatch(&mut q, &mut d);
    }

    /// Grants a read lock to every queued reader.
    fn grant_readers(&self, q: &mut Queue, d: &mut Defer<()>) {
        let mut i = 0;
        while i < q.entries.len() {
            if q.entries[i].writer {
                i += 1;
                continue;
            }
            let Some(e) = q.entries.remove(i) else { break };
            if let Some(claim) = e.waiter.claim() {
                // Counted before it can run (and runlock).
                self.state.fetch_add(READER, Ordering::Acquire);
                claim.fill(());
                d.wake(e.waiter.clone());
            }
        }
    }

    /// Grants what the state allows (under the queue lock): the lock to the
    /// first writer when free, or, when no writer waits, read locks to
    /// every queued reader. Then brings the flags up to date.
    fn dispatch(&self, q: &mut Queue, d: &mut Defer<()>) {
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s & WRITER != 0 {
                break;
            }
            if q.writers == 0 {
                self.grant_readers(q, d);
                break;
            }
            if s >= READER {
                // The last reader out dispatches again.
                break;
            }
            let Some(i) = q.entries.iter().position(|e| e.writer) else {
                break;
            };
            let Some(e) = q.entries.remove(i) else { break };
            q.writers -= 1;
            if let Some(claim) = e.waiter.claim() {
                self.state.fetch_or(WRITER, Ordering::Acquire);
                claim.fill(());
                d.wake(e.waiter.clone());
                break;
            }
        }
        let mut clear = 0;
        if q.entries.is_empty() {
            clear |= PARKED;
        }
        if q.writers == 0 {
            clear |= WRITER_WAITING;
        }
        if clear != 0 {
            self.state.fetch_and(!clear, Ordering::Relaxed);
        }
    }

    /// Blocks through `wait` (see [`super::mutex::Mutex::lock_with`]) for a
    /// read lock or the write lock; `Ok(false)` on timeout.
    pub fn lock_with<E>(
        &self,
        writer: bool,
        make: impl FnOnce() -> Arc<RwWaiter>,
        wait: impl FnOnce(&Arc<RwWaiter>) -> Result<Option<()>, E>,
    ) -> Result<bool, E> {
        if if writer {
            self.try_lock()
        } else {
            self.try_rlock()
        } {
            return Ok(true);
        }
        let waiter = make();
        if self.enqueue(&waiter, writer) {
            return Ok(true);
        }
        match wait(&waiter) {
            Ok(Some(())) => Ok(true),
            Ok(None) => {
                self.dequeue(&waiter);
                Ok(false)
            }
            Err(e) => {
                self.dequeue(&waiter);
                Err(e)
            }
        }
    }

    /// Locks parking the calling thread (for Rust callers and tests).
    pub fn lock_parked(&self, writer: bool, deadline: Option<Instant>) -> bool {
        let r: Result<bool, ()> = self.lock_with(writer, RwWaiter::for_current_thread, |w| {
            Ok(match w.park(deadline) {
                Some(g) => Some(g),
                None if w.withdraw() => None,
                None => w.take(),
            })
        });
        r.unwrap_or(false)
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> u64 {
        self.state.load(Ordering::Relaxed)
    }

    /// Waiters queued now (for `repr` and tests).
    pub fn waiting(&self) -> usize {
        self.queue.lock().entries.len()
    }

    #[cfg(all(test, not(loom)))]
    fn queued(&self) -> usize {
        self.waiting()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
