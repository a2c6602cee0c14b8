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

#[test]
fn garbage_collector_hooks_see_and_take_the_buffer() {
    let c = Chan::new(3);
    c.try_send(1).unwrap();
    c.try_send(2).unwrap();
    let mut seen = vec![];
    let r: Option<Result<(), ()>> = c.try_for_each_buffered(|v| {
        seen.push(*v);
        Ok(())
    });
    assert_eq!(r, Some(Ok(())));
    assert_eq!(seen, [1, 2]);
    // A locked channel is skipped, never waited for.
    {
        let _held = c.state.lock();
        assert_eq!(c.try_for_each_buffered(|_| Ok::<(), ()>(())), None);
    }
    // An error from the visitor stops the walk and comes back.
    assert_eq!(c.try_for_each_buffered(|_| Err("stop")), Some(Err("stop")));
    assert_eq!(c.take_buffered(), [1, 2]);
    assert!(c.is_empty());
    assert_eq!(c.try_send(3), Ok(()));
}

// ---------------------------------------------------------------------------
// Shared helpers of the test modules below.

mod close;
mod go;
mod order;
mod select;
mod waiter;

use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

/// (blocked receivers, blocked senders) entries queued on `c`, stale ones
/// included: after every select has been unregistered this must be exactly
/// the parties still blocked.
pub(crate) fn queued<T>(c: &Chan<T>) -> (usize, usize) {
    let st = c.state.lock();
    (st.recvq.len(), st.sendq.len())
}

/// Spins (yielding) until `cond` holds; panics after 10 s, so that a bug
/// shows up as a failure rather than a hung test.
pub(crate) fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

/// Runs `f` on its own thread and fails if it does not finish within
/// `secs` (a deadlock becomes a failure; the stuck thread is leaked).
pub(crate) fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("did not finish within {secs} s (deadlock?)"))
}

/// A value that counts how many of its kind are alive: a test can check
/// that every value was either received or dropped exactly once (no leak,
/// and, since it is not Clone, no duplicate).
#[derive(Debug)]
pub(crate) struct Tracked {
    pub id: u64,
    live: Arc<AtomicIsize>,
}

impl Tracked {
    pub fn new(id: u64, live: &Arc<AtomicIsize>) -> Tracked {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id,
            live: live.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
