//! The goroutine pool's job queue, scheduled the way Go schedules
//! goroutines onto threads.
//!
//! A goroutine may block for ever, so a submitted job must never wait
//! behind one. Go runs goroutines on GOMAXPROCS threads and adds threads
//! only for goroutines blocked in system calls (its `sysmon` notices those).
//! Here every goroutine needs a thread of its own while it runs, so:
//! - a job goes to a worker that is idle *now*, unless `procs` jobs
//!   handed to idle workers have not begun to run yet (they wait for the
//!   GIL; see [`JobQueue::started`]); else
//! - it waits in the backlog, which every worker drains before idling and
//!   which goes on to idle workers as the woken ones begin or block; when
//!   no worker is idle, a new worker is started at once if fewer than
//!   `procs` workers are
//!   *runnable* (holding a job and not blocked in a gocurrent wait, which
//!   the binding reports through [`JobQueue::block`]) or starting: several
//!   may be starting at once (creating a thread takes tens of µs, so a
//!   burst of goroutines that all block, like Pike's daisy chain, gets its
//!   threads started side by side), and a new worker that finds the
//!   backlog still long asks for the next one under the same rule;
//! - a monitor (the binding's sysmon thread) calls [`JobQueue::monitor`]
//!   every millisecond while the backlog is not empty: if no backlog job
//!   was taken since its last look, the runnable workers are stuck (in a
//!   sleep, a socket, a long computation) and it starts one more worker.
//!
//! So a burst of short jobs runs on a few threads (no thread per job, no
//! GIL convoy), goroutines blocked on channels are replaced at once, and
//! goroutines blocked anywhere else within about a millisecond.
//!
//! An idle worker waits on a [`Waiter`] of its own, the project's one
//! waiter, so it waits by the same load-aware policy as every blocked
//! goroutine (`spin::wait_briefly`: a few yields only while a core is free,
//! then the futex). A job goes to the worker that idled last: its caches
//! are warm, and the ones idle longest retire. (crossbeam-channel carried
//! the jobs until its receivers' backoff, which yields whatever the load,
//! was found to hand the core to busy processes: each of the daisy chain's
//! finished links yielded while going idle, and one yield in ten or so gave
//! a busy process a whole time slice, 3-4 ms.) The backlog is a mutex'd
//! deque, which workers only ever try-take from, so that
//! `gocurrent.runtime` can list the jobs waiting in it
//! ([`JobQueue::queued`]).
//!
//! Its locks, atomics and `Arc` come from [`super::shim`], so that loom
//! model-checks the protocols above (`pool/loom_tests.rs`).

use super::shim::{Arc, AtomicU64, AtomicUsize, Mutex};
use super::waiter::Waiter;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

/// What the submitter must do after [`JobQueue::submit`].
#[derive(Debug, PartialEq, Eq)]
pub enum Submitted {
    /// An idle worker will run it.
    ToIdleWorker,
    /// Queued in the backlog; `start_worker`: start a new worker thread now
    /// (otherwise the workers drain it, watched by the monitor).
    Queued { start_worker: bool },
}

pub struct JobQueue<J> {
    /// Idle workers' waiters, the latest to idle at the back.
    idle: Mutex<VecDeque<Arc<Waiter<J>>>>,
    /// The idle list's length (updated under its lock, read without it).
    idle_len: AtomicUsize,
    /// Jobs that found no idle worker, oldest first.
    backlog: Mutex<VecDeque<J>>,
    /// The backlog's length (updated under its lock, read without it).
    queued: AtomicUsize,
    /// Idle workers handed a job that have not begun to run it yet (at
    /// most `procs`; see [`JobQueue::started`]).
    waking: AtomicUsize,
    /// New workers asked for that have not arrived yet (at most `procs`).
    starting: AtomicUsize,
    /// Workers holding a job, or about to (handed to an idle worker).
    running: AtomicUsize,
    /// Of those, the ones blocked in a gocurrent wait.
    blocked: AtomicUsize,
    /// Backlog jobs taken so far: the monitor's measure of progress.
    taken: AtomicU64,
    /// How many runnable workers to aim for (Go's GOMAXPROCS).
    procs: usize,
}

impl<J> Default for JobQueue<J> {
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

impl<J> JobQueue<J> {
    /// A queue aiming for `procs` runnable workers.
    pub fn new(procs: usize) -> Self {
        JobQueue {
            idle: Mutex::new(VecDeque::new()),
            idle_len: AtomicUsize::new(0),
            backlog: Mutex::new(VecDeque::new()),
            queued: AtomicUsize::new(0),
            waking: AtomicUsize::new(0),
            starting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            blocked: AtomicUsize::new(0),
            taken: AtomicU64::new(0),
            procs: procs.max(1),
        }
    }

    fn take_one(n: &AtomicUsize) -> bool {
        n.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// Queues a job in the backlog.
    fn push(&self, job: J) {
        let mut backlog = self.backlog.lock();
        backlog.push_back(job);
        self.queued.store(backlog.len(), SeqCst);
    }

    /// Takes the oldest backlog job, if any, without waiting (workers never
    /// wait on the backlog: an empty one is seen without the lock).
    fn try_take(&self) -> Option<J> {
        if self.queued.load(SeqCst) == 0 {
            return None;
        }
        let mut backlog = self.backlog.lock();
        let job = backlog.pop_front();
        self.queued.store(backlog.len(), SeqCst);
        job
    }

    fn backlog_empty(&self) -> bool {
        self.queued.load(SeqCst) == 0
    }

    fn runnable(&self) -> usize {
        self.running
            .load(SeqCst)
            .saturating_sub(self.blocked.load(SeqCst))
    }

    /// Claims the right to start a worker if the backlog is waiting and
    /// fewer than `procs` workers are runnable or starting (Go starts an M
    /// when a P is idle and no M is spinning), or, when the backlog
    /// `stalled`, none is starting.
    fn claim_start(&self, stalled: bool) -> bool {
        !self.backlog_empty()
            && self.idle_len.load(SeqCst) == 0
            && self
                .starting
                .fetch_update(SeqCst, SeqCst, |n| {
                    let wanted = self.runnable() + n < self.procs || (stalled && n == 0);
                    wanted.then_some(n + 1)
                })
                .is_ok()
    }

    fn took_from_backlog(&self) {
        self.running.fetch_add(1, SeqCst);
        self.taken.fetch_add(1, SeqCst);
    }

    /// Submits a job (see [`Submitted`]).
    pub fn submit(&self, job: J) -> Submitted {
        let Err(job) = self.hand_to_idle(job) else {
            return Submitted::ToIdleWorker;
        };
        self.push(job);
        // A worker may have gone idle, or a handed job begun, since
        // `hand_to_idle` looked, and looked at the backlog before the job
        // was in it: hand it on now, not when the monitor next looks (found
        // by loom; with no worker idle, one load).
        self.dispatch();
        Submitted::Queued {
            start_worker: self.claim_start(false),
        }
    }

    /// Hands `job` to the worker that idled last, unless none is idle or
    /// `procs` handed jobs are still waiting to run: a worker handed a job
    /// needs the GIL to run it, and waking more than that would only line
    /// threads up on the GIL (thousands of idle workers handed a daisy
    /// chain's links at once took the submitter 134 µs per `go`, which
    /// could hardly get the GIL back; Go likewise wakes another idle
    /// processor only while none is spinning). The rest waits in the
    /// backlog, for a worker that begins its job ([`JobQueue::started`]),
    /// blocks, or finishes.
    fn hand_to_idle(&self, mut job: J) -> Result<(), J> {
        // No idle worker (a burst of `go` on busy workers): no lock, no
        // read-modify-write.
        if self.idle_len.load(SeqCst) == 0 || !Self::take_below(&self.waking, self.procs) {
            return Err(job);
        }
        while let Some(worker) = self.pop_idle() {
            // Counted before the hand-off: the worker may run the job and
            // count it finished before `complete` returns here.
            self.running.fetch_add(1, SeqCst);
            match worker.complete(job) {
                Ok(()) => {
                    worker.wake();
                    return Ok(());
                }
                // It timed out and is retiring (or did not survive a fork).
                Err(back) => {
                    self.running.fetch_sub(1, SeqCst);
                    job = back;
                }
            }
        }
        self.waking.fetch_sub(1, SeqCst);
        Err(job)
    }

    /// Counts one more in `n` if it is below `max`.
    fn take_below(n: &AtomicUsize, max: usize) -> bool {
        n.fetch_update(SeqCst, SeqCst, |n| (n < max).then_some(n + 1))
            .is_ok()
    }

    /// Hands backlog jobs to idle workers while fewer than `procs` handed
    /// jobs wait to run. The idle list first: it is empty whenever the
    /// workers are all busy, when `submit` queues a job.
    fn dispatch(&self) {
        while self.idle_len.load(SeqCst) > 0
            && !self.backlog_empty()
            && self.waking.load(SeqCst) < self.procs
        {
            let Some(job) = self.try_take() else { return };
            if let Err(job) = self.hand_to_idle(job) {
                // Raced away meanwhile: put it back at the front, where it
                // is still the oldest, and look again: a worker that went
                // idle meanwhile may have found the backlog empty while the
                // job was out of it (found by loom).
                let mut backlog = self.backlog.lock();
                backlog.push_front(job);
                self.queued.store(backlog.len(), SeqCst);
                continue;
            }
            self.taken.fetch_add(1, SeqCst);
        }
    }

    /// Called by a worker handed a job (see [`JobQueue::next`]) once it
    /// holds what it needs to run it (the binding: the GIL): the next idle
    /// worker may be woken for the backlog.
    pub fn started(&self) {
        self.waking.fetch_sub(1, SeqCst);
        self.dispatch();
    }

    /// Called by a new worker first: it has arrived. Returns a backlog job
    /// if there is one, and whether yet another worker should start.
    pub fn arrive(&self) -> (Option<J>, bool) {
        Self::take_one(&self.starting);
        let job = self.try_take();
        if job.is_some() {
            self.took_from_backlog();
        }
        let more = self.claim_start(false);
        (job, more)
    }

    /// Called by a worker that finished its job (`finished`), or arrived
    /// without one: the next job, or `None` after `idle_timeout` without
    /// work (the worker retires). With the job, whether it was handed to
    /// this worker while idle: then the worker calls [`JobQueue::started`]
    /// once it can run it.
    pub fn next(&self, finished: bool, idle_timeout: Duration) -> Option<(J, bool)> {
        self.next_with(finished, Waiter::for_current_thread, |me| {
            me.park(Some(Instant::now() + idle_timeout))
        })
    }

    /// [`JobQueue::next`], the idle worker's waiter made by `waiter` and
    /// waited on by `park` (`None`: the idle timeout passed). Only the loom
    /// models pass others: a waiter that wakes a loom thread, and a wait
    /// whose timeout fires when the model says so (loom models no time).
    #[inline(always)]
    fn next_with(
        &self,
        finished: bool,
        mut waiter: impl FnMut() -> Arc<Waiter<J>>,
        mut park: impl FnMut(&Waiter<J>) -> Option<J>,
    ) -> Option<(J, bool)> {
        if finished {
            self.running.fetch_sub(1, SeqCst);
        }
        loop {
            if let Some(job) = self.try_take() {
                self.took_from_backlog();
                return Some((job, false));
            }
            let me = waiter();
            self.push_idle(me.clone());
            // A job may have entered the backlog just before we became
            // idle: take it back unless a submitter handed us one meanwhile.
            if !self.backlog_empty() && self.leave_idle(&me) {
                continue;
            }
            if let Some(job) = park(&me) {
                return Some((job, true));
            }
            // Timed out: retire, unless a job was handed over meanwhile.
            return if self.leave_idle(&me) {
                None
            } else {
                me.take().map(|job| (job, true))
            };
        }
    }

    /// The idle worker that idled last, taken off the idle list.
    fn pop_idle(&self) -> Option<Arc<Waiter<J>>> {
        let mut idle = self.idle.lock();
        let worker = idle.pop_back();
        self.idle_len.store(idle.len(), SeqCst);
        worker
    }

    /// Puts an idle worker's waiter on the idle list.
    fn push_idle(&self, worker: Arc<Waiter<J>>) {
        let mut idle = self.idle.lock();
        idle.push_back(worker);
        self.idle_len.store(idle.len(), SeqCst);
    }

    /// An idle worker stops being idle by itself. True if no job was handed
    /// to it (it is off the list); false if one was (take it).
    fn leave_idle(&self, me: &Arc<Waiter<J>>) -> bool {
        let mut idle = self.idle.lock();
        if !me.withdraw() {
            return false;
        }
        // The ones idle longest time out first: they are at the front.
        if let Some(i) = idle.iter().position(|w| Arc::ptr_eq(w, me)) {
            idle.remove(i);
            self.idle_len.store(idle.len(), SeqCst);
        }
        true
    }

    /// A worker holding a job blocks in a gocurrent wait (`true`) or comes
    /// back from it (`false`). Returns whether a worker should start now
    /// (the caller then starts one, or has the monitor start one).
    pub fn block(&self, blocked: bool) -> bool {
        if blocked {
            self.blocked.fetch_add(1, SeqCst);
            self.dispatch();
            self.claim_start(false)
        } else {
            self.blocked.fetch_sub(1, SeqCst);
            false
        }
    }

    /// The monitor's look, every millisecond or so: whether to start a
    /// worker because the backlog made no progress since `last_taken`
    /// (updated), or because too few workers are runnable.
    pub fn monitor(&self, last_taken: &mut u64) -> bool {
        let taken = self.taken.load(SeqCst);
        let stalled = taken == *last_taken;
        *last_taken = taken;
        self.dispatch();
        self.claim_start(stalled)
    }

    /// A start claimed by [`JobQueue::submit`], [`JobQueue::arrive`],
    /// [`JobQueue::block`] or [`JobQueue::monitor`] that did not happen.
    pub fn start_failed(&self) {
        Self::take_one(&self.starting);
    }

    /// True when jobs wait for a worker.
    pub fn backlogged(&self) -> bool {
        !self.backlog_empty()
    }

    /// `f` of each job waiting in the backlog, oldest first: a snapshot
    /// (taken under the backlog's lock, which `f` must not block in).
    pub fn queued<R>(&self, f: impl FnMut(&J) -> R) -> Vec<R> {
        self.backlog.lock().iter().map(f).collect()
    }

    /// Jobs submitted and not finished: waiting for a worker, or held by
    /// one (Go's count of goroutines).
    pub fn jobs(&self) -> usize {
        self.running.load(SeqCst) + self.queued.load(SeqCst)
    }

    /// True while a worker asked for has not arrived yet.
    pub fn starting(&self) -> bool {
        self.starting.load(SeqCst) > 0
    }

    /// Idle workers no job was handed to (for tests and statistics).
    pub fn idle(&self) -> usize {
        self.idle_len.load(SeqCst)
    }
}

#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// An idle worker's waiter on the idle list, as [`JobQueue::next`] leaves it.
    fn idle_worker(q: &JobQueue<u32>) -> Arc<Waiter<u32>> {
        let w = Waiter::for_current_thread();
        q.push_idle(w.clone());
        w
    }

    #[test]
    fn a_reservation_takes_the_only_idle_worker() {
        let q: JobQueue<u32> = JobQueue::new(2);
        let worker = idle_worker(&q); // one worker about to wait
        assert_eq!(q.submit(1), Submitted::ToIdleWorker);
        assert_eq!(q.submit(2), Submitted::Queued { start_worker: true });
        assert_eq!(worker.take(), Some(1));
        assert_eq!((q.idle(), q.jobs()), (0, 2));
    }

    #[test]
    fn a_job_skips_an_idle_worker_that_is_retiring() {
        let q: JobQueue<u32> = JobQueue::new(2);
        let older = idle_worker(&q);
        let retiring = idle_worker(&q);
        // Timed out, not yet off the list: a job must not be handed to it.
        assert!(retiring.withdraw());
        assert_eq!(q.submit(1), Submitted::ToIdleWorker);
        assert_eq!((older.take(), retiring.take()), (Some(1), None));
        assert_eq!(q.submit(2), Submitted::Queued { start_worker: true });
        assert_eq!((q.idle(), q.jobs()), (0, 2));
    }

    #[test]
    fn at_most_procs_handed_jobs_wait_to_run() {
        let q: JobQueue<u32> = JobQueue::new(2);
        let workers: Vec<_> = (0..4).map(|_| idle_worker(&q)).collect();
        assert_eq!(q.submit(1), Submitted::ToIdleWorker);
        assert_eq!(q.submit(2), Submitted::ToIdleWorker);
        // Two handed jobs wait for the GIL: the third waits in the backlog,
        // and no thread starts while workers are idle.
        assert_eq!(
            q.submit(3),
            Submitted::Queued {
                start_worker: false
            }
        );
        assert_eq!((q.idle(), q.jobs()), (2, 3));
        // The latest to idle got the first job.
        assert_eq!((workers[3].take(), workers[2].take()), (Some(1), Some(2)));
        // One begins its job: the backlog's job goes to the next idle worker.
        q.started();
        assert_eq!(workers[1].take(), Some(3));
        assert_eq!((q.idle(), q.jobs(), q.backlogged()), (1, 3, false));
        // Jobs 2 and 3 still wait to run: job 4 waits for one of them.
        assert_eq!(
            q.submit(4),
            Submitted::Queued {
                start_worker: false
            }
        );
        q.started();
        assert_eq!(workers[0].take(), Some(4));
        assert_eq!((q.idle(), q.jobs()), (0, 4));
    }

    #[test]
    fn workers_start_while_fewer_than_procs_are_runnable() {
        let q: JobQueue<u32> = JobQueue::new(2);
        assert_eq!(q.submit(1), Submitted::Queued { start_worker: true });
        // Up to procs starts at a time.
        assert_eq!(q.submit(2), Submitted::Queued { start_worker: true });
        assert_eq!(
            q.submit(3),
            Submitted::Queued {
                start_worker: false
            }
        );
        // The first worker takes job 1; one runnable and one starting.
        assert_eq!(q.arrive(), (Some(1), false));
        // The second takes job 2: two runnable, enough; job 3 waits.
        assert_eq!(q.arrive(), (Some(2), false));
        assert_eq!(
            q.submit(4),
            Submitted::Queued {
                start_worker: false
            }
        );
        // A worker that blocks in a gocurrent wait is replaced at once.
        assert!(q.block(true));
        assert_eq!(q.arrive(), (Some(3), false));
        assert!(!q.block(false));
        // Finishing workers drain the backlog before idling.
        assert_eq!(q.next(true, Duration::from_millis(1)), Some((4, false)));
    }

    #[test]
    fn the_monitor_starts_a_worker_when_the_backlog_stalls() {
        let q: JobQueue<u32> = JobQueue::new(1);
        assert_eq!(q.submit(1), Submitted::Queued { start_worker: true });
        assert_eq!(q.arrive(), (Some(1), false));
        assert_eq!(
            q.submit(2),
            Submitted::Queued {
                start_worker: false
            }
        );
        let mut last = 0;
        // Progress since the last look (job 1 was taken): no start.
        assert!(!q.monitor(&mut last));
        // No progress since: the runnable worker is stuck.
        assert!(q.monitor(&mut last));
        // Already starting: not twice.
        assert!(!q.monitor(&mut last));
        q.start_failed();
        assert!(q.monitor(&mut last));
        assert_eq!(q.arrive(), (Some(2), false));
        // Nothing waits: nothing to start.
        assert!(!q.monitor(&mut last));
    }

    #[test]
    fn the_backlog_is_listed_oldest_first() {
        let q: JobQueue<u32> = JobQueue::new(1);
        assert!(q.queued(|j| *j).is_empty());
        assert_eq!(q.submit(1), Submitted::Queued { start_worker: true });
        for j in 2..=3 {
            assert_eq!(
                q.submit(j),
                Submitted::Queued {
                    start_worker: false
                }
            );
        }
        assert_eq!(q.queued(|j| *j), vec![1, 2, 3]);
        assert_eq!(q.jobs(), 3);
        // A job taken leaves the listing and is counted as running.
        assert_eq!(q.arrive(), (Some(1), false));
        assert_eq!(q.queued(|j| *j), vec![2, 3]);
        assert_eq!(q.jobs(), 3);
        assert_eq!(q.next(true, Duration::from_millis(1)), Some((2, false)));
        assert_eq!(q.next(true, Duration::from_millis(1)), Some((3, false)));
        assert!(q.queued(|j| *j).is_empty() && !q.backlogged());
        assert_eq!(q.jobs(), 1);
        // A job handed to a reserved idle worker is never in the backlog.
        let _worker = idle_worker(&q);
        assert_eq!(q.submit(4), Submitted::ToIdleWorker);
        assert!(q.queued(|j| *j).is_empty());
        assert_eq!(q.jobs(), 2);
    }

    #[test]
    fn snapshots_while_workers_drain_list_each_job_once_in_order() {
        const JOBS: u32 = 20_000;
        let q: Arc<JobQueue<u32>> = Arc::new(JobQueue::new(2));
        let done = Arc::new(AtomicUsize::new(0));
        let taken: Vec<_> = (0..2)
            .map(|_| {
                let (q, done) = (q.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut got = vec![];
                    // A worker that idles out comes back until every job ran.
                    while done.load(SeqCst) < JOBS as usize {
                        let mut finished = false;
                        while let Some((j, handed)) = q.next(finished, Duration::from_millis(20)) {
                            if handed {
                                q.started();
                            }
                            got.push(j);
                            done.fetch_add(1, SeqCst);
                            finished = true;
                        }
                    }
                    got
                })
            })
            .collect();
        let submitter = {
            let q = q.clone();
            std::thread::spawn(move || {
                for j in 0..JOBS {
                    q.submit(j);
                }
            })
        };
        let mut snapshots = 0;
        while !submitter.is_finished() || q.backlogged() {
            let listed = q.queued(|j| *j);
            assert!(listed.windows(2).all(|w| w[0] < w[1]), "{listed:?}");
            snapshots += 1;
        }
        submitter.join().unwrap();
        let mut all: Vec<u32> = taken.into_iter().flat_map(|t| t.join().unwrap()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..JOBS).collect::<Vec<_>>());
        assert!(snapshots > 0);
    }

    #[test]
    fn idle_worker_takes_job_and_retires() {
        let q: Arc<JobQueue<u32>> = Arc::new(JobQueue::new(2));
        let q2 = q.clone();
        let worker = std::thread::spawn(move || {
            let mut got = vec![];
            let mut finished = false;
            while let Some((j, handed)) = q2.next(finished, Duration::from_millis(200)) {
                if handed {
                    q2.started();
                }
                got.push(j);
                finished = true;
            }
            got
        });
        while q.idle() == 0 {
            std::thread::yield_now();
        }
        assert_eq!(q.submit(7), Submitted::ToIdleWorker);
        assert_eq!(worker.join().unwrap(), vec![7]);
        assert_eq!(q.idle(), 0);
        assert_eq!(q.runnable(), 0);
    }
}
