//! The goroutine pool's job queue.
//!
//! A goroutine may block for ever, so a submitted job must never wait
//! behind one: it either goes to a worker that is idle *now* (reserved, so
//! two jobs never count on the same idle worker), or into the backlog with
//! a new worker on its way. At most one new worker is starting at a time;
//! a new worker that finds the backlog still non-empty asks for the next
//! one, so a burst of jobs grows the pool at thread-start speed while the
//! busy workers drain the backlog too, instead of starting a thread per
//! job. Workers retire after idling.
//!
//! crossbeam-channel carries the jobs; only the accounting is ours.

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

/// What the submitter must do after [`JobQueue::submit`].
#[derive(Debug, PartialEq, Eq)]
pub enum Submitted {
    /// An idle worker will run it.
    ToIdleWorker,
    /// Queued in the backlog; `start_worker`: start a new worker thread.
    Queued { start_worker: bool },
}

pub struct JobQueue<J> {
    /// Jobs handed to reserved idle workers.
    direct: (Sender<J>, Receiver<J>),
    /// Jobs that found no idle worker.
    backlog: (Sender<J>, Receiver<J>),
    /// Idle workers not yet reserved by a submitted job.
    idle: AtomicUsize,
    /// A new worker has been asked for and has not arrived yet.
    starting: AtomicBool,
}

impl<J> Default for JobQueue<J> {
    fn default() -> Self {
        Self::new()
    }
}

impl<J> JobQueue<J> {
    pub fn new() -> Self {
        JobQueue {
            direct: unbounded(),
            backlog: unbounded(),
            idle: AtomicUsize::new(0),
            starting: AtomicBool::new(false),
        }
    }

    fn take_one(n: &AtomicUsize) -> bool {
        n.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// Submits a job (see [`Submitted`]).
    pub fn submit(&self, job: J) -> Submitted {
        if Self::take_one(&self.idle) {
            // The queue owns both ends, so sending cannot fail.
            let _ = self.direct.0.send(job);
            return Submitted::ToIdleWorker;
        }
        let _ = self.backlog.0.send(job);
        Submitted::Queued {
            start_worker: !self.starting.swap(true, SeqCst),
        }
    }

    /// Called by a new worker before its first [`JobQueue::next`]: it has
    /// arrived. Returns a backlog job if there is one, and whether yet
    /// another worker should start (the backlog is still not empty).
    pub fn arrive(&self) -> (Option<J>, bool) {
        self.starting.store(false, SeqCst);
        let job = self.backlog.1.try_recv().ok();
        let more = job.is_some() && !self.backlog.1.is_empty() && !self.starting.swap(true, SeqCst);
        (job, more)
    }

    /// Called by a worker that finished a job: the next one, or `None`
    /// after `idle_timeout` without work (the worker retires).
    pub fn next(&self, idle_timeout: Duration) -> Option<J> {
        loop {
            if let Ok(job) = self.backlog.1.try_recv() {
                return Some(job);
            }
            self.idle.fetch_add(1, SeqCst);
            // A job may have entered the backlog just before we became idle:
            // take it back unless a submitter reserved us meanwhile.
            if !self.backlog.1.is_empty() && Self::take_one(&self.idle) {
                continue;
            }
            loop {
                match self.direct.1.recv_timeout(idle_timeout) {
                    Ok(job) => return Some(job),
                    Err(RecvTimeoutError::Disconnected) => return None,
                    // Retire, unless every idle worker has been reserved:
                    // then a job is on its way to one of us.
                    Err(RecvTimeoutError::Timeout) => {
                        if Self::take_one(&self.idle) {
                            return None;
                        }
                    }
                }
            }
        }
    }

    /// Idle workers not reserved (for tests and statistics).
    pub fn idle(&self) -> usize {
        self.idle.load(SeqCst)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_reservation_takes_the_only_idle_worker() {
        let q: JobQueue<u32> = JobQueue::new();
        q.idle.store(1, SeqCst); // one worker about to wait
        assert_eq!(q.submit(1), Submitted::ToIdleWorker);
        assert_eq!(q.submit(2), Submitted::Queued { start_worker: true });
        assert_eq!(q.direct.1.try_recv(), Ok(1));
    }

    #[test]
    fn one_worker_starts_at_a_time_and_chains_while_backlogged() {
        let q: JobQueue<u32> = JobQueue::new();
        assert_eq!(q.submit(1), Submitted::Queued { start_worker: true });
        assert_eq!(
            q.submit(2),
            Submitted::Queued {
                start_worker: false
            }
        );
        assert_eq!(
            q.submit(3),
            Submitted::Queued {
                start_worker: false
            }
        );
        // The new worker takes job 1 and, the backlog being non-empty, asks
        // for one more worker.
        assert_eq!(q.arrive(), (Some(1), true));
        assert_eq!(q.arrive(), (Some(2), true));
        assert_eq!(q.arrive(), (Some(3), false));
        assert_eq!(q.arrive(), (None, false));
    }

    #[test]
    fn idle_worker_takes_job_and_retires() {
        let q: Arc<JobQueue<u32>> = Arc::new(JobQueue::new());
        let q2 = q.clone();
        let worker = std::thread::spawn(move || {
            let mut got = vec![];
            while let Some(j) = q2.next(Duration::from_millis(200)) {
                got.push(j);
            }
            got
        });
        while q.idle() == 0 {
            std::thread::yield_now();
        }
        assert_eq!(q.submit(7), Submitted::ToIdleWorker);
        assert_eq!(worker.join().unwrap(), vec![7]);
        assert_eq!(q.idle(), 0);
    }

    #[test]
    fn busy_workers_drain_the_backlog() {
        let q: JobQueue<u32> = JobQueue::new();
        for i in 0..3 {
            q.submit(i);
        }
        // A worker finishing a job takes backlog work before idling.
        assert_eq!(q.next(Duration::from_millis(1)), Some(0));
        assert_eq!(q.next(Duration::from_millis(1)), Some(1));
        assert_eq!(q.next(Duration::from_millis(1)), Some(2));
        assert_eq!(q.next(Duration::from_millis(1)), None);
        assert_eq!(q.idle(), 0);
    }
}
