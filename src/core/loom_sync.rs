//! loom models of the CAS protocols of the mutex, the rwmutex and the wait
//! group: their state words (src/core/shim.rs routes them through loom's
//! atomics) and queues, with parties that wait as the drivers of the wait
//! protocol do (a thread retries when woken with `Retry`; a coroutine is
//! handed the lock; a party that gives up withdraws, or abandons what it
//! was handed). Run with `scripts/loom.sh`.

use crate::core::chan::loom_tests::run_model;
use crate::core::mutex::{Enqueue, Grant, Mutex};
use crate::core::rwmutex::RwMutex;
use crate::core::shim::Arc;
use crate::core::waiter::{Waiter, Wake};
use crate::core::waitgroup::WaitGroup;
use loom::sync::Notify;
use loom::sync::atomic::AtomicUsize;
use loom::thread;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;

fn waiter<R>() -> (Arc<Waiter<R>>, Arc<Notify>) {
    let notify = Arc::new(Notify::new());
    let n = notify.clone();
    (
        Waiter::new(Wake::Callback(Box::new(move || n.notify()))),
        notify,
    )
}

fn park<R>(w: &Waiter<R>, notify: &Notify) -> R {
    loop {
        if let Some(r) = w.take() {
            return r;
        }
        notify.wait();
    }
}

/// Locks as the thread driver (`handoff` false: woken to retry) or a
/// coroutine (`handoff` true: handed the lock) does.
fn lock(m: &Mutex, handoff: bool) {
    if m.try_lock() {
        return;
    }
    let since = Instant::now();
    let mut retry = false;
    loop {
        let (w, n) = waiter();
        let how = Enqueue {
            since,
            retry,
            handoff,
        };
        if m.enqueue(&w, how) {
            return;
        }
        match park(&w, &n) {
            Grant::Owned => return,
            Grant::Retry => {
                m.retrying();
                retry = true;
            }
        }
    }
}

/// A critical section that fails the model if two parties are inside.
fn critical(inside: &AtomicUsize) {
    assert_eq!(inside.fetch_add(1, SeqCst), 0, "two parties hold the lock");
    inside.fetch_sub(1, SeqCst);
}

fn two_lockers(name: &str, handoff: bool) {
    run_model(name, move || {
        let m = Arc::new(Mutex::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let (m2, inside2) = (m.clone(), inside.clone());
        let t = thread::spawn(move || {
            lock(&m2, false);
            critical(&inside2);
            m2.unlock().unwrap();
        });
        lock(&m, handoff);
        critical(&inside);
        m.unlock().unwrap();
        t.join().unwrap();
        assert_eq!(m.state(), 0, "the state word is clean");
        assert_eq!(m.waiting(), 0);
    });
}

#[test]
fn loom_mutex_two_threads() {
    two_lockers("loom_mutex_two_threads", false);
}

#[test]
fn loom_mutex_three_parties() {
    run_model("loom_mutex_three_parties", || {
        let m = Arc::new(Mutex::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = [false, true]
            .into_iter()
            .map(|handoff| {
                let (m, inside) = (m.clone(), inside.clone());
                thread::spawn(move || {
                    lock(&m, handoff);
                    critical(&inside);
                    m.unlock().unwrap();
                })
            })
            .collect();
        lock(&m, false);
        critical(&inside);
        m.unlock().unwrap();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(m.state(), 0, "the state word is clean");
        assert_eq!(m.waiting(), 0);
    });
}

#[test]
fn loom_mutex_thread_and_coroutine() {
    two_lockers("loom_mutex_thread_and_coroutine", true);
}

/// A waiter gives up (timeout, cancellation) while the holder unlocks:
/// either the withdrawal wins and it leaves nothing queued, or it was
/// completed and gives back what it got (the abandon of `MutexOp`).
fn give_up_races_unlock(name: &str, handoff: bool) {
    run_model(name, move || {
        let m = Arc::new(Mutex::new());
        assert!(m.try_lock());
        let m2 = m.clone();
        let t = thread::spawn(move || {
            let (w, _n) = waiter();
            let how = Enqueue {
                since: Instant::now(),
                retry: false,
                handoff,
            };
            if m2.enqueue(&w, how) {
                m2.unlock().unwrap();
                return;
            }
            if w.withdraw() {
                m2.dequeue(&w);
            } else {
                match w.take() {
                    Some(Grant::Owned) => m2.unlock().unwrap(),
                    Some(Grant::Retry) => {
                        m2.retrying();
                        if m2.try_lock() {
                            m2.unlock().unwrap();
                        }
                    }
                    None => panic!("completed without a result"),
                }
            }
        });
        m.unlock().unwrap();
        t.join().unwrap();
        assert!(!m.is_locked());
        assert_eq!(m.waiting(), 0);
        // Nobody holds or waits: the lock is free for the next comer.
        assert!(m.try_lock());
    });
}

#[test]
fn loom_mutex_give_up_races_unlock_thread() {
    give_up_races_unlock("loom_mutex_give_up_races_unlock_thread", false);
}

#[test]
fn loom_mutex_give_up_races_unlock_coroutine() {
    give_up_races_unlock("loom_mutex_give_up_races_unlock_coroutine", true);
}

fn rw_lock(rw: &RwMutex, writer: bool) {
    let got = if writer {
        rw.try_lock()
    } else {
        rw.try_rlock()
    };
    if got {
        return;
    }
    let (w, n) = waiter();
    if !rw.enqueue(&w, writer) {
        park(&w, &n);
    }
}

#[test]
fn loom_rwmutex_writer_and_reader() {
    run_model("loom_rwmutex_writer_and_reader", || {
        let rw = Arc::new(RwMutex::new());
        let writers = Arc::new(AtomicUsize::new(0));
        let readers = Arc::new(AtomicUsize::new(0));
        let (rw2, writers2, readers2) = (rw.clone(), writers.clone(), readers.clone());
        let t = thread::spawn(move || {
            rw_lock(&rw2, true);
            assert_eq!(writers2.fetch_add(1, SeqCst), 0);
            assert_eq!(readers2.load(SeqCst), 0, "a reader inside with the writer");
            writers2.fetch_sub(1, SeqCst);
            rw2.unlock().unwrap();
        });
        rw_lock(&rw, false);
        readers.fetch_add(1, SeqCst);
        assert_eq!(writers.load(SeqCst), 0, "the writer inside with a reader");
        readers.fetch_sub(1, SeqCst);
        rw.runlock().unwrap();
        t.join().unwrap();
        assert_eq!(rw.state(), 0, "the state word is clean");
        assert_eq!(rw.waiting(), 0);
    });
}

#[test]
fn loom_waitgroup_done_races_wait() {
    run_model("loom_waitgroup_done_races_wait", || {
        let wg = Arc::new(WaitGroup::new());
        wg.add(2).unwrap();
        let wg2 = wg.clone();
        let t = thread::spawn(move || {
            wg2.add(-1).unwrap();
            wg2.add(-1).unwrap();
        });
        if !wg.is_zero() {
            let (w, n) = waiter();
            if !wg.enqueue(&w) {
                park(&w, &n);
            }
        }
        assert_eq!(
            wg.count(),
            0,
            "wait returned before the counter reached zero"
        );
        t.join().unwrap();
        assert_eq!(wg.waiters(), 0);
    });
}
