//! The timer heap: one thread serves every timer, ticker and context
//! deadline of the process (Go's runtime timers, without a thread per timer).
//!
//! A timer is a [`TimerCell`]: its target (what firing does, chosen by the
//! binding) and its state under a small lock. Arming a cell pushes an entry
//! (deadline, insertion order, sequence number) on a binary heap; stopping or
//! re-arming bumps the cell's sequence number, which makes its old entry
//! stale: stale entries are skipped when they reach the top (lazy deletion),
//! and the heap is rebuilt without them when they outnumber the live ones, so
//! stop and reset are O(log n) and the heap stays O(live timers).
//!
//! The timer thread (started on the first arming) sleeps on a condvar until
//! the earliest deadline, pops every due entry and hands them, in deadline
//! order, to the runner given to [`Timers::new`] (the binding attaches to the
//! interpreter once per batch). The runner fires each one with
//! [`Timers::fire`], which re-checks the sequence number under the cell's
//! lock: a timer stopped after it was popped does not fire. Because a firing
//! runs under the cell's lock, and so do [`Timers::stop`] and
//! [`Timers::reset`], a stop either prevents the firing or runs after it and
//! can take back (drain) what the firing delivered: Go 1.23's rule that no
//! stale value is received after Stop or Reset returns.
//!
//! Lock order: cell, then heap. The timer thread never holds the heap lock
//! while it takes a cell lock, and drops nothing under the heap lock (a
//! target may own Python objects).
//!
//! The heap's lock and condvar are std's (futex-based, the waiters live in
//! the kernel), not parking_lot's: after a fork, parking_lot's user-space
//! wait queues still list the parent's timer thread, and a notification
//! can be spent on that dead thread instead of the child's new one.

use parking_lot::Mutex;
use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Delays are clamped to this (a century): longer ones never fire in practice,
/// and `Instant + delay` must not overflow.
pub const MAX_DELAY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Due timers handed to the runner at once, at most (the runner holds the
/// interpreter for a whole batch).
const MAX_BATCH: usize = 1024;

/// Stale entries tolerated before the heap is rebuilt without them.
const COMPACT_MIN: usize = 64;

/// One timer: its target and whether (and when) it is armed.
pub struct TimerCell<T> {
    /// Bumped (under both locks) by every stop and reset: heap entries
    /// carrying an older number are stale.
    seq: AtomicU64,
    /// The entry of the current sequence number is in the heap (not yet
    /// popped): changed only under the heap lock, so that the count of
    /// stale entries is exact.
    queued: AtomicBool,
    state: Mutex<CellState>,
    target: T,
}

struct CellState {
    /// The next firing, while armed.
    when: Option<Instant>,
    /// The period of a ticker.
    period: Option<Duration>,
}

impl<T> TimerCell<T> {
    /// A disarmed timer with this target.
    pub fn new(target: T) -> Arc<Self> {
        Arc::new(TimerCell {
            seq: AtomicU64::new(0),
            queued: AtomicBool::new(false),
            state: Mutex::new(CellState {
                when: None,
                period: None,
            }),
            target,
        })
    }

    pub fn target(&self) -> &T {
        &self.target
    }

    /// True while armed (a firing is still to come).
    pub fn is_armed(&self) -> bool {
        self.state.lock().when.is_some()
    }
}

struct Entry<T> {
    when: Instant,
    /// Insertion order: timers with equal deadlines fire first in, first out.
    order: u64,
    seq: u64,
    cell: Arc<TimerCell<T>>,
}

impl<T> Entry<T> {
    fn is_stale(&self) -> bool {
        self.cell.seq.load(Ordering::Acquire) != self.seq
    }
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.when == other.when && self.order == other.order
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    /// Reversed, so that the max-heap pops the earliest deadline first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other
            .when
            .cmp(&self.when)
            .then_with(|| other.order.cmp(&self.order))
    }
}

/// A timer popped from the heap, to be fired with [`Timers::fire`].
pub struct Due<T> {
    cell: Arc<TimerCell<T>>,
    seq: u64,
    when: Instant,
}

impl<T> Due<T> {
    /// The deadline it was due at.
    pub fn when(&self) -> Instant {
        self.when
    }

    /// The timer.
    pub fn cell(&self) -> &Arc<TimerCell<T>> {
        &self.cell
    }
}

struct Heap<T> {
    entries: BinaryHeap<Entry<T>>,
    /// How many entries are stale (exact: counted under this lock).
    stale: usize,
    order: u64,
    /// The timer thread has been started.
    running: bool,
}

impl<T> Heap<T> {
    /// Enough stale entries to rebuild the heap without them: the rebuild
    /// is linear and removes at least half the entries, so it costs O(1)
    /// per stopped timer, and what stopped timers hold (a channel, a
    /// function and what it refers to) is freed soon after they stop, not
    /// at their old deadline.
    fn needs_compaction(&self) -> bool {
        self.stale > COMPACT_MIN && self.stale * 2 > self.entries.len()
    }
}

type Runner<T> = Box<dyn Fn(&Arc<Timers<T>>, Vec<Due<T>>) + Send + Sync>;

/// The heap of every timer and the one thread that fires them.
pub struct Timers<T> {
    heap: std::sync::Mutex<Heap<T>>,
    cv: Condvar,
    runner: Runner<T>,
    thread_name: &'static str,
}

impl<T: Send + Sync + 'static> Timers<T> {
    /// A timer service whose thread (named `thread_name`, started on the
    /// first arming) hands batches of due timers to `runner`.
    pub fn new(
        thread_name: &'static str,
        runner: impl Fn(&Arc<Timers<T>>, Vec<Due<T>>) + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Timers {
            heap: std::sync::Mutex::new(Heap {
                entries: BinaryHeap::new(),
                stale: 0,
                order: 0,
                running: false,
            }),
            cv: Condvar::new(),
            runner: Box::new(runner),
            thread_name,
        })
    }

    /// The heap, locked (nothing panics under this lock, but a poisoned
    /// lock would still hold a consistent heap).
    fn heap(&self) -> MutexGuard<'_, Heap<T>> {
        self.heap.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Timers armed and not yet fired or stopped.
    pub fn pending(&self) -> usize {
        let h = self.heap();
        h.entries.len().saturating_sub(h.stale)
    }

    /// Invalidates the cell's current heap entry and returns the new
    /// sequence number. Called under the cell lock. The entry counts as
    /// stale only while it is still in the heap: one the thread already
    /// popped into a batch is not there to be skipped.
    fn bump(&self, cell: &TimerCell<T>) -> u64 {
        let mut h = self.heap();
        if cell.queued.swap(false, Ordering::Relaxed) {
            h.stale += 1;
            if h.needs_compaction() {
                // The thread may sleep until a far deadline: wake it to compact.
                self.cv.notify_one();
            }
        }
        cell.seq.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Pushes an entry (under the cell lock) and wakes or starts the thread.
    fn push(self: &Arc<Self>, cell: &Arc<TimerCell<T>>, seq: u64, when: Instant) -> io::Result<()> {
        let mut h = self.heap();
        let order = h.order;
        h.order += 1;
        let earliest = h.entries.peek().is_none_or(|top| when < top.when);
        h.entries.push(Entry {
            when,
            order,
            seq,
            cell: cell.clone(),
        });
        cell.queued.store(true, Ordering::Relaxed);
        if !h.running {
            let me = self.clone();
            std::thread::Builder::new()
                .name(self.thread_name.to_string())
                .spawn(move || me.run())?;
            h.running = true;
        } else if earliest {
            self.cv.notify_one();
        }
        Ok(())
    }

    /// Arms (or re-arms) `cell` to fire after `delay`, then every `period`
    /// if one is given. `under_lock` runs under the cell's lock once the
    /// previous arming has been cancelled (to take back a value delivered
    /// but not received). Returns whether the timer was armed, and what
    /// `under_lock` returned. An error means the timer thread could not be
    /// started (the timer stays armed and fires once it is).
    pub fn reset<R>(
        self: &Arc<Self>,
        cell: &Arc<TimerCell<T>>,
        delay: Duration,
        period: Option<Duration>,
        under_lock: impl FnOnce(&T) -> R,
    ) -> io::Result<(bool, R)> {
        let mut st = cell.state.lock();
        let was_armed = st.when.is_some();
        let seq = self.bump(cell);
        let when = Instant::now() + delay.min(MAX_DELAY);
        st.when = Some(when);
        st.period = period;
        let r = under_lock(&cell.target);
        self.push(cell, seq, when)?;
        Ok((was_armed, r))
    }

    /// Disarms `cell`; `under_lock` runs under its lock afterwards. Returns
    /// whether it was armed, and what `under_lock` returned.
    pub fn stop<R>(&self, cell: &TimerCell<T>, under_lock: impl FnOnce(&T) -> R) -> (bool, R) {
        let mut st = cell.state.lock();
        let was_armed = st.when.take().is_some();
        st.period = None;
        self.bump(cell);
        (was_armed, under_lock(&cell.target))
    }

    /// Disarms `cell` and runs `f` under its lock as a firing would: a
    /// timer of zero delay fires at once, on the caller's thread. Returns
    /// whether it was armed, and what `f` returned.
    pub fn fire_now<R>(&self, cell: &TimerCell<T>, f: impl FnOnce(&T) -> R) -> (bool, R) {
        self.stop(cell, f)
    }

    /// Fires a due timer: runs `f` under the cell's lock, unless the timer
    /// was stopped or re-armed since it was popped (then `None`). A
    /// periodic timer is re-armed first, for the next period after now
    /// (ticks missed by a late thread are skipped, as Go does).
    pub fn fire<R>(self: &Arc<Self>, due: &Due<T>, f: impl FnOnce(&T) -> R) -> Option<R> {
        let cell = &due.cell;
        let mut st = cell.state.lock();
        if cell.seq.load(Ordering::Acquire) != due.seq || st.when != Some(due.when) {
            return None;
        }
        match st.period {
            Some(p) if !p.is_zero() => {
                let late = Instant::now().saturating_duration_since(due.when);
                let periods = late.as_nanos() / p.as_nanos() + 1;
                let step = p.as_nanos().saturating_mul(periods);
                let step = Duration::from_nanos(u64::try_from(step).unwrap_or(u64::MAX));
                let next = due.when + step.min(MAX_DELAY);
                st.when = Some(next);
                // The thread is running (it popped this entry), so pushing
                // cannot fail to start it.
                let _ = self.push(cell, due.seq, next);
            }
            _ => st.when = None,
        }
        Some(f(&cell.target))
    }

    /// The timer thread.
    fn run(self: Arc<Self>) {
        loop {
            let mut stale: Vec<Entry<T>> = Vec::new();
            let mut batch: Vec<Due<T>> = Vec::new();
            {
                let mut h = self.heap();
                loop {
                    if h.needs_compaction() {
                        break;
                    }
                    let now = Instant::now();
                    match h.entries.peek() {
                        None => {
                            h = self.cv.wait(h).unwrap_or_else(PoisonError::into_inner);
                        }
                        Some(top) if top.when > now => {
                            let dur = top.when - now;
                            h = self
                                .cv
                                .wait_timeout(h, dur)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0;
                        }
                        Some(_) => break,
                    }
                }
                let now = Instant::now();
                while batch.len() < MAX_BATCH {
                    if h.entries.peek().is_none_or(|top| top.when > now) {
                        break;
                    }
                    let Some(e) = h.entries.pop() else { break };
                    if e.is_stale() {
                        h.stale -= 1;
                        stale.push(e);
                    } else {
                        e.cell.queued.store(false, Ordering::Relaxed);
                        batch.push(Due {
                            cell: e.cell,
                            seq: e.seq,
                            when: e.when,
                        });
                    }
                }
                if h.needs_compaction() {
                    let (live, dead): (Vec<_>, Vec<_>) = std::mem::take(&mut h.entries)
                        .into_vec()
                        .into_iter()
                        .partition(|e| !e.is_stale());
                    h.entries = BinaryHeap::from(live);
                    h.stale = 0;
                    stale.extend(dead);
                }
            }
            // Outside the heap lock: a cell may own Python objects.
            drop(stale);
            if !batch.is_empty() {
                (self.runner)(&self, batch);
            }
        }
    }

    /// Before `fork()` (a `pthread_atfork` prepare handler: inside
    /// `fork()`, when no Python code runs any more on the forking thread):
    /// takes the heap lock, so that the child never inherits it held by a
    /// thread that does not exist there (the child's timers would hang).
    /// Whoever holds the lock never waits for anything but the lock, so
    /// this waits microseconds. Released by [`Timers::after_fork_in_parent`]
    /// or [`Timers::after_fork_in_child_handler`], on this thread.
    pub fn before_fork(&'static self) {
        let guard = self.heap();
        FORK_GUARD.with(|g| g.borrow_mut().push(Box::new(guard)));
    }

    /// In the parent after `fork()`: releases the heap lock.
    pub fn after_fork_in_parent(&'static self) {
        FORK_GUARD.with(|g| drop(g.borrow_mut().pop()));
    }

    /// In the child, inside `fork()`: the timer thread is gone; releases
    /// the heap lock. [`Timers::after_fork_in_child`] starts a new thread.
    pub fn after_fork_in_child_handler(&'static self) {
        if let Some(mut any) = FORK_GUARD.with(|g| g.borrow_mut().pop())
            && let Some(h) = any.downcast_mut::<MutexGuard<'static, Heap<T>>>()
        {
            h.running = false;
        }
    }

    /// In a forked child: the parent's timer thread is gone; start a new one
    /// if timers are pending (else on the next arming). An error if the heap
    /// lock is held (a fork that bypassed the fork handlers, made while
    /// another thread held it): the child's timers cannot run, and saying
    /// so beats hanging.
    pub fn after_fork_in_child(self: &Arc<Self>) -> io::Result<()> {
        let Ok(mut h) = self.heap.try_lock() else {
            return Err(io::Error::other(
                "the timer heap was locked by another thread at fork: \
                 timers cannot run in this child",
            ));
        };
        self.restart(&mut h);
        Ok(())
    }

    fn restart(self: &Arc<Self>, h: &mut Heap<T>) {
        h.running = false;
        if !h.entries.is_empty() {
            let me = self.clone();
            if std::thread::Builder::new()
                .name(self.thread_name.to_string())
                .spawn(move || me.run())
                .is_ok()
            {
                h.running = true;
            }
        }
    }
}

thread_local! {
    /// The heap guard held across a fork (see [`Timers::before_fork`]).
    static FORK_GUARD: std::cell::RefCell<Vec<Box<dyn std::any::Any>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(all(test, not(loom)))]
mod tests;
