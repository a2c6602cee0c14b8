//! The waiter state machine: every sequence of operations against a
//! reference model, and the races that matter (several completers, withdraw
//! against complete, a select waiter on several channels).

use super::*;
use crate::core::waiter::Wake;
use std::sync::Barrier;
use std::sync::atomic::AtomicUsize;

#[derive(Clone, Copy, Debug)]
enum Op {
    Complete(u32),
    Withdraw,
    Take,
    IsWaiting,
    ClaimThenDrop,
    ClaimThenFill(u32),
}

/// The reference model of a waiter's slot.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Model {
    Waiting,
    Done(u32),
    Finished,
}

fn counting_waiter<R>() -> (Arc<Waiter<R>>, Arc<AtomicUsize>) {
    let woken = Arc::new(AtomicUsize::new(0));
    let w2 = woken.clone();
    let w = Waiter::new(Wake::Callback(Box::new(move || {
        w2.fetch_add(1, Ordering::SeqCst);
    })));
    (w, woken)
}

/// Applies `op` to both the waiter and the model and checks they agree.
fn step(w: &Waiter<u32>, m: &mut Model, op: Op, trace: &[Op]) {
    match op {
        Op::Complete(v) => {
            let r = w.complete(v);
            if *m == Model::Waiting {
                assert_eq!(r, Ok(()), "{trace:?}");
                *m = Model::Done(v);
            } else {
                assert_eq!(r, Err(v), "{trace:?}");
            }
        }
        Op::Withdraw => {
            let r = w.withdraw();
            assert_eq!(r, *m == Model::Waiting, "{trace:?}");
            if *m == Model::Waiting {
                *m = Model::Finished;
            }
        }
        Op::Take => {
            let r = w.take();
            match *m {
                Model::Done(v) => {
                    assert_eq!(r, Some(v), "{trace:?}");
                    *m = Model::Finished;
                }
                _ => assert_eq!(r, None, "{trace:?}"),
            }
        }
        Op::IsWaiting => assert_eq!(w.is_waiting(), *m == Model::Waiting, "{trace:?}"),
        Op::ClaimThenDrop => {
            let c = w.claim();
            assert_eq!(c.is_some(), *m == Model::Waiting, "{trace:?}");
            drop(c);
        }
        Op::ClaimThenFill(v) => {
            let c = w.claim();
            assert_eq!(c.is_some(), *m == Model::Waiting, "{trace:?}");
            if let Some(c) = c {
                c.fill(v);
                *m = Model::Done(v);
            }
        }
    }
}

/// Every sequence of up to 5 operations behaves like the model: completed
/// at most once, a withdrawal wins only while waiting, the result is taken
/// at most once, a dropped claim leaves the waiter waiting, and nothing
/// but `wake` wakes.
#[test]
fn state_machine_matches_the_model_exhaustively() {
    let ops = |i: u32| {
        [
            Op::Complete(10 + i),
            Op::Withdraw,
            Op::Take,
            Op::IsWaiting,
            Op::ClaimThenDrop,
            Op::ClaimThenFill(20 + i),
        ]
    };
    let mut sequences = 0;
    let mut stack: Vec<Vec<Op>> = vec![vec![]];
    while let Some(seq) = stack.pop() {
        let (w, woken) = counting_waiter::<u32>();
        let mut m = Model::Waiting;
        for (i, &op) in seq.iter().enumerate() {
            step(&w, &mut m, op, &seq[..=i]);
        }
        assert_eq!(woken.load(Ordering::SeqCst), 0, "woken without wake()");
        sequences += 1;
        if seq.len() < 5 {
            for op in ops(seq.len() as u32) {
                let mut next = seq.clone();
                next.push(op);
                stack.push(next);
            }
        }
    }
    assert_eq!(sequences, (0..=5).map(|n| 6usize.pow(n)).sum::<usize>());
}

/// While a completer holds a claim, a withdrawal waits for it; a claim
/// dropped unfilled leaves the waiter waiting, so the withdrawal then wins.
#[test]
fn withdraw_waits_for_a_held_claim() {
    for fill in [false, true] {
        let (w, _) = counting_waiter::<u32>();
        let claim = w.claim().expect("waiting");
        let done = Arc::new(AtomicUsize::new(0));
        let t = {
            let (w, done) = (w.clone(), done.clone());
            std::thread::spawn(move || {
                let r = w.withdraw();
                done.store(1, Ordering::SeqCst);
                r
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(done.load(Ordering::SeqCst), 0, "withdraw ignored the claim");
        if fill {
            claim.fill(3);
        } else {
            drop(claim);
        }
        let withdrawn = t.join().unwrap();
        assert_eq!(withdrawn, !fill);
        assert_eq!(w.take(), fill.then_some(3));
    }
}

/// `park` returns the result once completed and woken from another thread,
/// and `None` (leaving the waiter registered and waiting) at a deadline.
#[test]
fn park_until_completed_or_deadline() {
    let w: Arc<Waiter<u32>> = Waiter::for_current_thread();
    let start = Instant::now();
    let deadline = start + Duration::from_millis(30);
    assert_eq!(w.park(Some(deadline)), None);
    assert!(Instant::now() >= deadline);
    assert!(w.is_waiting());
    let t = {
        let w = w.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            w.complete(9).unwrap();
            w.wake();
        })
    };
    assert_eq!(w.park(None), Some(9));
    t.join().unwrap();
    assert_eq!(w.take(), None);
}

/// A select waiter registered on four channels, four senders racing (one per
/// channel) and the owner withdrawing: at most one sender wins, only when the
/// withdrawal lost, and every losing sender gets its value back.
#[test]
fn select_waiter_is_completed_by_exactly_one_channel() {
    const K: usize = 4;
    let live = Arc::new(AtomicIsize::new(0));
    for iter in 0..300 {
        let chans: Vec<Arc<Chan<Tracked>>> = (0..K).map(|_| Arc::new(Chan::new(0))).collect();
        let (w, woken) = counting_waiter::<Selected<Tracked>>();
        let cases: Vec<_> = chans.iter().map(|c| Case::Recv(&**c)).collect();
        assert!(matches!(select(cases, Some(&w)), Poll::Pending));
        let barrier = Arc::new(Barrier::new(K + 1));
        let senders: Vec<_> = (0..K)
            .map(|i| {
                let (c, b, live) = (chans[i].clone(), barrier.clone(), live.clone());
                std::thread::spawn(move || {
                    b.wait();
                    c.try_send(Tracked::new(i as u64, &live))
                })
            })
            .collect();
        barrier.wait();
        let withdraw = iter % 2 == 0;
        let withdrawn = withdraw && w.withdraw();
        let results: Vec<_> = senders.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<usize> = (0..K).filter(|&i| results[i].is_ok()).collect();
        for r in &results {
            if let Err(e) = r {
                assert!(matches!(e, TrySendError::Full(_)), "{e:?}");
            }
        }
        match w.take() {
            Some(Selected {
                case,
                outcome: Outcome::Received(Some(v)),
            }) => {
                assert!(!withdrawn);
                assert_eq!(winners, vec![case]);
                assert_eq!(v.id, case as u64);
            }
            None => {
                assert!(withdrawn, "nobody completed a waiter nobody withdrew");
                assert!(winners.is_empty(), "a sender won against the withdrawal");
            }
            Some(other) => panic!("unexpected {other:?}"),
        }
        // Completion does not wake; the completer's Deferred does, once.
        assert_eq!(woken.load(Ordering::SeqCst), winners.len());
        unregister(chans.iter().map(|c| &**c), &w);
        for c in &chans {
            assert_eq!(queued(c), (0, 0));
        }
    }
    assert_eq!(live.load(Ordering::SeqCst), 0, "a value leaked");
}

/// Withdraw against complete through real channel operations, for a
/// receiver and for a sender: the hand-off and the withdrawal agree.
#[test]
fn withdraw_races_channel_handoff() {
    for iter in 0..2000 {
        let c = Arc::new(Chan::new(0));
        let w = Waiter::for_current_thread();
        let barrier = Arc::new(Barrier::new(2));
        if iter % 2 == 0 {
            // A registered receiver withdraws while a sender hands it 7.
            assert_eq!(select(vec![Case::Recv(&*c)], Some(&w)), Poll::Pending);
            let t = {
                let (c, b) = (c.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    c.try_send(7u32)
                })
            };
            barrier.wait();
            let withdrawn = w.withdraw();
            let sent = t.join().unwrap();
            match (withdrawn, sent) {
                (true, Err(TrySendError::Full(7))) => assert_eq!(w.take(), None),
                (false, Ok(())) => assert_eq!(
                    w.take().map(|s| s.outcome),
                    Some(Outcome::Received(Some(7)))
                ),
                other => panic!("disagree: {other:?}"),
            }
        } else {
            // A registered sender of 7 withdraws while a receiver takes.
            assert_eq!(select(vec![Case::Send(&*c, 7u32)], Some(&w)), Poll::Pending);
            let t = {
                let (c, b) = (c.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    c.try_recv()
                })
            };
            barrier.wait();
            let withdrawn = w.withdraw();
            let got = t.join().unwrap();
            match (withdrawn, got) {
                (true, TryRecv::Empty) => assert_eq!(w.take(), None),
                (false, TryRecv::Value(7)) => {
                    assert_eq!(w.take().map(|s| s.outcome), Some(Outcome::Sent))
                }
                other => panic!("disagree: {other:?}"),
            }
        }
        unregister([&*c], &w);
        assert_eq!(queued(&c), (0, 0));
    }
}
