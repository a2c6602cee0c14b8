//! The goroutine pool's job queue: workers that finish a job wait here for
//! the next one, and retire after idling; a submitter either reserves an
//! idle worker or is told to start a new one. A reservation is only made
//! against a worker that is idle, so a job never waits behind a goroutine
//! that blocks for ever.

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub struct JobQueue<J> {
    tx: Sender<J>,
    rx: Receiver<J>,
    /// Idle workers not yet reserved by a submitted job.
    idle: AtomicUsize,
}

impl<J> Default for JobQueue<J> {
    fn default() -> Self {
        Self::new()
    }
}

impl<J> JobQueue<J> {
    pub fn new() -> Self {
        let (tx, rx) = unbounded();
        JobQueue {
            tx,
            rx,
            idle: AtomicUsize::new(0),
        }
    }

    /// Hands `job` to an idle worker; `Err(job)` if none is idle, and the
    /// caller must start a new worker with it.
    pub fn submit(&self, job: J) -> Result<(), J> {
        let reserved = self
            .idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        if reserved.is_err() {
            return Err(job);
        }
        // The queue owns its receiver, so the channel is never disconnected.
        self.tx.send(job).map_err(|e| e.into_inner())
    }

    /// Called by a worker that finished its job: waits for the next one.
    /// `None` after `idle_timeout` without work (the worker retires).
    pub fn next(&self, idle_timeout: Duration) -> Option<J> {
        self.idle.fetch_add(1, Ordering::AcqRel);
        loop {
            match self.rx.recv_timeout(idle_timeout) {
                Ok(job) => return Some(job),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {
                    // Retire, unless every idle worker has been reserved:
                    // then a job is on its way to one of us.
                    let retired =
                        self.idle
                            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                                n.checked_sub(1)
                            });
                    if retired.is_ok() {
                        return None;
                    }
                }
            }
        }
    }

    /// Idle workers not reserved (for tests and statistics).
    pub fn idle(&self) -> usize {
        self.idle.load(Ordering::Acquire)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_reservation_takes_the_only_idle_worker() {
        let q: JobQueue<u32> = JobQueue::new();
        q.idle.store(1, Ordering::SeqCst); // one worker about to wait
        assert_eq!(q.submit(1), Ok(()));
        assert_eq!(q.submit(2), Err(2));
        assert_eq!(q.rx.try_recv(), Ok(1));
    }

    #[test]
    fn no_idle_worker_means_start_one() {
        let q: JobQueue<u32> = JobQueue::new();
        assert_eq!(q.submit(1), Err(1));
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
        assert_eq!(q.submit(7), Ok(()));
        assert_eq!(worker.join().unwrap(), vec![7]);
        assert_eq!(q.idle(), 0);
    }
}
