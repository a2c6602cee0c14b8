//! `close` against blocked and racing senders and receivers: receivers drain
//! the buffer, then see "closed"; senders get `SendClosed`; every value is
//! received or handed back (dropped) exactly once.

use super::*;
use std::sync::Barrier;

#[test]
fn close_wakes_every_blocked_receiver() {
    for cap in [0, 3] {
        let c: Arc<Chan<u32>> = Arc::new(Chan::new(cap));
        let receivers: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || recv(&c))
            })
            .collect();
        wait_until("8 blocked receivers", || queued(&c) == (8, 0));
        c.close().unwrap();
        for r in receivers {
            assert_eq!(r.join().unwrap(), None);
        }
        assert_eq!(queued(&c), (0, 0));
        assert_eq!(c.try_recv(), TryRecv::Closed);
    }
}

#[test]
fn close_fails_every_blocked_sender_and_keeps_the_buffer() {
    let live = Arc::new(AtomicIsize::new(0));
    for cap in [0usize, 2] {
        let c: Arc<Chan<Tracked>> = Arc::new(Chan::new(cap));
        for i in 0..cap {
            c.try_send(Tracked::new(i as u64, &live)).unwrap();
        }
        let senders: Vec<_> = (0..8)
            .map(|i| {
                let (c, live) = (c.clone(), live.clone());
                std::thread::spawn(move || send(&c, Tracked::new(100 + i, &live)))
            })
            .collect();
        wait_until("8 blocked senders", || queued(&c) == (0, 8));
        c.close().unwrap();
        for s in senders {
            assert_eq!(s.join().unwrap(), Outcome::SendClosed);
        }
        // The blocked senders' values were dropped, the buffer was kept.
        assert_eq!(live.load(Ordering::SeqCst), cap as isize);
        for i in 0..cap {
            assert_eq!(recv(&c).map(|v| v.id), Some(i as u64));
        }
        assert_eq!(recv(&c), None);
        assert_eq!(queued(&c), (0, 0));
    }
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[test]
fn concurrent_double_close_exactly_one_succeeds() {
    for _ in 0..200 {
        let c: Arc<Chan<u32>> = Arc::new(Chan::new(1));
        let barrier = Arc::new(Barrier::new(4));
        let closers: Vec<_> = (0..4)
            .map(|_| {
                let (c, b) = (c.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    c.close()
                })
            })
            .collect();
        let oks = closers
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|r| r.is_ok())
            .count();
        assert_eq!(oks, 1);
        assert!(c.is_closed());
    }
}

#[test]
fn close_completes_a_select_blocked_on_other_channels_too() {
    let c1: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    let c2: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    let t = {
        let (c1, c2) = (c1.clone(), c2.clone());
        std::thread::spawn(move || {
            blocking_select(vec![
                Case::Recv(&*c1),
                Case::Send(&*c1, 5),
                Case::Recv(&*c2),
            ])
        })
    };
    wait_until("the select to register", || {
        queued(&c1) == (1, 1) && queued(&c2) == (1, 0)
    });
    c2.close().unwrap();
    let s = t.join().unwrap();
    assert_eq!(
        s,
        Selected {
            case: 2,
            outcome: Outcome::Received(None)
        }
    );
    assert_eq!(queued(&c1), (0, 0));
    assert_eq!(queued(&c2), (0, 0));
}

/// A select blocked sending and receiving on the same channel: `close`
/// releases receivers before senders (Go's closechan), so the receive case
/// is the one performed, and the offered value is dropped.
#[test]
fn close_of_a_channel_a_select_sends_and_receives_on() {
    let live = Arc::new(AtomicIsize::new(0));
    let c: Arc<Chan<Tracked>> = Arc::new(Chan::new(0));
    let t = {
        let (c, live) = (c.clone(), live.clone());
        std::thread::spawn(move || {
            blocking_select(vec![
                Case::Send(&*c, Tracked::new(1, &live)),
                Case::Recv(&*c),
            ])
        })
    };
    wait_until("the select to register", || queued(&c) == (1, 1));
    c.close().unwrap();
    let s = t.join().unwrap();
    assert_eq!(s.case, 1);
    assert_eq!(s.outcome, Outcome::Received(None));
    assert_eq!(queued(&c), (0, 0));
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

/// Senders (one of them through a two-channel select) and receivers run
/// until `close`, which comes at a random moment: what was received is
/// exactly what was reported sent, without duplicates, each sender's values
/// in order; buffered values are drained before "closed"; no select entry
/// is left behind; every value is freed.
#[test]
fn close_races_senders_and_receivers_nothing_lost_or_duplicated() {
    const SENDERS: u64 = 3;
    const RECEIVERS: usize = 2;
    let live = Arc::new(AtomicIsize::new(0));
    for iter in 0..240 {
        let cap = [0, 1, 4][iter % 3];
        let c: Arc<Chan<Tracked>> = Arc::new(Chan::new(cap));
        let idle: Arc<Chan<Tracked>> = Arc::new(Chan::new(0));
        let senders: Vec<_> = (0..SENDERS)
            .map(|p| {
                let (c, idle, live) = (c.clone(), idle.clone(), live.clone());
                std::thread::spawn(move || {
                    let mut sent = vec![];
                    for i in 0.. {
                        let id = p * 1_000_000 + i;
                        let outcome = if p == 0 {
                            // Also offer a value on a channel nobody uses.
                            let s = blocking_select(vec![
                                Case::Send(&*idle, Tracked::new(u64::MAX, &live)),
                                Case::Send(&*c, Tracked::new(id, &live)),
                            ]);
                            assert_eq!(s.case, 1);
                            s.outcome
                        } else {
                            send(&c, Tracked::new(id, &live))
                        };
                        match outcome {
                            Outcome::Sent => sent.push(id),
                            Outcome::SendClosed => break,
                            Outcome::Received(_) => unreachable!(),
                        }
                    }
                    sent
                })
            })
            .collect();
        let receivers: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    let mut got = vec![];
                    while let Some(v) = recv(&c) {
                        got.push(v.id);
                    }
                    got
                })
            })
            .collect();
        for _ in 0..fastrand::usize(0..3000) {
            std::hint::spin_loop();
        }
        c.close().unwrap();
        let mut sent: Vec<u64> = senders
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let mut received = vec![];
        for r in receivers {
            let got = r.join().unwrap();
            for p in 0..SENDERS {
                let mine: Vec<u64> = got
                    .iter()
                    .copied()
                    .filter(|id| id / 1_000_000 == p)
                    .collect();
                assert!(mine.is_sorted(), "sender {p}'s values out of order");
            }
            received.extend(got);
        }
        sent.sort_unstable();
        received.sort_unstable();
        assert_eq!(received, sent, "cap {cap}: received != sent");
        assert_eq!(c.try_recv(), TryRecv::Closed);
        assert_eq!(queued(&c), (0, 0));
        assert_eq!(queued(&idle), (0, 0), "a stale select entry was left");
        assert_eq!(live.load(Ordering::SeqCst), 0, "a value leaked");
    }
}
