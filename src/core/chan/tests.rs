//! Tests of the channel core; threads block through `Waiter::park`.

use super::*;
use crate::core::waiter::Waiter;

/// Blocking send, as the binding does it (without the GIL and signals).
pub(crate) fn send<T>(c: &Chan<T>, v: T) -> Outcome<T> {
    blocking_select(vec![Case::Send(c, v)]).outcome
}

/// Blocking receive: `None` when closed and drained.
pub(crate) fn recv<T>(c: &Chan<T>) -> Option<T> {
    match blocking_select(vec![Case::Recv(c)]).outcome {
        Outcome::Received(v) => v,
        _ => unreachable!("a receive case completes with Received"),
    }
}

pub(crate) fn blocking_select<T>(cases: Vec<Case<'_, T>>) -> Selected<T> {
    let chans: Vec<&Chan<T>> = cases
        .iter()
        .map(|c| match c {
            Case::Send(c, _) | Case::Recv(c) => *c,
        })
        .collect();
    let w = Waiter::for_current_thread();
    match select(cases, Some(&w)) {
        Poll::Ready(s) => s,
        Poll::Pending => {
            let s = w.park(None).expect("no deadline");
            unregister(chans, &w);
            s
        }
    }
}

#[test]
fn buffered_fifo_and_len() {
    let c = Chan::new(3);
    assert_eq!(c.try_send(1), Ok(()));
    assert_eq!(c.try_send(2), Ok(()));
    assert_eq!(c.try_send(3), Ok(()));
    assert_eq!(c.try_send(4), Err(TrySendError::Full(4)));
    assert_eq!(c.len(), 3);
    assert_eq!(c.try_recv(), TryRecv::Value(1));
    assert_eq!(c.try_recv(), TryRecv::Value(2));
    assert_eq!(c.try_recv(), TryRecv::Value(3));
    assert_eq!(c.try_recv(), TryRecv::Empty);
}

#[test]
fn close_keeps_buffer_then_reports_closed() {
    let c = Chan::new(2);
    c.try_send(1).unwrap();
    c.close().unwrap();
    assert_eq!(c.close(), Err(AlreadyClosed));
    assert_eq!(c.try_send(2), Err(TrySendError::Closed(2)));
    assert_eq!(c.try_recv(), TryRecv::Value(1));
    assert_eq!(c.try_recv(), TryRecv::Closed);
}

#[test]
fn unbuffered_rendezvous_across_threads() {
    let c = Arc::new(Chan::new(0));
    assert_eq!(c.try_send(1), Err(TrySendError::Full(1)));
    let c2 = c.clone();
    let h = std::thread::spawn(move || (0..1000).map(|_| recv(&c2).unwrap()).sum::<u64>());
    for i in 0..1000u64 {
        assert_eq!(send(&c, i), Outcome::Sent);
    }
    assert_eq!(h.join().unwrap(), (0..1000u64).sum::<u64>());
}
