//! `select`: uniform choice among ready cases, duplicate channels, send and
//! receive on the same channel, no stale entries after `unregister`, many
//! cases, and the rule that values are dropped and waiters woken only after
//! the channel locks are released.

use super::*;
use crate::core::waiter::Wake;
use std::sync::Weak;

/// Pearson's chi-square statistic of `counts` against a uniform expectation.
fn chi_square(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&n| (n as f64 - expected).powi(2) / expected)
        .sum()
}

/// The chi-square value exceeded with probability 0.001, by degrees of
/// freedom (1..=4).
const CHI2_P001: [f64; 5] = [f64::NAN, 10.83, 13.82, 16.27, 18.47];

/// Non-blocking select (no waiter): the performed case, if any.
fn poll<T>(cases: Vec<Case<'_, T>>) -> Option<Selected<T>> {
    match select(cases, None) {
        Poll::Ready(s) => Some(s),
        Poll::Pending => None,
    }
}

/// Among ready receive cases, each is chosen equally often (chi-square test
/// at p = 0.001; the random source is seeded, so the outcome is
/// reproducible).
#[test]
fn ready_cases_are_chosen_uniformly() {
    fastrand::seed(0x5eed_0001);
    const TRIALS: usize = 8000;
    let chans: Vec<Chan<u32>> = (0..4).map(|_| Chan::new(TRIALS)).collect();
    for c in &chans {
        for v in 0..TRIALS as u32 {
            c.try_send(v).unwrap();
        }
    }
    let mut counts = [0usize; 4];
    for _ in 0..TRIALS {
        let s = poll(chans.iter().map(Case::Recv).collect()).expect("all ready");
        counts[s.case] += 1;
    }
    let chi2 = chi_square(&counts);
    assert!(chi2 < CHI2_P001[3], "unfair: {counts:?} (chi2 {chi2:.1})");
}

/// Ready sends and receives mixed with cases that are never ready: the
/// choice is uniform among the ready ones, whatever their position.
#[test]
fn ready_sends_and_receives_are_chosen_uniformly() {
    fastrand::seed(0x5eed_0002);
    const TRIALS: usize = 6000;
    let full: Chan<u32> = Chan::new(TRIALS);
    let roomy: Chan<u32> = Chan::new(TRIALS);
    let never: Chan<u32> = Chan::new(0);
    let full2: Chan<u32> = Chan::new(TRIALS);
    for v in 0..TRIALS as u32 {
        full.try_send(v).unwrap();
        full2.try_send(v).unwrap();
    }
    let mut counts = [0usize; 5];
    for i in 0..TRIALS as u32 {
        let s = poll(vec![
            Case::Recv(&never),
            Case::Recv(&full),
            Case::Send(&never, i),
            Case::Send(&roomy, i),
            Case::Recv(&full2),
        ])
        .expect("three cases are ready");
        counts[s.case] += 1;
    }
    assert_eq!((counts[0], counts[2]), (0, 0), "a never-ready case ran");
    let ready = [counts[1], counts[3], counts[4]];
    let chi2 = chi_square(&ready);
    assert!(chi2 < CHI2_P001[2], "unfair: {ready:?} (chi2 {chi2:.1})");
}

/// The same channel in several cases: ready duplicates are chosen
/// uniformly; blocked, each case leaves its own entry, one is served, and
/// `unregister` removes them all.
#[test]
fn duplicate_channels() {
    fastrand::seed(0x5eed_0003);
    let c: Chan<u32> = Chan::new(3000);
    for v in 0..3000 {
        c.try_send(v).unwrap();
    }
    let mut counts = [0usize; 3];
    for _ in 0..3000 {
        counts[poll(vec![Case::Recv(&c), Case::Recv(&c), Case::Recv(&c)])
            .unwrap()
            .case] += 1;
    }
    let chi2 = chi_square(&counts);
    assert!(chi2 < CHI2_P001[2], "unfair: {counts:?} (chi2 {chi2:.1})");

    // Blocked on duplicates.
    let live = Arc::new(AtomicIsize::new(0));
    let c: Arc<Chan<Tracked>> = Arc::new(Chan::new(0));
    let d: Arc<Chan<Tracked>> = Arc::new(Chan::new(0));
    let t = {
        let (c, d, live) = (c.clone(), d.clone(), live.clone());
        std::thread::spawn(move || {
            let s = blocking_select(vec![
                Case::Send(&*c, Tracked::new(1, &live)),
                Case::Recv(&*d),
                Case::Send(&*c, Tracked::new(2, &live)),
                Case::Recv(&*d),
            ]);
            (s.case, s.outcome == Outcome::Sent)
        })
    };
    wait_until("the select to register", || {
        queued(&c) == (0, 2) && queued(&d) == (2, 0)
    });
    let id = recv(&c).expect("a value").id;
    let case = match id {
        1 => 0,
        2 => 2,
        _ => panic!("received {id}"),
    };
    assert_eq!(t.join().unwrap(), (case, true));
    assert_eq!(queued(&c), (0, 0));
    assert_eq!(queued(&d), (0, 0));
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "the unsent duplicate leaked"
    );
}

/// A blocked select with several cases on one channel is served by a random
/// one of them, as in Go (its entries are queued in the shuffled poll
/// order, like Go's lockorder), not always by the first case listed.
#[test]
fn blocked_duplicate_cases_are_served_uniformly() {
    fastrand::seed(0x5eed_0006);
    const TRIALS: usize = 600;
    let c: Chan<u32> = Chan::new(0);
    let mut recv_counts = [0usize; 3];
    let mut send_counts = [0usize; 3];
    for i in 0..TRIALS as u32 {
        let w = Waiter::new(Wake::Callback(Box::new(|| {})));
        let cases = vec![Case::Recv(&c), Case::Recv(&c), Case::Recv(&c)];
        assert_eq!(select(cases, Some(&w)), Poll::Pending);
        assert_eq!(c.try_send(i), Ok(()));
        let s = w.take().expect("completed");
        assert_eq!(s.outcome, Outcome::Received(Some(i)));
        recv_counts[s.case] += 1;
        unregister([&c], &w);

        let w = Waiter::new(Wake::Callback(Box::new(|| {})));
        let cases = vec![Case::Send(&c, 0), Case::Send(&c, 1), Case::Send(&c, 2)];
        assert_eq!(select(cases, Some(&w)), Poll::Pending);
        let TryRecv::Value(v) = c.try_recv() else {
            panic!("a sender is queued")
        };
        let s = w.take().expect("completed");
        assert_eq!((s.case as u32, s.outcome), (v, Outcome::Sent));
        send_counts[s.case] += 1;
        unregister([&c], &w);
        assert_eq!(queued(&c), (0, 0));
    }
    for counts in [recv_counts, send_counts] {
        let chi2 = chi_square(&counts);
        assert!(
            chi2 < CHI2_P001[2],
            "not uniform: {counts:?} (chi2 {chi2:.1})"
        );
    }
}

/// A select that sends and receives on the same channel: unbuffered, it
/// never matches itself (it blocks, and another such select pairs with
/// it); buffered, whichever directions are possible are chosen uniformly.
#[test]
fn send_and_receive_on_the_same_channel() {
    // Unbuffered: nothing ready, and registering does not pair with itself.
    let c: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    assert_eq!(poll(vec![Case::Send(&*c, 1), Case::Recv(&*c)]), None);
    let w = Waiter::for_current_thread();
    assert_eq!(
        select(vec![Case::Send(&*c, 1), Case::Recv(&*c)], Some(&w)),
        Poll::Pending
    );
    assert!(w.is_waiting());
    assert_eq!(queued(&c), (1, 1));
    // A second such select pairs with the first, in one direction or the other.
    let s = poll(vec![Case::Send(&*c, 2), Case::Recv(&*c)]).expect("pairs with the first");
    let first = w.take().expect("completed");
    match (s.case, first.case) {
        (0, 1) => assert_eq!(first.outcome, Outcome::Received(Some(2))),
        (1, 0) => assert_eq!(s.outcome, Outcome::Received(Some(1))),
        other => panic!("not a pairing: {other:?}"),
    }
    unregister([&*c], &w);
    assert_eq!(queued(&c), (0, 0));

    // Buffered: only the possible direction, or both uniformly.
    fastrand::seed(0x5eed_0004);
    let b: Chan<u32> = Chan::new(2);
    for _ in 0..100 {
        let s = poll(vec![Case::Recv(&b), Case::Send(&b, 7)]).unwrap();
        assert_eq!(
            s,
            Selected {
                case: 1,
                outcome: Outcome::Sent
            },
            "empty: only send"
        );
        b.try_send(8).unwrap();
        let s = poll(vec![Case::Recv(&b), Case::Send(&b, 9)]).unwrap();
        assert_eq!(s.case, 0, "full: only receive");
        assert_eq!(s.outcome, Outcome::Received(Some(7)));
        assert_eq!(b.try_recv(), TryRecv::Value(8));
    }
    b.try_send(0).unwrap();
    let mut counts = [0usize; 2];
    for _ in 0..2000 {
        let s = poll(vec![Case::Recv(&b), Case::Send(&b, 0)]).unwrap();
        counts[s.case] += 1;
        // Back to one buffered value.
        match s.case {
            0 => b.try_send(0).unwrap(),
            _ => assert_eq!(b.try_recv(), TryRecv::Value(0)),
        }
    }
    let chi2 = chi_square(&counts);
    assert!(chi2 < CHI2_P001[1], "unfair: {counts:?} (chi2 {chi2:.1})");
}

/// A select completed by one channel leaves stale entries in the others
/// until it unregisters: they are skipped (and discarded) by whoever meets
/// them, and `unregister` removes the rest and frees their values.
#[test]
fn unregister_after_completion_elsewhere_leaves_nothing_behind() {
    let live = Arc::new(AtomicIsize::new(0));
    let a: Chan<Tracked> = Chan::new(0);
    let b: Chan<Tracked> = Chan::new(0);
    let c: Chan<Tracked> = Chan::new(1);
    c.try_send(Tracked::new(0, &live)).unwrap(); // full: the send case blocks
    let w = Waiter::for_current_thread();
    let cases = vec![
        Case::Recv(&a),
        Case::Send(&b, Tracked::new(1, &live)),
        Case::Send(&c, Tracked::new(2, &live)),
        Case::Recv(&b),
    ];
    assert!(matches!(select(cases, Some(&w)), Poll::Pending));
    assert_eq!(
        (queued(&a), queued(&b), queued(&c)),
        ((1, 0), (1, 1), (0, 1))
    );

    // Completed through `a`.
    assert!(a.try_send(Tracked::new(3, &live)).is_ok());
    let s = w.take().expect("completed");
    assert_eq!(s.case, 0);
    assert!(matches!(s.outcome, Outcome::Received(Some(ref v)) if v.id == 3));
    drop(s);
    // Its entries elsewhere are now stale: a receiver on `b` skips the send
    // entry (nothing to receive), a sender on `b` skips the receive entry.
    assert_eq!(b.try_recv(), TryRecv::Empty);
    assert!(matches!(
        b.try_send(Tracked::new(4, &live)),
        Err(TrySendError::Full(_))
    ));
    assert_eq!(queued(&b), (0, 0), "stale entries met are discarded");
    assert_eq!(queued(&c), (0, 1));
    assert_eq!(
        live.load(Ordering::SeqCst),
        2,
        "buffered 0 and the stale offer 2"
    );
    unregister([&a, &b, &c, &b], &w);
    assert_eq!(
        (queued(&a), queued(&b), queued(&c)),
        ((0, 0), (0, 0), (0, 0))
    );
    assert_eq!(
        live.load(Ordering::SeqCst),
        1,
        "only the buffered value is left"
    );
    assert_eq!(c.try_recv().map_value(|v| v.id), TryRecv::Value(0));
    assert_eq!(c.try_recv().map_value(|v| v.id), TryRecv::Empty);
}

trait MapValue<T> {
    fn map_value<U>(self, f: impl FnOnce(T) -> U) -> TryRecv<U>;
}

impl<T> MapValue<T> for TryRecv<T> {
    fn map_value<U>(self, f: impl FnOnce(T) -> U) -> TryRecv<U> {
        match self {
            TryRecv::Value(v) => TryRecv::Value(f(v)),
            TryRecv::Closed => TryRecv::Closed,
            TryRecv::Empty => TryRecv::Empty,
        }
    }
}

/// Many rounds of a select on two channels with a sender racing on each:
/// the loser's value is received afterwards, and after every round both
/// channels are empty of entries (no stale entry accumulates).
#[test]
fn racing_selects_leave_no_stale_entries() {
    let c1: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    let c2: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    for round in 0..500u32 {
        let s1 = {
            let c1 = c1.clone();
            std::thread::spawn(move || send(&c1, 2 * round))
        };
        let s2 = {
            let c2 = c2.clone();
            std::thread::spawn(move || send(&c2, 2 * round + 1))
        };
        let s = blocking_select(vec![Case::Recv(&*c1), Case::Recv(&*c2)]);
        let (won, other) = if s.case == 0 { (0, &c2) } else { (1, &c1) };
        assert_eq!(s.outcome, Outcome::Received(Some(2 * round + won)));
        assert_eq!(recv(other), Some(2 * round + 1 - won));
        assert_eq!(s1.join().unwrap(), Outcome::Sent);
        assert_eq!(s2.join().unwrap(), Outcome::Sent);
        assert_eq!((queued(&c1), queued(&c2)), ((0, 0), (0, 0)));
    }
}

/// A select over 4096 channels (Go allows up to 65536 cases): blocked on
/// all, completed by one, cleaned from all; and a ready case found among
/// them without blocking.
#[test]
fn many_cases() {
    const N: usize = 4096;
    let chans: Arc<Vec<Chan<usize>>> = Arc::new((0..N).map(|_| Chan::new(0)).collect());
    let t = {
        let chans = chans.clone();
        std::thread::spawn(move || blocking_select(chans.iter().map(Case::Recv).collect()))
    };
    wait_until("the select to register", || queued(&chans[N - 1]) == (1, 0));
    assert!(chans.iter().all(|c| queued(c) == (1, 0)));
    assert_eq!(send(&chans[2718], 42), Outcome::Sent);
    let s = t.join().unwrap();
    assert_eq!(
        s,
        Selected {
            case: 2718,
            outcome: Outcome::Received(Some(42))
        }
    );
    assert!(chans.iter().all(|c| queued(c) == (0, 0)));

    let b: Chan<usize> = Chan::new(1);
    b.try_send(5).unwrap();
    let mut cases: Vec<Case<'_, usize>> = chans.iter().map(Case::Recv).collect();
    cases.insert(1234, Case::Recv(&b));
    assert_eq!(
        poll(cases),
        Some(Selected {
            case: 1234,
            outcome: Outcome::Received(Some(5))
        })
    );
}

#[test]
fn empty_select_never_completes() {
    let w: Arc<ChanWaiter<u32>> = Waiter::for_current_thread();
    assert_eq!(select(vec![], Some(&w)), Poll::Pending);
    assert_eq!(select::<u32>(vec![], None), Poll::Pending);
    assert!(w.is_waiting());
    unregister(std::iter::empty::<&Chan<u32>>(), &w);
}

/// A value whose destructor locks the channel it came from: dropping it
/// while that channel's lock is held would deadlock.
struct LocksOnDrop {
    chan: Weak<Chan<LocksOnDrop>>,
}

impl Drop for LocksOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.chan.upgrade() {
            let _ = c.len();
        }
    }
}

fn locking_value(c: &Arc<Chan<LocksOnDrop>>) -> LocksOnDrop {
    LocksOnDrop {
        chan: Arc::downgrade(c),
    }
}

/// A waiter whose wake locks `c` (an asyncio wake calls into Python, which
/// may do anything).
fn locking_waiter(c: &Arc<Chan<LocksOnDrop>>) -> Arc<ChanWaiter<LocksOnDrop>> {
    let c = Arc::downgrade(c);
    Waiter::new(Wake::Callback(Box::new(move || {
        if let Some(c) = c.upgrade() {
            let _ = c.len();
        }
    })))
}

/// Every path that discards a value or wakes a waiter does so after the
/// channel locks are released: a destructor or a wake that locks the
/// channel again does not deadlock.
#[test]
fn values_are_dropped_and_waiters_woken_outside_the_locks() {
    within(20, || {
        // A stale send entry discarded by a receiver.
        let c = Arc::new(Chan::new(0));
        let w = locking_waiter(&c);
        assert!(matches!(
            select(vec![Case::Send(&*c, locking_value(&c))], Some(&w)),
            Poll::Pending
        ));
        assert!(w.withdraw());
        assert!(matches!(c.try_recv(), TryRecv::Empty));

        // A withdrawn send entry removed by unregister.
        let w = locking_waiter(&c);
        assert!(matches!(
            select(vec![Case::Send(&*c, locking_value(&c))], Some(&w)),
            Poll::Pending
        ));
        assert!(w.withdraw());
        unregister([&*c], &w);

        // Blocked senders' values dropped by close; their wakes.
        let w = locking_waiter(&c);
        assert!(matches!(
            select(vec![Case::Send(&*c, locking_value(&c))], Some(&w)),
            Poll::Pending
        ));
        let r = locking_waiter(&c);
        let d = Arc::new(Chan::new(0));
        assert!(matches!(
            select(vec![Case::Recv(&*d)], Some(&r)),
            Poll::Pending
        ));
        c.close().unwrap();
        d.close().unwrap();
        assert!(matches!(
            w.take().map(|s| s.outcome),
            Some(Outcome::SendClosed)
        ));
        unregister([&*c], &w);
        unregister([&*d], &r);

        // The other send values of a select that performed a receive, and
        // of a select that found nothing ready.
        let c = Arc::new(Chan::new(1));
        assert!(c.try_send(locking_value(&c)).is_ok());
        let s = select(
            vec![Case::Send(&*c, locking_value(&c)), Case::Recv(&*c)],
            None,
        );
        assert!(matches!(s, Poll::Ready(Selected { case: 1, .. })));
        drop(s);
        let e = Arc::new(Chan::new(0));
        assert!(matches!(
            select(vec![Case::Send(&*e, locking_value(&e))], None),
            Poll::Pending
        ));

        // A receiver completed (and woken) by a sender, a sender by a receiver.
        let u = Arc::new(Chan::new(0));
        let w = locking_waiter(&u);
        assert!(matches!(
            select(vec![Case::Recv(&*u)], Some(&w)),
            Poll::Pending
        ));
        assert!(u.try_send(locking_value(&u)).is_ok());
        drop(w.take());
        unregister([&*u], &w);
        let w = locking_waiter(&u);
        assert!(matches!(
            select(vec![Case::Send(&*u, locking_value(&u))], Some(&w)),
            Poll::Pending
        ));
        assert!(matches!(u.try_recv(), TryRecv::Value(_)));
        unregister([&*u], &w);
    });
}
