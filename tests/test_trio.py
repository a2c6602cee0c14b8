"""Every async method in trio tasks as in asyncio tasks (through anyio, on
both of its backends), trio's cancellation never losing or duplicating a
value, and threads and trio tasks on the same channels."""

from __future__ import annotations

import random
import sys
import threading

import anyio
import pytest
import trio
from gocurrent import (
    Chan,
    ChanClosedError,
    Cond,
    ErrGroup,
    Mutex,
    RWMutex,
    Semaphore,
    WaitGroup,
    context,
    go,
    select_async,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


async def until(cond, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not cond():
            await anyio.sleep(0.001)


# ------------------------------------------------------------------- channels


async def test_chan_send_recv_between_tasks(anyio_backend):
    ch: Chan[int] = Chan()
    got = []

    async def producer():
        for i in range(100):
            await ch.send_async(i)
        ch.close()

    async def consumer():
        async for v in ch:
            got.append(v)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consumer)
        tg.start_soon(producer)
    assert got == list(range(100))


async def test_chan_buffered_recv_ok_and_close(anyio_backend):
    ch: Chan[int] = Chan(2)
    await ch.send_async(1)
    await ch.send_async(2)
    assert await ch.recv_ok_async() == (1, True)
    ch.close()
    assert await ch.recv_async() == 2
    assert await ch.recv_ok_async() == (None, False)
    with pytest.raises(ChanClosedError, match="send on closed channel"):
        await ch.send_async(3)


async def test_chan_timeout_says_what_and_how_long(anyio_backend):
    ch: Chan[int] = Chan()
    with pytest.raises(TimeoutError, match=r"^Chan\.recv_async timed out after 0\.02s$"):
        await ch.recv_async(timeout=0.02)
    with pytest.raises(TimeoutError, match=r"^Chan\.send_async timed out after 0s$"):
        await ch.send_async(1, timeout=0)
    assert len(ch) == 0


async def test_chan_cancelled_recv_takes_nothing(anyio_backend):
    ch: Chan[int] = Chan(1)
    with anyio.move_on_after(0.02) as scope:
        await ch.recv_async()
    assert scope.cancelled_caught
    ch.send(7, timeout=0)  # the buffer is free: the cancelled receiver is gone
    assert await ch.recv_async() == 7


async def test_threads_and_tasks_on_the_same_channels(anyio_backend):
    to_tasks: Chan[int] = Chan()
    to_threads: Chan[int] = Chan()
    n = 300
    got_by_threads: list[int] = []

    def thread_producer():
        for i in range(n):
            to_tasks.send(i)
        to_tasks.close()

    def thread_consumer():
        for v in to_threads:
            got_by_threads.append(v)

    t1 = threading.Thread(target=thread_producer)
    t2 = threading.Thread(target=thread_consumer)
    t1.start()
    t2.start()
    got_by_tasks: list[int] = []

    async def relay():
        async for v in to_tasks:
            got_by_tasks.append(v)
            await to_threads.send_async(v)

    async with anyio.create_task_group() as tg:
        tg.start_soon(relay)
        tg.start_soon(relay)
    to_threads.close()
    await anyio.to_thread.run_sync(t1.join)
    await anyio.to_thread.run_sync(t2.join)
    assert sorted(got_by_tasks) == list(range(n))
    assert sorted(got_by_threads) == list(range(n))


# --------------------------------------------------------------------- select


async def test_select_async(anyio_backend):
    a: Chan[int] = Chan()
    b: Chan[str] = Chan(1)
    assert await select_async(a.recv, b.recv, default=True) == (-1, None)

    async def later():
        await anyio.sleep(0.01)
        await a.send_async(5)

    async with anyio.create_task_group() as tg:
        tg.start_soon(later)
        assert await select_async(a.recv, (b.send, "x")) == (1, None)
        assert await select_async(a.recv, b.recv_ok) == (1, ("x", True))
        assert await select_async(a.recv) == (0, 5)
    with pytest.raises(TimeoutError, match=r"^select_async timed out after 0\.01s$"):
        await select_async(a.recv, timeout=0.01)


# ---------------------------------------------------------------------- sync


async def test_mutex_tasks_take_turns(anyio_backend):
    mu = Mutex()
    inside = 0
    seen = []

    async def worker():
        nonlocal inside
        for _ in range(20):
            async with mu:
                inside += 1
                seen.append(inside)
                await anyio.sleep(0)
                inside -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(worker)
    assert seen == [1] * 100
    assert not mu.locked
    mu.lock()
    with pytest.raises(TimeoutError, match=r"^Mutex\.lock_async timed out after 0\.01s$"):
        await mu.lock_async(timeout=0.01)
    mu.unlock()


async def test_rwmutex_async(anyio_backend):
    rw = RWMutex()
    await rw.rlock_async()
    await rw.rlock_async()
    with pytest.raises(TimeoutError):
        await rw.lock_async(timeout=0.01)
    rw.runlock()
    rw.runlock()
    async with rw:
        with pytest.raises(TimeoutError):
            await rw.rlock_async(timeout=0.01)
    assert "readers=0" in repr(rw)


async def test_waitgroup_with_threads_and_coroutines(anyio_backend):
    wg = WaitGroup()
    done = []

    def thread_work(i):
        done.append(("thread", i))

    async def task_work(i):
        await anyio.sleep(0.001)
        done.append(("task", i))

    for i in range(5):
        wg.go(thread_work, i)
        wg.go(task_work, i)
    with anyio.fail_after(10):
        await wg.wait_async()
    assert sorted(done) == sorted(
        [("thread", i) for i in range(5)] + [("task", i) for i in range(5)]
    )


async def test_semaphore_async(anyio_backend):
    sem = Semaphore(2)
    inside = 0
    peak = 0

    async def worker():
        nonlocal inside, peak
        await sem.acquire_async()
        inside += 1
        peak = max(peak, inside)
        await anyio.sleep(0.001)
        inside -= 1
        sem.release()

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(worker)
    assert peak == 2
    ctx, cancel = context.with_cancel(context.background())
    await sem.acquire_async(2)
    cancel()
    with pytest.raises(context.Canceled):
        await sem.acquire_async(ctx=ctx)
    sem.release(2)
    assert sem.try_acquire(2)


async def test_errgroup_async(anyio_backend):
    g = ErrGroup()
    ran = []

    async def ok(i):
        await anyio.sleep(0.001)
        ran.append(i)

    async def fail():
        raise KeyError("boom")

    for i in range(3):
        g.go(ok, i)
    g.go(fail)
    with pytest.raises(KeyError):
        with anyio.fail_after(10):
            await g.wait_async()
    assert sorted(ran) == [0, 1, 2]


async def test_cond_threads_and_coroutines_wait_on_one_cond(anyio_backend):
    cond = Cond()
    ready = 0
    woken = []

    def thread_waiter(i):
        nonlocal ready
        with cond.L:
            ready += 1
            cond.wait()
            woken.append(("thread", i))

    async def task_waiter(i):
        nonlocal ready
        async with cond.L:
            ready += 1
            await cond.wait_async()
            assert cond.L.locked
            woken.append(("task", i))

    threads = [threading.Thread(target=thread_waiter, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    async with anyio.create_task_group() as tg:
        for i in range(3):
            tg.start_soon(task_waiter, i)
        await until(lambda: ready == 6 and "waiting=6" in repr(cond))
        with cond.L:
            cond.broadcast()
    for t in threads:
        await anyio.to_thread.run_sync(t.join)
    assert len(woken) == 6
    assert not cond.L.locked


async def test_cond_wait_async_timeout_and_cancel_relock(anyio_backend):
    cond = Cond()
    await cond.L.lock_async()
    with pytest.raises(TimeoutError, match=r"^Cond\.wait_async timed out after 0\.01s$"):
        await cond.wait_async(timeout=0.01)
    assert cond.L.locked
    with anyio.move_on_after(0.01):
        await cond.wait_async()
    assert cond.L.locked  # held again even though the wait was cancelled
    assert "waiting=0" in repr(cond)
    cond.L.unlock()
    with pytest.raises(RuntimeError, match="sync: unlock of unlocked mutex"):
        await cond.wait_async()
    assert not cond.L.locked


# ------------------------------------------------------------------- trio only


def test_trio_cancellation_stress_every_value_exactly_once():
    """Receivers wait under random move_on_after scopes while threads and
    tasks send: every value is received exactly once."""
    n_threads, n_tasks, per = 2, 2, 400
    ch: Chan[int] = Chan()
    received: list[int] = []
    cancelled = 0
    rng = random.Random(1234)

    def thread_sender(base):
        for i in range(per):
            ch.send(base + i)

    async def task_sender(base):
        for i in range(per):
            await ch.send_async(base + i)

    async def receiver(total):
        nonlocal cancelled
        while len(received) < total:
            with trio.move_on_after(rng.choice([0, 1e-6, 1e-5, 1e-4, 1e-3])) as scope:
                received.append(await ch.recv_async())
            cancelled += scope.cancelled_caught

    async def main():
        total = (n_threads + n_tasks) * per
        threads = [
            threading.Thread(target=thread_sender, args=(k * per,)) for k in range(n_threads)
        ]
        for t in threads:
            t.start()
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for k in range(n_tasks):
                    nursery.start_soon(task_sender, (n_threads + k) * per)
                for _ in range(3):
                    nursery.start_soon(receiver, total)
        for t in threads:
            await trio.to_thread.run_sync(t.join)

    trio.run(main)
    assert sorted(received) == list(range((n_threads + n_tasks) * per))
    assert cancelled > 0  # the scopes did cancel waits


def test_trio_cancelled_select_and_send_never_duplicate():
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()
    delivered: list[int] = []
    sent_ok: list[int] = []

    def drain():
        while True:
            _, v = _select_threads(a, b)
            if v is None:
                return
            delivered.append(v)

    async def main():
        t = threading.Thread(target=drain)
        t.start()
        for v in range(1, 301):
            with trio.move_on_after(random.choice([0, 1e-6, 1e-4])):
                await select_async((a.send, v), (b.send, v))
                sent_ok.append(v)
        a.close()
        await trio.to_thread.run_sync(t.join)

    trio.run(main)
    assert delivered == sent_ok


def _select_threads(a, b):
    from gocurrent import select

    return select(a.recv, b.recv)


def test_go_of_a_coroutine_function_from_trio_is_a_system_task():
    results: Chan[object] = Chan(1)

    async def goroutine(x):
        task = trio.lowlevel.current_task()  # raises outside a trio task
        await trio.sleep(0)
        await results.send_async((x, task.parent_nursery.parent_task.name))

    async def main():
        go(goroutine, 42)
        with trio.fail_after(10):
            return await results.recv_async()

    x, parent = trio.run(main)
    assert x == 42
    assert "init" in parent  # system tasks are children of trio's init task


def held() -> tuple[Mutex, WaitGroup, Semaphore]:
    """A locked Mutex, a WaitGroup with one to wait for, a taken Semaphore."""
    mu = Mutex()
    mu.lock()
    wg = WaitGroup()
    wg.add(1)
    sem = Semaphore(1)
    sem.acquire()
    return mu, wg, sem


def test_trio_timeout_of_every_kind():
    async def main():
        mu, wg, sem = held()
        for aw, what in [
            (mu.lock_async(timeout=0.01), "Mutex.lock_async"),
            (wg.wait_async(timeout=0.01), "WaitGroup.wait_async"),
            (sem.acquire_async(timeout=0.01), "Semaphore.acquire_async"),
        ]:
            with pytest.raises(TimeoutError, match=rf"^{what} timed out after 0\.01s$"):
                await aw
        assert "waiting=0" in repr(mu) and "waiting=0" in repr(wg) and "waiting=0" in repr(sem)

    trio.run(main)


# ------------------------------------------------------------------ runtime


def test_trio_goroutine_states_follow_its_waits():
    # gocurrent.runtime sees a trio goroutine's waits as an asyncio one's:
    # Go's wait reason while it waits, "runnable" once woken (before trio
    # runs it again), "running" otherwise.
    from gocurrent import runtime, select_async

    ch: Chan[int] = Chan()
    mu, wg, sem = held()
    waits = {
        "chan receive": lambda: ch.recv_async(),
        "select": lambda: select_async(ch.recv),
        "sync.Mutex.Lock": lambda: mu.lock_async(),
        "sync.WaitGroup.Wait": lambda: wg.wait_async(),
        "semacquire": lambda: sem.acquire_async(),
        "chan send": lambda: Chan().send_async(1, timeout=60),
    }
    mine = {}

    def states():
        return {g.id: g for g in runtime.goroutines() if g.id in mine}

    async def main():
        for reason, wait in waits.items():

            async def waiter(wait=wait):
                await wait()

            line = sys._getframe().f_lineno + 1
            go(waiter)
            here = f"{__file__}:{line}"
            (gid,) = {g.id for g in runtime.goroutines() if g.created_by == here} - set(mine)
            mine[gid] = reason
        with trio.fail_after(10):
            while {g.state for g in states().values()} != set(waits):
                await trio.sleep(0.001)
        for gid, g in states().items():
            assert g.state == mine[gid] and g.kind == "coroutine"
            assert g.waiting_for is not None and 0 <= g.waiting_for < 60
        # Woken by a thread while this task keeps the run busy: runnable.
        (receiver,) = [gid for gid, reason in mine.items() if reason == "chan receive"]
        (selecter,) = [gid for gid, reason in mine.items() if reason == "select"]
        t = threading.Thread(target=lambda: (ch.send(1), ch.send(2)))
        t.start()
        t.join(10)
        assert not t.is_alive()
        now = states()
        assert now[receiver].state == now[selecter].state == "runnable"
        assert now[receiver].waiting_for is None
        mu.unlock()
        wg.done()
        sem.release()
        with trio.fail_after(10):
            while len(states()) > 1:  # only the sender with a timeout is left
                await trio.sleep(0.001)
        (last,) = states().values()
        assert last.state == "chan send"

    trio.run(main)  # the run's end cancels the last one
    assert not [g for g in runtime.goroutines() if g.id in mine]
