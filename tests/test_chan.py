"""Channels: every line of the "Channels" section of API.md (the blocking side;
the asyncio twins are in test_async.py, select in test_select.py)."""

from __future__ import annotations

import math
import threading
import time
import types

import pytest
from gocurrent import Chan, ChanClosedError, go, nilchan, select
from support import spawn

# Long enough for a goroutine started just before to reach its blocking call
# (a test stays correct if it has not; it then tests less).
SETTLE = 0.1


def settle() -> None:
    time.sleep(SETTLE)


# --- construction and properties -------------------------------------------------


def test_default_is_unbuffered():
    ch = Chan()
    assert ch.cap == 0
    assert len(ch) == 0
    assert ch.closed is False


@pytest.mark.parametrize("cap", [0, 1, 7, 1000])
def test_cap(cap):
    assert Chan(cap).cap == cap
    assert Chan(cap=cap).cap == cap


@pytest.mark.parametrize("cap", [-1, -100])
def test_negative_cap_is_value_error(cap):
    with pytest.raises(ValueError):
        Chan(cap)


@pytest.mark.parametrize("cap", [2**41, 2**63, 2**70])
def test_huge_cap_is_value_error(cap):
    with pytest.raises(ValueError):
        Chan(cap)


@pytest.mark.parametrize("cap", [1.0, 2.5, "3", b"1", [1], True])
def test_non_int_cap_is_type_error(cap):
    with pytest.raises(TypeError):
        Chan(cap)


def test_generic_alias():
    alias = Chan[int]
    assert isinstance(alias, types.GenericAlias)
    assert alias.__origin__ is Chan
    assert alias.__args__ == (int,)
    ch = Chan[int](2)  # a generic alias is callable and makes a plain Chan
    assert type(ch) is Chan
    assert ch.cap == 2
    nested = Chan[tuple[int, str]]
    assert nested.__args__ == (tuple[int, str],)


def test_len_counts_buffered_values():
    ch = Chan(3)
    assert len(ch) == 0
    ch.send(1)
    ch.send(2)
    assert len(ch) == 2
    ch.recv()
    assert len(ch) == 1
    ch.close()
    assert len(ch) == 1  # buffered values survive close
    ch.recv()
    assert len(ch) == 0


def test_len_of_unbuffered_with_blocked_sender_is_zero():
    ch = Chan()
    done, _ = spawn(ch.send, "x")
    settle()
    assert len(ch) == 0
    assert ch.recv(timeout=5) == "x"
    assert done.wait(5)


def test_closed_property():
    ch = Chan(1)
    assert not ch.closed
    ch.close()
    assert ch.closed is True


def test_empty_chan_is_truthy():
    assert bool(Chan())
    assert bool(Chan(5))
    assert bool(nilchan)


# --- FIFO and identity -----------------------------------------------------------


def test_fifo_buffered():
    ch = Chan(100)
    for i in range(100):
        ch.send(i)
    assert [ch.recv() for _ in range(100)] == list(range(100))


def test_fifo_unbuffered_with_goroutine_sender():
    ch = Chan()

    def producer() -> None:
        for i in range(2000):
            ch.send(i)
        ch.close()

    go(producer)
    assert list(ch) == list(range(2000))


def test_fifo_buffered_full_with_blocked_sender():
    # The buffer is full and a sender waits: the receiver must get the head of
    # the buffer, and the blocked sender's value goes to the tail.
    ch = Chan(2)
    ch.send(0)
    ch.send(1)

    def producer() -> None:
        for i in range(2, 50):
            ch.send(i)

    go(producer)
    settle()
    assert [ch.recv(timeout=5) for _ in range(50)] == list(range(50))


def test_fifo_with_several_blocked_senders():
    # Blocked senders are served in the order they blocked (Go's sendq).
    ch = Chan()
    for i in range(5):
        go(ch.send, i)
        settle()
    assert [ch.recv(timeout=5) for _ in range(5)] == list(range(5))


def test_fifo_with_several_blocked_receivers():
    ch = Chan()
    results = Chan(5)

    def receiver(name: int) -> None:
        results.send((name, ch.recv()))

    for i in range(5):
        go(receiver, i)
        settle()
    for v in range(5):
        ch.send(v)
    got = sorted(results.recv(timeout=5) for _ in range(5))
    assert got == [(i, i) for i in range(5)]


def test_identity_is_preserved():
    objs = [object(), [1, 2], {"a": 1}, None, float("nan")]
    ch = Chan(len(objs))
    for o in objs:
        ch.send(o)
    for o in objs:
        assert ch.recv() is o
    unbuffered = Chan()
    o = object()
    go(unbuffered.send, o)
    assert unbuffered.recv(timeout=5) is o


# --- unbuffered rendezvous -------------------------------------------------------


def test_unbuffered_send_does_not_return_before_a_receiver_takes_the_value():
    ch = Chan()
    returned = threading.Event()

    def sender() -> None:
        ch.send("v")
        returned.set()

    go(sender)
    assert not returned.wait(0.3)
    assert len(ch) == 0
    assert ch.recv(timeout=5) == "v"
    assert returned.wait(5)


def test_unbuffered_send_times_out_without_receiver():
    ch = Chan()
    with pytest.raises(TimeoutError):
        ch.send(1, timeout=0.05)
    # and left nothing behind
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0)


def test_buffered_send_blocks_only_when_full():
    ch = Chan(2)
    ch.send(1, timeout=0)
    ch.send(2, timeout=0)
    with pytest.raises(TimeoutError):
        ch.send(3, timeout=0.05)
    assert len(ch) == 2
    assert ch.recv() == 1
    ch.send(3, timeout=0)
    assert [ch.recv(), ch.recv()] == [2, 3]


def test_recv_blocks_until_a_value_arrives():
    ch = Chan()

    def later() -> None:
        time.sleep(0.1)
        ch.send("late")

    go(later)
    assert ch.recv() == "late"


# --- close ------------------------------------------------------------------------


def test_send_on_closed_raises():
    ch = Chan(1)
    ch.close()
    with pytest.raises(ChanClosedError, match="send on closed channel"):
        ch.send(1)
    with pytest.raises(ChanClosedError):
        ch.send(1, timeout=0)
    with pytest.raises(ChanClosedError):
        ch.send(1, timeout=5)
    assert len(ch) == 0


def test_close_twice_raises():
    ch = Chan()
    ch.close()
    with pytest.raises(ChanClosedError, match="close of closed channel"):
        ch.close()
    assert ch.closed


def test_chan_closed_error_is_an_exception():
    assert issubclass(ChanClosedError, Exception)


def test_recv_on_closed_returns_none_at_once():
    ch = Chan()
    ch.close()
    assert ch.recv() is None
    assert ch.recv(timeout=0) is None
    assert ch.recv() is None  # for ever


def test_close_keeps_buffered_values_receivable():
    ch = Chan(3)
    for v in "abc":
        ch.send(v)
    ch.close()
    assert [ch.recv(), ch.recv_ok(), ch.recv()] == ["a", ("b", True), "c"]
    assert ch.recv() is None
    assert ch.recv_ok() == (None, False)


def test_close_wakes_blocked_receivers():
    ch = Chan()
    waiters = [spawn(ch.recv) for _ in range(5)]
    waiters_ok = [spawn(ch.recv_ok) for _ in range(5)]
    settle()
    assert not any(done.is_set() for done, _ in waiters + waiters_ok)
    ch.close()
    for done, out in waiters:
        assert done.wait(5)
        assert out == [None]
    for done, out in waiters_ok:
        assert done.wait(5)
        assert out == [(None, False)]


def test_close_wakes_blocked_receivers_after_drain():
    # Receivers blocked on a buffered channel, then values and a close: the
    # values are received (each once), the rest of the receivers see closed.
    ch = Chan(2)
    waiters = [spawn(ch.recv_ok) for _ in range(4)]
    settle()
    ch.send("a")
    ch.send("b")
    ch.close()
    results = []
    for done, out in waiters:
        assert done.wait(5)
        results.extend(out)
    assert sorted(results, key=repr) == sorted(
        [("a", True), ("b", True), (None, False), (None, False)], key=repr
    )


def test_close_makes_blocked_senders_raise():
    ch = Chan()
    senders = [spawn(ch.send, i) for i in range(5)]
    settle()
    assert not any(done.is_set() for done, _ in senders)
    ch.close()
    for done, out in senders:
        assert done.wait(5)
        assert len(out) == 1
        assert isinstance(out[0], ChanClosedError)
        assert "send on closed channel" in str(out[0])
    assert ch.recv() is None  # the blocked senders' values are gone


def test_close_makes_blocked_senders_on_full_buffer_raise_and_keeps_buffer():
    ch = Chan(1)
    ch.send("kept")
    done, out = spawn(ch.send, "dropped")
    settle()
    ch.close()
    assert done.wait(5)
    assert isinstance(out[0], ChanClosedError)
    assert ch.recv() == "kept"
    assert ch.recv_ok() == (None, False)


# --- recv_ok -----------------------------------------------------------------------


def test_recv_ok():
    ch = Chan(2)
    ch.send(1)
    ch.send(None)  # None is a value like any other
    assert ch.recv_ok() == (1, True)
    assert ch.recv_ok() == (None, True)
    ch.close()
    assert ch.recv_ok() == (None, False)
    assert ch.recv_ok(timeout=0) == (None, False)


def test_recv_ok_blocks_and_returns_a_tuple():
    ch = Chan()
    go(ch.send, "x")
    r = ch.recv_ok(timeout=5)
    assert isinstance(r, tuple)
    assert r == ("x", True)


def test_recv_ok_timeout():
    ch = Chan()
    with pytest.raises(TimeoutError):
        ch.recv_ok(timeout=0.05)
    with pytest.raises(TimeoutError):
        ch.recv_ok(timeout=0)


# --- iteration -----------------------------------------------------------------------


def test_iteration_until_closed_and_drained():
    ch = Chan(10)
    for i in range(5):
        ch.send(i)
    ch.close()
    assert list(ch) == [0, 1, 2, 3, 4]
    assert list(ch) == []  # closed and drained: StopIteration at once


def test_iteration_blocks_for_values():
    ch = Chan()

    def producer() -> None:
        for i in range(10):
            time.sleep(0.005)
            ch.send(i)
        ch.close()

    go(producer)
    got = []
    for v in ch:
        got.append(v)
    assert got == list(range(10))


def test_iter_returns_the_channel():
    ch = Chan()
    assert iter(ch) is ch


def test_iteration_with_none_values():
    ch = Chan(3)
    ch.send(None)
    ch.send(0)
    ch.close()
    assert list(ch) == [None, 0]


def test_several_iterating_consumers_share_the_values():
    ch = Chan(8)
    out = Chan(1000)

    def consumer() -> None:
        for v in ch:
            out.send(v)

    finished = [spawn(consumer) for _ in range(4)]
    for i in range(500):
        ch.send(i)
    ch.close()
    for done, _ in finished:
        assert done.wait(10)
    assert sorted(out.recv(timeout=0) for _ in range(500)) == list(range(500))
    assert len(out) == 0


# --- nilchan ---------------------------------------------------------------------------


def test_nilchan_properties():
    assert isinstance(nilchan, Chan)
    assert len(nilchan) == 0
    assert nilchan.cap == 0
    assert nilchan.closed is False


def test_nilchan_send_and_recv_block_until_their_timeout():
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        nilchan.send(1, timeout=0.05)
    with pytest.raises(TimeoutError):
        nilchan.recv(timeout=0.05)
    with pytest.raises(TimeoutError):
        nilchan.recv_ok(timeout=0.05)
    assert time.monotonic() - t0 >= 0.14
    for op in (lambda: nilchan.send(1, timeout=0), lambda: nilchan.recv(timeout=0)):
        with pytest.raises(TimeoutError):
            op()
    with pytest.raises(TimeoutError):
        nilchan.recv_ok(timeout=-1)


def test_nilchan_blocks_for_ever_without_timeout():
    done_send, _ = spawn(nilchan.send, 1)
    done_recv, _ = spawn(nilchan.recv)
    assert not done_send.wait(0.2)
    assert not done_recv.wait(0.01)
    # (these goroutines stay blocked; goroutines never keep the process alive)


def test_close_nilchan_raises():
    with pytest.raises(ChanClosedError):
        nilchan.close()
    assert nilchan.closed is False
    with pytest.raises(TimeoutError):
        nilchan.recv(timeout=0)


# --- timeouts ------------------------------------------------------------------------


def test_timeout_none_waits():
    ch = Chan()

    def later() -> None:
        time.sleep(0.15)
        ch.send("v")

    go(later)
    assert ch.recv(timeout=None) == "v"


@pytest.mark.parametrize("t", [0, 0.0, -1, -0.5, -math.inf])
def test_timeout_zero_or_negative_is_one_attempt(t):
    ch = Chan(1)
    with pytest.raises(TimeoutError):
        ch.recv(timeout=t)
    with pytest.raises(TimeoutError):
        ch.recv_ok(timeout=t)
    ch.send("a", timeout=t)  # room: succeeds
    with pytest.raises(TimeoutError):
        ch.send("b", timeout=t)  # full: fails, without effect
    assert len(ch) == 1
    assert ch.recv(timeout=t) == "a"
    ch.send("c", timeout=t)
    assert ch.recv_ok(timeout=t) == ("c", True)


def test_timeout_zero_pairs_with_a_blocked_partner():
    ch = Chan()
    done, out = spawn(ch.recv)
    settle()
    ch.send("to the waiting receiver", timeout=0)
    assert done.wait(5)
    assert out == ["to the waiting receiver"]
    go(ch.send, "from the waiting sender")
    settle()
    assert ch.recv(timeout=0) == "from the waiting sender"


def test_positive_timeout_waits_then_raises_without_effect():
    ch = Chan()
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0.1)
    assert time.monotonic() - t0 >= 0.09
    with pytest.raises(TimeoutError):
        ch.send("x", timeout=0.05)
    # neither left a waiter behind: a timed-out receiver does not swallow a
    # value sent afterwards, and a timed-out sender's value is not received
    with pytest.raises(TimeoutError):
        ch.send("y", timeout=0)
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0)


def test_timeout_returns_value_that_arrives_in_time():
    ch = Chan()

    def later() -> None:
        time.sleep(0.05)
        ch.send(1)

    go(later)
    assert ch.recv(timeout=5) == 1


@pytest.mark.parametrize("t", [1, 2.5, math.inf, 10**12])
def test_timeout_accepts_int_float_and_inf(t):
    ch = Chan(1)
    ch.send(1, timeout=t)
    assert ch.recv(timeout=t) == 1


def test_nan_timeout_is_value_error():
    ch = Chan(1)
    for call in (
        lambda: ch.send(1, timeout=math.nan),
        lambda: ch.recv(timeout=math.nan),
        lambda: ch.recv_ok(timeout=math.nan),
    ):
        with pytest.raises(ValueError):
            call()
    assert len(ch) == 0  # the send did not happen


@pytest.mark.parametrize("t", ["1", b"1", [1], object()])
def test_non_number_timeout_is_type_error(t):
    ch = Chan(1)
    with pytest.raises(TypeError):
        ch.send(1, timeout=t)
    with pytest.raises(TypeError):
        ch.recv(timeout=t)
    with pytest.raises(TypeError):
        ch.recv_ok(timeout=t)
    assert len(ch) == 0


def test_timeout_is_keyword_only():
    ch = Chan(1)
    with pytest.raises(TypeError):
        ch.recv(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        ch.send(1, 1)  # type: ignore[misc]


def test_send_requires_a_value():
    with pytest.raises(TypeError):
        Chan(1).send()  # type: ignore[call-arg]


# --- the GIL ---------------------------------------------------------------------------


def _progress_while(block) -> int:
    """Counts how far a pure-Python thread gets while `block()` runs in this thread."""
    stop = threading.Event()
    count = [0]

    def spin() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            count[0] = n

    t = threading.Thread(target=spin)
    t.start()
    try:
        # Let the spinner start before we block.
        while count[0] == 0:
            time.sleep(0.001)
        before = count[0]
        block()
        return count[0] - before
    finally:
        stop.set()
        t.join()


def _blocking_ops():
    full = Chan(1)
    full.send(0)
    return {
        "recv": lambda: Chan().recv(timeout=0.3),
        "recv_ok": lambda: Chan().recv_ok(timeout=0.3),
        "send": lambda: Chan().send(1, timeout=0.3),
        "send_full": lambda: full.send(1, timeout=0.3),
        "select": lambda: select(Chan().recv, (Chan().send, 1), timeout=0.3),
        "select_nil": lambda: select(nilchan.recv, timeout=0.3),
        "nilchan": lambda: nilchan.recv(timeout=0.3),
    }


@pytest.mark.parametrize("op", sorted(_blocking_ops()))
@pytest.mark.parametrize("where", ["main", "goroutine"])
def test_blocked_call_releases_the_gil(op, where):
    block = _blocking_ops()[op]

    def blocked() -> None:
        with pytest.raises(TimeoutError):
            block()

    if where == "main":
        progress = _progress_while(blocked)
    else:
        done, out = spawn(_progress_while, blocked)
        assert done.wait(10)
        progress = out[0]
        assert isinstance(progress, int), progress
    # A thread that held the GIL for 0.3 s would let the spinner do nothing
    # (a few iterations at most); a released GIL lets it run freely.
    assert progress > 1000


def test_blocked_recv_lets_another_thread_produce_the_value():
    # The producer needs the GIL to compute the value the main thread waits for.
    ch = Chan()

    def producer() -> None:
        total = 0
        for i in range(200_000):
            total += i
        ch.send(total)

    go(producer)
    assert ch.recv(timeout=30) == sum(range(200_000))


# --- threads share channels ----------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cap", [0, 1, 64])
def test_many_threads_every_value_once(cap):
    ch = Chan(cap)
    out = Chan(20_000)
    n_prod, per = 4, 2500

    def producer(p: int) -> None:
        for i in range(per):
            ch.send(p * per + i)

    def consumer() -> None:
        while True:
            v, ok = ch.recv_ok()
            if not ok:
                return
            out.send(v)

    consumers = [spawn(consumer) for _ in range(4)]
    producers = [spawn(producer, p) for p in range(n_prod)]
    for done, res in producers:
        assert done.wait(30)
        assert res == [None]
    ch.close()
    for done, res in consumers:
        assert done.wait(30)
        assert res == [None]
    got = [out.recv(timeout=0) for _ in range(len(out))]
    assert sorted(got) == list(range(n_prod * per))


def test_per_producer_order_is_kept_with_many_producers():
    ch = Chan(4)

    def producer(p: int) -> None:
        for i in range(300):
            ch.send((p, i))

    for p in range(3):
        go(producer, p)
    last = {0: -1, 1: -1, 2: -1}
    for _ in range(900):
        p, i = ch.recv(timeout=10)
        assert i == last[p] + 1
        last[p] = i


def test_repr():
    assert repr(nilchan) == "nilchan"
    r = repr(Chan(3))
    assert "Chan" in r


@pytest.mark.timeout(120)
def test_unbuffered_hand_offs_while_other_processes_take_the_cores():
    """On a busy machine an unbuffered hand-off to a thread that just
    blocked wakes it with the GIL released (core/spin.rs,
    partner_runs_first), and the woken thread moves onto its waker's CPU
    (move_next_to): every value still arrives once, in order, both when
    the sender finds the receiver parked and the other way round, and
    each thread's CPU affinity is what it was."""
    import os
    import subprocess
    import sys

    from gocurrent import _native
    from support import eventually

    cores = len(os.sched_getaffinity(0))
    if cores > 8:
        pytest.skip(f"{cores} cores: too many busy processes to start")
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        if not eventually(_native._machine_busy, 30):
            pytest.skip("the busy processes never made the machine busy")
        n = 5_000
        ping, pong = Chan(), Chan()
        replies = []
        affinity = os.sched_getaffinity(0)
        ponger_affinity = Chan(1)

        def ponger():
            for _ in range(n):
                pong.send(ping.recv() + 1)
            ponger_affinity.send(os.sched_getaffinity(0))

        go(ponger)
        for i in range(n):
            ping.send(i)
            replies.append(pong.recv(timeout=30))
        assert replies == [i + 1 for i in range(n)]
        assert os.sched_getaffinity(0) == affinity
        assert ponger_affinity.recv(timeout=30) == affinity

        # One way only: the two find each other parked in either order.
        values = Chan()
        done = Chan(1)

        def sender():
            for i in range(n):
                values.send(i)
            done.send(True)

        go(sender)
        got = [values.recv(timeout=30) for _ in range(n)]
        assert got == list(range(n))
        assert done.recv(timeout=30) is True
    finally:
        for h in hogs:
            h.kill()
        for h in hogs:
            h.wait()
