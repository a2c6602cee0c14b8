//! Go's channel (runtime/chan.go and runtime/select.go), generic over the
//! value type.
//!
//! A channel is a lock around a ring buffer and two FIFO queues of blocked
//! parties: senders (each with the value it wants to send) and receivers.
//! A blocked party is an entry pointing at a [`Waiter`]; a `select` leaves one
//! entry per case, all pointing at the same waiter, so the first channel to
//! complete the waiter performs the select and the others find a stale entry,
//! which they discard.
//!
//! No value is ever dropped and no waiter is ever woken while a channel lock
//! is held: both are pushed to a [`Deferred`] that runs after the guards are
//! released (values may be Python objects whose destructor runs Python code;
//! waking an asyncio waiter calls into Python).

use super::shim::{Arc, Mutex, MutexGuard, shuffle};
use super::waiter::{Defer, Waiter};
use smallvec::SmallVec;
use std::collections::VecDeque;

/// Per-select scratch space: selects rarely have more than four cases.
type Small<T> = SmallVec<[T; 4]>;

/// The waiter type of channel operations.
pub type ChanWaiter<T> = Waiter<Selected<T>>;

/// The deferred work (wakes, drops) of channel operations; see
/// [`Chan::try_send_with`].
pub type ChanDefer<T> = Defer<Selected<T>, T>;

/// Which case of a (possibly single-case) select was performed, and how.
#[derive(Debug, PartialEq, Eq)]
pub struct Selected<T> {
    /// The position of the case in the select.
    pub case: usize,
    pub outcome: Outcome<T>,
}

/// What a performed case did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    /// A receive: `Some(value)`, or `None` when the channel was closed and drained.
    Received(Option<T>),
    /// A send that delivered its value (to a receiver or the buffer).
    Sent,
    /// A send on a closed channel (Go panics: "send on closed channel").
    SendClosed,
}

/// Why a non-blocking send failed; the value is handed back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// No receiver is waiting and the buffer is full.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

/// The result of a non-blocking receive.
#[derive(Debug, PartialEq, Eq)]
pub enum TryRecv<T> {
    Value(T),
    /// Closed and drained.
    Closed,
    /// Nothing to receive now.
    Empty,
}

/// `close` of a channel that is already closed.
#[derive(Debug, PartialEq, Eq)]
pub struct AlreadyClosed;

/// One case of a select.
pub enum Case<'a, T> {
    Send(&'a Chan<T>, T),
    Recv(&'a Chan<T>),
}

/// The result of [`select`].
#[derive(Debug, PartialEq, Eq)]
pub enum Poll<T> {
    /// A case was performed at once.
    Ready(Selected<T>),
    /// No case was ready: the waiter, if one was given, is now registered
    /// on every channel of the select and will be completed by one of them.
    Pending,
}

/// A blocked receiver.
struct RecvEntry<T> {
    waiter: Arc<ChanWaiter<T>>,
    case: usize,
}

/// A blocked sender and the value it offers.
struct SendEntry<T> {
    waiter: Arc<ChanWaiter<T>>,
    case: usize,
    value: T,
}

struct State<T> {
    buf: VecDeque<T>,
    recvq: VecDeque<RecvEntry<T>>,
    sendq: VecDeque<SendEntry<T>>,
    closed: bool,
}

/// A Go channel of `T` with a fixed capacity (0: unbuffered).
pub struct Chan<T> {
    state: Mutex<State<T>>,
    cap: usize,
    /// A value the binding keeps with the channel for reuse (the Python
    /// layer keeps the channel's last finished awaitable there: see
    /// [`Chan::swap_spare`]); the channel itself never looks at it.
    spare: Mutex<Option<T>>,
}

impl<T> State<T> {
    /// Receives if possible: `Some(Some(v))` a value, `Some(None)` closed.
    fn try_recv(&mut self, cap: usize, d: &mut ChanDefer<T>) -> Option<Option<T>> {
        while let Some(e) = self.sendq.pop_front() {
            let sent = Selected {
                case: e.case,
                outcome: Outcome::Sent,
            };
            match e.waiter.complete(sent) {
                Ok(()) => {
                    d.wake(e.waiter);
                    if cap == 0 {
                        return Some(Some(e.value));
                    }
                    // A blocked sender on a buffered channel means the buffer
                    // is full: take its head and append the sender's value.
                    return Some(Some(match self.buf.pop_front() {
                        Some(head) => {
                            self.buf.push_back(e.value);
                            head
                        }
                        None => e.value,
                    }));
                }
                // A stale entry (its select was performed elsewhere, or it
                // was aborted): discard it.
                Err(_) => d.drop_later(e.value),
            }
        }
        if let Some(v) = self.buf.pop_front() {
            return Some(Some(v));
        }
        self.closed.then_some(None)
    }

    fn try_send(
        &mut self,
        cap: usize,
        value: T,
        d: &mut ChanDefer<T>,
    ) -> Result<(), TrySendError<T>> {
        if self.closed {
            return Err(TrySendError::Closed(value));
        }
        while let Some(e) = self.recvq.pop_front() {
            let claim = e.waiter.claim();
            if let Some(claim) = claim {
                claim.fill(Selected {
                    case: e.case,
                    outcome: Outcome::Received(Some(value)),
                });
                d.wake(e.waiter.clone());
                return Ok(());
            }
        }
        if self.buf.len() < cap {
            self.buf.push_back(value);
            Ok(())
        } else {
            Err(TrySendError::Full(value))
        }
    }

    fn close(&mut self, d: &mut ChanDefer<T>) -> Result<(), AlreadyClosed> {
        if self.closed {
            return Err(AlreadyClosed);
        }
        self.closed = true;
        for e in self.recvq.drain(..) {
            let closed = Selected {
                case: e.case,
                outcome: Outcome::Received(None),
            };
            if e.waiter.complete(closed).is_ok() {
                d.wake(e.waiter);
            }
        }
        for e in self.sendq.drain(..) {
            d.drop_later(e.value);
            let closed = Selected {
                case: e.case,
                outcome: Outcome::SendClosed,
            };
            if e.waiter.complete(closed).is_ok() {
                d.wake(e.waiter);
            }
        }
        Ok(())
    }

    /// Removes every entry of `waiter` from both queues.
    fn remove(&mut self, waiter: &Arc<ChanWaiter<T>>, d: &mut ChanDefer<T>) {
        self.recvq.retain(|e| !Arc::ptr_eq(&e.waiter, waiter));
        let mut i = 0;
        while i < self.sendq.len() {
            if Arc::ptr_eq(&self.sendq[i].waiter, waiter) {
                if let Some(e) = self.sendq.remove(i) {
                    d.drop_later(e.value);
                }
            } else {
                i += 1;
            }
        }
    }
}

impl<T> Chan<T> {
    /// A channel with room for `cap` buffered values.
    pub fn new(cap: usize) -> Self {
        Chan {
            state: Mutex::new(State {
                buf: VecDeque::with_capacity(cap.min(1024)),
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
                closed: false,
            }),
            cap,
            spare: Mutex::new(None),
        }
    }

    /// Puts `spare` in the channel's spare slot and returns what was there
    /// (for the caller to drop: the slot's lock is released by then).
    pub fn swap_spare(&self, spare: Option<T>) -> Option<T> {
        std::mem::replace(&mut *self.spare.lock(), spare)
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The number of buffered values.
    pub fn len(&self) -> usize {
        self.state.lock().buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Calls `f` on each buffered value, unless the channel is locked at
    /// this instant (`None`; the caller must not wait: this serves the
    /// Python garbage collector's traversal).
    pub fn try_for_each_buffered<E>(
        &self,
        mut f: impl FnMut(&T) -> Result<(), E>,
    ) -> Option<Result<(), E>> {
        let st = self.state.try_lock()?;
        Some(st.buf.iter().try_for_each(&mut f))
    }

    /// Takes the buffered values out (the garbage collector clearing an
    /// unreachable channel). The caller drops them, after the lock is
    /// released.
    pub fn take_buffered(&self) -> VecDeque<T> {
        std::mem::take(&mut self.state.lock().buf)
    }

    /// Sends without blocking: to a waiting receiver, else into the buffer.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut d = ChanDefer::new();
        let mut st = self.state.lock();
        st.try_send(self.cap, value, &mut d)
    }

    /// Receives without blocking.
    pub fn try_recv(&self) -> TryRecv<T> {
        let mut d = ChanDefer::new();
        let mut st = self.state.lock();
        match st.try_recv(self.cap, &mut d) {
            Some(Some(v)) => TryRecv::Value(v),
            Some(None) => TryRecv::Closed,
            None => TryRecv::Empty,
        }
    }

    /// Closes the channel: buffered values stay receivable, blocked
    /// receivers get the closed result, blocked senders get `SendClosed`.
    pub fn close(&self) -> Result<(), AlreadyClosed> {
        let mut d = ChanDefer::new();
        let mut st = self.state.lock();
        st.close(&mut d)
    }

    /// [`Chan::try_send`] that leaves the wakes and drops in `d`, for a
    /// caller that holds a lock of its own (a timer's): it drops `d` after
    /// releasing that lock.
    pub fn try_send_with(&self, value: T, d: &mut ChanDefer<T>) -> Result<(), TrySendError<T>> {
        let mut st = self.state.lock();
        st.try_send(self.cap, value, d)
    }

    /// [`Chan::try_recv`] that leaves the wakes and drops in `d`.
    pub fn try_recv_with(&self, d: &mut ChanDefer<T>) -> TryRecv<T> {
        let mut st = self.state.lock();
        match st.try_recv(self.cap, d) {
            Some(Some(v)) => TryRecv::Value(v),
            Some(None) => TryRecv::Closed,
            None => TryRecv::Empty,
        }
    }

    /// [`Chan::close`] that leaves the wakes and drops in `d` (a context
    /// closes its done channel under its own lock).
    pub fn close_with(&self, d: &mut ChanDefer<T>) -> Result<(), AlreadyClosed> {
        let mut st = self.state.lock();
        st.close(d)
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }
}

/// Performs one ready case of `cases`, chosen uniformly at random among the
/// ready ones (Go's rule); if none is ready and `waiter` is given, registers
/// it on every channel (it must then be passed to [`unregister`] once it has
/// been completed or aborted). Channels are locked in address order, as Go's
/// `sellock` does, so concurrent selects cannot deadlock.
pub fn select<'a, T: 'a>(
    cases: impl IntoIterator<Item = Case<'a, T>>,
    waiter: Option<&Arc<ChanWaiter<T>>>,
) -> Poll<T> {
    let mut d = ChanDefer::new();
    let mut chans: Small<&Chan<T>> = SmallVec::new();
    let mut sends: Small<Option<T>> = SmallVec::new();
    let mut is_send: Small<bool> = SmallVec::new();
    for case in cases {
        let (c, v) = match case {
            Case::Send(c, v) => (c, Some(v)),
            Case::Recv(c) => (c, None),
        };
        chans.push(c);
        is_send.push(v.is_some());
        sends.push(v);
    }

    // Lock every distinct channel once, in address order.
    let mut lock_order: Small<&Chan<T>> = chans.clone();
    lock_order.sort_unstable_by_key(|c| c.addr());
    lock_order.dedup_by_key(|c| c.addr());
    let mut guards: Small<MutexGuard<'_, State<T>>> =
        lock_order.iter().map(|c| c.state.lock()).collect();
    let guard_of: Small<usize> = chans
        .iter()
        .map(|c| {
            lock_order
                .binary_search_by_key(&c.addr(), |l| l.addr())
                .unwrap_or(0)
        })
        .collect();

    // Poll the cases in a random order.
    let mut poll_order: Small<usize> = (0..chans.len()).collect();
    shuffle(&mut poll_order);
    for &i in &poll_order {
        let st = &mut guards[guard_of[i]];
        let cap = chans[i].cap;
        let outcome = match sends[i].take() {
            Some(v) => match st.try_send(cap, v, &mut d) {
                Ok(()) => Some(Outcome::Sent),
                Err(TrySendError::Closed(v)) => {
                    d.drop_later(v);
                    Some(Outcome::SendClosed)
                }
                Err(TrySendError::Full(v)) => {
                    sends[i] = Some(v);
                    None
                }
            },
            None if !is_send[i] => st.try_recv(cap, &mut d).map(Outcome::Received),
            None => None,
        };
        if let Some(outcome) = outcome {
            drop(guards);
            for v in sends.into_iter().flatten() {
                d.drop_later(v);
            }
            return Poll::Ready(Selected { case: i, outcome });
        }
    }

    if let Some(w) = waiter {
        // Enqueue in the shuffled poll order, not in case order: Go's
        // lockorder starts from pollorder "to permute cases on the same
        // channel", so which of several cases on one channel a blocked select
        // is served by is random (Go's TestPseudoRandomSend).
        for &i in &poll_order {
            let st = &mut guards[guard_of[i]];
            let (waiter, case) = (w.clone(), i);
            // No case was ready, so every send case still holds its value.
            match sends[i].take() {
                Some(value) => st.sendq.push_back(SendEntry {
                    waiter,
                    case,
                    value,
                }),
                None => st.recvq.push_back(RecvEntry { waiter, case }),
            }
        }
    } else {
        drop(guards);
        for v in sends.into_iter().flatten() {
            d.drop_later(v);
        }
    }
    Poll::Pending
}

/// Removes `waiter`'s entries from `chans` (after it was completed or
/// aborted). Each channel is locked on its own.
pub fn unregister<'a, T: 'a>(
    chans: impl IntoIterator<Item = &'a Chan<T>>,
    waiter: &Arc<ChanWaiter<T>>,
) {
    let mut d = ChanDefer::new();
    let mut seen: Small<usize> = SmallVec::new();
    for c in chans {
        if seen.contains(&c.addr()) {
            continue;
        }
        seen.push(c.addr());
        c.state.lock().remove(waiter, &mut d);
    }
}

#[cfg(all(test, loom))]
pub(crate) mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
