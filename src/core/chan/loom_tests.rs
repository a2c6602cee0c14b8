//! loom models of the channel core: every interleaving (up to the preemption
//! bound) of a few threads racing on channels and waiters.
//!
//! Run with `scripts/loom.sh` (or `RUSTFLAGS="--cfg loom" cargo test
//! --release --lib loom`). Under loom, `Mutex`/`Arc` are loom's (see
//! `core::shim`), select polls its cases in the given order (no random
//! shuffle, so the models vary the case order themselves), and a blocked
//! party parks on a `loom::sync::Notify` through `Wake::Callback` instead of
//! `std::thread::park`.

use super::*;
use crate::core::waiter::{Waiter, Wake};
use loom::sync::Notify;
use loom::thread;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
const DEFAULT_PREEMPTIONS: usize = 2;

/// Checks `model` under loom and prints how many executions it explored.
pub(crate) fn run_model<F: Fn() + Sync + Send + 'static>(name: &str, model: F) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    let iterations = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = iterations.clone();
    let start = Instant::now();
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        model();
    });
    eprintln!(
        "loom model {name}: {} executions explored (preemption bound {:?}) in {:.2?}",
        iterations.load(Ordering::Relaxed),
        builder.preemption_bound,
        start.elapsed()
    );
}

/// A channel waiter that wakes a loom `Notify`.
fn waiter<T>() -> (Arc<ChanWaiter<T>>, Arc<Notify>) {
    let notify = Arc::new(Notify::new());
    let n = notify.clone();
    let w = Waiter::new(Wake::Callback(Box::new(move || n.notify())));
    (w, notify)
}

/// Parks (on the loom notify) until `w` is completed, and takes the result.
fn park<T>(w: &ChanWaiter<T>, notify: &Notify) -> Selected<T> {
    loop {
        if let Some(s) = w.take() {
            return s;
        }
        notify.wait();
    }
}

/// A blocking select, the way the binding does it: poll, else register,
/// park until completed, unregister.
fn blocking_select<T>(cases: Vec<Case<'_, T>>) -> Selected<T> {
    let chans: Vec<&Chan<T>> = cases
        .iter()
        .map(|c| match c {
            Case::Send(c, _) | Case::Recv(c) => *c,
        })
        .collect();
    let (w, notify) = waiter();
    match select(cases, Some(&w)) {
        Poll::Ready(s) => s,
        Poll::Pending => {
            let s = park(&w, &notify);
            unregister(chans, &w);
            s
        }
    }
}

fn send<T>(c: &Chan<T>, v: T) -> Outcome<T> {
    blocking_select(vec![Case::Send(c, v)]).outcome
}

fn recv<T>(c: &Chan<T>) -> Option<T> {
    match blocking_select(vec![Case::Recv(c)]).outcome {
        Outcome::Received(v) => v,
        _ => unreachable!("a receive case completes with Received"),
    }
}

/// (blocked receivers, blocked senders) entries still queued on `c`.
fn queued<T>(c: &Chan<T>) -> (usize, usize) {
    let st = c.state.lock();
    (st.recvq.len(), st.sendq.len())
}

/// (a) A select receiving from two unbuffered channels, a sender on each:
/// exactly one case is performed, and the other sender's value stays
/// available (it is received afterwards, exactly once). The channels live
/// in one array, so that their address order (the select's lock order) is
/// fixed: `swap` lists the cases against it.
#[test]
fn loom_select_two_senders() {
    for swap in [false, true] {
        let name = format!("select_two_senders(swap={swap})");
        run_model(&name, move || {
            let cs: Arc<[Chan<i32>; 2]> = Arc::new([Chan::new(0), Chan::new(0)]);
            let senders: Vec<_> = (0..2)
                .map(|k| {
                    let cs = cs.clone();
                    thread::spawn(move || send(&cs[k], k as i32 + 1))
                })
                .collect();
            let order = if swap { [1, 0] } else { [0, 1] };
            let s = blocking_select(order.iter().map(|&k| Case::Recv(&cs[k])).collect());
            let (chosen, other) = (order[s.case], order[1 - s.case]);
            assert_eq!(s.outcome, Outcome::Received(Some(chosen as i32 + 1)));
            // The other value was not consumed by the select: it is still
            // there, offered by its (blocked or about to block) sender.
            assert_eq!(recv(&cs[other]), Some(other as i32 + 1));
            for t in senders {
                assert_eq!(t.join().unwrap(), Outcome::Sent);
            }
            for c in cs.iter() {
                assert_eq!(c.try_recv(), TryRecv::Empty);
                assert_eq!(queued(c), (0, 0));
            }
        });
    }
}

/// (b) `close` racing a blocked send and a blocked receive on an unbuffered
/// channel: either they met first (the value went through) or both see the
/// close (the receiver gets "closed", the sender `SendClosed`); never one
/// without the other.
#[test]
fn loom_close_races_send_and_recv() {
    run_model("close_races_send_and_recv", || {
        let c = Arc::new(Chan::new(0));
        let sender = {
            let c = c.clone();
            thread::spawn(move || send(&c, 1))
        };
        let receiver = {
            let c = c.clone();
            thread::spawn(move || recv(&c))
        };
        assert_eq!(c.close(), Ok(()));
        let sent = sender.join().unwrap();
        let got = receiver.join().unwrap();
        match (sent, got) {
            (Outcome::Sent, Some(1)) | (Outcome::SendClosed, None) => {}
            other => panic!("lost or invented a value: {other:?}"),
        }
        assert_eq!(c.try_recv(), TryRecv::Closed);
        assert_eq!(queued(&c), (0, 0));
    });
}

/// (b') The buffered version: a full buffer, a blocked sender, a receiver
/// that receives twice, and `close`: the receiver drains the buffer, then
/// gets the sender's value if the send happened, else "closed".
#[test]
fn loom_close_races_buffered_send_and_drain() {
    run_model("close_races_buffered_send_and_drain", || {
        let c = Arc::new(Chan::new(1));
        assert_eq!(c.try_send(1), Ok(()));
        let sender = {
            let c = c.clone();
            thread::spawn(move || send(&c, 2))
        };
        let receiver = {
            let c = c.clone();
            thread::spawn(move || (recv(&c), recv(&c)))
        };
        assert_eq!(c.close(), Ok(()));
        let sent = sender.join().unwrap();
        let got = receiver.join().unwrap();
        match (sent, got) {
            (Outcome::Sent, (Some(1), Some(2))) | (Outcome::SendClosed, (Some(1), None)) => {}
            other => panic!("lost, reordered or invented a value: {other:?}"),
        }
        assert_eq!(c.try_recv(), TryRecv::Closed);
        assert_eq!(queued(&c), (0, 0));
    });
}

/// (c) A registered receiver withdraws (a timeout, a cancellation) while a
/// sender hands it a value: either the hand-off won (withdraw reports
/// completed and the value is taken) or the withdrawal won (the sender gets
/// its value back). Never lost, never duplicated.
#[test]
fn loom_withdraw_recv_races_handoff() {
    run_model("withdraw_recv_races_handoff", || {
        let c = Arc::new(Chan::new(0));
        let (w, _notify) = waiter();
        // Nobody can have sent yet (the sender below only tries), so the
        // receive registers.
        assert_eq!(select(vec![Case::Recv(&*c)], Some(&w)), Poll::Pending);
        let sender = {
            let c = c.clone();
            thread::spawn(move || c.try_send(7))
        };
        let got = if w.withdraw() {
            assert_eq!(w.take(), None);
            None
        } else {
            Some(w.take().expect("completed before the withdrawal"))
        };
        unregister([&*c], &w);
        let sent = sender.join().unwrap();
        match (got, sent) {
            (
                Some(Selected {
                    case: 0,
                    outcome: Outcome::Received(Some(7)),
                }),
                Ok(()),
            ) => {}
            (None, Err(TrySendError::Full(7))) => {}
            other => panic!("lost or duplicated: {other:?}"),
        }
        assert_eq!(queued(&c), (0, 0));
    });
}

/// (c') A registered sender withdraws while a receiver takes its value:
/// either the receiver got it and the sender learns it was sent, or the
/// receiver found nothing and the value is the sender's again.
#[test]
fn loom_withdraw_send_races_handoff() {
    run_model("withdraw_send_races_handoff", || {
        let c = Arc::new(Chan::new(0));
        let (w, _notify) = waiter();
        assert_eq!(select(vec![Case::Send(&*c, 7)], Some(&w)), Poll::Pending);
        let receiver = {
            let c = c.clone();
            thread::spawn(move || c.try_recv())
        };
        let sent = if w.withdraw() {
            None
        } else {
            Some(w.take().expect("completed before the withdrawal"))
        };
        unregister([&*c], &w);
        let got = receiver.join().unwrap();
        match (sent, got) {
            (
                Some(Selected {
                    case: 0,
                    outcome: Outcome::Sent,
                }),
                TryRecv::Value(7),
            ) => {}
            (None, TryRecv::Empty) => {}
            other => panic!("lost or duplicated: {other:?}"),
        }
        assert_eq!(queued(&c), (0, 0));
    });
}

/// A select waiter registered on two channels, completed by one of two
/// racing completers (a sender on one channel, `close` on the other) while
/// it withdraws: at most one completion, and withdraw/take agree with it.
#[test]
fn loom_select_withdraw_races_two_completers() {
    run_model("select_withdraw_races_two_completers", || {
        let cs: Arc<[Chan<i32>; 2]> = Arc::new([Chan::new(0), Chan::new(0)]);
        let (w, _notify) = waiter();
        assert_eq!(
            select(vec![Case::Recv(&cs[0]), Case::Recv(&cs[1])], Some(&w)),
            Poll::Pending
        );
        let sender = {
            let cs = cs.clone();
            thread::spawn(move || cs[0].try_send(5))
        };
        let closer = {
            let cs = cs.clone();
            thread::spawn(move || cs[1].close())
        };
        let got = if w.withdraw() { None } else { w.take() };
        unregister(cs.iter(), &w);
        let sent = sender.join().unwrap();
        assert_eq!(closer.join().unwrap(), Ok(()));
        match (got, sent) {
            (
                Some(Selected {
                    case: 0,
                    outcome: Outcome::Received(Some(5)),
                }),
                Ok(()),
            ) => {}
            (
                Some(Selected {
                    case: 1,
                    outcome: Outcome::Received(None),
                })
                | None,
                Err(TrySendError::Full(5)),
            ) => {}
            other => panic!("completed twice, lost or invented: {other:?}"),
        }
        assert_eq!(queued(&cs[0]), (0, 0));
        assert_eq!(queued(&cs[1]), (0, 0));
    });
}

/// Two selects, each sending and receiving on the same unbuffered channel
/// (Go's TestSelfSelect): they pair with each other, in one direction or
/// the other, exactly once; neither receives its own value.
#[test]
fn loom_two_self_selects_pair() {
    run_model("two_self_selects_pair", || {
        let c = Arc::new(Chan::new(0));
        let other = {
            let c = c.clone();
            thread::spawn(move || blocking_select(vec![Case::Send(&*c, 2), Case::Recv(&*c)]))
        };
        let mine = blocking_select(vec![Case::Recv(&*c), Case::Send(&*c, 1)]);
        let theirs = other.join().unwrap();
        match (mine, theirs) {
            (
                Selected {
                    case: 0,
                    outcome: Outcome::Received(Some(2)),
                },
                Selected {
                    case: 0,
                    outcome: Outcome::Sent,
                },
            )
            | (
                Selected {
                    case: 1,
                    outcome: Outcome::Sent,
                },
                Selected {
                    case: 1,
                    outcome: Outcome::Received(Some(1)),
                },
            ) => {}
            other => panic!("not a pairing: {other:?}"),
        }
        assert_eq!(queued(&c), (0, 0));
    });
}
