//! FIFO per channel: values leave in the order they were sent, blocked
//! receivers are served and blocked senders are taken in the order they
//! blocked, and a stale select entry does not disturb that order.

use super::*;

/// Starts `n` threads one after the other, each blocked (registered) before
/// the next starts; `f(i)` is thread i's body, `registered(k)` whether k
/// threads are queued.
fn start_in_order<R: Send + 'static>(
    n: usize,
    f: impl Fn(usize) -> R + Send + Sync + Clone + 'static,
    registered: impl Fn(usize) -> bool,
) -> Vec<std::thread::JoinHandle<R>> {
    (0..n)
        .map(|i| {
            let f = f.clone();
            let h = std::thread::spawn(move || f(i));
            wait_until("the thread to block", || registered(i + 1));
            h
        })
        .collect()
}

#[test]
fn blocked_receivers_are_served_in_arrival_order() {
    for cap in [0, 3] {
        let c: Arc<Chan<usize>> = Arc::new(Chan::new(cap));
        let c2 = c.clone();
        let hs = start_in_order(6, move |_| recv(&c2), |k| queued(&c).0 == k);
        for v in 0..6 {
            assert_eq!(send(&c, v), Outcome::Sent);
        }
        let got: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(got, (0..6).map(Some).collect::<Vec<_>>(), "cap {cap}");
    }
}

#[test]
fn blocked_senders_are_taken_in_arrival_order_after_the_buffer() {
    for cap in [0usize, 2] {
        let c: Arc<Chan<usize>> = Arc::new(Chan::new(cap));
        for v in 0..cap {
            c.try_send(v).unwrap();
        }
        let c2 = c.clone();
        let hs = start_in_order(5, move |i| send(&c2, cap + i), |k| queued(&c).1 == k);
        let got: Vec<_> = (0..cap + 5).map(|_| recv(&c).unwrap()).collect();
        assert_eq!(got, (0..cap + 5).collect::<Vec<_>>(), "cap {cap}");
        for h in hs {
            assert_eq!(h.join().unwrap(), Outcome::Sent);
        }
        assert_eq!(c.try_recv(), TryRecv::Empty);
    }
}

/// Receivers R0, R1 (a select on c and d), R2, R3 block on c in that order.
/// R1 is then served by d, leaving a stale entry in c's queue: the values
/// sent on c go to R0, R2, R3 in order, and the stale entry is skipped.
#[test]
fn a_stale_select_entry_is_skipped_in_order() {
    let c: Arc<Chan<usize>> = Arc::new(Chan::new(0));
    let d: Arc<Chan<usize>> = Arc::new(Chan::new(0));
    let (c2, d2) = (c.clone(), d.clone());
    let hs = start_in_order(
        4,
        move |i| {
            if i == 1 {
                let s = blocking_select(vec![Case::Recv(&*c2), Case::Recv(&*d2)]);
                (s.case, s.outcome)
            } else {
                (0, Outcome::Received(recv(&c2)))
            }
        },
        |k| queued(&c).0 == k,
    );
    assert_eq!(send(&d, 100), Outcome::Sent);
    for v in 0..3 {
        assert_eq!(send(&c, v), Outcome::Sent);
    }
    let got: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        got,
        vec![
            (0, Outcome::Received(Some(0))),
            (1, Outcome::Received(Some(100))),
            (0, Outcome::Received(Some(1))),
            (0, Outcome::Received(Some(2))),
        ]
    );
    assert_eq!(queued(&c), (0, 0));
    assert_eq!(queued(&d), (0, 0));
}

/// One producer, one consumer, through every kind of operation: the values
/// arrive in order, whatever the capacity.
#[test]
fn single_producer_single_consumer_keeps_order() {
    for cap in [0, 1, 7, 64] {
        let c: Arc<Chan<u32>> = Arc::new(Chan::new(cap));
        let producer = {
            let c = c.clone();
            std::thread::spawn(move || {
                for v in 0..2000u32 {
                    match v % 3 {
                        0 => assert_eq!(send(&c, v), Outcome::Sent),
                        1 => match c.try_send(v) {
                            Ok(()) => {}
                            Err(TrySendError::Full(v)) => assert_eq!(send(&c, v), Outcome::Sent),
                            Err(TrySendError::Closed(_)) => unreachable!(),
                        },
                        _ => {
                            let idle = Chan::new(0);
                            let s = blocking_select(vec![Case::Recv(&idle), Case::Send(&*c, v)]);
                            assert_eq!(s.case, 1);
                        }
                    }
                }
                c.close().unwrap();
            })
        };
        let mut next = 0u32;
        loop {
            let v = if next % 2 == 0 {
                recv(&c)
            } else {
                match c.try_recv() {
                    TryRecv::Value(v) => Some(v),
                    TryRecv::Closed => None,
                    TryRecv::Empty => recv(&c),
                }
            };
            match v {
                Some(v) => {
                    assert_eq!(v, next, "cap {cap}");
                    next += 1;
                }
                None => break,
            }
        }
        assert_eq!(next, 2000);
        producer.join().unwrap();
    }
}
