//! Tests of the timer heap with a plain-Rust runner.

use super::*;
use std::sync::mpsc;

/// A timer service whose firings send (target, fired-at) to a std channel.
fn service() -> (Arc<Timers<u32>>, mpsc::Receiver<(u32, Instant)>) {
    let (tx, rx) = mpsc::channel();
    let tx = parking_lot::Mutex::new(tx);
    let timers = Timers::new("test-timer", move |timers: &Arc<Timers<u32>>, batch| {
        for due in batch {
            if let Some(id) = timers.fire(&due, |t| *t) {
                let _ = tx.lock().send((id, Instant::now()));
            }
        }
    });
    (timers, rx)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn fires_in_deadline_order() {
    let (timers, rx) = service();
    // 25 ms apart: the arming loop takes microseconds.
    let delays = [125u64, 25, 75, 50, 100, 0];
    let cells: Vec<_> = (0..delays.len() as u32).map(TimerCell::new).collect();
    for (cell, d) in cells.iter().zip(delays) {
        timers.reset(cell, ms(d), None, |_| ()).unwrap();
    }
    let got: Vec<u32> = (0..delays.len()).map(|_| rx.recv().unwrap().0).collect();
    assert_eq!(got, vec![5, 1, 3, 2, 4, 0]);
    assert_eq!(timers.pending(), 0);
}

#[test]
fn equal_deadlines_pop_in_arming_order() {
    let cell = TimerCell::new(0u32);
    let when = Instant::now();
    let mut heap = BinaryHeap::new();
    for order in [3u64, 1, 2, 0] {
        heap.push(Entry {
            when,
            order,
            seq: 0,
            cell: cell.clone(),
        });
    }
    heap.push(Entry {
        when: when - ms(1),
        order: 9,
        seq: 0,
        cell: cell.clone(),
    });
    let popped: Vec<u64> = std::iter::from_fn(|| heap.pop().map(|e| e.order)).collect();
    assert_eq!(popped, vec![9, 0, 1, 2, 3]);
}

#[test]
fn stop_prevents_firing_and_reports_armed() {
    let (timers, rx) = service();
    let a = TimerCell::new(1);
    let b = TimerCell::new(2);
    assert!(!timers.reset(&a, ms(30), None, |_| ()).unwrap().0);
    timers.reset(&b, ms(60), None, |_| ()).unwrap();
    assert!(a.is_armed());
    assert!(timers.stop(&a, |_| ()).0);
    assert!(!timers.stop(&a, |_| ()).0);
    assert_eq!(rx.recv().unwrap().0, 2);
    assert!(rx.recv_timeout(ms(100)).is_err());
    // A fired timer is no longer armed.
    assert!(!timers.stop(&b, |_| ()).0);
}

#[test]
fn reset_moves_the_deadline() {
    let (timers, rx) = service();
    let a = TimerCell::new(1);
    let b = TimerCell::new(2);
    timers.reset(&a, ms(20), None, |_| ()).unwrap();
    timers.reset(&b, ms(60), None, |_| ()).unwrap();
    // Re-arm a after b: it fires once, after b.
    assert!(timers.reset(&a, ms(120), None, |_| ()).unwrap().0);
    assert_eq!(rx.recv().unwrap().0, 2);
    assert_eq!(rx.recv().unwrap().0, 1);
    assert!(rx.recv_timeout(ms(100)).is_err());
}

#[test]
fn periodic_timer_ticks_until_stopped() {
    let (timers, rx) = service();
    let t = TimerCell::new(7);
    timers.reset(&t, ms(10), Some(ms(10)), |_| ()).unwrap();
    let ticks: Vec<Instant> = (0..5).map(|_| rx.recv().unwrap().1).collect();
    assert!(ticks.windows(2).all(|w| w[0] <= w[1]));
    assert!(timers.stop(&t, |_| ()).0);
    // Drain a tick that may have raced with stop, then nothing more.
    while rx.recv_timeout(ms(50)).is_ok() {}
    assert!(rx.recv_timeout(ms(50)).is_err());
}

#[test]
fn a_slow_runner_skips_missed_ticks() {
    let fired = Arc::new(AtomicU64::new(0));
    let f2 = fired.clone();
    let timers = Timers::new("test-timer", move |timers: &Arc<Timers<u32>>, batch| {
        for due in batch {
            if timers.fire(&due, |_| ()).is_some() {
                f2.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(ms(50)); // misses about 5 periods
            }
        }
    });
    let t = TimerCell::new(0);
    timers.reset(&t, ms(10), Some(ms(10)), |_| ()).unwrap();
    std::thread::sleep(ms(260));
    timers.stop(&t, |_| ());
    let n = fired.load(Ordering::SeqCst);
    // About 260/50 firings, not 26 (the missed ticks are not replayed).
    assert!((2..=8).contains(&n), "fired {n} times");
}

#[test]
fn under_lock_runs_after_disarming() {
    let (timers, _rx) = service();
    let a = TimerCell::new(3);
    let (armed, seen) = timers.stop(&a, |t| *t + 1);
    assert!(!armed);
    assert_eq!(seen, 4);
    let (armed, seen) = timers.fire_now(&a, |t| *t * 2);
    assert!(!armed);
    assert_eq!(seen, 6);
}

#[test]
fn many_stopped_timers_are_compacted() {
    let (timers, rx) = service();
    let cells: Vec<_> = (0..5000u32).map(TimerCell::new).collect();
    for c in &cells {
        timers
            .reset(c, Duration::from_secs(3600), None, |_| ())
            .unwrap();
    }
    assert_eq!(timers.pending(), 5000);
    for c in &cells[..4000] {
        timers.stop(c, |_| ());
    }
    assert_eq!(timers.pending(), 1000);
    // A firing makes the thread pass by and compact the heap.
    let probe = TimerCell::new(99_999);
    timers.reset(&probe, ms(1), None, |_| ()).unwrap();
    assert_eq!(rx.recv().unwrap().0, 99_999);
    let h = timers.heap();
    // (compaction also runs as timers stop: stale entries are at most
    // COMPACT_MIN or as many as the live ones)
    assert!(h.stale <= COMPACT_MIN.max(1000));
    assert_eq!(h.entries.len(), 1000 + h.stale);
}

#[test]
fn racing_stop_and_fire_exactly_one_wins() {
    // Whoever wins, a stop that reports "armed" means the timer did not
    // fire, and a stop that reports "not armed" means it did.
    let (timers, rx) = service();
    for i in 0..300u32 {
        let c = TimerCell::new(i);
        timers
            .reset(&c, Duration::from_micros(200), None, |_| ())
            .unwrap();
        std::thread::sleep(Duration::from_micros(150 + u64::from(i % 100)));
        let (armed, _) = timers.stop(&c, |_| ());
        let fired = match rx.recv_timeout(ms(if armed { 5 } else { 2000 })) {
            Ok((id, _)) => {
                assert_eq!(id, i);
                true
            }
            Err(_) => false,
        };
        assert_ne!(armed, fired, "timer {i}: armed={armed} fired={fired}");
    }
}

#[test]
fn stopped_far_timers_are_compacted_without_any_firing() {
    // The thread sleeps until a deadline an hour away: stopping enough
    // timers must wake it to drop their entries (and what they hold) now.
    let (timers, _rx) = service();
    let cells: Vec<_> = (0..1000u32).map(TimerCell::new).collect();
    for c in &cells {
        timers
            .reset(c, Duration::from_secs(3600), None, |_| ())
            .unwrap();
    }
    for c in &cells[..900] {
        timers.stop(c, |_| ());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let len = timers.heap().entries.len();
        if len <= 100 + COMPACT_MIN.max(100) {
            break;
        }
        assert!(Instant::now() < deadline, "{len} entries left in the heap");
        std::thread::sleep(ms(1));
    }
    // Only the stale entries went.
    assert_eq!(timers.pending(), 100);
    // At most max(COMPACT_MIN, live) stale entries wait for the next
    // compaction.
    let held = cells[..900]
        .iter()
        .filter(|c| Arc::strong_count(c) > 1)
        .count();
    assert!(
        held <= COMPACT_MIN.max(100),
        "{held} stopped timers still held"
    );
}

#[test]
fn pending_is_exact_when_a_popped_timer_is_stopped() {
    // The runner holds the first batch until told to go on: the popped
    // entry is then in a batch, no longer in the heap.
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (entered_tx, go_rx) = (
        parking_lot::Mutex::new(entered_tx),
        parking_lot::Mutex::new(go_rx),
    );
    let timers = Timers::new("test-timer", move |timers: &Arc<Timers<u32>>, batch| {
        let _ = entered_tx.lock().send(());
        let _ = go_rx.lock().recv();
        for due in batch {
            timers.fire(&due, |_| ());
        }
    });
    let (a, b) = (TimerCell::new(1u32), TimerCell::new(2u32));
    timers.reset(&a, ms(0), None, |_| ()).unwrap();
    entered_rx.recv().unwrap();
    timers.reset(&b, ms(60_000), None, |_| ()).unwrap();
    assert_eq!(timers.pending(), 1);
    // Stopping `a` (popped, not yet fired) leaves nothing stale in the
    // heap: before, it was counted stale and `pending()` said 0.
    let (armed, ()) = timers.stop(&a, |_| ());
    assert!(armed);
    assert_eq!(timers.pending(), 1);
    go_tx.send(()).unwrap();
    timers.stop(&b, |_| ());
    assert_eq!(timers.pending(), 0);
}
