"""Leaks: heavy use returns the process to its baseline, and every value a
primitive held is freed as soon as the primitive no longer needs it.

Baselines count GC-tracked objects (``gc.get_objects()``), the Python heap
as tracemalloc sees it, and the resident set size (for memory the Rust side
allocates, which tracemalloc does not see). Each workload runs once to warm
caches (the goroutine pool, interned strings, free lists), then the
baseline is taken, then it runs in full.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import tracemalloc
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from gocurrent import Chan, ChanClosedError, go, runtime, select, select_async
from support import eventually


class Obj:
    """A fresh GC-tracked, weak-referenceable value."""

    __slots__ = ("__weakref__", "payload")

    def __init__(self) -> None:
        self.payload = [0]


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def settle() -> None:
    for _ in range(3):
        gc.collect()


# What an extra idle goroutine thread costs (its Thread object, locks and
# frames): a burst of goroutines grows the pool, whose threads retire only
# after idling for seconds, so the bounds allow for them.
PER_THREAD_OBJECTS = 40
PER_THREAD_HEAP = 8 << 10


def usage() -> tuple[int, int, int, int]:
    settle()
    heap = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    return len(gc.get_objects()), heap, rss(), threading.active_count()


def quiesce(running: int) -> None:
    """Waits until no more than ``running`` goroutines exist: those a
    workload started (an ``after_func``'s function, a producer) may still be
    queued or running when it returns, holding what they were given, and on
    a busy machine they can lag far behind (a ``gc.collect()`` holds the GIL
    they need)."""
    assert eventually(lambda: runtime.num_goroutine() <= running, timeout=60), (
        f"{runtime.num_goroutine()} goroutines still running, {running} before"
    )


def growth(
    before: tuple[int, int, int, int],
    after: tuple[int, int, int, int],
    objects: int,
    heap: int,
    resident: int,
) -> list[str]:
    """What grew beyond its bound from before to after (empty if nothing)."""
    threads = max(after[3] - before[3], 0)
    grown = [a - b for a, b in zip(after, before, strict=True)]
    over = []
    if threads >= 1000:
        over.append(f"{threads} more threads")
    if grown[0] > objects + threads * PER_THREAD_OBJECTS:
        over.append(f"{grown[0]} more GC-tracked objects ({threads} more threads)")
    if grown[1] > heap + threads * PER_THREAD_HEAP:
        over.append(f"Python heap grew by {grown[1]} bytes ({threads} more threads)")
    if grown[2] > resident:
        over.append(f"RSS grew by {grown[2] >> 20} MiB")
    return over


def check_returns_to_baseline(
    workload: Callable[[int], None],
    n: int,
    *,
    traced: bool = True,
    objects: int = 300,
    heap: int = 256 << 10,
    resident: int = 24 << 20,
) -> None:
    """Runs workload(n) and checks that what it used was given back.

    Some of it is given back by other threads after the workload returns:
    its goroutines finish (quiesce), the timer thread drops stopped timers
    when it compacts its heap. So the measurement is repeated until it is
    back within bounds, for up to 30 s: a leak never gets there."""
    if traced:
        tracemalloc.start()
    try:
        running = runtime.num_goroutine()
        workload(max(n // 50, 1))  # warm-up
        quiesce(running)
        before = usage()
        workload(n)
        quiesce(running)
        assert eventually(lambda: not growth(before, usage(), objects, heap, resident), 30), (
            "; ".join(growth(before, usage(), objects, heap, resident))
        )
    finally:
        if traced:
            tracemalloc.stop()


def chan_traffic(n: int) -> None:
    """n sends and n receives of fresh objects, through every path."""
    buffered, unbuffered, other = Chan(64), Chan(), Chan(1)
    send, recv = buffered.send, buffered.recv
    quarter = n // 4
    # Fast path: buffered send/recv.
    for _ in range(quarter):
        send(Obj())
        recv()
    # select, both directions, with a never-ready case.
    for _ in range(quarter // 2):
        select((buffered.send, Obj()), other.recv)
        select(buffered.recv, other.recv_ok)
    # Slow path: an unbuffered pipeline with a goroutine on the other side.
    done = Chan(1)

    def producer(k: int) -> None:
        for _ in range(k):
            unbuffered.send(Obj())
        unbuffered.close()
        done.send(None)

    go(producer, quarter)
    for _ in unbuffered:
        pass
    done.recv()

    # asyncio: fast and slow paths, and the closed-channel path.
    async def main(k: int) -> None:
        a = Chan(8)
        for _ in range(k):
            await a.send_async(Obj())
            await a.recv_async()
        b = Chan()

        async def consume() -> None:
            async for _ in b:
                pass

        task = asyncio.ensure_future(consume())
        for _ in range(k):
            await b.send_async(Obj())
        b.close()
        await task
        with pytest.raises(ChanClosedError):
            await b.send_async(Obj())

    asyncio.run(main(quarter // 2))


@pytest.mark.timeout(120)
def test_a_million_sends_and_receives() -> None:
    # tracemalloc slows every allocation down: the heap is measured over a
    # smaller run, objects and RSS over the full million.
    check_returns_to_baseline(chan_traffic, 1_000_000, traced=False)
    check_returns_to_baseline(chan_traffic, 100_000)


def goroutines(n: int) -> None:
    done = Chan(n)

    def job(a: Obj, *, b: Obj) -> None:
        done.send(a)

    def failing(a: Obj) -> None:
        raise ValueError("expected")

    async def coro(a: Obj) -> None:
        await done.send_async(a)

    base = runtime.num_goroutine()
    old_hook = threading.excepthook
    threading.excepthook = lambda args: None
    try:
        for i in range(n):
            if i % 10 == 0:
                go(failing, Obj())
                done.send(None)
            elif i % 10 == 1:
                go(coro, Obj())
            else:
                go(job, Obj(), b=Obj())
        for _ in range(n):
            done.recv(timeout=30)
        # A failing goroutine reports its exception after the main thread's
        # send: the hook stays until every goroutine has ended.
        assert eventually(lambda: runtime.num_goroutine() <= base, 30), "goroutines did not end"
    finally:
        threading.excepthook = old_hook


@pytest.mark.timeout(120)
def test_ten_thousand_goroutines() -> None:
    check_returns_to_baseline(goroutines, 10_000)


def loops_on_threads(n: int) -> None:
    """n//10 threads, one after the other, each running an event loop that
    starts 10 coroutine goroutines, one of them failing: each thread's own
    context for the goroutines' done callbacks goes when the thread does."""
    old_hook = threading.excepthook
    threading.excepthook = lambda args: None

    async def ok(a: Obj) -> None:
        await asyncio.sleep(0)

    async def failing(a: Obj) -> None:
        raise ValueError("expected")

    async def main() -> None:
        for i in range(10):
            go(failing if i == 0 else ok, Obj())
        while runtime.num_goroutine() > base:
            await asyncio.sleep(0)

    base = runtime.num_goroutine()
    try:
        for _ in range(max(n // 10, 1)):
            t = threading.Thread(target=asyncio.run, args=(main(),))
            t.start()
            t.join(30)
            assert not t.is_alive(), "a loop's goroutines did not end"
    finally:
        threading.excepthook = old_hook


@pytest.mark.timeout(120)
def test_a_thousand_loops_on_threads_of_their_own() -> None:
    check_returns_to_baseline(loops_on_threads, 10_000)


def cancelled_waiters(n: int) -> None:
    async def main() -> None:
        ch: Chan[Obj] = Chan()
        for _ in range(n // 1000 or 1):
            tasks = [asyncio.ensure_future(ch.recv_async()) for _ in range(min(n, 1000))]
            await asyncio.sleep(0)  # every task is now registered and pending
            tasks += [
                asyncio.ensure_future(select_async(ch.recv, (ch.send, Obj()))) for _ in range(10)
            ]
            await asyncio.sleep(0)
            for t in tasks:
                t.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            # A send case may have met a receive: whatever completed, no value
            # is left behind and nothing is pending.
            assert all(
                isinstance(r, (asyncio.CancelledError, tuple, Obj)) or r is None for r in results
            )
        assert len(ch) == 0

    asyncio.run(main())


@pytest.mark.timeout(120)
def test_ten_thousand_cancelled_async_waiters() -> None:
    check_returns_to_baseline(cancelled_waiters, 10_000)


def timed_out_waits(n: int) -> None:
    a, b = Chan(), Chan(1)
    b.send(Obj())
    for _ in range(n):
        with pytest.raises(TimeoutError):
            select(a.recv, (b.send, Obj()), timeout=1e-6)


@pytest.mark.timeout(120)
def test_timed_out_selects_leave_nothing_registered() -> None:
    check_returns_to_baseline(timed_out_waits, 10_000, resident=8 << 20)


# -- values are freed as soon as nothing needs them --------------------------


def refs(objs: list[Obj]) -> list[weakref.ref[Obj]]:
    return [weakref.ref(o) for o in objs]


def all_dead(rs: list[weakref.ref[Obj]]) -> bool:
    return all(r() is None for r in rs)


def test_dropped_channel_frees_its_buffered_values() -> None:
    ch: Chan[Obj] = Chan(3)
    objs = [Obj(), Obj(), Obj()]
    for o in objs:
        ch.send(o)
    rs = refs(objs)
    del objs, o
    assert not all_dead(rs)
    del ch
    assert all_dead(rs)


def test_dropped_closed_channel_frees_its_buffered_values() -> None:
    ch: Chan[Obj] = Chan(2)
    o = Obj()
    ch.send(o)
    ch.close()
    rs = refs([o])
    del o
    assert rs[0]() is not None
    del ch
    assert all_dead(rs)


def test_goroutine_arguments_are_freed_when_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[str] = []
    monkeypatch.setattr(threading, "excepthook", lambda a: reported.append(a.exc_type.__name__))
    started = Chan()

    def ok(a: Obj, *, b: Obj) -> None:
        started.send(None)

    def fails(a: Obj, *, b: Obj) -> None:
        started.send(None)
        raise RuntimeError("goroutine failed")

    async def coro(a: Obj, *, b: Obj) -> None:
        await started.send_async(None)
        raise RuntimeError("coroutine failed")

    for fn in (ok, fails, coro):
        rs = refs([Obj(), Obj()])
        go(fn, rs[0](), b=rs[1]())
        started.recv(timeout=10)
        assert eventually(lambda rs=rs: all_dead(rs)), f"{fn.__name__}: arguments still alive"
    assert eventually(lambda: reported == ["RuntimeError", "RuntimeError"]), reported


def test_a_withdrawn_select_frees_its_send_values() -> None:
    full: Chan[Obj] = Chan(1)
    full.send(Obj())
    rs = refs([Obj(), Obj()])
    with pytest.raises(TimeoutError):
        select((full.send, rs[0]()), (Chan().send, rs[1]()), timeout=0.01)
    assert all_dead(rs)
    with pytest.raises(TimeoutError):
        full.send(Obj(), timeout=0.01)
    rs = refs([Obj()])
    with pytest.raises(TimeoutError):
        full.send(rs[0](), timeout=0.01)
    assert all_dead(rs)


def test_a_withdrawn_async_send_frees_its_value() -> None:
    full: Chan[Obj] = Chan(1)
    full.send(Obj())
    rs = refs([Obj(), Obj(), Obj()])

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await full.send_async(rs[0](), timeout=0.01)
        task = asyncio.ensure_future(select_async((full.send, rs[1]()), (Chan().send, rs[2]())))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert all_dead(rs)


def test_a_send_on_a_closed_channel_frees_its_value() -> None:
    ch: Chan[Obj] = Chan()
    rs = refs([Obj()])
    done = Chan(1)

    def blocked(o: Obj) -> None:
        try:
            ch.send(o)
        except ChanClosedError:
            done.send("closed")

    go(blocked, rs[0]())
    time.sleep(0.05)
    ch.close()
    assert done.recv(timeout=5) == "closed"
    assert eventually(lambda: all_dead(rs))
    rs = refs([Obj()])
    with pytest.raises(ChanClosedError):
        ch.send(rs[0]())
    assert all_dead(rs)


def test_an_unawaited_awaitable_frees_its_value() -> None:
    ch: Chan[Any] = Chan(1)
    rs = refs([Obj()])
    aw = ch.send_async(rs[0]())
    del aw
    assert all_dead(rs)
    assert len(ch) == 0


def test_a_cycle_through_a_channel_buffer_is_collected() -> None:
    class Holder:
        pass

    h = Holder()
    h.ch = Chan(2)  # type: ignore[attr-defined]
    h.ch.send(h)  # type: ignore[attr-defined]
    h.ch.send([h])  # type: ignore[attr-defined]
    r = weakref.ref(h)
    del h
    settle()
    assert r() is None


def test_a_channel_in_use_is_not_cleared() -> None:
    """The collector never empties a reachable channel, even mid-cycle."""
    ch: Chan[Any] = Chan(2)
    ch.send(ch)
    for _ in range(3):
        gc.collect()
    assert len(ch) == 1
    assert ch.recv(timeout=0) is ch


def contexts(n: int) -> None:
    from gocurrent import context

    root, cancel_root = context.with_cancel(context.background())
    for i in range(n):
        kind = i % 4
        if kind == 0:
            ctx, cancel = context.with_cancel(root)
        elif kind == 1:
            ctx, cancel = context.with_timeout(root, 3600)
        elif kind == 2:
            ctx, cancel = context.with_cancel_cause(context.with_value(root, "k", Obj()))
        else:
            ctx, cancel = context.with_deadline(root, time.monotonic() - 1)  # already expired
        stop = context.after_func(ctx, lambda: None)
        child, cancel_child = context.with_cancel(ctx)
        if i % 2:
            stop()
        cancel()
        assert child.err() is not None
        cancel_child()
    # Contexts never cancelled by their own function: the parent releases them.
    for _ in range(n // 10):
        context.with_timeout(root, 3600)
    cancel_root()


@pytest.mark.timeout(120)
def test_ten_thousand_contexts() -> None:
    check_returns_to_baseline(contexts, 10_000)


def timers(n: int) -> None:
    from gocurrent import Timer, after, after_func

    for i in range(n):
        t = Timer(3600) if i % 2 else after_func(3600, Obj().__init__)
        assert t.stop()
    for _ in range(n // 100):
        after(0).recv(timeout=5)
        t = Timer(0)
        t.c.recv(timeout=5)
    flush_stopped_timers()


def flush_stopped_timers() -> None:
    """Has the timer thread drop the stopped timers' heap entries (each
    holds its after_func's function) now rather than at its next
    compaction: core/timers.rs compacts once more than 64 entries are
    stopped and they outnumber the live ones, so stop that many more."""
    from gocurrent import Timer, _native

    for _ in range(2 * (_native._timers_pending() + 64) + 1):
        Timer(3600).stop()


@pytest.mark.timeout(120)
def test_ten_thousand_stopped_timers() -> None:
    from gocurrent import _native

    check_returns_to_baseline(timers, 10_000)
    assert eventually(lambda: _native._timers_pending() < 100), _native._timers_pending()


def sync_waiters(n: int) -> None:
    from gocurrent import Cond, Mutex, Semaphore, WaitGroup

    mu, sem, wg, cond = Mutex(), Semaphore(1), WaitGroup(), Cond()
    mu.lock()
    sem.acquire()
    wg.add(1)
    for _ in range(n // 100):
        with pytest.raises(TimeoutError):
            mu.lock(timeout=1e-6)
        with pytest.raises(TimeoutError):
            sem.acquire(timeout=1e-6)
        with pytest.raises(TimeoutError):
            wg.wait(timeout=1e-6)
        with cond.L, pytest.raises(TimeoutError):
            cond.wait(timeout=1e-6)

    async def main() -> None:
        # In batches: asyncio's set of all tasks keeps the size it grew to.
        for _ in range(max(n // 1000, 1)):
            tasks = []
            for _ in range(min(n, 1000) // 4):
                tasks += [
                    asyncio.ensure_future(mu.lock_async()),
                    asyncio.ensure_future(sem.acquire_async()),
                    asyncio.ensure_future(wg.wait_async()),
                ]
            await asyncio.sleep(0)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    mu.unlock()
    assert mu.try_lock()
    mu.unlock()
    sem.release()
    wg.done()


@pytest.mark.timeout(120)
def test_ten_thousand_abandoned_sync_waits() -> None:
    check_returns_to_baseline(sync_waiters, 10_000)


def errgroups(n: int) -> None:
    from gocurrent import context, errgroup

    for i in range(n // 10):
        g, ctx = errgroup.with_context(context.background())
        if i % 2:
            g.set_limit(2)
        for k in range(10):
            g.go(lambda k, o: None if k != 3 else 1 / 0, k, Obj())
        with pytest.raises(ZeroDivisionError):
            g.wait()
        assert ctx.err() is not None


@pytest.mark.timeout(120)
def test_errgroups() -> None:
    check_returns_to_baseline(errgroups, 10_000)


def test_a_failed_errgroup_with_context_frees_its_error() -> None:
    """The error refers to the group through its traceback's frames, the
    group to its context: the collector must see the context's reference."""
    from gocurrent import context, errgroup

    class Failed(Exception):
        pass

    def fail() -> None:
        raise Failed

    def run(parent: Any) -> weakref.ref[Failed]:
        g, _ctx = errgroup.with_context(parent)
        g.go(fail)
        try:
            g.wait()
        except Failed as e:
            return weakref.ref(e)
        raise AssertionError("no error")

    refs = [run(context.background()), run(context.with_cancel(context.background())[0])]
    settle()
    assert all(r() is None for r in refs)
