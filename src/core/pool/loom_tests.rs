//! loom models of the goroutine pool's job queue (`pool.rs`): a job handed
//! to an idle worker racing that worker going idle or retiring, the cap on
//! jobs handed to idle workers and not yet started, and the accounting of
//! blocked workers that decides when to start one. Run with
//! `scripts/loom.sh`.
//!
//! The parties act as the binding does (`src/py/runtime.rs` and
//! `gocurrent._runtime._worker`): a submitter starts a worker when `submit`
//! says so (and otherwise would kick the monitor); a new worker arrives, runs
//! jobs, calls `started` for a job handed to it while idle, and asks `next`
//! for more until it retires; a job that blocks in a gocurrent wait reports
//! it (`block`) and starts the worker that asks for. An idle worker waits on
//! a waiter of its own (through `JobQueue::next_with`, the very code of
//! `next`), woken through a loom `Notify`.
//!
//! Loom models no time, so an idle timeout fires when the model says:
//! - [`Timeout::Any`]: at any moment (the idle worker takes a job already
//!   handed to it, else times out at once), so every interleaving of a
//!   hand-off with the worker's retirement is explored;
//! - [`Timeout::Quiet`]: only once every job has run. A job left in the
//!   backlog with nobody to take it then leaves every model thread blocked,
//!   which loom reports as a deadlock.
//!
//! The monitor (`JobQueue::monitor`, the binding's sysmon thread) is not a
//! party: every model checks that its jobs get a worker without it.
//!
//! loom models `SeqCst` loads and stores as `AcqRel`; the shim's
//! `AtomicUsize` puts back the ordering the pool's handshakes need (see
//! `core::shim`).
//!
//! Every model ends by checking that each job ran exactly once and that the
//! queue is back at rest: backlog and idle list empty, and the counts
//! (`waking`, `starting`, `running`, `blocked`) zero, `taken` the number of
//! jobs that went through the backlog.

use super::*;
use crate::core::chan::loom_tests::run_model;
use crate::core::waiter::Wake;
use loom::sync::Notify;
use loom::thread::{self, JoinHandle};
use std::sync::Mutex as StdMutex;
// The model's own bookkeeping: plain std atomics, which loom does not
// schedule around (it runs one model thread at a time, so they are exact).
use std::sync::atomic::{AtomicBool, AtomicUsize as Count};

type Job = usize;

/// When an idle worker's timeout fires (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Timeout {
    Any,
    Quiet,
}

/// How the job `blocker` runs: it blocks in a gocurrent wait, until job
/// `until` has run (`Some`: a receive from a channel that job sends on) or
/// only briefly (`None`: it is woken at once).
#[derive(Clone, Copy)]
struct Blocks {
    blocker: Job,
    until: Option<Job>,
}

struct Model {
    q: JobQueue<Job>,
    timeout: Timeout,
    blocks: Option<Blocks>,
    /// How many times each job ran.
    runs: Vec<Count>,
    /// Notified when job `j` has run (one waiter at most: the job blocked
    /// on it).
    ran: Vec<Notify>,
    ran_total: Count,
    /// Notified when every job has run (the main thread waits on it).
    all_ran: Notify,
    /// Set once every job has run: `Timeout::Quiet` timeouts fire.
    quiet: AtomicBool,
    /// Workers that hold a job handed to them while idle and have not
    /// called `started` yet.
    holding: Count,
    /// Submits that put their job in the backlog.
    backlogged: Count,
    /// Workers started after a `start_worker`/`more`/`block` claim.
    starts: Count,
    /// Times a worker began to wait idle; `idled` is notified each time
    /// when `watch_idle` (the main thread waits on it).
    idling: Count,
    idled: Notify,
    watch_idle: bool,
    /// Started workers' threads, joined at the end.
    workers: StdMutex<Vec<JoinHandle<()>>>,
    /// Every worker's notify (its idle waiters wake it): notified when the
    /// `Quiet` timeouts fire.
    wakers: StdMutex<Vec<std::sync::Arc<Notify>>>,
}

type M = std::sync::Arc<Model>;

impl Model {
    fn new(procs: usize, jobs: usize, timeout: Timeout) -> Model {
        Model {
            q: JobQueue::new(procs),
            timeout,
            blocks: None,
            runs: (0..jobs).map(|_| Count::new(0)).collect(),
            ran: (0..jobs).map(|_| Notify::new()).collect(),
            ran_total: Count::new(0),
            all_ran: Notify::new(),
            quiet: AtomicBool::new(false),
            holding: Count::new(0),
            backlogged: Count::new(0),
            starts: Count::new(0),
            idling: Count::new(0),
            idled: Notify::new(),
            watch_idle: false,
            workers: StdMutex::new(vec![]),
            wakers: StdMutex::new(vec![]),
        }
    }

    /// What `go` does (`_submit`): starts a worker if asked to (the
    /// binding otherwise kicks the monitor, which is not modelled).
    fn go(self: &M, job: Job) -> Submitted {
        let submitted = self.q.submit(job);
        if let Submitted::Queued { start_worker } = submitted {
            self.backlogged.fetch_add(1, SeqCst);
            if start_worker {
                self.start_worker();
            }
        }
        submitted
    }

    /// Starts a worker thread for a start claimed on the queue.
    fn start_worker(self: &M) {
        self.starts.fetch_add(1, SeqCst);
        let m = self.clone();
        let worker = thread::spawn(move || {
            let (job, more) = m.q.arrive();
            if more {
                m.start_worker();
            }
            m.work(job);
        });
        self.workers.lock().unwrap().push(worker);
    }

    /// A worker's loop from its first job, if it has one: run it, then the
    /// next, until `next` says to retire.
    fn work(self: &M, first: Option<Job>) {
        let notify = std::sync::Arc::new(Notify::new());
        self.wakers.lock().unwrap().push(notify.clone());
        let mut job = match first {
            Some(job) => Some((job, false)),
            None => self.next(false, &notify),
        };
        while let Some((j, handed)) = job {
            if handed {
                self.start_handed();
            }
            self.run(j);
            job = self.next(true, &notify);
        }
    }

    /// `JobQueue::next` with the model's waiter and wait.
    fn next(&self, finished: bool, notify: &std::sync::Arc<Notify>) -> Option<(Job, bool)> {
        self.q.next_with(
            finished,
            || {
                let n = notify.clone();
                Waiter::new(Wake::Callback(Box::new(move || n.notify())))
            },
            |me| self.park(me, notify),
        )
    }

    /// An idle worker's wait: the job handed to it, or `None` when its idle
    /// timeout fires (see [`Timeout`]).
    fn park(&self, me: &Waiter<Job>, notify: &Notify) -> Option<Job> {
        self.idling.fetch_add(1, SeqCst);
        if self.watch_idle {
            self.idled.notify();
        }
        loop {
            if let Some(job) = me.take() {
                return Some(job);
            }
            if self.timeout == Timeout::Any || self.quiet.load(SeqCst) {
                return None;
            }
            notify.wait();
        }
    }

    /// A worker handed a job while idle can run it (the binding: it holds
    /// the GIL again). At most `procs` such jobs wait to start, and the
    /// queue counts each of them.
    fn start_handed(&self) {
        let holding = self.holding.fetch_add(1, SeqCst) + 1;
        let waking = self.q.waking.load(SeqCst);
        assert!(
            holding <= waking && waking <= self.q.procs,
            "{holding} workers hold a handed job not started, waking = {waking}, procs = {}",
            self.q.procs
        );
        // Before `started`: its decrement of `waking` must never be seen
        // before this one.
        self.holding.fetch_sub(1, SeqCst);
        self.q.started();
    }

    /// Runs job `j`: each job runs once.
    fn run(self: &M, j: Job) {
        if let Some(b) = self.blocks.filter(|b| b.blocker == j) {
            // The binding's blocking hook: the worker stops counting as
            // runnable, and a worker starts if the queue asks for one.
            if self.q.block(true) {
                self.start_worker();
            }
            if let Some(until) = b.until {
                while self.runs[until].load(SeqCst) == 0 {
                    self.ran[until].wait();
                }
            }
            assert!(!self.q.block(false), "an unblock asked for a worker");
        }
        assert_eq!(self.runs[j].fetch_add(1, SeqCst), 0, "job {j} ran twice");
        self.ran[j].notify();
        if self.ran_total.fetch_add(1, SeqCst) + 1 == self.runs.len() {
            self.all_ran.notify();
        }
    }

    /// Waits until `n` workers have begun to wait idle.
    fn wait_idle(&self, n: usize) {
        assert!(self.watch_idle);
        while self.idling.load(SeqCst) < n {
            self.idled.wait();
        }
    }

    /// The end of a model (on the main thread): waits until every job has
    /// run (a job nobody takes is a deadlock), lets the idle timeouts fire,
    /// joins every worker, and checks that the queue is back at rest.
    fn finish(self: &M, threads: Vec<JoinHandle<()>>) {
        while self.ran_total.load(SeqCst) < self.runs.len() {
            self.all_ran.wait();
        }
        self.quiet.store(true, SeqCst);
        // Not under the lock: notify is a loom operation, and a worker
        // starting meanwhile takes the lock (it then sees `quiet` itself).
        let wakers: Vec<_> = self.wakers.lock().unwrap().clone();
        for n in wakers {
            n.notify();
        }
        for t in threads {
            t.join().unwrap();
        }
        loop {
            let started: Vec<_> = self.workers.lock().unwrap().drain(..).collect();
            if started.is_empty() {
                break;
            }
            for t in started {
                t.join().unwrap();
            }
        }
        let q = &self.q;
        for (j, n) in self.runs.iter().enumerate() {
            assert_eq!(n.load(SeqCst), 1, "job {j} ran {n:?} times");
        }
        assert!(q.backlog.lock().is_empty() && q.queued.load(SeqCst) == 0);
        assert!(q.idle.lock().is_empty() && q.idle_len.load(SeqCst) == 0);
        assert_eq!(q.waking.load(SeqCst), 0, "waking");
        assert_eq!(q.starting.load(SeqCst), 0, "starting");
        assert_eq!(q.running.load(SeqCst), 0, "running");
        assert_eq!(q.blocked.load(SeqCst), 0, "blocked");
        assert_eq!(
            q.taken.load(SeqCst),
            self.backlogged.load(SeqCst) as u64,
            "backlog jobs taken"
        );
    }
}

/// A worker running job 0 of a fresh queue, as if it had been submitted
/// and the worker started for it had arrived.
fn busy_worker(m: &M) -> JoinHandle<()> {
    assert_eq!(m.q.submit(0), Submitted::Queued { start_worker: true });
    m.backlogged.fetch_add(1, SeqCst);
    assert_eq!(m.q.arrive(), (Some(0), false));
    let m = m.clone();
    thread::spawn(move || m.work(Some(0)))
}

/// (a) A submit racing a worker that finishes its job and goes idle (one
/// proc): the job reaches that worker (handed, or taken from the backlog
/// before it idles), or a worker started for it, without the monitor.
/// (It took the monitor before: a submit that saw no idle worker, then
/// queued the job after the worker had looked at the backlog, left it there
/// with the worker idle; and so did a dispatch that took the job out of the
/// backlog while the worker looked, and put it back.)
#[test]
fn loom_pool_submit_races_worker_going_idle() {
    run_model("loom_pool_submit_races_worker_going_idle", || {
        let m = std::sync::Arc::new(Model::new(1, 2, Timeout::Quiet));
        let w = busy_worker(&m);
        m.go(1);
        m.finish(vec![w]);
    });
}

/// (b) A hand-off to an idle worker racing that worker's idle timeout (it
/// may fire at any moment): either the worker withdrew first, and the job
/// goes to the backlog and a worker is started for it, or the job was
/// handed over first, and the retiring worker finds it and runs it. Never
/// lost, never run twice, never left to the monitor.
#[test]
fn loom_pool_handoff_races_retirement() {
    run_model("loom_pool_handoff_races_retirement", || {
        let m = std::sync::Arc::new(Model::new(1, 1, Timeout::Any));
        let m2 = m.clone();
        // A worker that arrived without a job and goes idle.
        let w = thread::spawn(move || m2.work(None));
        m.go(0);
        m.finish(vec![w]);
    });
}

/// (c) The waking cap, one proc: two idle workers, two submits. The first
/// job is handed to the worker that idled last; the second is handed only
/// once that one has started its job, else waits in the backlog, to be
/// handed on by `started`, by the submit itself (if the first began its
/// job meanwhile) or taken by a worker that finishes: without the monitor,
/// and without starting a worker.
#[test]
fn loom_pool_waking_cap() {
    run_model("loom_pool_waking_cap", || {
        let mut model = Model::new(1, 2, Timeout::Quiet);
        model.watch_idle = true;
        let m = std::sync::Arc::new(model);
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || m.work(None))
            })
            .collect();
        m.wait_idle(2);
        assert_eq!(m.go(0), Submitted::ToIdleWorker);
        let second = m.go(1);
        assert_ne!(
            second,
            Submitted::Queued { start_worker: true },
            "a worker started while one is idle"
        );
        m.finish(workers);
        assert_eq!(m.starts.load(SeqCst), 0, "a worker was started");
    });
}

/// Models (d) and (d'): job 0, on a busy worker, blocks (`until` as in
/// [`Blocks`]) while job 1 is submitted, one proc; how many workers were
/// started.
fn block_races_submit(until: Option<Job>) -> usize {
    let mut model = Model::new(1, 2, Timeout::Quiet);
    model.blocks = Some(Blocks { blocker: 0, until });
    let m = std::sync::Arc::new(model);
    let w = busy_worker(&m);
    m.go(1);
    m.finish(vec![w]);
    m.starts.load(SeqCst)
}

/// (d) A worker whose job blocks in a gocurrent wait until the next job has
/// run (a receive from a channel that job sends on), racing the submit of
/// that job, one proc: the submit (seeing the worker blocked) or the block
/// (seeing the job queued) starts a worker at once, without the monitor,
/// and only one of them does.
#[test]
fn loom_pool_block_races_submit() {
    run_model("loom_pool_block_races_submit", || {
        let starts = block_races_submit(Some(1));
        // One start is enough, and one always happens (else the blocked
        // worker waits for ever); a second one when a claim acted on the
        // backlog it saw, and the job was taken, even run, before its
        // compare-and-swap: that worker finds nothing and idles.
        assert!((1..=2).contains(&starts), "{starts} workers started");
    });
}

/// (d') A worker whose job blocks briefly (block, then unblock) racing a
/// submit, one proc: the submit starts a worker only if it saw the worker
/// blocked, and otherwise the worker takes the job once it finishes; the
/// counts come back to zero either way.
#[test]
fn loom_pool_brief_block_races_submit() {
    run_model("loom_pool_brief_block_races_submit", || {
        let starts = block_races_submit(None);
        assert!(starts <= 2, "{starts} workers started");
    });
}
