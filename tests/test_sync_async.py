"""sync from coroutines, and threads and coroutines sharing one primitive."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import anyio
import pytest
from gocurrent import Chan, Mutex, RWMutex, Semaphore, WaitGroup
from support import start, until


def waiting(obj: object) -> int:
    m = re.search(r"waiting=(\d+)", repr(obj))
    assert m, repr(obj)
    return int(m.group(1))


def run(arun, main):
    """Runs main() under the test's backend (asyncio or trio), bounded."""

    async def bounded():
        with anyio.fail_after(30):
            return await main()

    return arun(bounded)


# Tests that step an awaitable by hand (next(aw.__await__())) and then
# complete its operation run only under asyncio, whose step yields a future
# anyone may hold: under trio the wake reschedules the task, which only
# trio may step. trio's way to abandon a completed wait is a cancellation,
# which the handed-over-then-cancelled tests cover under both.


class Ticker:
    """A task that counts loop iterations: proof that the loop (asyncio's or
    trio's) is not blocked. Runs in the task group tg until stopped."""

    def __init__(self, tg) -> None:
        self.ticks = 0
        self.task = start(tg, self._run)

    async def _run(self) -> None:
        while True:
            self.ticks += 1
            await anyio.sleep(0.001)

    def stop(self) -> None:
        self.task.cancel()


# ------------------------------------------------------------------------- Mutex


def test_mutex_async_basics(arun):
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

    run(arun, main)


def test_mutex_coroutines_take_turns(arun):
    async def main():
        mu = Mutex()
        order = []

        async def worker(i):
            for _ in range(20):
                async with mu:
                    order.append(i)
                    assert mu.locked
                    await anyio.sleep(0)

        async with anyio.create_task_group() as tg:
            for i in range(4):
                tg.start_soon(worker, i)
        assert len(order) == 80
        assert not mu.locked
        assert waiting(mu) == 0

    run(arun, main)


@pytest.mark.timeout(30)
def test_mutex_thread_holds_coroutine_waits_loop_keeps_running(arun):
    async def main():
        mu = Mutex()
        async with anyio.create_task_group() as tg:
            ticker = Ticker(tg)
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

    run(arun, main)


@pytest.mark.timeout(60)
def test_mutex_thread_and_coroutine_contend(arun):
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
                    await anyio.sleep(0)
                    state["count"] = c + 1
                    state["inside"] -= 1

        async with anyio.create_task_group() as tg:
            ticker = Ticker(tg)
            threads = [threading.Thread(target=thread_side) for _ in range(2)]
            for t in threads:
                t.start()
            async with anyio.create_task_group() as sides:
                sides.start_soon(coro_side)
                sides.start_soon(coro_side)
            await anyio.to_thread.run_sync(lambda: [t.join() for t in threads])
            ticker.stop()
        assert not bad
        assert state["count"] == 4 * n
        assert not mu.locked
        assert waiting(mu) == 0
        assert ticker.ticks > 0

    run(arun, main)


def test_mutex_cancelled_waiter_leaves_no_trace(arun):
    async def main():
        mu = Mutex()
        mu.lock()
        async with anyio.create_task_group() as tg:
            task = start(tg, mu.lock_async)
            await until(lambda: waiting(mu) == 1)
            task.cancel()
            await task.wait()
        assert task.cancelled
        assert waiting(mu) == 0
        mu.unlock()
        assert not mu.locked

    run(arun, main)


def test_mutex_handed_over_then_cancelled_still_unlocks(arun):
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
                await anyio.sleep(10)

        async with anyio.create_task_group() as tg:
            task = start(tg, waiter)
            await until(lambda: waiting(mu) == 1)
            mu.unlock()  # handed over to the task (it is woken now)
            task.cancel()
            await task.wait()
        assert task.cancelled
        assert entered == [1]
        assert not mu.locked

    run(arun, main)


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

    asyncio.run(main())


def test_mutex_awaitable_dropped_while_waiting(arun):
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

    run(arun, main)


# ----------------------------------------------------------------------- RWMutex


def test_rwmutex_async(arun):
    async def main():
        rw = RWMutex()
        await rw.rlock_async()
        await rw.rlock_async()
        with pytest.raises(TimeoutError):
            await rw.lock_async(timeout=0.02)
        async with anyio.create_task_group() as tg:
            got = start(tg, rw.lock_async)
            await until(lambda: waiting(rw) == 1)
            # A waiting writer blocks new readers, also coroutines.
            with pytest.raises(TimeoutError):
                await rw.rlock_async(timeout=0.02)
            rw.runlock()
            rw.runlock()
            await got.result()
        assert not rw.try_rlock()
        rw.unlock()
        async with rw:
            assert not rw.try_rlock()
        assert rw.try_lock()
        rw.unlock()

    run(arun, main)


@pytest.mark.timeout(30)
def test_rwmutex_thread_writer_coroutine_reader(arun):
    async def main():
        rw = RWMutex()
        rw.lock()
        async with anyio.create_task_group() as tg:
            ticker = Ticker(tg)
            t = threading.Thread(target=lambda: (time.sleep(0.1), rw.unlock()))
            t.start()
            before = ticker.ticks
            await rw.rlock_async()
            assert ticker.ticks - before > 5
            rw.runlock()
            ticker.stop()
        t.join()

    run(arun, main)


# --------------------------------------------------------------------- WaitGroup


@pytest.mark.timeout(30)
def test_waitgroup_async_with_threads_and_coroutines(arun):
    async def main():
        wg = WaitGroup()
        done = []
        async with anyio.create_task_group() as tg:
            ticker = Ticker(tg)
            wg.go(lambda: (time.sleep(0.1), done.append("thread")))

            async def job():
                await anyio.sleep(0.05)
                done.append("coro")

            wg.go(job)  # runs on this loop (a trio system task under trio)
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

    run(arun, main)


@pytest.mark.timeout(30)
def test_waitgroup_thread_waits_for_coroutines(arun):
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
            await anyio.sleep(0.01)
            assert not released.is_set()
            wg.done()
        await anyio.to_thread.run_sync(t.join, 5)
        assert released.is_set()

    run(arun, main)


def test_waitgroup_cancelled_wait(arun):
    async def main():
        wg = WaitGroup()
        wg.add(1)
        async with anyio.create_task_group() as tg:
            task = start(tg, wg.wait_async)
            await until(lambda: waiting(wg) == 1)
            task.cancel()
            await task.wait()
        assert task.cancelled
        assert waiting(wg) == 0
        wg.done()

    run(arun, main)


# --------------------------------------------------------------------- Semaphore


def test_semaphore_async_basics(arun):
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

    run(arun, main)


@pytest.mark.timeout(30)
def test_semaphore_thread_and_coroutine_fifo(arun):
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
        async with anyio.create_task_group() as tg:
            c = start(tg, coro_waiter)
            await until(lambda: waiting(s) == 2)
            ticker = Ticker(tg)
            before = ticker.ticks
            await anyio.sleep(0.05)  # the coroutine waits; the loop runs on
            assert ticker.ticks - before > 5
            ticker.stop()
            s.release()
            await c.result()
        await anyio.to_thread.run_sync(t.join, 5)
        assert order == ["thread", "coro"]
        assert "held=0 waiting=0" in repr(s)

    run(arun, main)


@pytest.mark.timeout(60)
def test_semaphore_threads_and_coroutines_contend(arun):
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
                await anyio.sleep(0)
                leave(k)
                s.release(k)

        threads = [threading.Thread(target=thread_side) for _ in range(2)]
        for t in threads:
            t.start()
        async with anyio.create_task_group() as tg:
            tg.start_soon(coro_side)
            tg.start_soon(coro_side)
        await anyio.to_thread.run_sync(lambda: [t.join() for t in threads])
        assert not bad
        assert "held=0 waiting=0" in repr(s)

    run(arun, main)


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
def test_semaphore_async_ctx(arun):
    async def main():
        s = Semaphore(1)
        ctx = FakeCtx()
        await s.acquire_async(ctx=ctx)
        async with anyio.create_task_group() as tg:
            task = start(tg, lambda: s.acquire_async(ctx=ctx))
            await until(lambda: waiting(s) == 1)
            # Cancelled from another thread while the coroutine waits.
            await anyio.to_thread.run_sync(ctx.cancel)
            with pytest.raises(RuntimeError, match="context canceled"):
                await task.result()
        assert "held=1 waiting=0" in repr(s)
        s.release()
        # Done ctx: fails even with free tokens.
        with pytest.raises(RuntimeError, match="context canceled"):
            await s.acquire_async(ctx=ctx)
        assert "held=0" in repr(s)

    run(arun, main)


def test_semaphore_cancelled_task_keeps_tokens(arun):
    async def main():
        s = Semaphore(1)
        await s.acquire_async()
        async with anyio.create_task_group() as tg:
            task = start(tg, s.acquire_async)
            await until(lambda: waiting(s) == 1)
            task.cancel()
            await task.wait()
        assert task.cancelled
        assert "held=1 waiting=0" in repr(s)
        s.release()
        assert s.try_acquire()

    run(arun, main)


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

    asyncio.run(main())
