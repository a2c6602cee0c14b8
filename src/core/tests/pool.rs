//! The goroutine pool's job queue under load: every submitted job runs
//! exactly once, whether it reserved an idle worker or started a new one,
//! while workers retire after short idle timeouts.

use crate::core::pool::{JobQueue, Submitted};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

type Job = usize;

struct Pool {
    queue: JobQueue<Job>,
    runs: Vec<AtomicUsize>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    started: AtomicUsize,
    idle_timeout: Duration,
}

impl Pool {
    fn new(jobs: usize, idle_timeout: Duration) -> Arc<Pool> {
        Arc::new(Pool {
            queue: JobQueue::new(2),
            runs: (0..jobs).map(|_| AtomicUsize::new(0)).collect(),
            workers: Mutex::new(vec![]),
            started: AtomicUsize::new(0),
            idle_timeout,
        })
    }

    /// What `go` does: hand the job to an idle worker, else queue it and
    /// start a worker when the queue says so.
    fn submit(self: &Arc<Self>, job: Job) {
        if let Submitted::Queued { start_worker: true } = self.queue.submit(job) {
            self.start_worker();
        }
    }

    fn start_worker(self: &Arc<Self>) {
        self.started.fetch_add(1, Ordering::SeqCst);
        let pool = self.clone();
        let h = std::thread::spawn(move || pool.work());
        self.workers.lock().unwrap().push(h);
    }

    /// The worker loop of `_runtime.py`: arrive, run, wait for the next job.
    fn work(self: Arc<Self>) {
        let (first, more) = self.queue.arrive();
        if more {
            self.start_worker();
        }
        let mut job = match first.or_else(|| self.next(false)) {
            Some(job) => job,
            None => return,
        };
        loop {
            self.runs[job].fetch_add(1, Ordering::SeqCst);
            if job % 7 == 0 {
                std::thread::yield_now();
            }
            match self.next(true) {
                Some(next) => job = next,
                None => return,
            }
        }
    }

    /// The next job; one handed over while idle is started at once (the
    /// binding's worker does that once it holds the GIL).
    fn next(&self, finished: bool) -> Option<Job> {
        let (job, handed) = self.queue.next(finished, self.idle_timeout)?;
        if handed {
            self.queue.started();
        }
        Some(job)
    }

    /// Waits until every worker has retired.
    fn join(&self) {
        loop {
            let hs: Vec<_> = self.workers.lock().unwrap().drain(..).collect();
            if hs.is_empty() {
                return;
            }
            hs.into_iter().for_each(|h| h.join().unwrap());
        }
    }
}

/// Several submitters, bursts and pauses, idle timeouts short enough that
/// workers retire while jobs are being handed to them: every job runs once,
/// and when all workers have retired no reservation is left.
#[test]
fn every_job_runs_exactly_once_while_workers_retire() {
    for timeout_us in [200u64, 2_000] {
        const SUBMITTERS: usize = 4;
        const PER: usize = 1_500;
        let pool = Pool::new(SUBMITTERS * PER, Duration::from_micros(timeout_us));
        let submitters: Vec<_> = (0..SUBMITTERS)
            .map(|s| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    for i in 0..PER {
                        pool.submit(s * PER + i);
                        if i % 100 == 99 {
                            // A pause: let workers idle and some retire.
                            std::thread::sleep(Duration::from_micros(timeout_us));
                        }
                    }
                })
            })
            .collect();
        submitters.into_iter().for_each(|h| h.join().unwrap());
        pool.join();
        let wrong: Vec<(usize, usize)> = pool
            .runs
            .iter()
            .map(|n| n.load(Ordering::SeqCst))
            .enumerate()
            .filter(|&(_, n)| n != 1)
            .collect();
        assert!(
            wrong.is_empty(),
            "jobs run != once: {:?}",
            &wrong[..wrong.len().min(10)]
        );
        assert_eq!(pool.queue.idle(), 0, "a reservation outlived the workers");
        let started = pool.started.load(Ordering::SeqCst);
        assert!((1..=SUBMITTERS * PER).contains(&started));
    }
}

/// A reservation is only made against an idle worker: with one idle worker,
/// one job is handed over and the next one goes to the backlog, asking for
/// a new worker (the first worker holds its job, so it cannot come back
/// idle in between).
#[test]
fn one_idle_worker_takes_one_job() {
    let queue: Arc<JobQueue<Job>> = Arc::new(JobQueue::new(2));
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let q = queue.clone();
    let worker = std::thread::spawn(move || {
        let job = q.next(false, Duration::from_secs(10));
        q.started();
        release_rx.recv().unwrap();
        job
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while queue.idle() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never idled"
        );
        std::thread::yield_now();
    }
    assert_eq!(queue.submit(1), Submitted::ToIdleWorker);
    assert_eq!(
        queue.submit(2),
        Submitted::Queued { start_worker: true },
        "reserved a worker twice"
    );
    release_tx.send(()).unwrap();
    assert_eq!(worker.join().unwrap(), Some((1, true)));
    // Job 2 waits in the backlog for the worker that was asked for.
    assert_eq!(queue.arrive(), (Some(2), false));
}
