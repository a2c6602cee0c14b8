//! Ports of Go's channel tests (src/runtime/chan_test.go and test/chan/*.go)
//! to the core: OS threads instead of goroutines, `recv` returning `None`
//! for Go's zero value with ok == false, `select(cases, None)` for a select
//! with a `default` case, a rebuilt case list instead of nil channels, and
//! waits on the queues instead of `time.Sleep` where Go sleeps to let a
//! goroutine block. Iteration counts are those of Go's `-short` mode or
//! lower, to keep `cargo test` quick on two cores.

use super::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32};

fn spawn<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> std::thread::JoinHandle<R> {
    std::thread::spawn(f)
}

/// Non-blocking select: `None` is Go's `default` case.
fn select_default<T>(cases: Vec<Case<'_, T>>) -> Option<Selected<T>> {
    match select(cases, None) {
        Poll::Ready(s) => Some(s),
        Poll::Pending => None,
    }
}

/// TestChan.
#[test]
fn test_chan() {
    for cap in 0..20usize {
        {
            // Receive from an empty channel blocks.
            let c: Arc<Chan<u32>> = Arc::new(Chan::new(cap));
            let done = Arc::new(AtomicU32::new(0));
            let rs: Vec<_> = (0..2)
                .map(|_| {
                    let (c, done) = (c.clone(), done.clone());
                    spawn(move || {
                        recv(&c);
                        done.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            wait_until("both receivers to block", || queued(&c).0 == 2);
            assert_eq!(
                done.load(Ordering::SeqCst),
                0,
                "chan[{cap}]: receive from empty chan"
            );
            // A non-blocking receive does not block.
            assert_eq!(c.try_recv(), TryRecv::Empty);
            assert_eq!(select_default(vec![Case::Recv(&*c)]), None);
            assert_eq!(send(&c, 0), Outcome::Sent);
            assert_eq!(send(&c, 0), Outcome::Sent);
            rs.into_iter().for_each(|r| r.join().unwrap());
        }
        {
            // Send to a full channel blocks.
            let c: Arc<Chan<u32>> = Arc::new(Chan::new(cap));
            for i in 0..cap as u32 {
                assert_eq!(send(&c, i), Outcome::Sent);
            }
            let sent = Arc::new(AtomicBool::new(false));
            let s = {
                let (c, sent) = (c.clone(), sent.clone());
                spawn(move || {
                    send(&c, 0);
                    sent.store(true, Ordering::SeqCst);
                })
            };
            wait_until("the sender to block", || queued(&c).1 == 1);
            assert!(
                !sent.load(Ordering::SeqCst),
                "chan[{cap}]: send to full chan"
            );
            // A non-blocking send does not block.
            assert_eq!(select_default(vec![Case::Send(&*c, 0)]), None);
            recv(&c);
            s.join().unwrap();
        }
        {
            // Receive the buffered values, then the zero value, from a closed channel.
            let c: Chan<u32> = Chan::new(cap);
            for i in 0..cap as u32 {
                assert_eq!(send(&c, i), Outcome::Sent);
            }
            c.close().unwrap();
            for i in 0..cap as u32 {
                assert_eq!(recv(&c), Some(i), "chan[{cap}]");
            }
            assert_eq!(recv(&c), None);
            assert_eq!(recv(&c), None);
        }
        {
            // Close unblocks a receive.
            let c: Arc<Chan<u32>> = Arc::new(Chan::new(cap));
            let r = {
                let c = c.clone();
                spawn(move || recv(&c))
            };
            wait_until("the receiver to block", || queued(&c).0 == 1);
            c.close().unwrap();
            assert_eq!(
                r.join().unwrap(),
                None,
                "chan[{cap}]: received non zero from closed chan"
            );
        }
        {
            // 100 integers arrive uncorrupted and in FIFO order (twice).
            let c: Arc<Chan<u32>> = Arc::new(Chan::new(cap));
            for _ in 0..2 {
                let s = {
                    let c = c.clone();
                    spawn(move || (0..100).for_each(|i| assert_eq!(send(&c, i), Outcome::Sent)))
                };
                for i in 0..100 {
                    assert_eq!(recv(&c), Some(i), "chan[{cap}]");
                }
                s.join().unwrap();
            }
            // P senders and P receivers of L integers each: every value
            // arrives P times.
            const P: usize = 4;
            const L: u32 = 250;
            let senders: Vec<_> = (0..P)
                .map(|_| {
                    let c = c.clone();
                    spawn(move || (0..L).for_each(|i| assert_eq!(send(&c, i), Outcome::Sent)))
                })
                .collect();
            let receivers: Vec<_> = (0..P)
                .map(|_| {
                    let c = c.clone();
                    spawn(move || {
                        let mut m: HashMap<u32, usize> = HashMap::new();
                        for _ in 0..L {
                            *m.entry(recv(&c).unwrap()).or_default() += 1;
                        }
                        m
                    })
                })
                .collect();
            senders.into_iter().for_each(|s| s.join().unwrap());
            let mut total: HashMap<u32, usize> = HashMap::new();
            for r in receivers {
                for (k, v) in r.join().unwrap() {
                    *total.entry(k).or_default() += v;
                }
            }
            assert_eq!(total.len(), L as usize, "chan[{cap}]");
            assert!(total.values().all(|&n| n == P), "chan[{cap}]");
        }
        {
            // len and cap.
            let c: Chan<u32> = Chan::new(cap);
            assert_eq!((c.len(), c.cap()), (0, cap));
            for i in 0..cap as u32 {
                c.try_send(i).unwrap();
            }
            assert_eq!((c.len(), c.cap()), (cap, cap));
        }
    }
}

/// TestNonblockRecvRace: a non-blocking receive from a channel that holds a
/// value, racing with its close, never finds it not ready.
#[test]
fn test_nonblock_recv_race() {
    for _ in 0..1000 {
        let c: Arc<Chan<u32>> = Arc::new(Chan::new(1));
        c.try_send(1).unwrap();
        let t = {
            let c = c.clone();
            spawn(move || select_default(vec![Case::Recv(&*c)]).is_some())
        };
        c.close().unwrap();
        recv(&c);
        assert!(t.join().unwrap(), "chan is not ready");
    }
}

/// TestNonblockSelectRace: a select acts on the state of its channels at one
/// moment: at least one of c1, c2 is always ready, so `default` never runs.
#[test]
fn test_nonblock_select_race() {
    for _ in 0..2000 {
        let c1: Arc<Chan<u32>> = Arc::new(Chan::new(1));
        let c2: Arc<Chan<u32>> = Arc::new(Chan::new(1));
        c1.try_send(1).unwrap();
        let t = {
            let (c1, c2) = (c1.clone(), c2.clone());
            spawn(move || select_default(vec![Case::Recv(&*c1), Case::Recv(&*c2)]).is_some())
        };
        c2.try_send(1).unwrap();
        select_default(vec![Case::Recv(&*c1)]);
        assert!(t.join().unwrap(), "no chan is ready");
    }
}

/// TestNonblockSelectRace2: the same with close(c2) instead of a send.
#[test]
fn test_nonblock_select_race2() {
    for _ in 0..2000 {
        let c1: Arc<Chan<u32>> = Arc::new(Chan::new(1));
        let c2: Arc<Chan<u32>> = Arc::new(Chan::new(0));
        c1.try_send(1).unwrap();
        let t = {
            let (c1, c2) = (c1.clone(), c2.clone());
            spawn(move || select_default(vec![Case::Recv(&*c1), Case::Recv(&*c2)]).is_some())
        };
        c2.close().unwrap();
        select_default(vec![Case::Recv(&*c1)]);
        assert!(t.join().unwrap(), "no chan is ready");
    }
}

/// TestSelfSelect: send and receive on the same channel in one select,
/// from two threads: no crash, no deadlock, and (unbuffered) no self-receive.
#[test]
fn test_self_select() {
    for cap in [0, 10] {
        let c: Arc<Chan<u32>> = Arc::new(Chan::new(cap));
        let ts: Vec<_> = (0..2u32)
            .map(|p| {
                let c = c.clone();
                spawn(move || {
                    for i in 0..1000 {
                        let cases = if p == 0 || i % 2 == 0 {
                            vec![Case::Send(&*c, p), Case::Recv(&*c)]
                        } else {
                            vec![Case::Recv(&*c), Case::Send(&*c, p)]
                        };
                        if let Outcome::Received(Some(v)) = blocking_select(cases).outcome {
                            assert!(!(cap == 0 && v == p), "self receive");
                        }
                    }
                })
            })
            .collect();
        ts.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(queued(&c), (0, 0));
    }
}

/// TestSelectStress: four senders and four receivers, one per channel, plus
/// one select sending on all four and one receiving from all four, until
/// each has done N operations per channel; a finished channel leaves the
/// select (Go sets it to nil).
#[test]
fn test_select_stress() {
    const N: usize = 2000;
    let c: Arc<[Chan<u32>; 4]> = Arc::new([Chan::new(0), Chan::new(0), Chan::new(2), Chan::new(3)]);
    let mut ts = vec![];
    for k in 0..4 {
        let c1 = c.clone();
        ts.push(spawn(move || {
            (0..N).for_each(|_| assert_eq!(send(&c1[k], 0), Outcome::Sent))
        }));
        let c2 = c.clone();
        ts.push(spawn(move || {
            (0..N).for_each(|_| assert_eq!(recv(&c2[k]), Some(0)))
        }));
    }
    let c1 = c.clone();
    ts.push(spawn(move || {
        let mut n = [0usize; 4];
        for _ in 0..4 * N {
            // Go's case order: 3, 2, 0, 1.
            let live: Vec<usize> = [3, 2, 0, 1].into_iter().filter(|&k| n[k] < N).collect();
            let cases = live.iter().map(|&k| Case::Send(&c1[k], 0)).collect();
            let s = blocking_select(cases);
            assert_eq!(s.outcome, Outcome::Sent);
            n[live[s.case]] += 1;
        }
    }));
    let c2 = c.clone();
    ts.push(spawn(move || {
        let mut n = [0usize; 4];
        for _ in 0..4 * N {
            let live: Vec<usize> = (0..4).filter(|&k| n[k] < N).collect();
            let cases = live.iter().map(|&k| Case::Recv(&c2[k])).collect();
            let s = blocking_select(cases);
            assert_eq!(s.outcome, Outcome::Received(Some(0)));
            n[live[s.case]] += 1;
        }
    }));
    ts.into_iter().for_each(|t| t.join().unwrap());
    for ch in c.iter() {
        assert_eq!(queued(ch), (0, 0));
        assert_eq!(ch.len(), 0);
    }
}

/// TestChanSendInterface: selects with a default case offering values that
/// are not sent; here the values own resources, which must be freed.
#[test]
fn test_chan_send_interface() {
    let live = Arc::new(AtomicIsize::new(0));
    let c: Chan<Tracked> = Chan::new(1);
    c.try_send(Tracked::new(0, &live)).unwrap();
    assert!(select_default(vec![Case::Send(&c, Tracked::new(1, &live))]).is_none());
    assert!(
        select_default(vec![
            Case::Send(&c, Tracked::new(2, &live)),
            Case::Send(&c, Tracked::new(3, &live)),
        ])
        .is_none()
    );
    assert_eq!(live.load(Ordering::SeqCst), 1);
    drop(c);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

/// TestPseudoRandomSend: a select with two sends on one channel picks both.
#[test]
fn test_pseudo_random_send() {
    const N: usize = 100;
    for cap in [0, N] {
        let c: Arc<Chan<u32>> = Arc::new(Chan::new(cap));
        let r = {
            let c = c.clone();
            spawn(move || {
                (0..N)
                    .map(|_| {
                        std::thread::yield_now();
                        recv(&c).unwrap()
                    })
                    .collect::<Vec<u32>>()
            })
        };
        for _ in 0..N {
            blocking_select(vec![Case::Send(&*c, 1), Case::Send(&*c, 0)]);
        }
        let l = r.join().unwrap();
        let n1 = l.iter().filter(|&&v| v == 1).count();
        let n0 = N - n1;
        assert!(
            n0 > N / 10 && n1 > N / 10,
            "want pseudorandom, got {n0} zeros and {n1} ones (chan cap {cap})"
        );
    }
}

/// TestMultiConsumer: 23 workers ranging over a work channel and feeding a
/// result channel; the feeder closes both in turn; every item arrives once.
#[test]
fn test_multi_consumer() {
    const NWORK: usize = 23;
    const NITER: usize = 20_000;
    let pn = [2u64, 3, 7, 11, 13, 17, 19, 23, 27, 31];
    let q: Arc<Chan<u64>> = Arc::new(Chan::new(NWORK * 3));
    let r: Arc<Chan<u64>> = Arc::new(Chan::new(NWORK * 3));
    let workers: Vec<_> = (0..NWORK)
        .map(|w| {
            let (q, r) = (q.clone(), r.clone());
            spawn(move || {
                while let Some(v) = recv(&q) {
                    // Mess with the FIFO-ish nature of range.
                    if pn[w % pn.len()] == v {
                        std::thread::yield_now();
                    }
                    assert_eq!(send(&r, v), Outcome::Sent);
                }
            })
        })
        .collect();
    let feeder = {
        let (q, r) = (q.clone(), r.clone());
        spawn(move || {
            let mut expect = 0;
            for i in 0..NITER {
                let v = pn[i % pn.len()];
                expect += v;
                assert_eq!(send(&q, v), Outcome::Sent);
            }
            q.close().unwrap(); // no more work
            workers.into_iter().for_each(|w| w.join().unwrap());
            r.close().unwrap(); // ... so there can be no more results
            expect
        })
    };
    let (mut n, mut s) = (0, 0);
    while let Some(v) = recv(&r) {
        n += 1;
        s += v;
    }
    let expect = feeder.join().unwrap();
    assert_eq!((n, s), (NITER, expect));
}

/// TestSelectDuplicateChannel: A blocks in a select with the same channel
/// twice, B blocks on that channel after it; A is woken by another channel
/// and leaves; a send on the shared channel must then reach B.
#[test]
fn test_select_duplicate_channel() {
    let c: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    let d: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    let e: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    let a = {
        let (c, d, e) = (c.clone(), d.clone(), e.clone());
        spawn(move || {
            blocking_select(vec![Case::Recv(&*c), Case::Recv(&*c), Case::Recv(&*d)]);
            send(&e, 9);
        })
    };
    wait_until("A to queue twice on c", || queued(&c).0 == 2);
    let b = {
        let c = c.clone();
        spawn(move || recv(&c))
    };
    wait_until("B to queue on c", || queued(&c).0 == 3);
    assert_eq!(send(&d, 7), Outcome::Sent); // wakes A, which dequeues itself from c
    assert_eq!(recv(&e), Some(9)); // A is done
    assert_eq!(send(&c, 8), Outcome::Sent); // must wake B
    assert_eq!(b.join().unwrap(), Some(8));
    a.join().unwrap();
    assert_eq!(queued(&c), (0, 0));
}

/// TestSelectFairness: a select on two always-ready channels (and two never
/// ready) picks each about half the time: within 10 sigma, as in Go. The
/// selecting thread's random source is seeded, so the outcome is fixed.
#[test]
fn test_select_fairness() {
    const TRIALS: usize = 10_000;
    let c1: Arc<Chan<u8>> = Arc::new(Chan::new(TRIALS + 1));
    let c2: Arc<Chan<u8>> = Arc::new(Chan::new(TRIALS + 1));
    for _ in 0..=TRIALS {
        c1.try_send(1).unwrap();
        c2.try_send(2).unwrap();
    }
    let c3: Arc<Chan<u8>> = Arc::new(Chan::new(0));
    let c4: Arc<Chan<u8>> = Arc::new(Chan::new(0));
    let out: Arc<Chan<u8>> = Arc::new(Chan::new(0));
    let done: Arc<Chan<u8>> = Arc::new(Chan::new(0));
    let t = {
        let (c1, c2, c3, c4, out, done) = (c1, c2, c3, c4, out.clone(), done.clone());
        spawn(move || {
            fastrand::seed(0x5eed_0005);
            loop {
                let s = blocking_select(vec![
                    Case::Recv(&*c3),
                    Case::Recv(&*c4),
                    Case::Recv(&*c1),
                    Case::Recv(&*c2),
                ]);
                let Outcome::Received(Some(b)) = s.outcome else {
                    unreachable!()
                };
                if blocking_select(vec![Case::Send(&*out, b), Case::Recv(&*done)]).case == 1 {
                    return;
                }
            }
        })
    };
    let (mut cnt1, mut cnt2) = (0, 0);
    for _ in 0..TRIALS {
        match recv(&out) {
            Some(1) => cnt1 += 1,
            Some(2) => cnt2 += 1,
            b => panic!("unexpected value {b:?} on channel"),
        }
    }
    let mean = TRIALS as f64 * 0.5;
    let stddev = (TRIALS as f64 * 0.25).sqrt();
    assert!(
        (cnt1 as f64 - mean).abs() <= 10.0 * stddev,
        "unfair select: in {TRIALS} trials, results were {cnt1}, {cnt2}"
    );
    done.close().unwrap();
    t.join().unwrap();
}

/// test/chan/doubleselect.go: a sender selects over four unbuffered
/// channels, four muxes forward to one channel, and the receiver checks that
/// no value arrives twice (two cases of one select must never both run).
#[test]
fn test_doubleselect() {
    const N: u32 = 10_000;
    let cs: Arc<Vec<Chan<u32>>> = Arc::new((0..4).map(|_| Chan::new(0)).collect());
    let cmux: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    let sender = {
        let cs = cs.clone();
        spawn(move || {
            for i in 0..N {
                let s = blocking_select(cs.iter().map(|c| Case::Send(c, i)).collect());
                assert_eq!(s.outcome, Outcome::Sent);
            }
            cs.iter().for_each(|c| c.close().unwrap());
        })
    };
    let running = Arc::new(AtomicU32::new(4));
    let muxes: Vec<_> = (0..4)
        .map(|k| {
            let (cs, cmux, running) = (cs.clone(), cmux.clone(), running.clone());
            spawn(move || {
                while let Some(v) = recv(&cs[k]) {
                    assert_eq!(send(&cmux, v), Outcome::Sent);
                }
                // The last mux to finish closes the output.
                if running.fetch_sub(1, Ordering::SeqCst) == 1 {
                    cmux.close().unwrap();
                }
            })
        })
        .collect();
    let mut seen = vec![false; N as usize];
    let mut n = 0;
    while let Some(v) = recv(&cmux) {
        assert!(!seen[v as usize], "got duplicate value: {v}");
        seen[v as usize] = true;
        n += 1;
    }
    assert_eq!(n, N);
    sender.join().unwrap();
    muxes.into_iter().for_each(|m| m.join().unwrap());
}

/// test/chan/fifo.go: a buffered channel is a FIFO, and so is an unbuffered
/// one: a daisy chain of receivers, each started by the previous one,
/// receives the values in order.
#[test]
fn test_fifo() {
    const N: u32 = 10;
    let ch: Chan<u32> = Chan::new(N as usize);
    for i in 0..N {
        ch.try_send(i).unwrap();
    }
    for i in 0..N {
        assert_eq!(recv(&ch), Some(i), "bad receive");
    }

    let ch: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    let start: Arc<Chan<u32>> = Arc::new(Chan::new(0));
    let mut input = start.clone();
    let mut links = vec![];
    for i in 0..N {
        let out: Arc<Chan<u32>> = Arc::new(Chan::new(0));
        let (ch, inp, o) = (ch.clone(), input.clone(), out.clone());
        links.push(spawn(move || {
            recv(&inp);
            assert_eq!(recv(&ch), Some(i));
            send(&o, 1);
        }));
        input = out;
    }
    send(&start, 0);
    for i in 0..N {
        assert_eq!(send(&ch, i), Outcome::Sent);
    }
    recv(&input);
    links.into_iter().for_each(|l| l.join().unwrap());
}

/// test/chan/nonblock.go: non-blocking operations succeed exactly when the
/// other side is there (a blocked receiver, a blocked sender or a buffered
/// value), for unbuffered and buffered channels.
#[test]
fn test_nonblock() {
    for buffer in 0..2 {
        let c: Arc<Chan<i64>> = Arc::new(Chan::new(buffer));
        let sync: Arc<Chan<bool>> = Arc::new(Chan::new(0));
        assert_eq!(c.try_recv(), TryRecv::Empty, "blocked sender");

        // A blocked receiver makes a non-blocking send succeed.
        let r = {
            let (c, sync) = (c.clone(), sync.clone());
            spawn(move || {
                assert_eq!(recv(&c), Some(123));
                send(&sync, true);
            })
        };
        wait_until("the receiver to block", || queued(&c).0 == 1);
        assert_eq!(c.try_send(123), Ok(()), "receiver buffer={buffer}");
        recv(&sync);
        r.join().unwrap();

        // A blocked sender (or a buffered value) makes a non-blocking
        // receive succeed.
        let s = {
            let (c, sync) = (c.clone(), sync.clone());
            spawn(move || {
                send(&c, 234);
                send(&sync, true);
            })
        };
        if buffer > 0 {
            recv(&sync);
        } else {
            wait_until("the sender to block", || queued(&c).1 == 1);
        }
        assert_eq!(c.try_recv(), TryRecv::Value(234), "sender buffer={buffer}");
        if buffer == 0 {
            recv(&sync);
        }
        s.join().unwrap();
    }
}

/// test/chan/select.go: a select with default sending on two buffered
/// channels fills each exactly once, evaluating every send expression.
#[test]
fn test_select_send_default() {
    let counter = std::cell::Cell::new(0u32);
    let shift = std::cell::Cell::new(0u32);
    let get_value = || {
        counter.set(counter.get() + 1);
        1u32 << shift.get()
    };
    let send_all = |a: Option<&Chan<u32>>, b: Option<&Chan<u32>>| {
        let (mut a, mut b) = (a, b);
        let mut i = 0;
        loop {
            // Go evaluates the send expressions of nil channels too.
            let (va, vb) = (get_value(), get_value());
            let mut cases = vec![];
            let mut which = vec![];
            if let Some(a) = a {
                cases.push(Case::Send(a, va));
                which.push(0);
            }
            if let Some(b) = b {
                cases.push(Case::Send(b, vb));
                which.push(1);
            }
            match select_default(cases) {
                None => return i,
                Some(s) => {
                    i += 1;
                    if which[s.case] == 0 {
                        a = None;
                    } else {
                        b = None;
                    }
                }
            }
            shift.set(shift.get() + 1);
        }
    };
    let a: Chan<u32> = Chan::new(1);
    let b: Chan<u32> = Chan::new(1);
    assert_eq!(send_all(Some(&a), Some(&b)), 2);
    let (av, bv) = (recv(&a).unwrap(), recv(&b).unwrap());
    assert_eq!(av | bv, 3, "bad values {av} {bv}");
    assert_eq!(send_all(Some(&a), None), 1);
    assert_eq!(counter.get(), 10);
}

/// test/chan/select3.go, the parts that concern the core: a closed channel
/// never blocks a receive and fails a send (also in a select); an empty
/// select and a select that could only pair with itself always block.
#[test]
fn test_select3() {
    let closed: Chan<u32> = Chan::new(0);
    closed.close().unwrap();
    for _ in 0..10 {
        assert_eq!(recv(&closed), None);
        assert_eq!(
            select_default(vec![Case::Recv(&closed)]).map(|s| s.outcome),
            Some(Outcome::Received(None))
        );
    }
    assert_eq!(send(&closed, 7), Outcome::SendClosed);
    assert_eq!(
        blocking_select(vec![Case::Send(&closed, 7)]).outcome,
        Outcome::SendClosed
    );
    // Sending to a buffered channel with room, selecting a ready channel:
    // no blocking.
    let ch: Chan<u32> = Chan::new(1);
    assert_eq!(
        select_default(vec![Case::Send(&ch, 7)]).map(|s| s.outcome),
        Some(Outcome::Sent)
    );
    assert_eq!(
        select_default(vec![Case::Recv(&ch)]).map(|s| s.outcome),
        Some(Outcome::Received(Some(7)))
    );
    // Always blocks: receive from a non-ready channel, an empty select, a
    // select that sees itself.
    let c: Chan<u32> = Chan::new(0);
    for cases in [
        vec![Case::Recv(&c)],
        vec![],
        vec![Case::Send(&c, 1), Case::Recv(&c)],
    ] {
        let w = Waiter::for_current_thread();
        assert_eq!(select(cases, Some(&w)), Poll::Pending);
        assert_eq!(
            w.park(Some(Instant::now() + Duration::from_millis(20))),
            None
        );
        assert!(w.withdraw());
        unregister([&c], &w);
        assert_eq!(queued(&c), (0, 0));
    }
}

/// test/chan/sieve.go: the concurrent prime sieve, a chain of filter threads
/// over unbuffered channels. Closing every channel afterwards stops them.
#[test]
fn test_sieve() {
    const PRIMES: usize = 60;
    let mut chans: Vec<Arc<Chan<u32>>> = vec![Arc::new(Chan::new(0))];
    let mut threads = vec![];
    let gen_ch = chans[0].clone();
    threads.push(spawn(move || {
        for i in 2.. {
            if send(&gen_ch, i) == Outcome::SendClosed {
                return;
            }
        }
    }));
    let mut primes = vec![];
    let mut ch = chans[0].clone();
    for _ in 0..PRIMES {
        let prime = recv(&ch).unwrap();
        primes.push(prime);
        let out: Arc<Chan<u32>> = Arc::new(Chan::new(0));
        chans.push(out.clone());
        let inp = ch.clone();
        let o = out.clone();
        threads.push(spawn(move || {
            while let Some(i) = recv(&inp) {
                if i % prime != 0 && send(&o, i) == Outcome::SendClosed {
                    return;
                }
            }
        }));
        ch = out;
    }
    let expected: Vec<u32> = (2u32..)
        .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .take(PRIMES)
        .collect();
    assert_eq!(primes, expected);
    for c in &chans {
        c.close().unwrap();
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
    for c in &chans {
        assert_eq!(queued(c), (0, 0));
    }
}
