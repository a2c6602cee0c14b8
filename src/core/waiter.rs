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
//!
//! `os.fork()`: a waiter belongs to the thread that created it (it parks
//! that thread, or resolves a future of that thread's event loop). In a
//! forked child only the thread that called `fork` lives on, but the
//! parent's other threads may have left waiters in the queues of the
//! channels (mutexes...) that the child inherits. Handing a value or a lock
//! to such a dead waiter would lose it, so the fork hook calls
//! [`after_fork_in_child`], and from then on a waiter of a thread that did
//! not survive the fork is *stale*: [`Waiter::claim`] refuses it (as if it
//! had been withdrawn) and the primitives discard it like any other
//! withdrawn entry. The check is one relaxed atomic load on the fast path.

use super::shim::{Arc, Mutex, MutexGuard};
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed, Ordering::Release};
use std::time::{Duration, Instant};

// Fork bookkeeping. These are plain std atomics even under loom: they only
// change in a forked child, before it starts any thread (so Relaxed is
// enough: thread creation orders the stores before the new thread's loads).

/// Bumped by every fork (in the child).
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The token of the thread that survived the latest fork (0: no fork yet).
static SURVIVOR: AtomicU64 = AtomicU64::new(0);
/// The oldest generation whose waiters of [`SURVIVOR`] are still alive: the
/// survivor may have survived several forks in a row.
static SURVIVOR_SINCE: AtomicU64 = AtomicU64::new(0);
static NEXT_THREAD_TOKEN: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD_TOKEN: Cell<u64> = const { Cell::new(0) };
}

/// A process-unique number for the calling thread (never 0). A forked
/// child's surviving thread keeps its token (thread-locals are copied).
fn thread_token() -> u64 {
    THREAD_TOKEN.with(|t| {
        if t.get() == 0 {
            t.set(NEXT_THREAD_TOKEN.fetch_add(1, Relaxed));
        }
        t.get()
    })
}

/// Where the process stands in its history of forks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Epoch {
    generation: u64,
    survivor: u64,
    survivor_since: u64,
}

impl Epoch {
    fn now() -> Epoch {
        Epoch {
            generation: GENERATION.load(Relaxed),
            survivor: SURVIVOR.load(Relaxed),
            survivor_since: SURVIVOR_SINCE.load(Relaxed),
        }
    }

    /// The epoch of a child forked by thread `survivor`. The threads alive
    /// before the fork were created in this generation, except the previous
    /// survivor: if that is `survivor` again, its older waiters stay alive.
    fn after_fork(self, survivor: u64) -> Epoch {
        let survivor_since = if survivor == self.survivor {
            self.survivor_since
        } else {
            self.generation
        };
        Epoch {
            generation: self.generation + 1,
            survivor,
            survivor_since,
        }
    }

    /// Whether a waiter made by `thread` in `generation` is still alive.
    fn alive(self, generation: u64, thread: u64) -> bool {
        generation == self.generation
            || (thread == self.survivor && generation >= self.survivor_since)
    }
}

/// How many forks this process descends through: bumped in every forked
/// child by [`after_fork_in_child`].
pub fn fork_generation() -> u64 {
    GENERATION.load(Relaxed)
}

/// Called in a forked child, on the thread that called `fork`, before any
/// other thread starts: every waiter of another thread becomes stale.
pub fn after_fork_in_child() {
    let next = Epoch::now().after_fork(thread_token());
    SURVIVOR.store(next.survivor, Relaxed);
    SURVIVOR_SINCE.store(next.survivor_since, Relaxed);
    GENERATION.store(next.generation, Relaxed);
}

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
    /// Set (under the slot's lock) when the waiter is completed: what a
    /// spinning [`Waiter::park`] watches, without taking the lock. A plain
    /// std atomic also under loom: the models never spin.
    ready: AtomicBool,
    wake: Wake,
    /// The fork generation and the thread that created the waiter (see the
    /// module docs on `os.fork()`).
    generation: u64,
    thread: u64,
    /// When a thread's waiter was made (it began to wait), stamped only
    /// while the machine is taken to be busy (`spin::exchange_stamp`);
    /// None otherwise and for waiters that call back.
    since: Option<Instant>,
    /// The CPU of the thread that woke this one in an exchange on a busy
    /// machine ([`Deferred::wake_now_from_here`]), [`NO_CPU`] otherwise:
    /// where the woken thread should run (`spin::move_next_to`). A plain
    /// std atomic also under loom: the models never move a thread.
    woken_from: AtomicU32,
}

/// [`Waiter::woken_from`]'s "no CPU".
const NO_CPU: u32 = u32::MAX;

impl<R> Waiter<R> {
    /// A new waiter in the waiting state, belonging to the calling thread
    /// (`wake` must wake this thread or its event loop: after a fork the
    /// waiter is alive only if this thread is).
    pub fn new(wake: Wake) -> Arc<Self> {
        #[cfg(not(loom))]
        let since = match wake {
            Wake::Thread(_) => super::spin::exchange_stamp(),
            Wake::Callback(_) => None,
        };
        #[cfg(loom)]
        let since = None;
        Self::made(wake, since)
    }

    fn made(wake: Wake, since: Option<Instant>) -> Arc<Self> {
        Arc::new(Waiter {
            slot: Mutex::new(Slot::Waiting),
            ready: AtomicBool::new(false),
            wake,
            generation: GENERATION.load(Relaxed),
            thread: thread_token(),
            since,
            woken_from: AtomicU32::new(NO_CPU),
        })
    }

    /// False if the waiter's thread did not survive an `os.fork()` that
    /// happened since the waiter was made (in the child nobody will ever
    /// take its result).
    fn alive(&self) -> bool {
        // Fast path: no fork since the waiter was made.
        self.generation == GENERATION.load(Relaxed)
            || Epoch::now().alive(self.generation, self.thread)
    }

    /// A waiter that wakes the calling thread.
    pub fn for_current_thread() -> Arc<Self> {
        Self::new(Wake::Thread(std::thread::current()))
    }

    /// Claims the waiter for completion if it is still waiting: the returned
    /// [`Claim`] holds the waiter's slot until it is filled (or dropped,
    /// which leaves the waiter waiting). This lets a completer find out
    /// whether a waiter is live before it gives up the value it would hand it.
    /// A stale waiter (of a thread that did not survive a fork) is never
    /// claimed; its slot is not even locked (a dead thread may hold it).
    pub fn claim(&self) -> Option<Claim<'_, R>> {
        if !self.alive() {
            return None;
        }
        let slot = self.slot.lock();
        matches!(*slot, Slot::Waiting).then_some(Claim {
            slot,
            ready: &self.ready,
        })
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

    /// True while nobody has completed or aborted the waiter (and it is
    /// not stale).
    pub fn is_waiting(&self) -> bool {
        self.alive() && matches!(*self.slot.lock(), Slot::Waiting)
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
    /// How it waits (a few yields while the machine has a free core, then
    /// the futex) is `spin::wait_briefly`'s policy.
    pub fn park(&self, deadline: Option<Instant>) -> Option<R> {
        #[cfg(not(loom))]
        if super::spin::wait_briefly(
            || self.ready.load(std::sync::atomic::Ordering::Acquire),
            deadline,
        ) {
            return self.take();
        }
        loop {
            if let Some(r) = self.take() {
                #[cfg(not(loom))]
                self.join_partner();
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

    /// After a sleep that an exchange's partner ended: run on the partner's
    /// CPU if it woke this thread from another (`spin::move_next_to` says
    /// why and when).
    #[cfg(not(loom))]
    fn join_partner(&self) {
        let cpu = self.woken_from.load(Relaxed);
        if cpu != NO_CPU {
            super::spin::move_next_to(cpu);
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
    ready: &'a AtomicBool,
}

impl<R> Claim<'_, R> {
    /// Completes the claimed waiter with `result`.
    pub fn fill(mut self, result: R) {
        *self.slot = Slot::Done(result);
        self.ready.store(true, Release);
    }
}

/// Work that must wait until the caller's locks are released: waking
/// completed waiters and dropping values. Declare it *before* taking a lock
/// guard, so that it drops (and runs) after the guard.
pub struct Deferred<W: Wakeable, T> {
    wakes: Vec<Arc<W>>,
    trash: Vec<T>,
}

/// The deferred work of a primitive whose waiters are completed with `R`
/// (and that drops values of type `T`): the one name every module uses.
pub type Defer<R, T = ()> = Deferred<Waiter<R>, T>;

/// Anything that [`Deferred`] can wake.
pub trait Wakeable {
    fn wake_up(&self);
    /// When the thread that waking it unparks began to wait; None if waking
    /// it does something else (calls back into an event loop).
    fn thread_waiting_since(&self) -> Option<Instant> {
        None
    }
    /// Tells it the CPU that wakes it (before [`Wakeable::wake_up`]).
    fn woken_from(&self, _cpu: u32) {}
}

impl<R> Wakeable for Waiter<R> {
    fn wake_up(&self) {
        self.wake();
    }
    fn thread_waiting_since(&self) -> Option<Instant> {
        self.since
    }
    fn woken_from(&self, cpu: u32) {
        if let Wake::Thread(_) = self.wake {
            self.woken_from.store(cpu, Relaxed);
        }
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
    /// True if there are wakes to do.
    pub fn has_wakes(&self) -> bool {
        !self.wakes.is_empty()
    }
    /// True if there are wakes to do and each unparks a thread that began
    /// to wait less than `within` ago.
    pub fn wakes_threads_waiting_within(&self, within: Duration) -> bool {
        self.has_wakes()
            && self.wakes.iter().all(|w| {
                w.thread_waiting_since()
                    .is_some_and(|since| since.elapsed() < within)
            })
    }
    /// Does the wakes now, each woken thread told the CPU that wakes it:
    /// for an exchange whose partner should run first
    /// (`spin::partner_runs_first`), which then runs next to the waker
    /// (`spin::move_next_to`).
    pub fn wake_now_from_here(&mut self) {
        #[cfg(not(loom))]
        if let Some(cpu) = super::spin::current_cpu() {
            for w in &self.wakes {
                w.woken_from(cpu);
            }
        }
        self.wake_now();
    }
    /// Does the wakes now, not at drop (the values are still dropped then).
    pub fn wake_now(&mut self) {
        for w in self.wakes.drain(..) {
            w.wake_up();
        }
    }
}

impl<W: Wakeable, T> Default for Deferred<W, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: Wakeable, T> Drop for Deferred<W, T> {
    fn drop(&mut self) {
        self.wake_now();
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
    fn fork_epochs_keep_only_the_survivors_waiters() {
        let (a, b, c) = (1, 2, 3);
        let e0 = Epoch {
            generation: 0,
            survivor: 0,
            survivor_since: 0,
        };
        assert!(e0.alive(0, a) && e0.alive(0, b));
        // a forks: b's waiters die, a's live on.
        let e1 = e0.after_fork(a);
        assert!(e1.alive(0, a) && !e1.alive(0, b) && e1.alive(1, c));
        // a forks again: its generation-0 waiters are still alive.
        let e2 = e1.after_fork(a);
        assert!(e2.alive(0, a) && e2.alive(1, a) && !e2.alive(1, c));
        // c (born in generation 2) forks: a's waiters die now.
        let e3 = e2.after_fork(c);
        assert!(!e3.alive(0, a) && !e3.alive(2, a) && e3.alive(2, c) && e3.alive(3, a));
    }

    #[test]
    fn thread_tokens_are_distinct() {
        let here = thread_token();
        assert_eq!(here, thread_token());
        let there = std::thread::spawn(thread_token).join().unwrap();
        assert_ne!(here, there);
        assert_ne!(here, 0);
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

    #[test]
    fn an_exchange_is_a_wake_of_threads_that_began_to_wait_within_the_bound() {
        let hour = Duration::from_secs(3600);
        let mut d: Defer<u32> = Deferred::new();
        assert!(!d.has_wakes());
        assert!(!d.wakes_threads_waiting_within(hour));
        // A thread's waiter stamped as on a busy machine.
        let here = Wake::Thread(std::thread::current());
        d.wake(Waiter::made(here, Some(Instant::now())));
        assert!(d.has_wakes());
        assert!(d.wakes_threads_waiting_within(hour));
        std::thread::sleep(Duration::from_millis(2));
        assert!(!d.wakes_threads_waiting_within(Duration::from_millis(1)));
        // Woken as an exchange's partner, a thread's waiter is told the
        // waker's CPU (where it then runs: spin::move_next_to).
        let thread_waiter = Waiter::<u32>::made(Wake::Thread(std::thread::current()), None);
        let mut from_here: Defer<u32> = Deferred::new();
        from_here.wake(thread_waiter.clone());
        from_here.wake_now_from_here();
        assert!(!from_here.has_wakes());
        let cpu = thread_waiter.woken_from.load(Relaxed);
        // (The thread may have moved since: only where it ran is known.)
        assert_eq!(cpu != NO_CPU, super::super::spin::current_cpu().is_some());
        std::thread::park_timeout(Duration::ZERO); // the unpark it left
        // A thread's waiter made on an idle machine carries no stamp.
        let mut idle: Defer<u32> = Deferred::new();
        idle.wake(Waiter::made(Wake::Thread(std::thread::current()), None));
        assert!(!idle.wakes_threads_waiting_within(hour));
        // A waiter that calls back (an event loop's) is never one.
        let (w_cb, woken) = counting();
        d.wake(w_cb.clone());
        assert!(!d.wakes_threads_waiting_within(hour));
        d.wake_now_from_here();
        assert!(!d.has_wakes());
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        drop(d);
        assert_eq!(woken.load(Ordering::SeqCst), 1, "woken again at drop");
        assert_eq!(
            w_cb.woken_from.load(Relaxed),
            NO_CPU,
            "a callback is told no CPU"
        );
        std::thread::park_timeout(Duration::ZERO); // the unpark it left
    }
}
