"""The async twins: send_async, recv_async, recv_ok_async, async for,
select_async; mixed use with threads; timeouts; cancellation safety; and the
Awaitable's protocol (it does nothing until awaited).

Every test of gocurrent's own behaviour runs under asyncio and under trio
(the ``arun`` fixture of conftest.py); the tests of asyncio's own machinery
(its timer callbacks, wait_for, asyncio.timeout, cancel re-delivery, the
future an awaitable yields, the runtime's background loop) run under
asyncio, most with a trio counterpart next to them."""

from __future__ import annotations

import asyncio
import gc
import math
import random
import sys
import threading
import time

import anyio
import pytest
import trio
from conftest import run_python
from gocurrent import Chan, ChanClosedError, go, nilchan, select, select_async
from support import let_block, start

SETTLE = 0.1


def run(coro):
    """asyncio only: runs the coroutine in a new event loop."""
    return asyncio.run(coro)


def later(delay: float, fn, *args) -> None:
    """Runs fn(*args) on a goroutine thread after `delay` seconds."""

    def run_later() -> None:
        time.sleep(delay)
        fn(*args)

    go(run_later)


# --- basics ------------------------------------------------------------------------


def test_buffered_round_trip(arun):
    async def main():
        ch = Chan(3)
        o = object()
        await ch.send_async(1)
        await ch.send_async(None)
        await ch.send_async(o)
        assert len(ch) == 3
        assert await ch.recv_async() == 1
        assert await ch.recv_ok_async() == (None, True)
        assert await ch.recv_async() is o

    arun(main)


class _Custom(Exception):
    pass


# Values that an iterator's StopIteration could mistake for its arguments
# (tuples) or for the exception itself (exceptions, StopIteration above all).
AWKWARD = [1, "s", (1, 2), (), (None,), None, 0, False, [1], _Custom("x"),
           StopIteration(5), StopIteration, ValueError, KeyboardInterrupt(),
           (StopIteration(1),)]  # fmt: skip


def test_every_value_comes_back_as_itself(arun):
    async def main():
        ch = Chan(len(AWKWARD))
        for v in AWKWARD:  # ready at once
            ch.send(v)
        got = [await ch.recv_async() for _ in AWKWARD]
        for v in AWKWARD:
            ch.send(v)
        got_ok = [await ch.recv_ok_async() for _ in AWKWARD]
        for v in AWKWARD:  # while an exception is being handled
            ch.send(v)
        handling = []
        for _ in AWKWARD:
            try:
                raise ValueError("being handled")
            except ValueError:
                handling.append(await ch.recv_async())
        return got, got_ok, handling

    got, got_ok, handling = arun(main)
    assert all(g is v for g, v in zip(got, AWKWARD, strict=True))
    assert all(g is v and ok for (g, ok), v in zip(got_ok, AWKWARD, strict=True))
    assert all(g is v for g, v in zip(handling, AWKWARD, strict=True))


def test_every_value_comes_back_as_itself_after_waiting(arun):
    ch = Chan()

    def producer() -> None:
        for v in AWKWARD:
            ch.send(v)
        ch.close()

    async def main():
        go(producer)
        got = [await ch.recv_async() for _ in AWKWARD[:5]]
        return got + [v async for v in ch]

    got = arun(main)
    assert all(g is v for g, v in zip(got, AWKWARD, strict=True))


def test_a_task_of_the_awaitable_itself_returns_the_value():
    # asyncio.ensure_future wraps an awaitable that is not a coroutine in a
    # generator of its own (`yield from`), whose frame takes the value.
    async def main():
        ch = Chan(2)
        ch.send((7, 8))
        ch.send(StopIteration(3))
        first = await asyncio.ensure_future(ch.recv_async())
        second = await asyncio.wait_for(ch.recv_async(), 10)
        return first, second

    first, second = run(main())
    assert first == (7, 8)
    assert isinstance(second, StopIteration) and second.value == 3


def test_unbuffered_between_two_coroutines(arun):
    async def main():
        ch = Chan()
        sent = []

        async def sender():
            for i in range(100):
                await ch.send_async(i)
                sent.append(i)

        async with anyio.create_task_group() as tg:
            tg.start_soon(sender)
            got = [await ch.recv_async() for _ in range(100)]
        assert got == list(range(100))
        assert sent == got

    arun(main)


def test_unbuffered_send_async_waits_for_a_receiver(arun):
    async def main():
        ch = Chan()
        async with anyio.create_task_group() as tg:
            t = start(tg, _send, ch, "v")
            await anyio.sleep(0.1)
            assert not t.done()
            assert len(ch) == 0
            assert await ch.recv_async() == "v"
            with anyio.fail_after(5):
                await t.result()

    async def _send(ch, v):
        await ch.send_async(v)

    arun(main)


def test_recv_async_blocks_until_a_thread_sends(arun):
    async def main():
        ch = Chan()
        later(0.05, ch.send, "from a thread")
        assert await ch.recv_async() == "from a thread"
        later(0.05, ch.send, "again")
        assert await ch.recv_ok_async() == ("again", True)

    arun(main)


def test_send_async_blocks_until_a_thread_receives(arun):
    async def main():
        ch = Chan()
        out = Chan(1)
        later(0.05, lambda: out.send(ch.recv()))
        await ch.send_async("to a thread")
        assert await out.recv_async(timeout=5) == "to a thread"

    arun(main)


def test_fifo_async(arun):
    async def main():
        ch = Chan(10)

        async def producer():
            for i in range(500):
                await ch.send_async(i)
            ch.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(producer)
            got = [v async for v in ch]
        assert got == list(range(500))

    arun(main)


# --- close, nilchan --------------------------------------------------------------


def test_recv_async_on_closed(arun):
    async def main():
        ch = Chan(1)
        ch.send("left")
        ch.close()
        assert await ch.recv_async() == "left"
        assert await ch.recv_async() is None
        assert await ch.recv_ok_async() == (None, False)

    arun(main)


def test_send_async_on_closed_raises(arun):
    async def main():
        ch = Chan(5)
        ch.close()
        with pytest.raises(ChanClosedError, match="send on closed channel"):
            await ch.send_async(1)
        assert len(ch) == 0

    arun(main)


def test_close_wakes_blocked_async_receivers_and_senders(arun):
    async def main():
        ch = Chan()
        async with anyio.create_task_group() as tg:
            recvs = [start(tg, ch.recv_async) for _ in range(3)]
            oks = [start(tg, ch.recv_ok_async) for _ in range(3)]
            await let_block()
            later(0.05, ch.close)
            assert [await t.result() for t in recvs] == [None] * 3
            assert [await t.result() for t in oks] == [(None, False)] * 3

        ch2 = Chan()
        async with anyio.create_task_group() as tg:
            sends = [start(tg, ch2.send_async, i) for i in range(3)]
            await let_block()
            later(0.05, ch2.close)
            for t in sends:
                with pytest.raises(ChanClosedError):
                    await t.result()

    arun(main)


async def _await(aw):
    return await aw


def test_nilchan_async(arun):
    async def main():
        with pytest.raises(TimeoutError):
            await nilchan.recv_async(timeout=0.05)
        with pytest.raises(TimeoutError):
            await nilchan.recv_ok_async(timeout=0.05)
        with pytest.raises(TimeoutError):
            await nilchan.send_async(1, timeout=0.05)
        with pytest.raises(TimeoutError):
            await nilchan.recv_async(timeout=0)
        # without a timeout it never completes
        with anyio.move_on_after(0.1) as scope:
            await nilchan.recv_async()
        assert scope.cancelled_caught

    arun(main)


# --- async iteration ------------------------------------------------------------------


def test_async_for_until_closed_and_drained(arun):
    async def main():
        ch = Chan(10)
        for i in range(5):
            ch.send(i)
        ch.close()
        assert [v async for v in ch] == list(range(5))
        assert [v async for v in ch] == []

    arun(main)


def test_async_for_with_a_thread_producer(arun):
    ch = Chan()

    def producer() -> None:
        for i in range(200):
            ch.send(i)
        ch.close()

    go(producer)

    async def main():
        return [v async for v in ch]

    assert arun(main) == list(range(200))


def test_aiter_and_anext(arun):
    async def main():
        ch = Chan(2)
        assert ch.__aiter__() is ch
        ch.send(None)
        ch.close()
        assert await ch.__anext__() is None  # None is a value here
        with pytest.raises(StopAsyncIteration):
            await ch.__anext__()

    arun(main)


# --- threads and coroutines on the same channels ------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cap", [0, 3])
def test_mixed_threads_and_coroutines(cap, arun):
    """Thread and coroutine producers and consumers share one channel."""
    ch = Chan(cap)
    n_per = 500
    thread_got: list = []
    done_threads = Chan(4)

    def thread_producer(base: int) -> None:
        for i in range(n_per):
            ch.send(base + i)
        done_threads.send("p")

    def thread_consumer() -> None:
        for v in ch:
            thread_got.append(v)
        done_threads.send("c")

    go(thread_producer, 0)
    go(thread_producer, n_per)
    go(thread_consumer)
    go(thread_consumer)

    async def main():
        coro_got: list = []

        async def producer(base: int):
            for i in range(n_per):
                await ch.send_async(base + i)

        async def consumer():
            async for v in ch:
                coro_got.append(v)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as consumers:
                for _ in range(2):
                    consumers.start_soon(consumer)
                async with anyio.create_task_group() as producers:
                    producers.start_soon(producer, 2 * n_per)
                    producers.start_soon(producer, 3 * n_per)
                # wait for the thread producers, then close
                got = sorted([await done_threads.recv_async(timeout=30) for _ in range(2)])
                assert got == ["p", "p"]
                ch.close()
        return coro_got

    coro_got = arun(main)
    assert [done_threads.recv(timeout=30) for _ in range(2)] == ["c", "c"]
    allv = sorted(thread_got + coro_got)
    assert allv == list(range(4 * n_per))
    assert coro_got and thread_got  # both kinds of consumer took part


def test_two_event_loops_in_two_threads_share_a_channel(arun):
    ch = Chan()
    results = Chan(2)

    def loop_thread(role: str) -> None:
        async def main():
            if role == "send":
                for i in range(300):
                    await ch.send_async(i)
                return "sent"
            return [await ch.recv_async() for _ in range(300)]

        results.send((role, arun(main)))

    go(loop_thread, "send")
    go(loop_thread, "recv")
    got = dict(results.recv(timeout=30) for _ in range(2))
    assert got == {"send": "sent", "recv": list(range(300))}


# --- timeout= on the async twins ----------------------------------------------------


def test_async_timeouts_raise_without_effect(arun):
    async def main():
        ch = Chan()
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            await ch.recv_async(timeout=0.1)
        assert time.monotonic() - t0 >= 0.09
        with pytest.raises(TimeoutError):
            await ch.recv_ok_async(timeout=0.05)
        with pytest.raises(TimeoutError):
            await ch.send_async("x", timeout=0.05)
        # nothing left registered: no receiver to take a value, no value to take
        with pytest.raises(TimeoutError):
            ch.send("y", timeout=0)
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0)

    arun(main)


@pytest.mark.parametrize("t", [0, -1, -math.inf])
def test_async_timeout_zero_or_negative_is_one_attempt(t, arun):
    async def main():
        ch = Chan(1)
        with pytest.raises(TimeoutError):
            await ch.recv_async(timeout=t)
        await ch.send_async(1, timeout=t)
        with pytest.raises(TimeoutError):
            await ch.send_async(2, timeout=t)
        assert await ch.recv_ok_async(timeout=t) == (1, True)
        with pytest.raises(TimeoutError):
            await select_async(ch.recv, timeout=t)

    arun(main)


def test_async_timeout_value_arrives_in_time(arun):
    async def main():
        ch = Chan()
        later(0.05, ch.send, 7)
        assert await ch.recv_async(timeout=10) == 7
        later(0.05, ch.recv)
        await ch.send_async(8, timeout=10)

    arun(main)


def test_async_timeout_none_waits(arun):
    async def main():
        ch = Chan()
        later(0.15, ch.send, "v")
        assert await ch.recv_async(timeout=None) == "v"

    arun(main)


def test_async_bad_timeouts(arun):
    async def main():
        ch = Chan(1)
        with pytest.raises(ValueError):
            await ch.send_async(1, timeout=math.nan)
        with pytest.raises(ValueError):
            await ch.recv_async(timeout=math.nan)
        with pytest.raises(TypeError):
            await ch.recv_ok_async(timeout="1")
        with pytest.raises(TypeError):
            await select_async(ch.recv, timeout=[1])
        assert len(ch) == 0

    arun(main)


def test_value_handed_just_before_the_timeout_is_returned():
    """The sender runs just before the timer, in one loop iteration."""

    async def main():
        loop = asyncio.get_running_loop()
        ch = Chan()
        sent = []

        def send():
            ch.send("v", timeout=0)
            sent.append(True)

        t = asyncio.create_task(_await(ch.recv_async(timeout=0.06)))
        await let_block()
        loop.call_later(0.05, send)  # due before the awaitable's timer
        time.sleep(0.1)  # block the loop: both become due together
        assert await t == "v"
        assert sent == [True]

    run(main())


def test_timeout_just_before_a_send_wins_cleanly():
    async def main():
        loop = asyncio.get_running_loop()
        ch = Chan()
        sent = []

        def send():
            try:
                ch.send("v", timeout=0)
                sent.append(True)
            except TimeoutError:
                sent.append(False)

        t = asyncio.create_task(_await(ch.recv_async(timeout=0.05)))
        await let_block()
        loop.call_later(0.06, send)  # due after the awaitable's timer
        time.sleep(0.1)
        with pytest.raises(TimeoutError):
            await t
        await asyncio.sleep(0)
        assert sent == [False]  # the timed-out receiver was gone

    run(main())


def test_value_handed_by_a_thread_while_the_loop_is_blocked_past_the_timeout_is_returned(arun):
    """The counterpart of the two tests above for both backends (trio has
    no loop callbacks): a thread hands the value to the waiting receiver
    while the loop is blocked, which stays blocked until the receiver's
    timeout has passed too. The timeout then finds the operation complete:
    the value is returned, not lost."""

    async def main():
        ch = Chan()
        handed = threading.Event()

        def send():
            ch.send("v", timeout=10)  # the receiver is registered: at once
            handed.set()

        async with anyio.create_task_group() as tg:
            t = start(tg, lambda: ch.recv_async(timeout=0.05))
            await let_block()
            t0 = time.monotonic()
            go(send)
            assert handed.wait(10)  # blocks the loop
            time.sleep(max(0.0, t0 + 0.06 - time.monotonic()))  # past the timeout
            assert await t.result() == "v"

    arun(main)


def test_a_sender_due_just_after_the_timeout_finds_no_receiver(arun):
    """The counterpart of test_timeout_just_before_a_send_wins_cleanly with a
    sender task (under trio, deadlines expire before any task runs): the
    receiver's timeout, due first, withdraws it; the sender finds nobody."""

    async def main():
        ch = Chan()
        sent = []

        async def sender():
            await anyio.sleep(0.06)  # due after the receiver's timeout
            try:
                ch.send("v", timeout=0)
                sent.append(True)
            except TimeoutError:
                sent.append(False)

        async with anyio.create_task_group() as tg:
            t = start(tg, lambda: ch.recv_async(timeout=0.05))
            tg.start_soon(sender)
            await let_block()
            time.sleep(0.1)  # block the loop: both become due together
            with pytest.raises(TimeoutError):
                await t.result()
        assert sent == [False]  # the timed-out receiver was gone

    arun(main)


# --- cancellation ----------------------------------------------------------------------


def test_cancel_blocked_recv_async_leaves_no_receiver(arun):
    async def main():
        ch = Chan()
        async with anyio.create_task_group() as tg:
            t = start(tg, ch.recv_async)
            await let_block()
            t.cancel()
            await t.wait()
        assert t.cancelled
        with pytest.raises(TimeoutError):
            ch.send("lost?", timeout=0)  # no receiver is registered any more
        later(0.02, ch.send, "next")
        assert await ch.recv_async(timeout=5) == "next"

    arun(main)


def test_cancel_blocked_send_async_leaves_no_value(arun):
    async def main():
        for cap in (0, 1):
            ch = Chan(cap)
            if cap:
                ch.send("first")
            async with anyio.create_task_group() as tg:
                t = start(tg, ch.send_async, "cancelled")
                await let_block()
                t.cancel()
                await t.wait()
            assert t.cancelled
            if cap:
                assert ch.recv(timeout=0) == "first"
            with pytest.raises(TimeoutError):
                ch.recv(timeout=0)

    arun(main)


def test_cancel_blocked_select_async_performs_no_case(arun):
    async def main():
        a, b = Chan(), Chan()
        async with anyio.create_task_group() as tg:
            t = start(tg, lambda: select_async(a.recv, (b.send, "x")))
            await let_block()
            t.cancel()
            await t.wait()
        assert t.cancelled
        with pytest.raises(TimeoutError):
            a.send(1, timeout=0)
        with pytest.raises(TimeoutError):
            b.recv(timeout=0)

    arun(main)


def test_cancel_by_a_timeout_scope_leaves_the_value_for_the_next_receiver(arun):
    async def main():
        ch = Chan()
        with anyio.move_on_after(0.05) as scope:
            await ch.recv_async()
        assert scope.cancelled_caught
        later(0.02, ch.send, "kept")
        assert await ch.recv_async(timeout=5) == "kept"

    arun(main)


def _handoff_then_cancel(backend, make_op, complete, check_after):
    """A task awaits make_op(); once it is blocked, the loop thread completes
    the operation (the waker resolves the future directly, or reschedules
    the trio task) and, in the same step, cancels the task. The await must
    return the operation's result, and the cancellation arrive at the task's
    next suspension (asyncio: re-delivered there; trio: its cancel scope
    stays cancelled, so the next checkpoint raises)."""

    async def asyncio_main():
        record = []

        async def body():
            record.append(await make_op())
            await asyncio.sleep(0)  # the re-delivered cancellation lands here
            record.append("not cancelled")

        t = asyncio.create_task(body())
        await let_block()
        complete()
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert t.cancelled()
        check_after()
        return record

    async def trio_main():
        record = []

        async def body():
            record.append(await make_op())
            await trio.sleep(0)  # the pending cancellation lands here
            record.append("not cancelled")

        async with trio.open_nursery() as nursery:
            t = start(nursery, body)
            await let_block()
            complete()
            t.cancel()
        assert t.cancelled
        check_after()
        return record

    if backend == "trio":
        return trio.run(trio_main)
    return run(asyncio_main())


def test_cancel_after_handoff_recv_async_returns_the_value(backend):
    ch = Chan()
    v = object()
    record = _handoff_then_cancel(
        backend, ch.recv_async, lambda: ch.send(v, timeout=0), lambda: None
    )
    assert len(record) == 1 and record[0] is v


def test_cancel_after_handoff_recv_ok_async_returns_the_value(backend):
    ch = Chan()
    record = _handoff_then_cancel(
        backend, ch.recv_ok_async, lambda: ch.send(0, timeout=0), lambda: None
    )
    assert record == [(0, True)]


def test_cancel_after_handoff_send_async_returns(backend):
    ch = Chan()
    got = []

    def check():
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0)  # sent exactly once

    record = _handoff_then_cancel(
        backend, lambda: ch.send_async("v"), lambda: got.append(ch.recv(timeout=0)), check
    )
    assert record == [None]
    assert got == ["v"]


def test_cancel_after_handoff_select_async_returns_the_case(backend):
    a, b = Chan(), Chan()
    record = _handoff_then_cancel(
        backend, lambda: select_async(a.recv, b.recv), lambda: b.send("b", timeout=0), lambda: None
    )
    assert record == [(1, "b")]
    got = []
    record = _handoff_then_cancel(
        backend,
        lambda: select_async(a.recv, (b.send, "sent")),
        lambda: got.append(b.recv(timeout=0)),
        lambda: None,
    )
    assert record == [(1, None)]
    assert got == ["sent"]


def test_cancel_after_handoff_task_that_returns_the_value_keeps_it(backend):
    # The task's coroutine returns right after the await: the cancellation
    # has no later suspension to land on, so the task completes with the
    # value (as a completed future ignores cancel); it must not end
    # cancelled with the value gone.
    async def main():
        ch = Chan()

        async def get():
            return await ch.recv_async()

        t = asyncio.create_task(get())
        await let_block()
        ch.send("v", timeout=0)
        t.cancel()
        try:
            result = await t
        except asyncio.CancelledError:
            result = ("cancelled", len(ch))
        assert result == "v"

    async def trio_main():
        ch = Chan()

        async def get():
            return await ch.recv_async()

        async with trio.open_nursery() as nursery:
            t = start(nursery, get)
            await let_block()
            ch.send("v", timeout=0)
            t.cancel()
        assert not t.cancelled
        assert await t.result() == "v"

    if backend == "trio":
        trio.run(trio_main)
    else:
        run(main())


def test_wait_for_timeout_racing_a_handoff_loses_nothing():
    """asyncio.wait_for's timer fires, then (same loop iteration) a value is
    handed to the inner recv_async; wait_for cancels the inner task, whose
    await already has the value: wait_for must return it."""

    async def main():
        loop = asyncio.get_running_loop()
        ch = Chan()
        sent = []

        def send():
            try:
                ch.send("v", timeout=0)
                sent.append(True)
            except TimeoutError:
                sent.append(False)

        t = asyncio.create_task(asyncio.wait_for(ch.recv_async(), 0.05))
        await let_block()
        loop.call_later(0.06, send)  # due just after wait_for's timer
        time.sleep(0.1)  # block the loop: both become due together
        try:
            result = await t
        except asyncio.TimeoutError:
            result = "timeout"
        assert sent, "the sender did not run"
        if sent[0]:
            assert result == "v"
        else:
            assert result == "timeout"

    run(main())


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is 3.11+")
def test_asyncio_timeout_racing_a_handoff_loses_nothing_and_does_not_leak_a_cancel():
    async def main():
        loop = asyncio.get_running_loop()
        ch = Chan()
        sent, got = [], []

        async def body():
            async with asyncio.timeout(0.05):
                got.append(await ch.recv_async())
            await asyncio.sleep(0.01)  # outside the timeout block: no cancellation
            got.append("continued")

        def send():
            try:
                ch.send("v", timeout=0)
                sent.append(True)
            except TimeoutError:
                sent.append(False)

        t = asyncio.create_task(body())
        await let_block()
        loop.call_later(0.06, send)
        time.sleep(0.1)
        await asyncio.wait_for(t, 5)
        assert sent == [True]
        assert got == ["v", "continued"]

    run(main())


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is 3.11+")
def test_asyncio_timeout_racing_a_handoff_inside_a_longer_block_times_out():
    # The value was received in the block, but the block goes on awaiting:
    # the timeout has expired, so the block ends with TimeoutError.
    async def main():
        loop = asyncio.get_running_loop()
        ch = Chan()
        got = []

        async def body():
            async with asyncio.timeout(0.05):
                got.append(await ch.recv_async())
                await asyncio.sleep(1)
            got.append("not reached")

        t = asyncio.create_task(body())
        await let_block()
        loop.call_later(0.06, lambda: ch.send("v", timeout=0))
        time.sleep(0.1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(t, 5)
        assert got == ["v"]

    run(main())


def _deadline_racing_a_thread_handoff(arun, longer: bool) -> list:
    """A task receives inside ``anyio.fail_after(0.05)`` (asyncio.timeout's
    and trio.fail_after's counterpart on both backends), then, if longer,
    goes on awaiting inside the block; a thread hands it the value while
    the loop is blocked past the deadline. Returns what the task appended."""
    got: list = []

    async def main():
        ch = Chan()
        handed = threading.Event()

        async def body():
            with anyio.fail_after(0.05):
                got.append(await ch.recv_async())
                if longer:
                    await anyio.sleep(1)
            await anyio.sleep(0.01)  # outside the block: no cancellation
            got.append("continued")

        def send():
            ch.send("v", timeout=10)
            handed.set()

        async with anyio.create_task_group() as tg:
            t = start(tg, body)
            await let_block()
            t0 = time.monotonic()
            go(send)
            assert handed.wait(10)  # blocks the loop
            time.sleep(max(0.0, t0 + 0.06 - time.monotonic()))  # past the deadline
            with anyio.fail_after(5):
                try:
                    await t.result()
                except TimeoutError:
                    got.append("timed out")

    arun(main)
    return got


def test_deadline_racing_a_handoff_loses_nothing_and_does_not_leak_a_cancel(arun):
    assert _deadline_racing_a_thread_handoff(arun, longer=False) == ["v", "continued"]


def test_deadline_racing_a_handoff_inside_a_longer_block_times_out(arun):
    assert _deadline_racing_a_thread_handoff(arun, longer=True) == ["v", "timed out"]


@pytest.mark.timeout(60)
def test_random_cancellation_against_a_thread_sender_loses_nothing(arun):
    """A thread sends 2,000 values; coroutines receive them one await at a time
    and are cancelled at random moments. Each value is received exactly once."""
    n = 2000
    ch = Chan()

    def producer() -> None:
        for i in range(n):
            ch.send(i)

    async def main():
        got: list = []
        rng = random.Random(1234)

        async def receiver():
            while True:
                got.append(await ch.recv_async())

        go(producer)
        deadline = time.monotonic() + 40
        while len(got) < n and time.monotonic() < deadline:
            async with anyio.create_task_group() as tg:
                t = start(tg, receiver)
                await anyio.sleep(rng.choice([0, 0, 0.0001, 0.001]))
                t.cancel()
        return got

    got = arun(main)
    assert len(got) == n, f"received {len(got)} values"
    assert sorted(got) == list(range(n))


@pytest.mark.timeout(60)
def test_random_cancellation_of_senders_duplicates_nothing(arun):
    """Coroutines send with send_async and are cancelled at random; a value
    counts as sent when the await returned, and is re-sent otherwise."""
    n = 1500
    ch = Chan(2)
    received: list = []

    def consumer() -> None:
        for v in ch:
            received.append(v)

    finished = threading.Event()
    go(lambda: (consumer(), finished.set()))

    async def main():
        rng = random.Random(99)
        sent: set = set()

        async def sender(v):
            await ch.send_async(v)
            sent.add(v)

        for v in range(n):
            while v not in sent:
                async with anyio.create_task_group() as tg:
                    t = start(tg, sender, v)
                    await anyio.sleep(rng.choice([0, 0, 0.0001]))
                    t.cancel()
        ch.close()

    arun(main)
    assert finished.wait(30)
    assert sorted(received) == list(range(n))


# --- the Awaitable ----------------------------------------------------------------------


def test_awaitable_does_nothing_until_awaited(arun):
    ch = Chan(1)
    aw = ch.send_async("x")
    assert len(ch) == 0
    del aw
    gc.collect()
    assert len(ch) == 0

    ch.send("y")
    aw2 = ch.recv_async()
    assert len(ch) == 1  # not received yet
    del aw2
    assert ch.recv(timeout=0) == "y"

    async def main():
        aw = ch.send_async("z")
        await anyio.sleep(0.02)
        assert len(ch) == 0
        await aw
        assert len(ch) == 1

    arun(main)
    assert ch.recv(timeout=0) == "z"


def test_awaitable_fast_path_needs_no_loop():
    # A ready operation completes in the first step, without a future.
    ch = Chan(1)
    ch.send("v")
    it = ch.recv_async().__await__()
    with pytest.raises(StopIteration) as e:
        next(it)
    assert e.value.value == "v"
    it = ch.send_async("w").__await__()
    with pytest.raises(StopIteration):
        next(it)
    assert ch.recv(timeout=0) == "w"


def test_awaitable_cannot_be_awaited_twice(arun):
    async def main():
        ch = Chan(1)
        ch.send(1)
        aw = ch.recv_async()
        assert await aw == 1
        with pytest.raises(RuntimeError):
            await aw

    arun(main)


def test_awaitable_is_awaitable():
    import collections.abc

    ch = Chan()
    aw = ch.recv_async()
    assert isinstance(aw, collections.abc.Awaitable)
    aw.close()  # never awaited: nothing happens

    async def main():
        # It has the coroutine protocol, so asyncio accepts it as a task.
        t = asyncio.create_task(ch.recv_async())
        await ch.send_async("via task")
        return await t

    assert run(main()) == "via task"


def test_abandoned_registered_awaitable_withdraws(backend, arun):
    """An awaitable closed (or dropped) while registered takes nothing.
    (Under trio, a dropped one used to stay registered: the wait coroutine
    it delegates to held it, a cycle the collector could not see.)"""

    async def main():
        ch = Chan()
        it = ch.recv_async().__await__()
        fut = next(it)  # registered: yields the future it waits on (asyncio)
        assert isinstance(fut, asyncio.Future) == (backend == "asyncio")
        it.close()
        with pytest.raises(TimeoutError):
            ch.send("v", timeout=0)  # nobody receives

        it2 = ch.recv_async().__await__()
        next(it2)
        del it2
        gc.collect()
        with pytest.raises(TimeoutError):
            ch.send("v", timeout=0)

        it3 = ch.send_async("w").__await__()
        next(it3)
        it3.close()
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0)

    arun(main)


def test_throwing_another_exception_into_a_waiting_awaitable_withdraws(arun):
    async def main():
        ch = Chan()
        it = ch.recv_async().__await__()
        next(it)
        with pytest.raises(KeyError):
            it.throw(KeyError("k"))
        with pytest.raises(TimeoutError):
            ch.send(1, timeout=0)

    arun(main)


def test_select_and_recv_async_on_the_background_loop():
    ch = Chan()
    out = Chan(2)

    async def g():
        out.send(await ch.recv_async())
        out.send(await select_async(ch.recv_ok))

    go(g)
    ch.send(1, timeout=10)
    ch.send(2, timeout=10)
    assert [out.recv(timeout=10), out.recv(timeout=10)] == [1, (0, (2, True))]


def test_async_select_with_thread_select_on_the_other_side(arun):
    a, b = Chan(), Chan()
    result = Chan(1)

    def thread_side() -> None:
        result.send(select((a.send, "a"), (b.send, "b")))

    go(thread_side)

    async def main():
        return await select_async(a.recv, b.recv, timeout=10)

    index, value = arun(main)
    assert value == "ab"[index]
    assert result.recv(timeout=10) == (index, None)


def test_an_awaitable_reentered_from_its_own_step_raises_instead_of_deadlocking():
    # A value dropped during the step (a send on a closed channel drops it)
    # whose finalizer steps the same awaitable: like a running generator,
    # that is an error, not a hang.
    ch = Chan()
    ch.close()
    seen: list[str] = []

    class StepsItsAwaitable:
        def __del__(self) -> None:
            try:
                next(aw.__await__())
            except RuntimeError as e:
                seen.append(str(e))

    aw = ch.send_async(StepsItsAwaitable())
    with pytest.raises(ChanClosedError, match="send on closed channel"):
        next(aw.__await__())
    assert seen == ["operation already executing"]


def test_an_awaitable_resumed_before_its_future_is_done_raises_and_withdraws(backend, arun):
    # Only a task should resume a waiting awaitable, once its future is
    # done (asyncio) or trio rescheduled it; a caller that resumes it early
    # gets the error of the future (asyncio) or of trio's wait, and the
    # operation is withdrawn rather than left to take a value nobody reads.
    async def main():
        ch = Chan()
        it = ch.recv_async().__await__()
        next(it)  # registered: yields what it waits on
        # (under trio, the error of trio's own wait trap given a bare None)
        error = asyncio.InvalidStateError if backend == "asyncio" else AttributeError
        with pytest.raises(error):
            it.send(None)
        with pytest.raises(TimeoutError):
            ch.send(1, timeout=0)  # no receiver is left

    arun(main)


async def _recv_from_a_thread(value: object) -> object:
    """A recv_async that blocks until a goroutine thread sends `value`: its
    future must be of the running loop (a task awaiting another loop's
    future fails with "attached to a different loop")."""
    ch = Chan()
    later(0.01, ch.send, value)
    return await ch.recv_async(timeout=10)


def test_a_wait_uses_the_loop_running_now_after_others_ran_on_the_thread():
    """The running loop is remembered per thread (Python 3.10 and 3.11 ask
    getpid to tell it): a loop that ends, another one, and the first one
    run again are each the one a blocking await waits on."""
    first = asyncio.new_event_loop()
    second = asyncio.new_event_loop()
    try:
        assert first.run_until_complete(_recv_from_a_thread(1)) == 1
        assert second.run_until_complete(_recv_from_a_thread(2)) == 2
        assert first.run_until_complete(_recv_from_a_thread(3)) == 3
    finally:
        first.close()
        second.close()
    assert asyncio.run(_recv_from_a_thread(4)) == 4


def test_a_wait_uses_a_loop_run_inside_a_task_of_another():
    """A loop run to completion from inside a task of another loop on the
    same thread (the running loop set aside and put back, as nesting
    helpers do): the inner loop's waits are on the inner loop, the outer
    task's on the outer one, though both loops are running on the thread."""

    async def outer() -> list:
        got = [await _recv_from_a_thread("outer before")]
        outer_loop = asyncio.get_running_loop()
        asyncio.events._set_running_loop(None)
        inner_loop = asyncio.new_event_loop()
        try:
            got.append(inner_loop.run_until_complete(_recv_from_a_thread("inner")))
        finally:
            inner_loop.close()
            asyncio.events._set_running_loop(outer_loop)
        got.append(await _recv_from_a_thread("outer after"))
        return got

    assert asyncio.run(outer()) == ["outer before", "inner", "outer after"]


def test_a_forked_child_has_no_running_loop_until_it_runs_one():
    """Forked from inside a task, the child does not run the parent's loop:
    like asyncio.get_running_loop(), a blocking await there raises
    RuntimeError; a loop the child runs itself works."""
    r = run_python(
        """
import asyncio, os, time
from gocurrent import Chan, go

async def recv_from_a_thread(value):
    ch = Chan()
    go(lambda: (time.sleep(0.01), ch.send(value)))
    return await ch.recv_async(timeout=10)

async def main():
    assert await recv_from_a_thread("parent") == "parent"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            assert asyncio._get_running_loop() is None
            try:
                await Chan().recv_async(timeout=5)
            except RuntimeError as e:
                assert "no running event loop" in str(e), e
            else:
                raise AssertionError("recv_async waited without a loop")
            assert asyncio.run(recv_from_a_thread("child")) == "child"
            code = 7
        except BaseException as e:
            print("child failed", repr(e), flush=True)
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print("child status", os.waitstatus_to_exitcode(status), flush=True)
    assert await recv_from_a_thread("parent again") == "parent again"

asyncio.run(main())
""",
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "child status 7" in r.stdout, (r.stdout, r.stderr)


def test_a_wait_takes_its_future_from_the_loop_when_it_overrides_create_future():
    """A loop of asyncio's own gets asyncio.Future() made directly (what its
    create_future does); a loop whose create_future is its own gets a call."""
    made = []

    class Loop(asyncio.SelectorEventLoop):
        def create_future(self):
            fut = super().create_future()
            made.append(fut)
            return fut

    async def main(expect_calls: bool) -> None:
        ch = Chan()

        async def sender() -> None:
            await ch.send_async("v")

        go(sender)  # a task of this loop: it runs once the recv below waits
        assert await ch.recv_async(timeout=10) == "v"
        assert (len(made) > 0) == expect_calls

    loop = Loop()
    try:
        loop.run_until_complete(main(True))
    finally:
        loop.close()
    made.clear()
    asyncio.run(main(False))


# ---------------------------------------------------------------------------
# Reuse of finished awaitables: a send or receive without a timeout that
# finished at its first step is kept as its channel's spare and driven again
# by the channel's next send or receive, when nothing else refers to it.
# Nothing of that may show.


class Payload:
    """A value that weak references can watch."""


def test_a_held_awaitable_is_never_reused(arun):
    async def main():
        ch = Chan(4)
        a = ch.send_async(1)
        await a
        b = ch.send_async(2)  # a is still held: b is another object
        assert b is not a
        await b
        with pytest.raises(RuntimeError, match="cannot reuse already awaited operation"):
            await a
        return [await ch.recv_async(), await ch.recv_async()]

    assert arun(main) == [1, 2]


def test_a_weakly_referenced_awaitable_is_not_reused(arun):
    import weakref

    async def main():
        ch = Chan(4)
        a = ch.send_async(1)
        await a
        r = weakref.ref(a)
        del a
        # The spare is referenced weakly: the next operation makes a new
        # awaitable, and the old one dies with its last strong reference.
        b = ch.recv_async()
        alive = r()
        assert alive is None or alive is not b
        got = await b
        gc.collect()
        return got, r() is None

    assert arun(main) == (1, True)


def test_a_reused_awaitable_is_a_new_operation(arun):
    async def main():
        ch = Chan(1)
        for i in range(50):
            await ch.send_async(i)  # finishes at once: kept as the spare
            aw = ch.recv_async()  # may be the same object, driven again
            assert aw._wait_reason == "chan receive"
            assert await aw == i
            aw = ch.send_async(i)
            assert aw._wait_reason == "chan send"
            await aw
            assert await ch.recv_ok_async() == (i, True)
        ch.close()
        assert [v async for v in ch] == []
        with pytest.raises(ChanClosedError):
            await ch.send_async(0)
        return "ok"

    assert arun(main) == "ok"


def test_the_spare_holds_no_value_and_not_the_channel(arun):
    import weakref

    async def main():
        ch = Chan(2)
        v = Payload()
        r = weakref.ref(v)
        await ch.send_async(v)  # v is buffered; the finished send is kept
        del v
        assert r() is not None  # the channel's buffer holds it
        del ch  # the buffer goes with the channel: the spare holds neither
        gc.collect()
        return r() is None

    assert arun(main) is True


def test_an_awaitable_that_waited_is_not_kept(arun):
    async def main():
        ch = Chan()
        aw = ch.recv_async()

        async def send_later():
            await ch.send_async("x")

        go(send_later)
        got = await aw  # waits: never becomes the spare
        assert got == "x"
        with pytest.raises(RuntimeError, match="cannot reuse already awaited operation"):
            await aw
        return "ok"

    assert arun(main) == "ok"
