"""Benchmark workloads for gocurrent and its anchors (one measurement per process).

Usage (normally called by ``benches/run.py``, one fresh process per run)::

    python benches/workloads.py WORKLOAD IMPL N

It runs one workload with one implementation for ``N`` operations and prints
one JSON line: ``{"status": "ok", "elapsed": seconds, "ops": N, ...}``.
``status`` is ``"unavailable"`` when the implementation cannot be imported
(for example gocurrent before it is built) and ``"error"`` when the run
failed, including when the result check failed.

Every workload function receives ``(impl, n)``, does its setup, times the
work with ``time.perf_counter`` and returns the elapsed seconds.  Each one
verifies its result (sum of the received ints, counter value, number of
tasks run) and raises ``BenchError`` if it is wrong, so a broken
implementation cannot look fast.  Third-party modules are imported inside
the functions (before the clock starts), so this module imports only the
standard library.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from time import perf_counter

#: Column order of the implementations; every name but gocurrent is an anchor.
IMPLS = (
    "threading",
    "executor",
    "asyncio",
    "janus",
    "culsans",
    "aiologic",
    "trio",
    "pygolang",
    "gocurrent",
)
ANCHORS = tuple(name for name in IMPLS if name != "gocurrent")

#: End-of-stream marker for the queue anchors (they have no close()).
_DONE = object()


class BenchError(AssertionError):
    """A workload produced a wrong result."""


@dataclass(frozen=True)
class Workload:
    """A benchmark shape: its full and --quick sizes and what one op is."""

    name: str
    n: int
    quick_n: int
    unit: str
    summary: str


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("spsc", 1_000_000, 100_000, "item", "1 thread -> 1 thread, cap 1024"),
        Workload("pingpong_threads", 100_000, 10_000, "round trip", "2 threads, unbuffered"),
        Workload("pingpong_async", 100_000, 10_000, "round trip", "2 coroutines, unbuffered"),
        Workload("mpmc", 400_000, 40_000, "item", "4 -> 4 threads, cap 128"),
        Workload("fanout", 200_000, 20_000, "key", "feeder -> cap 1000 -> 100 workers + errs"),
        Workload("spawn_threads", 10_000, 1_000, "spawn", "no-op fn, then wait all"),
        Workload("spawn_async", 10_000, 1_000, "spawn", "no-op coroutine, wait all"),
        Workload("mutex_uncontended_with", 1_000_000, 100_000, "lock+unlock", "`with mu:`"),
        Workload(
            "mutex_uncontended_explicit",
            1_000_000,
            100_000,
            "lock+unlock",
            "lock()/unlock() calls",
        ),
        Workload("mutex_contended", 1_000_000, 100_000, "increment", "4 threads"),
        Workload("async_spsc", 1_000_000, 100_000, "item", "coroutine -> coroutine, cap 1024"),
        Workload(
            "thread_to_coroutine",
            200_000,
            20_000,
            "item",
            "thread -> coroutine, cap 1024",
        ),
        Workload("select4", 400_000, 40_000, "item", "select over 4 chans, 4 producers"),
        Workload("daisy_threads", 10_000, 1_000, "link", "Pike's daisy chain, setup included"),
        Workload("daisy_async", 100_000, 10_000, "link", "Pike's daisy chain, setup included"),
    )
}

#: workload name -> implementation name -> function(impl, n) -> elapsed seconds
REGISTRY: dict[str, dict[str, Callable[[str, int], float]]] = {name: {} for name in WORKLOADS}


def bench(workload: str, *impls: str) -> Callable:
    """Register the decorated ``fn(impl, n) -> seconds`` for ``impls``."""

    def register(fn: Callable[[str, int], float]) -> Callable[[str, int], float]:
        for impl in impls:
            assert impl in IMPLS, impl
            REGISTRY[workload][impl] = fn
        return fn

    return register


# ---------------------------------------------------------------- helpers


def _check(ok: bool, what: str) -> None:
    """Raise BenchError with ``what`` unless ``ok``."""
    if not ok:
        raise BenchError(what)


def _check_sum(total: int, n: int) -> None:
    """Check that ``total`` is the sum of ``range(n)``."""
    _check(total == n * (n - 1) // 2, f"sum {total} != sum(range({n}))")


def _run_threads(*targets: Callable[[], object]) -> None:
    """Start one thread per target, then join them all."""
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _gocurrent():
    """Import gocurrent (ImportError marks the implementation unavailable)."""
    import gocurrent

    return gocurrent


def _sync_queue(impl: str, maxsize: int) -> tuple[Callable, Callable]:
    """Return the blocking (thread-side) ``put`` and ``get`` of a new queue.

    ``maxsize`` 0 means unbounded, as for ``queue.Queue``.
    """
    if impl == "threading":
        q = queue.Queue(maxsize)
        return q.put, q.get
    if impl in ("janus", "culsans"):
        mod = __import__(impl)
        q = mod.Queue(maxsize)
        return q.sync_q.put, q.sync_q.get
    if impl == "aiologic":
        import aiologic

        q = aiologic.Queue(maxsize=maxsize or None)  # it rejects maxsize=0
        return q.green_put, q.green_get
    raise ValueError(impl)


def _async_queue(impl: str, maxsize: int) -> tuple[Callable, Callable]:
    """Return the awaitable ``put`` and ``get`` of a new queue (call in a loop)."""
    if impl == "asyncio":
        q = asyncio.Queue(maxsize)
        return q.put, q.get
    if impl in ("janus", "culsans"):
        mod = __import__(impl)
        q = mod.Queue(maxsize)
        return q.async_q.put, q.async_q.get
    if impl == "aiologic":
        import aiologic

        q = aiologic.Queue(maxsize=maxsize)
        return q.async_put, q.async_get
    raise ValueError(impl)


def _mixed_queue(impl: str, maxsize: int) -> tuple[Callable, Callable]:
    """Return a thread-side ``put`` and a coroutine-side ``get`` of one queue."""
    if impl in ("janus", "culsans"):
        mod = __import__(impl)
        q = mod.Queue(maxsize)
        return q.sync_q.put, q.async_q.get
    if impl == "aiologic":
        import aiologic

        q = aiologic.Queue(maxsize=maxsize)
        return q.green_put, q.async_get
    raise ValueError(impl)


_SYNC_QUEUES = ("threading", "janus", "culsans", "aiologic")
_ASYNC_QUEUES = ("asyncio", "janus", "culsans", "aiologic")


def _trio():
    """Import trio (ImportError marks the implementation unavailable)."""
    import trio

    return trio


# ---------------------------------------------------------------- spsc


@bench("spsc", *_SYNC_QUEUES)
def spsc_queue(impl: str, n: int) -> float:
    """One producer thread sends range(n) to one consumer thread, cap 1024."""
    put, get = _sync_queue(impl, 1024)
    got = []

    def producer() -> None:
        for i in range(n):
            put(i)
        put(_DONE)

    def consumer() -> None:
        got.append(sum(iter(get, _DONE)))

    t0 = perf_counter()
    _run_threads(producer, consumer)
    elapsed = perf_counter() - t0
    _check_sum(got[0], n)
    return elapsed


@bench("spsc", "gocurrent")
def spsc_gocurrent(impl: str, n: int) -> float:
    """spsc over ``Chan(1024)``: send, close, ``for v in ch``."""
    gc = _gocurrent()
    ch = gc.Chan(1024)
    got = []

    def producer() -> None:
        send = ch.send
        for i in range(n):
            send(i)
        ch.close()

    def consumer() -> None:
        got.append(sum(ch))

    t0 = perf_counter()
    _run_threads(producer, consumer)
    elapsed = perf_counter() - t0
    _check_sum(got[0], n)
    return elapsed


# ---------------------------------------------------------------- pingpong


def _pinger(send: Callable, recv: Callable, n: int, got: list) -> None:
    """Send 0..n-1 and sum the replies (each reply is the value + 1)."""
    total = 0
    for i in range(n):
        send(i)
        total += recv()
    got.append(total)


def _ponger(recv: Callable, send: Callable, n: int) -> None:
    """Answer n pings with value + 1."""
    for _ in range(n):
        send(recv() + 1)


@bench("pingpong_threads", *_SYNC_QUEUES)
def pingpong_threads_queue(impl: str, n: int) -> float:
    """n round trips between two threads over a pair of maxsize-1 queues."""
    ping_put, ping_get = _sync_queue(impl, 1)
    pong_put, pong_get = _sync_queue(impl, 1)
    got = []
    t0 = perf_counter()
    _run_threads(
        lambda: _pinger(ping_put, pong_get, n, got),
        lambda: _ponger(ping_get, pong_put, n),
    )
    elapsed = perf_counter() - t0
    _check_sum(got[0] - n, n)
    return elapsed


@bench("pingpong_threads", "gocurrent")
def pingpong_threads_gocurrent(impl: str, n: int) -> float:
    """n round trips between two threads over two unbuffered ``Chan()``."""
    gc = _gocurrent()
    ping, pong = gc.Chan(), gc.Chan()
    got = []
    t0 = perf_counter()
    _run_threads(
        lambda: _pinger(ping.send, pong.recv, n, got),
        lambda: _ponger(ping.recv, pong.send, n),
    )
    elapsed = perf_counter() - t0
    _check_sum(got[0] - n, n)
    return elapsed


async def _apinger(send: Callable, recv: Callable, n: int) -> int:
    """Async pinger: send 0..n-1, return the sum of the replies."""
    total = 0
    for i in range(n):
        await send(i)
        total += await recv()
    return total


async def _aponger(recv: Callable, send: Callable, n: int) -> None:
    """Async ponger: answer n pings with value + 1."""
    for _ in range(n):
        await send(await recv() + 1)


@bench("pingpong_async", *_ASYNC_QUEUES)
def pingpong_async_queue(impl: str, n: int) -> float:
    """n round trips between two coroutines over a pair of maxsize-1 queues."""

    async def main() -> float:
        ping_put, ping_get = _async_queue(impl, 1)
        pong_put, pong_get = _async_queue(impl, 1)
        t0 = perf_counter()
        total, _ = await asyncio.gather(
            _apinger(ping_put, pong_get, n), _aponger(ping_get, pong_put, n)
        )
        elapsed = perf_counter() - t0
        _check_sum(total - n, n)
        return elapsed

    return asyncio.run(main())


@bench("pingpong_async", "trio")
def pingpong_async_trio(impl: str, n: int) -> float:
    """n round trips between two trio tasks over 0-buffer memory channels."""
    trio = _trio()

    async def main() -> float:
        ping_tx, ping_rx = trio.open_memory_channel(0)
        pong_tx, pong_rx = trio.open_memory_channel(0)
        got = []

        async def pinger() -> None:
            got.append(await _apinger(ping_tx.send, pong_rx.receive, n))

        t0 = perf_counter()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pinger)
            nursery.start_soon(_aponger, ping_rx.receive, pong_tx.send, n)
        elapsed = perf_counter() - t0
        _check_sum(got[0] - n, n)
        return elapsed

    return trio.run(main)


@bench("pingpong_async", "gocurrent")
def pingpong_async_gocurrent(impl: str, n: int) -> float:
    """n round trips between two coroutines over two unbuffered ``Chan()``."""
    gc = _gocurrent()

    async def main() -> float:
        ping, pong = gc.Chan(), gc.Chan()
        t0 = perf_counter()
        total, _ = await asyncio.gather(
            _apinger(ping.send_async, pong.recv_async, n),
            _aponger(ping.recv_async, pong.send_async, n),
        )
        elapsed = perf_counter() - t0
        _check_sum(total - n, n)
        return elapsed

    return asyncio.run(main())


# ---------------------------------------------------------------- mpmc

_MPMC_WORKERS = 4


def _mpmc(n: int, put: Callable, consume: Callable[[], int], close: Callable) -> float:
    """Run 4 producers of n ints in total, 4 consumers and a closer; check."""
    per = n // _MPMC_WORKERS
    sums = []

    def producer(start: int) -> None:
        for i in range(start, start + per):
            put(i)

    def closer(producers: list[threading.Thread]) -> None:
        for t in producers:
            t.join()
        close()

    t0 = perf_counter()
    producers = [threading.Thread(target=producer, args=(k * per,)) for k in range(_MPMC_WORKERS)]
    for t in producers:
        t.start()
    consumers = [lambda: sums.append(consume())] * _MPMC_WORKERS
    _run_threads(*consumers, lambda: closer(producers))
    elapsed = perf_counter() - t0
    _check_sum(sum(sums), per * _MPMC_WORKERS)
    return elapsed


@bench("mpmc", *_SYNC_QUEUES)
def mpmc_queue(impl: str, n: int) -> float:
    """mpmc over a cap-128 queue; the closer puts one sentinel per consumer."""
    put, get = _sync_queue(impl, 128)

    def close() -> None:
        for _ in range(_MPMC_WORKERS):
            put(_DONE)

    return _mpmc(n, put, lambda: sum(iter(get, _DONE)), close)


@bench("mpmc", "gocurrent")
def mpmc_gocurrent(impl: str, n: int) -> float:
    """mpmc over ``Chan(128)``; the closer closes it, consumers ``sum(ch)``."""
    ch = _gocurrent().Chan(128)
    return _mpmc(n, ch.send, lambda: sum(ch), ch.close)


# ---------------------------------------------------------------- fanout

_FANOUT_WORKERS = 100
_FANOUT_MISSING_EVERY = 100  # every 100th key is absent: its delete fails


def _fanout_store(n: int) -> dict:
    """The 'remote' key space: every key of range(n) except every 100th."""
    return {k: True for k in range(n) if k % _FANOUT_MISSING_EVERY}


def _fanout_check(store: dict, errors: list, n: int) -> None:
    """All present keys deleted; one error per missing key."""
    _check(not store, f"{len(store)} keys left undeleted")
    expected = len(range(0, n, _FANOUT_MISSING_EVERY))
    _check(len(errors) == expected, f"{len(errors)} errors, expected {expected}")


@bench("fanout", *_SYNC_QUEUES)
def fanout_queue(impl: str, n: int) -> float:
    """Bulk-delete shape with threads, a queue, sentinels and join()."""
    jobs_put, jobs_get = _sync_queue(impl, 1000)
    errs_put, errs_get = _sync_queue(impl, 0)
    store = _fanout_store(n)
    delete = store.pop

    def feeder() -> None:
        for key in range(n):
            jobs_put(key)
        for _ in range(_FANOUT_WORKERS):
            jobs_put(_DONE)

    def worker() -> None:
        for key in iter(jobs_get, _DONE):
            if delete(key, None) is None:
                errs_put(KeyError(key))

    def closer(workers: list[threading.Thread]) -> None:
        for t in workers:
            t.join()
        errs_put(_DONE)

    t0 = perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(_FANOUT_WORKERS)]
    for t in workers:
        t.start()
    threading.Thread(target=feeder).start()
    threading.Thread(target=closer, args=(workers,)).start()
    errors = list(iter(errs_get, _DONE))
    elapsed = perf_counter() - t0
    _fanout_check(store, errors, n)
    return elapsed


@bench("fanout", "gocurrent")
def fanout_gocurrent(impl: str, n: int) -> float:
    """Bulk-delete shape: Chan(1000), wg.go workers, an unbuffered error Chan."""
    gc = _gocurrent()
    jobs, errs, wg = gc.Chan(1000), gc.Chan(), gc.WaitGroup()
    store = _fanout_store(n)
    delete = store.pop

    def feeder() -> None:
        send = jobs.send
        for key in range(n):
            send(key)
        jobs.close()

    def worker() -> None:
        for key in jobs:
            if delete(key, None) is None:
                errs.send(KeyError(key))

    def closer() -> None:
        wg.wait()
        errs.close()

    t0 = perf_counter()
    for _ in range(_FANOUT_WORKERS):
        wg.go(worker)
    gc.go(feeder)
    gc.go(closer)
    errors = list(errs)
    elapsed = perf_counter() - t0
    _fanout_check(store, errors, n)
    return elapsed


# ---------------------------------------------------------------- spawn


@bench("spawn_threads", "executor")
def spawn_threads_executor(impl: str, n: int) -> float:
    """Submit n no-op functions to a default ThreadPoolExecutor and wait."""
    ran = []
    t0 = perf_counter()
    with ThreadPoolExecutor() as ex:
        futures_wait([ex.submit(ran.append, None) for _ in range(n)])
    elapsed = perf_counter() - t0
    _check(len(ran) == n, f"{len(ran)} of {n} functions ran")
    return elapsed


@bench("spawn_threads", "threading")
def spawn_threads_threading(impl: str, n: int) -> float:
    """Start n threads running a no-op, then join them all."""
    ran = []
    t0 = perf_counter()
    threads = [threading.Thread(target=ran.append, args=(None,)) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = perf_counter() - t0
    _check(len(ran) == n, f"{len(ran)} of {n} functions ran")
    return elapsed


@bench("spawn_threads", "gocurrent")
def spawn_threads_gocurrent(impl: str, n: int) -> float:
    """``wg.go`` n no-op functions, then ``wg.wait()``."""
    gc = _gocurrent()
    ran = []
    t0 = perf_counter()
    wg = gc.WaitGroup()
    for _ in range(n):
        wg.go(ran.append, None)
    wg.wait()
    elapsed = perf_counter() - t0
    _check(len(ran) == n, f"{len(ran)} of {n} functions ran")
    return elapsed


@bench("spawn_async", "asyncio")
def spawn_async_asyncio(impl: str, n: int) -> float:
    """``asyncio.create_task`` n no-op coroutines, then ``gather``."""

    async def main() -> float:
        ran = []

        async def noop() -> None:
            ran.append(None)

        t0 = perf_counter()
        await asyncio.gather(*[asyncio.create_task(noop()) for _ in range(n)])
        elapsed = perf_counter() - t0
        _check(len(ran) == n, f"{len(ran)} of {n} coroutines ran")
        return elapsed

    return asyncio.run(main())


@bench("spawn_async", "trio")
def spawn_async_trio(impl: str, n: int) -> float:
    """``nursery.start_soon`` n no-op coroutines; the nursery waits."""
    trio = _trio()

    async def main() -> float:
        ran = []

        async def noop() -> None:
            ran.append(None)

        t0 = perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(noop)
        elapsed = perf_counter() - t0
        _check(len(ran) == n, f"{len(ran)} of {n} coroutines ran")
        return elapsed

    return trio.run(main)


@bench("spawn_async", "gocurrent")
def spawn_async_gocurrent(impl: str, n: int) -> float:
    """``go(coro_fn)`` n times on the running loop, then ``wg.wait_async()``."""
    gc = _gocurrent()

    async def main() -> float:
        ran = []
        wg = gc.WaitGroup()

        async def noop() -> None:
            ran.append(None)
            wg.done()

        t0 = perf_counter()
        wg.add(n)
        for _ in range(n):
            gc.go(noop)
        await wg.wait_async()
        elapsed = perf_counter() - t0
        _check(len(ran) == n, f"{len(ran)} of {n} coroutines ran")
        return elapsed

    return asyncio.run(main())


# ---------------------------------------------------------------- mutex


def _new_lock(impl: str):
    """A new lock: threading.Lock, aiologic.Lock, pygolang's or gocurrent's Mutex."""
    if impl == "threading":
        return threading.Lock()
    if impl == "pygolang":
        return _pygolang()[1].Mutex()
    if impl == "aiologic":
        import aiologic

        return aiologic.Lock()
    return _gocurrent().Mutex()


def _lock_calls(impl: str, lock) -> tuple[Callable, Callable]:
    """The explicit lock and unlock methods of ``lock``."""
    if impl == "threading":
        return lock.acquire, lock.release
    if impl == "aiologic":
        return lock.green_acquire, lock.green_release
    return lock.lock, lock.unlock


def _is_locked(impl: str, lock) -> bool:
    """Whether ``lock`` is held (gocurrent's ``locked`` is a property)."""
    return lock.locked if impl == "gocurrent" else lock.locked()


def _check_unlocked(impl: str, lock) -> None:
    """The lock must be free at the end, and ``with`` must really take it."""
    if impl == "pygolang":
        return  # its Mutex cannot say whether it is held (the counts are checked)
    _check(not _is_locked(impl, lock), "lock still held at the end")
    with lock:
        _check(_is_locked(impl, lock), "`with lock:` does not hold the lock")
    _check(not _is_locked(impl, lock), "lock still held after `with`")


@bench("mutex_uncontended_with", "threading", "aiologic", "pygolang", "gocurrent")
def mutex_uncontended_with(impl: str, n: int) -> float:
    """n times ``with mu: count += 1`` on one thread."""
    mu = _new_lock(impl)
    count = 0
    t0 = perf_counter()
    for _ in range(n):
        with mu:
            count += 1
    elapsed = perf_counter() - t0
    _check(count == n, f"count {count} != {n}")
    _check_unlocked(impl, mu)
    return elapsed


@bench("mutex_uncontended_explicit", "threading", "aiologic", "pygolang", "gocurrent")
def mutex_uncontended_explicit(impl: str, n: int) -> float:
    """n times ``lock(); count += 1; unlock()`` on one thread."""
    mu = _new_lock(impl)
    lock, unlock = _lock_calls(impl, mu)
    count = 0
    t0 = perf_counter()
    for _ in range(n):
        lock()
        count += 1
        unlock()
    elapsed = perf_counter() - t0
    _check(count == n, f"count {count} != {n}")
    _check_unlocked(impl, mu)
    return elapsed


def _switch_point() -> None:
    """An empty Python call: a place where the GIL may pass to another thread."""


@bench("mutex_contended", "threading", "aiologic", "pygolang", "gocurrent")
def mutex_contended(impl: str, n: int) -> float:
    """4 threads each do n/4 increments of a shared counter under the lock.

    The increment reads, calls an empty function, then writes: the call is a
    point where the GIL can switch threads, so the lock really is contended
    (a thread can be descheduled while holding it) and a lock that does not
    exclude loses updates, which the final check catches, also with the GIL.
    """
    mu = _new_lock(impl)
    per = n // 4
    counter = [0]

    def work() -> None:
        for _ in range(per):
            with mu:
                value = counter[0]
                _switch_point()
                counter[0] = value + 1

    t0 = perf_counter()
    _run_threads(*[work] * 4)
    elapsed = perf_counter() - t0
    _check(counter[0] == per * 4, f"counter {counter[0]} != {per * 4}")
    _check_unlocked(impl, mu)
    return elapsed


# ---------------------------------------------------------------- async_spsc


@bench("async_spsc", *_ASYNC_QUEUES)
def async_spsc_queue(impl: str, n: int) -> float:
    """range(n) from one coroutine to another over a cap-1024 queue."""

    async def main() -> float:
        put, get = _async_queue(impl, 1024)

        async def producer() -> None:
            for i in range(n):
                await put(i)
            await put(_DONE)

        async def consumer() -> int:
            total = 0
            while (v := await get()) is not _DONE:
                total += v
            return total

        t0 = perf_counter()
        _, total = await asyncio.gather(producer(), consumer())
        elapsed = perf_counter() - t0
        _check_sum(total, n)
        return elapsed

    return asyncio.run(main())


@bench("async_spsc", "trio")
def async_spsc_trio(impl: str, n: int) -> float:
    """async_spsc over a trio memory channel with buffer 1024."""
    trio = _trio()

    async def main() -> float:
        tx, rx = trio.open_memory_channel(1024)
        got = []

        async def producer() -> None:
            async with tx:
                for i in range(n):
                    await tx.send(i)

        async def consumer() -> None:
            total = 0
            async for v in rx:
                total += v
            got.append(total)

        t0 = perf_counter()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(producer)
            nursery.start_soon(consumer)
        elapsed = perf_counter() - t0
        _check_sum(got[0], n)
        return elapsed

    return trio.run(main)


@bench("async_spsc", "gocurrent")
def async_spsc_gocurrent(impl: str, n: int) -> float:
    """async_spsc over ``Chan(1024)``: send_async, close, ``async for``."""
    gc = _gocurrent()

    async def main() -> float:
        ch = gc.Chan(1024)

        async def producer() -> None:
            send = ch.send_async
            for i in range(n):
                await send(i)
            ch.close()

        async def consumer() -> int:
            total = 0
            async for v in ch:
                total += v
            return total

        t0 = perf_counter()
        _, total = await asyncio.gather(producer(), consumer())
        elapsed = perf_counter() - t0
        _check_sum(total, n)
        return elapsed

    return asyncio.run(main())


# ---------------------------------------------------------------- thread_to_coroutine


@bench("thread_to_coroutine", "janus", "culsans", "aiologic")
def thread_to_coroutine_queue(impl: str, n: int) -> float:
    """range(n) from a thread (sync put) to a coroutine (async get), cap 1024."""

    async def main() -> float:
        put, get = _mixed_queue(impl, 1024)

        def producer() -> None:
            for i in range(n):
                put(i)
            put(_DONE)

        t0 = perf_counter()
        thread = threading.Thread(target=producer)
        thread.start()
        total = 0
        while (v := await get()) is not _DONE:
            total += v
        elapsed = perf_counter() - t0
        thread.join()
        _check_sum(total, n)
        return elapsed

    return asyncio.run(main())


@bench("thread_to_coroutine", "gocurrent")
def thread_to_coroutine_gocurrent(impl: str, n: int) -> float:
    """range(n) from a thread (send) to a coroutine (``async for``), Chan(1024)."""
    gc = _gocurrent()

    async def main() -> float:
        ch = gc.Chan(1024)

        def producer() -> None:
            send = ch.send
            for i in range(n):
                send(i)
            ch.close()

        t0 = perf_counter()
        thread = threading.Thread(target=producer)
        thread.start()
        total = 0
        async for v in ch:
            total += v
        elapsed = perf_counter() - t0
        thread.join()
        _check_sum(total, n)
        return elapsed

    return asyncio.run(main())


# ---------------------------------------------------------------- select4


def _select4(n: int, make_chan: Callable, case_of: Callable, nil_case: Callable, select) -> float:
    """4 producer threads, one channel of cap 128 each; select over their
    ``case_of(ch)`` receive cases (``(value, ok)`` results) until all are
    closed, disabling a closed one with ``nil_case`` (Go's nil channel)."""
    chans = [make_chan(128) for _ in range(4)]
    per = n // 4

    def producer(ch, start: int) -> None:
        send = ch.send
        for i in range(start, start + per):
            send(i)
        ch.close()

    t0 = perf_counter()
    threads = [threading.Thread(target=producer, args=(ch, k * per)) for k, ch in enumerate(chans)]
    for t in threads:
        t.start()
    cases = [case_of(ch) for ch in chans]
    total, open_chans = 0, len(cases)
    while open_chans:
        index, (value, ok) = select(*cases)
        if ok:
            total += value
        else:
            cases[index] = nil_case  # Go's idiom: disable the case
            open_chans -= 1
    elapsed = perf_counter() - t0
    for t in threads:
        t.join()
    _check_sum(total, per * 4)
    return elapsed


@bench("select4", "gocurrent")
def select4_gocurrent(impl: str, n: int) -> float:
    """select over 4 ``Chan(128)``s' ``recv_ok`` cases."""
    gc = _gocurrent()
    return _select4(n, gc.Chan, lambda ch: ch.recv_ok, gc.nilchan.recv_ok, gc.select)


# ---------------------------------------------------------------- daisy chains


def _daisy(n: int, make_chan: Callable, go: Callable) -> float:
    """Pike's daisy chain of n goroutines linked by unbuffered channels."""

    def link(left, right) -> None:
        left.send(1 + right.recv())

    t0 = perf_counter()
    leftmost = left = make_chan()
    for _ in range(n):
        right = make_chan()
        go(link, left, right)
        left = right
    go(right.send, 1)
    value = leftmost.recv()
    elapsed = perf_counter() - t0
    _check(value == n + 1, f"chain returned {value}, expected {n + 1}")
    return elapsed


@bench("daisy_threads", "gocurrent")
def daisy_threads_gocurrent(impl: str, n: int) -> float:
    """Daisy chain of n thread goroutines linked by unbuffered Chan()."""
    gc = _gocurrent()
    return _daisy(n, gc.Chan, gc.go)


@bench("daisy_threads", "threading")
def daisy_threads_threading(impl: str, n: int) -> float:
    """Daisy chain of n threads linked by queue.Queue(1); time includes setup."""

    def link(left: queue.Queue, right: queue.Queue) -> None:
        left.put(1 + right.get())

    t0 = perf_counter()
    leftmost = left = queue.Queue(1)
    threads = []
    for _ in range(n):
        right = queue.Queue(1)
        t = threading.Thread(target=link, args=(left, right), daemon=True)
        t.start()
        threads.append(t)
        left = right
    threading.Thread(target=right.put, args=(1,), daemon=True).start()
    value = leftmost.get()
    elapsed = perf_counter() - t0
    for t in threads:
        t.join()
    _check(value == n + 1, f"chain returned {value}, expected {n + 1}")
    return elapsed


@bench("daisy_async", "asyncio")
def daisy_async_asyncio(impl: str, n: int) -> float:
    """Daisy chain of n asyncio tasks linked by asyncio.Queue(1)."""

    async def link(left: asyncio.Queue, right: asyncio.Queue) -> None:
        await left.put(1 + await right.get())

    async def main() -> float:
        t0 = perf_counter()
        leftmost = left = asyncio.Queue(1)
        tasks = []
        for _ in range(n):
            right = asyncio.Queue(1)
            tasks.append(asyncio.create_task(link(left, right)))
            left = right
        tasks.append(asyncio.create_task(right.put(1)))
        value = await leftmost.get()
        elapsed = perf_counter() - t0
        await asyncio.gather(*tasks)
        _check(value == n + 1, f"chain returned {value}, expected {n + 1}")
        return elapsed

    return asyncio.run(main())


@bench("daisy_async", "trio")
def daisy_async_trio(impl: str, n: int) -> float:
    """Daisy chain of n trio tasks linked by 0-buffer memory channels."""
    trio = _trio()

    async def link(left_tx, right_rx) -> None:
        await left_tx.send(1 + await right_rx.receive())

    async def main() -> float:
        t0 = perf_counter()
        async with trio.open_nursery() as nursery:
            right_tx, leftmost_rx = trio.open_memory_channel(0)
            for _ in range(n):
                left_tx = right_tx
                right_tx, right_rx = trio.open_memory_channel(0)
                nursery.start_soon(link, left_tx, right_rx)
            nursery.start_soon(right_tx.send, 1)
            value = await leftmost_rx.receive()
            elapsed = perf_counter() - t0
        _check(value == n + 1, f"chain returned {value}, expected {n + 1}")
        return elapsed

    return trio.run(main)


@bench("daisy_async", "gocurrent")
def daisy_async_gocurrent(impl: str, n: int) -> float:
    """Daisy chain of n coroutine goroutines (``go`` on the loop), Chan()."""
    gc = _gocurrent()

    async def link(left, right) -> None:
        await left.send_async(1 + await right.recv_async())

    async def first(right) -> None:
        await right.send_async(1)

    async def main() -> float:
        t0 = perf_counter()
        leftmost = left = gc.Chan()
        for _ in range(n):
            right = gc.Chan()
            gc.go(link, left, right)
            left = right
        gc.go(first, right)
        value = await leftmost.recv_async()
        elapsed = perf_counter() - t0
        _check(value == n + 1, f"chain returned {value}, expected {n + 1}")
        return elapsed

    return asyncio.run(main())


# ---------------------------------------------------------------- pygolang
# pygolang 0.1 (thread runtime): the closest Go-style peer. Its goroutines are
# threads; its channels have no iteration, so streams end with recv_()'s ok.


def _pygolang():
    """Import pygolang (ImportError marks the implementation unavailable)."""
    import golang
    from golang import sync

    return golang, sync


def _pyg_drain(ch) -> int:
    """Sum a pygolang channel's values until it is closed and drained."""
    recv_ = ch.recv_
    total = 0
    while True:
        v, ok = recv_()
        if not ok:
            return total
        total += v


@bench("spsc", "pygolang")
def spsc_pygolang(impl: str, n: int) -> float:
    """spsc over ``chan(1024)``: send, close, recv_ until closed."""
    golang, _ = _pygolang()
    ch = golang.chan(1024)
    got = []

    def producer() -> None:
        send = ch.send
        for i in range(n):
            send(i)
        ch.close()

    t0 = perf_counter()
    _run_threads(producer, lambda: got.append(_pyg_drain(ch)))
    elapsed = perf_counter() - t0
    _check_sum(got[0], n)
    return elapsed


@bench("pingpong_threads", "pygolang")
def pingpong_threads_pygolang(impl: str, n: int) -> float:
    """n round trips between two threads over two unbuffered ``chan()``."""
    golang, _ = _pygolang()
    ping, pong = golang.chan(), golang.chan()
    got = []
    t0 = perf_counter()
    _run_threads(
        lambda: _pinger(ping.send, pong.recv, n, got),
        lambda: _ponger(ping.recv, pong.send, n),
    )
    elapsed = perf_counter() - t0
    _check_sum(got[0] - n, n)
    return elapsed


@bench("mpmc", "pygolang")
def mpmc_pygolang(impl: str, n: int) -> float:
    """mpmc over ``chan(128)``; the closer closes it."""
    golang, _ = _pygolang()
    ch = golang.chan(128)
    return _mpmc(n, ch.send, lambda: _pyg_drain(ch), ch.close)


@bench("fanout", "pygolang")
def fanout_pygolang(impl: str, n: int) -> float:
    """Bulk-delete shape: chan(1000), 100 goroutines, an unbuffered error chan."""
    golang, sync = _pygolang()
    jobs, errs, wg = golang.chan(1000), golang.chan(), sync.WaitGroup()
    store = _fanout_store(n)
    delete = store.pop

    def feeder() -> None:
        send = jobs.send
        for key in range(n):
            send(key)
        jobs.close()

    def worker() -> None:
        recv_ = jobs.recv_
        while True:
            key, ok = recv_()
            if not ok:
                break
            if delete(key, None) is None:
                errs.send(KeyError(key))
        wg.done()

    def closer() -> None:
        wg.wait()
        errs.close()

    t0 = perf_counter()
    wg.add(_FANOUT_WORKERS)
    for _ in range(_FANOUT_WORKERS):
        golang.go(worker)
    golang.go(feeder)
    golang.go(closer)
    errors = []
    while True:
        err, ok = errs.recv_()
        if not ok:
            break
        errors.append(err)
    elapsed = perf_counter() - t0
    _fanout_check(store, errors, n)
    return elapsed


@bench("spawn_threads", "pygolang")
def spawn_threads_pygolang(impl: str, n: int) -> float:
    """``go`` n no-op functions counted by a ``sync.WaitGroup``, then wait."""
    golang, sync = _pygolang()
    ran = []
    wg = sync.WaitGroup()

    def job() -> None:
        ran.append(None)
        wg.done()

    t0 = perf_counter()
    for _ in range(n):
        wg.add(1)
        golang.go(job)
    wg.wait()
    elapsed = perf_counter() - t0
    _check(len(ran) == n, f"{len(ran)} of {n} functions ran")
    return elapsed


@bench("select4", "pygolang")
def select4_pygolang(impl: str, n: int) -> float:
    """select over 4 ``chan(128)``s' ``recv_`` cases."""
    golang, _ = _pygolang()
    return _select4(n, golang.chan, lambda ch: ch.recv_, golang.nilchan.recv_, golang.select)


@bench("daisy_threads", "pygolang")
def daisy_threads_pygolang(impl: str, n: int) -> float:
    """Daisy chain of n pygolang goroutines (threads) linked by unbuffered chan()."""
    golang, _ = _pygolang()
    return _daisy(n, golang.chan, golang.go)


# ---------------------------------------------------------------- entry point


def run_one(workload: str, impl: str, n: int) -> dict:
    """Run one measurement and describe it as a JSON-ready dict."""
    result = {"workload": workload, "impl": impl, "n": n}
    fn = REGISTRY.get(workload, {}).get(impl)
    if fn is None:
        return {**result, "status": "not_applicable"}
    try:
        elapsed = fn(impl, n)
    except ImportError as exc:
        return {**result, "status": "unavailable", "reason": repr(exc)}
    except Exception as exc:  # reported as an error, not hidden
        traceback.print_exc()
        return {**result, "status": "error", "reason": repr(exc)}
    return {**result, "status": "ok", "elapsed": elapsed, "ops": n}


def main(argv: list[str]) -> int:
    """Command line: ``workloads.py WORKLOAD IMPL N``; prints one JSON line."""
    if len(argv) != 3 or argv[0] not in WORKLOADS or argv[1] not in IMPLS:
        print(__doc__, file=sys.stderr)
        print("workloads:", ", ".join(WORKLOADS), file=sys.stderr)
        print("impls:", ", ".join(IMPLS), file=sys.stderr)
        return 2
    result = run_one(argv[0], argv[1], int(argv[2]))
    print(json.dumps(result), flush=True)
    return 1 if result["status"] == "error" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
