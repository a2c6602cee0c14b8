"""sync from coroutines, and threads and coroutines sharing one primitive."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest
from gocurrent import Chan, Mutex, RWMutex, Semaphore, WaitGroup


def waiting(obj: object) -> int:
    m = re.search(r"waiting=(\d+)", repr(obj))
    assert m, repr(obj)
    return int(m.group(1))


async def until(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.001)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


class Ticker:
    """A task that counts loop iterations: proof that the loop is not blocked."""

    def __init__(self) -> None:
        self.ticks = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0.001)

    def stop(self) -> None:
        self.task.cancel()


# ------------------------------------------------------------------------- Mutex


def test_mutex_async_basics():
    async def main():
        mu = Mutex()
        await mu.lock_async()
        assert mu.locked
        with pytest.raises(TimeoutError):
            await mu.lock_async(timeout=0)
        with pytest.raises(TimeoutError):
            await mu.lock_async(timeout=0.02)
        assert waiting(mu) == 0
        mu.unlock()
        async with mu:
            assert mu.locked
        assert not mu.locked
        with pytest.raises(KeyError):
            async with mu:
                raise KeyError
        assert not mu.locked

    run(main())


def test_mutex_coroutines_take_turns():
    async def main():
        mu = Mutex()
        order = []

        async def worker(i):
            for _ in range(20):
                async with mu:
                    order.append(i)
                    assert mu.locked
                    await asyncio.sleep(0)

        await asyncio.gather(*(worker(i) for i in range(4)))
        assert len(order) == 80
        assert not mu.locked
        assert waiting(mu) == 0

    run(main())


@pytest.mark.timeout(30)
def test_mutex_thread_holds_coroutine_waits_loop_keeps_running():
    async def main():
        mu = Mutex()
        ticker = Ticker()
        mu.lock()
        t = threading.Thread(target=lambda: (time.sleep(0.2), mu.unlock()))
        t.start()
        before = ticker.ticks
        await mu.lock_async()
        # The loop ran other tasks while this coroutine waited.
        assert ticker.ticks - before > 10
        mu.unlock()
        ticker.stop()
        t.join()

    run(main())


@pytest.mark.timeout(60)
def test_mutex_thread_and_coroutine_contend():
    async def main():
        mu = Mutex()
        state = {"count": 0, "inside": 0}
        bad = []
        n = 500

        def thread_side():
            for _ in range(n):
                with mu:
                    state["inside"] += 1
                    if state["inside"] != 1:
                        bad.append("thread")
                    c = state["count"]
                    time.sleep(0)
                    state["count"] = c + 1
                    state["inside"] -= 1

        async def coro_side():
            for _ in range(n):
                async with mu:
                    state["inside"] += 1
                    if state["inside"] != 1:
                        bad.append("coro")
                    c = state["count"]
                    await asyncio.sleep(0)
                    state["count"] = c + 1
                    state["inside"] -= 1

        ticker = Ticker()
        threads = [threading.Thread(target=thread_side) for _ in range(2)]
        for t in threads:
            t.start()
        await asyncio.gather(coro_side(), coro_side())
        await asyncio.to_thread(lambda: [t.join() for t in threads])
        ticker.stop()
        assert not bad
        assert state["count"] == 4 * n
        assert not mu.locked
        assert waiting(mu) == 0
        assert ticker.ticks > 0

    run(main())


def test_mutex_cancelled_waiter_leaves_no_trace():
    async def main():
        mu = Mutex()
        mu.lock()
        task = asyncio.ensure_future(mu.lock_async())
        await until(lambda: waiting(mu) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert waiting(mu) == 0
        mu.unlock()
        assert not mu.locked

    run(main())


def test_mutex_handed_over_then_cancelled_still_unlocks():
    """The lock is handed to a waiting task in the same loop iteration as the
    task is cancelled: the task gets the lock, the cancellation arrives at its
    next await, and `async with` releases the lock."""

    async def main():
        mu = Mutex()
        mu.lock()
        entered = []

        async def waiter():
            async with mu:
                entered.append(1)
                await asyncio.sleep(10)

        task = asyncio.ensure_future(waiter())
        await until(lambda: waiting(mu) == 1)
        mu.unlock()  # handed over to the task (its future is resolved now)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert entered == [1]
        assert not mu.locked

    run(main())


def test_mutex_abandoned_awaitable_gives_the_lock_back():
    async def main():
        mu = Mutex()
        mu.lock()
        aw = mu.lock_async()
        it = aw.__await__()
        next(it)  # registered: now waiting
        assert waiting(mu) == 1
        mu.unlock()  # handed over to the awaitable
        assert mu.locked
        it.close()  # nobody will receive the lock: it is given back
        assert not mu.locked
        assert waiting(mu) == 0

    run(main())


def test_mutex_awaitable_dropped_while_waiting():
    async def main():
        mu = Mutex()
        mu.lock()
        aw = mu.lock_async()
        it = aw.__await__()
        next(it)
        assert waiting(mu) == 1
        del it, aw
        import gc

        gc.collect()
        assert waiting(mu) == 0
        mu.unlock()
        assert not mu.locked

    run(main())


# ----------------------------------------------------------------------- RWMutex


def test_rwmutex_async():
    async def main():
        rw = RWMutex()
        await rw.rlock_async()
        await rw.rlock_async()
        with pytest.raises(TimeoutError):
            await rw.lock_async(timeout=0.02)
        got = asyncio.ensure_future(rw.lock_async())
        await until(lambda: waiting(rw) == 1)
        # A waiting writer blocks new readers, also coroutines.
        with pytest.raises(TimeoutError):
            await rw.rlock_async(timeout=0.02)
        rw.runlock()
        rw.runlock()
        await got
        assert not rw.try_rlock()
        rw.unlock()
        async with rw:
            assert not rw.try_rlock()
        assert rw.try_lock()
        rw.unlock()

    run(main())


@pytest.mark.timeout(30)
def test_rwmutex_thread_writer_coroutine_reader():
    async def main():
        rw = RWMutex()
        rw.lock()
        ticker = Ticker()
        t = threading.Thread(target=lambda: (time.sleep(0.1), rw.unlock()))
        t.start()
        before = ticker.ticks
        await rw.rlock_async()
        assert ticker.ticks - before > 5
        rw.runlock()
        ticker.stop()
        t.join()

    run(main())


# --------------------------------------------------------------------- WaitGroup


@pytest.mark.timeout(30)
def test_waitgroup_async_with_threads_and_coroutines():
    async def main():
        wg = WaitGroup()
        ticker = Ticker()
        done = []
        wg.go(lambda: (time.sleep(0.1), done.append("thread")))

        async def job():
            await asyncio.sleep(0.05)
            done.append("coro")

        wg.go(job)  # runs on this loop
        before = ticker.ticks
        await wg.wait_async()
        assert sorted(done) == ["coro", "thread"]
        assert ticker.ticks - before > 5
        await wg.wait_async()  # zero: at once
        wg.add(1)
        with pytest.raises(TimeoutError):
            await wg.wait_async(timeout=0.02)
        assert waiting(wg) == 0
        wg.done()
        ticker.stop()

    run(main())


@pytest.mark.timeout(30)
def test_waitgroup_thread_waits_for_coroutines():
    async def main():
        wg = WaitGroup()
        wg.add(3)
        released = threading.Event()

        def waiter():
            wg.wait()
            released.set()

        t = threading.Thread(target=waiter)
        t.start()
        for _ in range(3):
            await asyncio.sleep(0.01)
            assert not released.is_set()
            wg.done()
        await asyncio.to_thread(t.join, 5)
        assert released.is_set()

    run(main())


def test_waitgroup_cancelled_wait():
    async def main():
        wg = WaitGroup()
        wg.add(1)
        task = asyncio.ensure_future(wg.wait_async())
        await until(lambda: waiting(wg) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert waiting(wg) == 0
        wg.done()

    run(main())


# --------------------------------------------------------------------- Semaphore


def test_semaphore_async_basics():
    async def main():
        s = Semaphore(2)
        await s.acquire_async()
        await s.acquire_async()
        with pytest.raises(TimeoutError):
            await s.acquire_async(timeout=0)
        with pytest.raises(TimeoutError):
            await s.acquire_async(timeout=0.02)
        assert waiting(s) == 0
        with pytest.raises(ValueError):
            await s.acquire_async(3)
        s.release(2)
        await s.acquire_async(2)
        s.release(2)

    run(main())


@pytest.mark.timeout(30)
def test_semaphore_thread_and_coroutine_fifo():
    async def main():
        s = Semaphore(1)
        s.acquire()
        order = []

        def thread_waiter():
            s.acquire()
            order.append("thread")
            s.release()

        async def coro_waiter():
            await s.acquire_async()
            order.append("coro")
            s.release()

        t = threading.Thread(target=thread_waiter)
        t.start()
        await until(lambda: waiting(s) == 1)
        c = asyncio.ensure_future(coro_waiter())
        await until(lambda: waiting(s) == 2)
        ticker = Ticker()
        before = ticker.ticks
        await asyncio.sleep(0.05)  # the coroutine waits; the loop runs on
        assert ticker.ticks - before > 5
        ticker.stop()
        s.release()
        await c
        await asyncio.to_thread(t.join, 5)
        assert order == ["thread", "coro"]
        assert "held=0 waiting=0" in repr(s)


@pytest.mark.timeout(60)
def test_semaphore_threads_and_coroutines_contend():
    async def main():
        s = Semaphore(2)
        inside = [0]
        bad = []
        lock = threading.Lock()
        n = 300

        def enter(k):
            with lock:
                inside[0] += k
                if inside[0] > 2:
                    bad.append(inside[0])

        def leave(k):
            with lock:
                inside[0] -= k

        def thread_side():
            for i in range(n):
                k = i % 2 + 1
                s.acquire(k)
                enter(k)
                time.sleep(0)
                leave(k)
                s.release(k)

        async def coro_side():
            for i in range(n):
                k = (i + 1) % 2 + 1
                await s.acquire_async(k)
                enter(k)
                await asyncio.sleep(0)
                leave(k)
                s.release(k)

        threads = [threading.Thread(target=thread_side) for _ in range(2)]
        for t in threads:
            t.start()
        await asyncio.gather(coro_side(), coro_side())
        await asyncio.to_thread(lambda: [t.join() for t in threads])
        assert not bad
        assert "held=0 waiting=0" in repr(s)

    run(main())

    run(main())


class FakeCtx:
    def __init__(self) -> None:
        self._done: Chan[None] = Chan()
        self._err: BaseException | None = None

    def done(self) -> Chan[None]:
        return self._done

    def err(self) -> BaseException | None:
        return self._err

    def cancel(self) -> None:
        self._err = RuntimeError("context canceled")
        self._done.close()


@pytest.mark.timeout(30)
def test_semaphore_async_ctx():
    async def main():
        s = Semaphore(1)
        ctx = FakeCtx()
        await s.acquire_async(ctx=ctx)
        task = asyncio.ensure_future(s.acquire_async(ctx=ctx))
        await until(lambda: waiting(s) == 1)
        # Cancelled from another thread while the coroutine waits.
        await asyncio.to_thread(ctx.cancel)
        with pytest.raises(RuntimeError, match="context canceled"):
            await task
        assert "held=1 waiting=0" in repr(s)
        s.release()
        # Done ctx: fails even with free tokens.
        with pytest.raises(RuntimeError, match="context canceled"):
            await s.acquire_async(ctx=ctx)
        assert "held=0" in repr(s)

    run(main())


def test_semaphore_cancelled_task_keeps_tokens():
    async def main():
        s = Semaphore(1)
        await s.acquire_async()
        task = asyncio.ensure_future(s.acquire_async())
        await until(lambda: waiting(s) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert "held=1 waiting=0" in repr(s)
        s.release()
        assert s.try_acquire()

    run(main())


def test_semaphore_abandoned_grant_is_given_back():
    async def main():
        s = Semaphore(1)
        s.acquire()
        aw = s.acquire_async()
        it = aw.__await__()
        next(it)
        s.release()  # granted to the awaitable
        assert "held=1" in repr(s)
        it.close()
        assert "held=0 waiting=0" in repr(s)

    run(main())
