"""Contexts, timers and errgroups from asyncio coroutines."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from gocurrent import Chan, Ticker, after, context, errgroup, select_async
from gocurrent.context import Canceled, DeadlineExceeded


@pytest.mark.timeout(30)
def test_cancel_from_a_thread_wakes_select_async_on_done():
    async def main():
        ctx, cancel = context.with_cancel(context.background())
        work: Chan[int] = Chan()
        timer = threading.Timer(0.05, cancel)
        timer.start()
        start = time.monotonic()
        i, v = await select_async(work.recv, ctx.done().recv, timeout=10)
        assert (i, v) == (1, None)
        assert time.monotonic() - start < 5
        assert isinstance(ctx.err(), Canceled)
        timer.join()

    asyncio.run(main())


@pytest.mark.timeout(30)
def test_deadline_wakes_many_coroutines():
    async def main():
        ctx, cancel = context.with_timeout(context.background(), 0.05)

        async def waiter(i):
            idx, _ = await select_async(ctx.done().recv, after(10).recv)
            return idx

        results = await asyncio.gather(*(waiter(i) for i in range(50)))
        assert results == [0] * 50
        assert isinstance(ctx.err(), DeadlineExceeded)
        cancel()

    asyncio.run(main())


@pytest.mark.timeout(30)
def test_async_for_over_done_ends_on_cancel():
    async def main():
        ctx, cancel = context.with_cancel(context.background())
        asyncio.get_running_loop().call_later(0.02, cancel)
        n = 0
        async for _ in ctx.done():
            n += 1
        assert n == 0
        assert ctx.err() is not None

    asyncio.run(main())


@pytest.mark.timeout(30)
def test_deadline_cancels_an_errgroup_of_coroutines():
    async def main():
        parent, cancel = context.with_timeout(context.background(), 0.1)
        g, ctx = errgroup.with_context(parent)
        finished: list[str] = []

        async def worker(name: str) -> None:
            i, _ = await select_async(after(10).recv, ctx.done().recv)
            if i == 1:
                finished.append(name)
                raise ctx.err()  # type: ignore[misc]
            finished.append(name + " completed")

        for n in range(5):
            g.go(worker, f"w{n}")
        start = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            await g.wait_async()
        assert time.monotonic() - start < 5
        # The error is the deadline's, propagated through the group's context.
        assert info.value is parent.err()
        assert ctx.err() is parent.err()
        assert sorted(finished) == [f"w{n}" for n in range(5)]
        cancel()

    asyncio.run(main())


@pytest.mark.timeout(30)
def test_deadline_cancels_an_errgroup_of_coroutines_waited_from_a_thread():
    # The coroutines run on the runtime's own loop; the main thread waits.
    ctx, cancel = context.with_timeout(context.background(), 0.05)
    g, gctx = errgroup.with_context(ctx)

    async def worker():
        await gctx.done().recv_async()
        raise gctx.err()  # type: ignore[misc]

    for _ in range(3):
        g.go(worker)
    with pytest.raises(DeadlineExceeded):
        g.wait()
    cancel()


@pytest.mark.timeout(30)
def test_ticker_and_timer_channels_in_coroutines():
    async def main():
        tk = Ticker(0.01)
        ticks = [await tk.c.recv_async() for _ in range(3)]
        tk.stop()
        assert ticks == sorted(ticks)
        idx, _ = await select_async(tk.c.recv, after(0.05).recv)
        assert idx == 1  # stopped: no more ticks

    asyncio.run(main())


@pytest.mark.timeout(30)
def test_after_func_on_context_from_a_coroutine():
    async def main():
        ctx, cancel = context.with_cancel(context.background())
        ran: Chan[str] = Chan(1)

        async def on_cancel():
            await ran.send_async("async after_func")

        context.after_func(ctx, on_cancel)
        cancel()
        assert await ran.recv_async(timeout=5) == "async after_func"

    asyncio.run(main())
