"""select and select_async: every line of the "select" section of API.md.

Most tests run three times: with ``select`` in this thread and with
``select_async`` in a coroutine (an asyncio task, a trio task), over the same channels."""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections import Counter

import anyio
import pytest
import trio
from gocurrent import Chan, ChanClosedError, go, nilchan, select, select_async
from support import spawn

SETTLE = 0.1
MODES = ["sync", "async", "trio"]  # a thread, an asyncio task, a trio task


def settle() -> None:
    time.sleep(SETTLE)


def run_select(mode: str, *cases, **kwargs):
    if mode == "sync":
        return select(*cases, **kwargs)

    async def main():
        return await select_async(*cases, **kwargs)

    return run_async(mode, main)


def run_async(mode: str, main):
    """Runs main() in an asyncio loop ("async") or a trio run ("trio")."""
    return trio.run(main) if mode == "trio" else asyncio.run(main())


def five_sigma(n: int, p: float) -> float:
    return 5 * math.sqrt(n * p * (1 - p))


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


# --- the three kinds of case --------------------------------------------------------


def test_recv_case(mode):
    a, b = Chan(1), Chan(1)
    v = object()
    b.send(v)
    index, value = run_select(mode, a.recv, b.recv)
    assert index == 1
    assert value is v
    assert len(b) == 0


def test_result_is_a_tuple(mode):
    a = Chan(1)
    a.send(1)
    r = run_select(mode, a.recv)
    assert type(r) is tuple
    assert r == (0, 1)


def test_recv_case_on_closed_channel_gives_none(mode):
    a, b = Chan(), Chan()
    b.close()
    assert run_select(mode, a.recv, b.recv) == (1, None)


def test_recv_case_drains_before_closed(mode):
    a = Chan(2)
    a.send("x")
    a.close()
    assert run_select(mode, a.recv) == (0, "x")
    assert run_select(mode, a.recv) == (0, None)


def test_recv_ok_case(mode):
    a, b = Chan(1), Chan(1)
    a.send(None)
    assert run_select(mode, b.recv_ok, a.recv_ok) == (1, (None, True))
    b.close()
    assert run_select(mode, b.recv_ok, a.recv_ok) == (0, (None, False))


def test_send_case_buffered(mode):
    a, b = Chan(), Chan(1)
    v = object()
    assert run_select(mode, (a.send, 1), (b.send, v)) == (1, None)
    assert b.recv(timeout=0) is v
    with pytest.raises(TimeoutError):
        a.recv(timeout=0)


def test_send_case_to_blocked_receiver(mode):
    a = Chan()
    done, out = spawn(a.recv)
    settle()
    v = object()
    assert run_select(mode, (a.send, v)) == (0, None)
    assert done.wait(5)
    assert out[0] is v


def test_blocked_recv_case_is_performed_by_a_later_sender(mode):
    a, b, c = Chan(), Chan(), Chan()

    def later() -> None:
        time.sleep(0.1)
        c.send("late")

    go(later)
    assert run_select(mode, a.recv, b.recv_ok, c.recv) == (2, "late")


def test_blocked_recv_ok_case_is_performed_by_a_later_sender(mode):
    a, b = Chan(), Chan()

    def later() -> None:
        time.sleep(0.1)
        b.send(0)

    go(later)
    assert run_select(mode, a.recv, b.recv_ok) == (1, (0, True))


def test_blocked_send_case_is_performed_by_a_later_receiver(mode):
    a, b = Chan(), Chan()
    done, out = spawn(lambda: (time.sleep(0.1), b.recv(timeout=5))[1])
    assert run_select(mode, (a.send, "A"), (b.send, "B")) == (1, None)
    assert done.wait(5)
    assert out == ["B"]
    with pytest.raises(TimeoutError):
        a.recv(timeout=0)


# --- close while blocked; send on closed -------------------------------------------------


def test_blocked_select_woken_by_close_recv(mode):
    a, b = Chan(), Chan()

    def later() -> None:
        time.sleep(0.1)
        b.close()

    go(later)
    assert run_select(mode, a.recv, b.recv_ok) == (1, (None, False))


def test_blocked_select_woken_by_close_send(mode):
    a, b = Chan(), Chan()

    def later() -> None:
        time.sleep(0.1)
        b.close()

    go(later)
    with pytest.raises(ChanClosedError, match="send on closed channel"):
        run_select(mode, a.recv, (b.send, 1))
    with pytest.raises(TimeoutError):
        a.send(1, timeout=0)  # the select left no receiver behind on a


def test_send_case_on_closed_channel_raises_when_chosen(mode):
    a, b = Chan(), Chan()
    b.close()
    with pytest.raises(ChanClosedError, match="send on closed channel"):
        run_select(mode, a.recv, (b.send, 1))
    # a closed send case is ready: it wins over default
    with pytest.raises(ChanClosedError):
        run_select(mode, a.recv, (b.send, 1), default=True)
    with pytest.raises(ChanClosedError):
        run_select(mode, (b.send, 1), timeout=0)


def test_send_case_on_closed_channel_competes_with_other_ready_cases():
    # Both cases are ready: sometimes the closed send is chosen (raises),
    # sometimes the receive (and then exactly that value is consumed).
    closed = Chan()
    closed.close()
    ready = Chan(1000)
    for i in range(200):
        ready.send(i)
    raised = received = 0
    for _ in range(200):
        try:
            assert select((closed.send, "x"), ready.recv) == (1, received)
            received += 1
        except ChanClosedError:
            raised += 1
    assert raised + received == 200
    assert raised > 30 and received > 30  # p = 1/2 each; 200 trials
    assert len(ready) == 200 - received


# --- default and timeout ---------------------------------------------------------------


def test_default_when_nothing_is_ready(mode):
    a, b = Chan(), Chan()
    assert run_select(mode, a.recv, (b.send, 1), default=True) == (-1, None)
    # nothing was performed or left registered
    with pytest.raises(TimeoutError):
        b.recv(timeout=0)
    with pytest.raises(TimeoutError):
        a.send(1, timeout=0)


def test_default_with_a_ready_case_performs_it(mode):
    a, b = Chan(), Chan(1)
    b.send(5)
    assert run_select(mode, a.recv, b.recv, default=True) == (1, 5)
    assert run_select(mode, a.recv, (b.send, 6), default=True) == (1, None)
    assert b.recv(timeout=0) == 6


def test_default_false_is_the_default(mode):
    a = Chan(1)
    a.send(1)
    assert run_select(mode, a.recv, default=False) == (0, 1)


def test_no_cases_with_default(mode):
    assert run_select(mode, default=True) == (-1, None)


def test_timeout_raises_without_effect(mode):
    a, b = Chan(), Chan()
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        run_select(mode, a.recv, (b.send, 1), timeout=0.1)
    assert time.monotonic() - t0 >= 0.09
    with pytest.raises(TimeoutError):
        b.recv(timeout=0)
    with pytest.raises(TimeoutError):
        a.send(1, timeout=0)


@pytest.mark.parametrize("t", [0, -1, -math.inf])
def test_timeout_zero_or_negative_is_one_attempt(mode, t):
    a, b = Chan(), Chan(1)
    with pytest.raises(TimeoutError):
        run_select(mode, a.recv, b.recv, timeout=t)
    b.send(1)
    assert run_select(mode, a.recv, b.recv, timeout=t) == (1, 1)


def test_timeout_value_that_arrives_in_time(mode):
    a = Chan()

    def later() -> None:
        time.sleep(0.05)
        a.send("ok")

    go(later)
    assert run_select(mode, a.recv, timeout=10) == (0, "ok")


def test_no_cases_with_timeout(mode):
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        run_select(mode, timeout=0.1)
    assert time.monotonic() - t0 >= 0.09
    with pytest.raises(TimeoutError):
        run_select(mode, timeout=0)


def test_timeout_bad_values(mode):
    a = Chan(1)
    with pytest.raises(ValueError):
        run_select(mode, (a.send, 1), timeout=math.nan)
    with pytest.raises(TypeError):
        run_select(mode, (a.send, 1), timeout="1")
    assert len(a) == 0


def test_no_cases_no_default_blocks():
    # Blocks for ever, as in Go (interruptibility: see test_signals.py).
    done, _ = spawn(select)
    assert not done.wait(0.3)


def test_no_cases_no_default_blocks_async(arun):
    async def main():
        with anyio.move_on_after(0.2) as scope:
            await select_async()
        assert scope.cancelled_caught

    arun(main)


# --- nilchan -----------------------------------------------------------------------


def test_nilchan_disables_a_case(mode):
    a = Chan(1)
    a.send("v")
    assert run_select(mode, nilchan.recv, a.recv) == (1, "v")
    assert run_select(mode, (nilchan.send, 1), nilchan.recv_ok, default=True) == (-1, None)
    with pytest.raises(TimeoutError):
        run_select(mode, nilchan.recv, (nilchan.send, 1), timeout=0.05)


def test_nilchan_cases_keep_the_other_indexes(mode):
    a = Chan()
    a.close()
    for _ in range(20):
        assert run_select(mode, nilchan.recv, (nilchan.send, 0), a.recv_ok, nilchan.recv) == (
            2,
            (None, False),
        )


def test_nilchan_in_a_blocking_select(mode):
    a = Chan()

    def later() -> None:
        time.sleep(0.05)
        a.send(3)

    go(later)
    assert run_select(mode, nilchan.recv, (nilchan.send, 1), a.recv) == (2, 3)


# --- bad cases ------------------------------------------------------------------------


class NotAChan:
    def recv(self):
        return 1

    def send(self, v):
        pass


def _bad_cases():
    ch = Chan()
    return [
        1,
        None,
        "recv",
        ch,
        ch.close,
        ch.send,  # a send needs a value
        (ch.recv, 1),  # a recv takes none
        (ch.recv_ok, 1),
        (ch.send,),
        (ch.send, 1, 2),
        (ch.close, 1),
        ch.recv_async,
        (ch.send_async, 1),
        NotAChan().recv,
        (NotAChan().send, 1),
        lambda: ch.recv(),
        [ch.send, 1],  # a list is not a case
        len,
    ]


@pytest.mark.parametrize("index", range(len(_bad_cases())))
def test_a_non_case_is_type_error_with_a_clear_message(mode, index):
    bad = _bad_cases()[index]
    ok = Chan(1)
    ok.send(1)
    with pytest.raises(TypeError, match=r"select case 1 must be .*recv") as exc:
        run_select(mode, ok.recv, bad)
    assert "select" in str(exc.value)
    assert len(ok) == 1  # nothing was performed


def test_bad_case_in_select_async_raises_at_call():
    with pytest.raises(TypeError, match="select case 0"):
        select_async(1)


# --- exactly one case -----------------------------------------------------------------


def test_exactly_one_ready_case_is_performed(mode):
    for _ in range(50):
        a, b, c, d = Chan(1), Chan(1), Chan(1), Chan(1)
        a.send("a")
        b.send("b")
        index, _ = run_select(mode, a.recv, b.recv, (c.send, "c"), (d.send, "d"))
        assert [len(a), len(b), len(c), len(d)] == [
            int(index != 0),
            int(index != 1),
            int(index == 2),
            int(index == 3),
        ]


def _race_senders_once(mode: str) -> None:
    chans = [Chan() for _ in range(3)]
    results: list = []
    start = threading.Barrier(4)

    def sender(i: int) -> None:
        start.wait()
        chans[i].send(i)

    def selector() -> None:
        start.wait()
        results.append(run_select(mode, *(c.recv for c in chans)))

    for i in range(3):
        go(sender, i)
    done, _ = spawn(selector)
    assert done.wait(10)
    [(index, value)] = results
    assert index == value
    # The two other senders are still blocked, with their values.
    others = sorted(chans[i].recv(timeout=5) for i in range(3) if i != index)
    assert others == sorted(set(range(3)) - {index})


@pytest.mark.timeout(60)
def test_exactly_one_of_racing_senders_completes_a_blocked_select(mode):
    for _ in range(30):
        _race_senders_once(mode)


def _race_receivers_once(mode: str) -> None:
    chans = [Chan() for _ in range(3)]
    got: dict = {}
    start = threading.Barrier(4)

    def receiver(i: int) -> None:
        start.wait()
        got[i] = chans[i].recv()

    def selector() -> None:
        start.wait()
        got["select"] = run_select(mode, *((c.send, f"v{k}") for k, c in enumerate(chans)))

    receivers = [spawn(receiver, i) for i in range(3)]
    done, _ = spawn(selector)
    assert done.wait(10)
    index, value = got["select"]
    assert value is None
    # The two other receivers are still blocked: release them.
    for i in range(3):
        if i != index:
            chans[i].send(None, timeout=5)
    for w, _ in receivers:
        assert w.wait(10)
    assert got[index] == f"v{index}"
    assert [got[i] for i in range(3) if i != index] == [None, None]


@pytest.mark.timeout(60)
def test_exactly_one_of_racing_receivers_completes_a_blocked_select(mode):
    for _ in range(30):
        _race_receivers_once(mode)


@pytest.mark.timeout(60)
def test_select_meets_select():
    # Two selects rendezvous with each other on unbuffered channels; each pair
    # of outcomes must agree.
    for _ in range(100):
        c, d = Chan(), Chan()
        done, out = spawn(select, (c.send, "c"), d.recv)
        other = select(c.recv, (d.send, "d"), timeout=10)
        assert done.wait(10)
        mine = out[0]
        if other == (0, "c"):
            assert mine == (0, None)
        else:
            assert other == (1, None)
            assert mine == (1, "d")


def test_select_does_not_pair_with_itself():
    # A select with both a send and a receive on one unbuffered channel cannot
    # complete on its own (as in Go).
    ch = Chan()
    with pytest.raises(TimeoutError):
        select((ch.send, 1), ch.recv, timeout=0.1)
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0)


def test_select_send_and_recv_on_one_buffered_channel(mode):
    ch = Chan(1)
    assert run_select(mode, ch.recv, (ch.send, 1)) == (1, None)
    assert run_select(mode, ch.recv, (ch.send, 2)) == (0, 1)


def test_same_channel_twice(mode):
    ch = Chan()

    def later() -> None:
        time.sleep(0.05)
        ch.send("once")

    go(later)
    index, value = run_select(mode, ch.recv, ch.recv_ok)
    assert (index, value) in [(0, "once"), (1, ("once", True))]
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0.05)


def test_select_over_many_channels(mode):
    chans = [Chan() for _ in range(64)]

    def later() -> None:
        time.sleep(0.05)
        chans[41].send(41)

    go(later)
    assert run_select(mode, *(c.recv for c in chans)) == (41, 41)
    for c in chans:  # no waiter left behind on any of them
        with pytest.raises(TimeoutError):
            c.send(0, timeout=0)


# --- fairness (Go's uniform random choice) -----------------------------------------------


N_FAIR = 10_000


def _fair_counts(mode: str, cases_factory) -> Counter:
    counts: Counter = Counter()
    if mode == "sync":
        for _ in range(N_FAIR):
            counts[select(*cases_factory())[0]] += 1
    else:

        async def main():
            for _ in range(N_FAIR):
                counts[(await select_async(*cases_factory()))[0]] += 1

        run_async(mode, main)
    return counts


@pytest.mark.timeout(60)
def test_fairness_two_always_ready_channels(mode):
    a, b = Chan(), Chan()
    a.close()
    b.close()
    counts = _fair_counts(mode, lambda: (a.recv, b.recv))
    assert set(counts) == {0, 1}
    assert abs(counts[0] - N_FAIR / 2) <= five_sigma(N_FAIR, 0.5)


@pytest.mark.timeout(60)
def test_fairness_three_cases_mixed_kinds(mode):
    closed = Chan()
    closed.close()
    roomy = Chan(N_FAIR)
    full_of_values = Chan(N_FAIR)
    for i in range(N_FAIR):
        full_of_values.send(i)
    counts = _fair_counts(mode, lambda: (closed.recv_ok, (roomy.send, 0), full_of_values.recv))
    for i in range(3):
        assert abs(counts[i] - N_FAIR / 3) <= five_sigma(N_FAIR, 1 / 3), counts
    assert len(roomy) == counts[1]
    assert len(full_of_values) == N_FAIR - counts[2]


@pytest.mark.timeout(60)
def test_fairness_same_channel_twice(mode):
    a = Chan()
    a.close()
    counts = _fair_counts(mode, lambda: (a.recv, a.recv))
    assert abs(counts[0] - N_FAIR / 2) <= five_sigma(N_FAIR, 0.5)


@pytest.mark.timeout(60)
def test_fairness_with_default_and_nilchan(mode):
    a, b = Chan(), Chan()
    a.close()
    b.close()
    cases = (nilchan.recv, a.recv, nilchan.recv, b.recv)
    counts: Counter = Counter()
    if mode == "sync":
        for _ in range(N_FAIR):
            counts[select(*cases, default=True)[0]] += 1
    else:

        async def main():
            for _ in range(N_FAIR):
                counts[(await select_async(*cases, default=True))[0]] += 1

        run_async(mode, main)
    assert set(counts) == {1, 3}
    assert abs(counts[1] - N_FAIR / 2) <= five_sigma(N_FAIR, 0.5)


# --- async-specific -----------------------------------------------------------------------


def test_select_async_from_a_goroutine_on_the_background_loop():
    a, out = Chan(), Chan(1)

    async def g():
        out.send(await select_async(a.recv, timeout=10))

    go(g)
    a.send("hello", timeout=10)
    assert out.recv(timeout=10) == (0, "hello")


def test_select_async_with_threads_on_the_other_side(arun):
    # A coroutine selects over channels that threads send to, and vice versa.
    chans = [Chan() for _ in range(4)]
    back = Chan()

    def senders() -> None:
        for i in range(40):
            chans[i % 4].send(i)
        for _ in range(40):
            back.recv()

    done, out = spawn(senders)

    async def main():
        got = []
        for _ in range(40):
            _, v = await select_async(*(c.recv for c in chans))
            got.append(v)
        for i in range(40):
            await select_async((back.send, i), nilchan.recv)
        return got

    got = arun(main)
    assert done.wait(10)
    assert out == [None]
    # Each sender's order is FIFO; the thread sends in order, one at a time.
    assert got == list(range(40))


def test_select_async_does_nothing_until_awaited(arun):
    a = Chan(1)
    aw = select_async((a.send, 1))
    assert len(a) == 0
    del aw
    assert len(a) == 0

    async def main():
        aw = select_async((a.send, 2))
        await anyio.sleep(0.01)
        assert len(a) == 0
        await aw
        assert len(a) == 1

    arun(main)
    assert a.recv(timeout=0) == 2


def test_blocked_select_with_many_duplicate_cases(mode):
    ch = Chan()

    def later() -> None:
        time.sleep(0.05)
        ch.send("one")

    go(later)
    index, value = run_select(mode, *([ch.recv] * 20), *([ch.recv_ok] * 20))
    assert (index < 20 and value == "one") or (index >= 20 and value == ("one", True))
    # every one of the forty entries is gone
    with pytest.raises(TimeoutError):
        ch.send("two", timeout=0)


def _select_worker(seed: int, chans: list, rounds: int) -> tuple[list, list]:
    rng = random.Random(seed)
    sent, received = [], []
    for r in range(rounds):
        cases, kinds = [], []
        for k, c in enumerate(chans):
            if rng.random() < 0.5:
                v = (seed, r, k)
                cases.append((c.send, v))
                kinds.append(("send", v))
            else:
                cases.append(c.recv)
                kinds.append(("recv", None))
        order = list(range(len(cases)))
        rng.shuffle(order)
        try:
            i, value = select(*(cases[j] for j in order), timeout=0.005)
        except TimeoutError:
            continue
        kind, v = kinds[order[i]]
        if kind == "send":
            assert value is None
            sent.append(v)
        else:
            received.append(value)
    return sent, received


@pytest.mark.timeout(90)
def test_concurrent_selects_in_random_orders_exchange_each_value_once():
    """Selects with random mixes of send and receive cases over shared
    channels, in random case orders (so in every lock order): no deadlock,
    and every value sent is received exactly once."""
    chans = [Chan(k % 2) for k in range(5)]
    n_threads, rounds = 4, 1500
    outs = Chan(n_threads)

    def worker(seed: int) -> None:
        try:
            outs.send(_select_worker(seed, chans, rounds))
        except BaseException as e:
            outs.send(e)

    for seed in range(n_threads):
        go(worker, seed)
    sent, received = [], []
    for _ in range(n_threads):
        r = outs.recv(timeout=80)
        if isinstance(r, BaseException):
            raise r
        sent += r[0]
        received += r[1]
    for c in chans:  # what is still buffered counts as not yet received
        c.close()
        received += list(c)
    assert len(sent) > 100
    assert sorted(received) == sorted(sent)
