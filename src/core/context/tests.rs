//! Tests of the cancellation tree.

use super::*;
use crate::core::chan::TryRecv;

type N = Node<u32, &'static str, u32>;

fn chan() -> Arc<Chan<u32>> {
    Arc::new(Chan::new(0))
}

fn closed(n: &N) -> bool {
    matches!(n.done().try_recv(), TryRecv::Closed)
}

#[test]
fn cancel_propagates_through_three_levels() {
    let root = N::root(chan());
    let a = N::child(&root, chan());
    let b = N::child(&a, chan());
    let c = N::child(&b, chan());
    let side = N::child(&root, chan());
    assert!(c.err().is_none() && !closed(&c));
    assert!(a.cancel("canceled", true).is_empty());
    for n in [&a, &b, &c] {
        assert_eq!(n.err(), Some("canceled"));
        assert!(closed(n));
    }
    assert!(root.err().is_none() && !closed(&root));
    assert!(side.err().is_none());
    // a unlinked itself from root; side is still there.
    assert_eq!(root.children(), 1);
    // Idempotent: the first error stays.
    a.cancel("other", true);
    assert_eq!(c.err(), Some("canceled"));
}

#[test]
fn a_child_of_a_cancelled_parent_starts_cancelled() {
    let root = N::root(chan());
    root.cancel("deadline", true);
    let c = N::child(&root, chan());
    assert_eq!(c.err(), Some("deadline"));
    assert!(closed(&c));
    assert_eq!(root.children(), 0);
}

#[test]
fn cancelling_a_child_leaves_the_parent() {
    let root = N::root(chan());
    let c = N::child(&root, chan());
    assert_eq!(root.children(), 1);
    c.cancel("canceled", true);
    assert_eq!(root.children(), 0);
    assert!(root.err().is_none());
}

#[test]
fn deep_chains_do_not_recurse() {
    let root = N::root(chan());
    let mut last = root.clone();
    let mut all = Vec::new();
    for _ in 0..100_000 {
        last = N::child(&last, chan());
        all.push(last.clone());
    }
    root.cancel("canceled", true);
    assert!(all.iter().all(|n| n.err() == Some("canceled")));
}

#[test]
fn after_func_runs_once_or_is_stopped() {
    let root = N::root(chan());
    let (f1, now1) = root.after_func(1);
    let (f2, now2) = root.after_func(2);
    assert!(now1.is_none() && now2.is_none());
    assert_eq!(f2.stop(), (true, Some(2)));
    assert_eq!(f2.stop(), (false, None));
    let mut due = root.cancel("canceled", true);
    due.sort();
    assert_eq!(due, vec![1]);
    assert_eq!(f1.stop(), (false, None));
    // Registered after cancellation: due at once.
    let (f3, now3) = root.after_func(3);
    assert_eq!(now3, Some(3));
    assert_eq!(f3.stop(), (false, None));
    // Never cancelled: the first stop reports true.
    let never = AfterFunc::<u32, &str, u32>::never();
    assert_eq!(never.stop(), (true, None));
    assert_eq!(never.stop(), (false, None));
}

#[test]
fn racing_stop_and_cancel() {
    for _ in 0..500 {
        let root = N::root(chan());
        let (f, _) = root.after_func(9);
        let r2 = root.clone();
        let h = std::thread::spawn(move || r2.cancel("canceled", true));
        let (stopped, _) = f.stop();
        let ran = h.join().unwrap();
        assert_ne!(stopped, ran == vec![9]);
    }
}

#[test]
fn racing_child_registration_and_cancel() {
    for _ in 0..300 {
        let root = N::root(chan());
        let r2 = root.clone();
        let h =
            std::thread::spawn(move || (0..20).map(|_| N::child(&r2, chan())).collect::<Vec<_>>());
        root.cancel("canceled", true);
        for c in h.join().unwrap() {
            assert_eq!(c.err(), Some("canceled"));
            assert!(closed(&c));
        }
    }
}

#[test]
fn cleanups_run_once_on_cancel() {
    use std::sync::atomic::AtomicUsize;
    let n = Arc::new(AtomicUsize::new(0));
    let root = N::root(chan());
    let child = N::child(&root, chan());
    let n2 = n.clone();
    assert!(
        child
            .on_cancel(Box::new(move || {
                n2.fetch_add(1, Ordering::SeqCst);
            }))
            .is_ok()
    );
    root.cancel("x", true);
    child.cancel("y", true);
    assert_eq!(n.load(Ordering::SeqCst), 1);
    assert!(child.on_cancel(Box::new(|| {})).is_err());
}

#[test]
fn dropping_a_deep_uncancelled_chain_does_not_recurse() {
    let root = N::root(chan());
    let mut last = root.clone();
    for _ in 0..200_000 {
        last = N::child(&last, chan());
    }
    drop(last);
    drop(root);
}
