use super::*;
use crate::core::waiter::Wake;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::thread;

#[test]
fn uncontended_lock_unlock() {
    let m = Mutex::new();
    assert!(!m.is_locked());
    assert!(m.try_lock());
    assert!(m.is_locked());
    assert!(!m.try_lock());
    assert_eq!(m.unlock(), Ok(()));
    assert!(!m.is_locked());
    assert_eq!(m.unlock(), Err(NotLocked));
    assert_eq!(m.state(), 0);
}

#[test]
fn mutual_exclusion_under_contention() {
    let m = Arc::new(Mutex::new());
    let inside = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let (m, inside, count) = (m.clone(), inside.clone(), count.clone());
            thread::spawn(move || {
                for _ in 0..5000 {
                    assert!(m.lock_parked(None));
                    assert!(!inside.swap(true, Ordering::SeqCst));
                    count.fetch_add(1, Ordering::Relaxed);
                    inside.store(false, Ordering::SeqCst);
                    m.unlock().unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(count.load(Ordering::SeqCst), 20000);
    assert_eq!(m.state(), 0);
    assert_eq!(m.queued(), 0);
}

#[test]
fn timeout_leaves_no_trace() {
    let m = Mutex::new();
    assert!(m.try_lock());
    let t0 = Instant::now();
    assert!(!m.lock_parked(Some(Instant::now() + Duration::from_millis(30))));
    assert!(t0.elapsed() >= Duration::from_millis(30));
    assert_eq!(m.queued(), 0);
    assert_eq!(m.state(), LOCKED);
    m.unlock().unwrap();
    assert_eq!(m.state(), 0);
}

fn callback_waiter() -> (Arc<MutexWaiter>, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let w = Waiter::new(Wake::Callback(Box::new(move || {
        n2.fetch_add(1, Ordering::SeqCst);
    })));
    (w, n)
}

fn handoff() -> Enqueue {
    Enqueue {
        since: Instant::now(),
        retry: false,
        handoff: true,
    }
}

#[test]
fn handoff_waiters_are_handed_the_lock_in_order() {
    let m = Mutex::new();
    assert!(m.try_lock());
    let (a, woken_a) = callback_waiter();
    let (b, _) = callback_waiter();
    assert!(!m.enqueue(&a, handoff()));
    assert!(!m.enqueue(&b, handoff()));
    m.unlock().unwrap();
    assert_eq!(woken_a.load(Ordering::SeqCst), 1);
    assert_eq!(a.take(), Some(Grant::Owned));
    assert!(m.is_locked());
    assert!(!m.try_lock());
    m.unlock().unwrap();
    assert_eq!(b.take(), Some(Grant::Owned));
    m.unlock().unwrap();
    assert_eq!(m.state(), 0);
}

#[test]
fn withdrawn_entries_are_skipped() {
    let m = Mutex::new();
    assert!(m.try_lock());
    let (a, woken_a) = callback_waiter();
    let (b, _) = callback_waiter();
    assert!(!m.enqueue(&a, handoff()));
    assert!(!m.enqueue(&b, handoff()));
    // a gives up but has not removed its entry yet.
    assert!(a.withdraw());
    m.unlock().unwrap();
    assert_eq!(woken_a.load(Ordering::SeqCst), 0);
    assert_eq!(b.take(), Some(Grant::Owned));
    m.dequeue(&a);
    assert_eq!(m.queued(), 0);
    m.unlock().unwrap();
    assert_eq!(m.state(), 0);
}

#[test]
fn only_stale_entries_left_unlocks() {
    let m = Mutex::new();
    assert!(m.try_lock());
    let (a, _) = callback_waiter();
    assert!(!m.enqueue(&a, handoff()));
    assert!(a.withdraw());
    m.unlock().unwrap();
    assert_eq!(m.state(), 0);
    assert!(m.try_lock());
}

#[test]
fn retry_wake_sets_woken_and_allows_barging() {
    let m = Mutex::new();
    assert!(m.try_lock());
    let (a, woken) = callback_waiter();
    let how = Enqueue {
        since: Instant::now(),
        retry: false,
        handoff: false,
    };
    assert!(!m.enqueue(&a, how));
    m.unlock().unwrap();
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    assert_eq!(a.take(), Some(Grant::Retry));
    assert_eq!(m.state() & (LOCKED | WOKEN), WOKEN);
    // A newcomer barges in before the woken waiter retries.
    assert!(m.try_lock());
    m.retrying();
    // The woken waiter loses and re-queues at the front.
    let a2 = callback_waiter().0;
    let how = Enqueue {
        since: how.since,
        retry: true,
        handoff: false,
    };
    assert!(!m.enqueue(&a2, how));
    m.unlock().unwrap();
    assert_eq!(a2.take(), Some(Grant::Retry));
}

#[test]
fn starvation_mode_hands_off_and_blocks_barging() {
    let m = Mutex::new();
    assert!(m.try_lock());
    let (a, _) = callback_waiter();
    let (b, _) = callback_waiter();
    let old = Instant::now() - Duration::from_millis(50);
    let starving = Enqueue {
        since: old,
        retry: true,
        handoff: false,
    };
    assert!(!m.enqueue(&a, starving));
    let fresh = Enqueue {
        since: old,
        retry: false,
        handoff: false,
    };
    assert!(!m.enqueue(&b, fresh));
    assert_ne!(m.state() & STARVING, 0);
    m.unlock().unwrap();
    // Handed over: still locked, and newcomers cannot barge.
    assert_eq!(a.take(), Some(Grant::Owned));
    assert!(m.is_locked());
    assert!(!m.try_lock());
    // a waited long and b still waits: starvation mode continues.
    assert_ne!(m.state() & STARVING, 0);
    m.unlock().unwrap();
    assert_eq!(b.take(), Some(Grant::Owned));
    // b was the last waiter: back to normal mode.
    assert_eq!(m.state(), LOCKED);
    m.unlock().unwrap();
    assert_eq!(m.state(), 0);
}

#[test]
fn starved_thread_eventually_gets_the_lock() {
    // One thread hammers the lock; another must still get it (starvation
    // mode guarantees progress).
    let m = Arc::new(Mutex::new());
    let stop = Arc::new(AtomicBool::new(false));
    let hog = {
        let (m, stop) = (m.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                assert!(m.lock_parked(None));
                thread::sleep(Duration::from_micros(50));
                m.unlock().unwrap();
            }
        })
    };
    for _ in 0..20 {
        assert!(m.lock_parked(Some(Instant::now() + Duration::from_secs(10))));
        m.unlock().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    hog.join().unwrap();
    assert_eq!(m.queued(), 0);
}

#[test]
fn timeouts_under_contention_lose_no_wakeup() {
    let m = Arc::new(Mutex::new());
    let hs: Vec<_> = (0..4)
        .map(|i| {
            let m = m.clone();
            thread::spawn(move || {
                let mut got = 0;
                for _ in 0..300 {
                    let d = Instant::now() + Duration::from_micros(20 * (i + 1));
                    if m.lock_parked(Some(d)) {
                        got += 1;
                        thread::yield_now();
                        m.unlock().unwrap();
                    }
                }
                got
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    // Nothing left held or queued, and the lock still works.
    assert_eq!(m.queued(), 0);
    assert!(!m.is_locked());
    assert!(m.lock_parked(Some(Instant::now() + Duration::from_secs(5))));
    m.unlock().unwrap();
}
