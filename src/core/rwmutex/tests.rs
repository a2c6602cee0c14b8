use super::*;
use crate::core::waiter::Wake;
use std::sync::atomic::{AtomicI64, AtomicUsize};
use std::thread;
use std::time::Duration;

fn callback_waiter() -> (Arc<RwWaiter>, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let w = Waiter::new(Wake::Callback(Box::new(move || {
        n2.fetch_add(1, Ordering::SeqCst);
    })));
    (w, n)
}

#[test]
fn readers_share_writers_exclude() {
    let rw = RwMutex::new();
    assert!(rw.try_rlock());
    assert!(rw.try_rlock());
    assert_eq!(rw.readers(), 2);
    assert!(!rw.try_lock());
    rw.runlock().unwrap();
    rw.runlock().unwrap();
    assert_eq!(rw.runlock(), Err(RwError::RUnlockOfUnlocked));
    assert!(rw.try_lock());
    assert!(!rw.try_rlock());
    assert!(!rw.try_lock());
    assert_eq!(rw.runlock(), Err(RwError::RUnlockOfUnlocked));
    rw.unlock().unwrap();
    assert_eq!(rw.unlock(), Err(RwError::UnlockOfUnlocked));
    assert!(rw.try_rlock());
    assert_eq!(rw.unlock(), Err(RwError::UnlockOfUnlocked));
    rw.runlock().unwrap();
    assert_eq!(rw.state(), 0);
}

#[test]
fn waiting_writer_blocks_new_readers() {
    let rw = RwMutex::new();
    assert!(rw.try_rlock());
    let (w, woken_w) = callback_waiter();
    assert!(!rw.enqueue(&w, true));
    // A new reader must not get in while the writer waits.
    assert!(!rw.try_rlock());
    let (r, woken_r) = callback_waiter();
    assert!(!rw.enqueue(&r, false));
    // The last reader out hands the lock to the writer.
    rw.runlock().unwrap();
    assert_eq!(woken_w.load(Ordering::SeqCst), 1);
    assert_eq!(w.take(), Some(()));
    assert!(rw.write_locked());
    assert_eq!(woken_r.load(Ordering::SeqCst), 0);
    // The writer's unlock lets the queued reader in.
    rw.unlock().unwrap();
    assert_eq!(r.take(), Some(()));
    assert_eq!(rw.readers(), 1);
    rw.runlock().unwrap();
    assert_eq!(rw.state(), 0);
}

#[test]
fn writer_unlock_admits_all_waiting_readers_before_next_writer() {
    let rw = RwMutex::new();
    assert!(rw.try_lock());
    let (r1, _) = callback_waiter();
    let (w2, _) = callback_waiter();
    let (r2, _) = callback_waiter();
    assert!(!rw.enqueue(&r1, false));
    assert!(!rw.enqueue(&w2, true));
    assert!(!rw.enqueue(&r2, false));
    rw.unlock().unwrap();
    assert_eq!(r1.take(), Some(()));
    assert_eq!(r2.take(), Some(()));
    assert_eq!(w2.take(), None);
    assert_eq!(rw.readers(), 2);
    rw.runlock().unwrap();
    assert_eq!(w2.take(), None);
    rw.runlock().unwrap();
    assert_eq!(w2.take(), Some(()));
    assert!(rw.write_locked());
    rw.unlock().unwrap();
    assert_eq!(rw.state(), 0);
    assert_eq!(rw.queued(), 0);
}

#[test]
fn cancelled_writer_lets_blocked_readers_in() {
    let rw = RwMutex::new();
    assert!(rw.try_rlock());
    let (w, _) = callback_waiter();
    assert!(!rw.enqueue(&w, true));
    let (r, _) = callback_waiter();
    assert!(!rw.enqueue(&r, false));
    assert!(w.withdraw());
    rw.dequeue(&w);
    assert_eq!(r.take(), Some(()));
    assert_eq!(rw.readers(), 2);
    assert!(rw.try_rlock());
    for _ in 0..3 {
        rw.runlock().unwrap();
    }
    assert_eq!(rw.state(), 0);
}

#[test]
fn writers_are_fifo() {
    let rw = RwMutex::new();
    assert!(rw.try_lock());
    let ws: Vec<_> = (0..4).map(|_| callback_waiter().0).collect();
    for w in &ws {
        assert!(!rw.enqueue(w, true));
    }
    for w in &ws {
        rw.unlock().unwrap();
        assert_eq!(w.take(), Some(()));
    }
    rw.unlock().unwrap();
    assert_eq!(rw.state(), 0);
}

#[test]
fn stress_exclusion() {
    let rw = Arc::new(RwMutex::new());
    // >0: readers inside; -1: a writer inside.
    let inside = Arc::new(AtomicI64::new(0));
    let hs: Vec<_> = (0..4)
        .map(|i| {
            let (rw, inside) = (rw.clone(), inside.clone());
            thread::spawn(move || {
                for j in 0..3000 {
                    let writer = (i + j) % 3 == 0;
                    let deadline = (j % 7 == 0).then(|| Instant::now() + Duration::from_micros(30));
                    if !rw.lock_parked(writer, deadline) {
                        continue;
                    }
                    if writer {
                        assert_eq!(inside.swap(-1, Ordering::SeqCst), 0);
                        thread::yield_now();
                        assert_eq!(inside.swap(0, Ordering::SeqCst), -1);
                        rw.unlock().unwrap();
                    } else {
                        assert!(inside.fetch_add(1, Ordering::SeqCst) >= 0);
                        thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        rw.runlock().unwrap();
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(rw.state(), 0);
    assert_eq!(rw.queued(), 0);
}
