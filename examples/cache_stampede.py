"""A cache stampede, and singleflight stopping it.

A popular cache entry expires and 200 goroutines (100 threads and 100
coroutines) miss it at the same moment: each of them calls the expensive
backend for the same key, 200 calls where one would do. Go programmers put
golang.org/x/sync/singleflight in front of the backend::

    v, err, shared := group.Do(key, func() (any, error) {
        v, err := backend(key)
        if err == nil { cache.Store(key, v) }
        return v, err
    })

``gocurrent.singleflight`` is the same, and a thread (``group.do``) and a
coroutine (``await group.do_async``) asking for the same key at once share
ONE call. This script runs the stampede twice, without and with
singleflight, over two keys, and prints how many times the backend ran.

Run: ``python examples/cache_stampede.py [--goroutines N] [--keys K]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _common import MILLISECOND, println
from gocurrent import Chan, Map, WaitGroup, atomic, singleflight

EXPENSIVE = 200 * MILLISECOND  # one backend call (a slow query)


class Backend:
    """The expensive service, counting its calls per key."""

    def __init__(self) -> None:
        self.calls: Map[str, atomic.Int64] = Map()

    def _count(self, key: str) -> None:
        counter, _ = self.calls.load_or_store(key, atomic.Int64())
        counter.add(1)

    def load(self, key: str) -> str:
        self._count(key)
        time.sleep(EXPENSIVE)
        return f"value of {key}"

    async def load_async(self, key: str) -> str:
        self._count(key)
        await asyncio.sleep(EXPENSIVE)
        return f"value of {key}"

    def count(self, key: str) -> int:
        counter, ok = self.calls.load(key)
        return counter.load() if ok and counter is not None else 0


def stampede(n: int, keys: list[str], use_singleflight: bool) -> tuple[Backend, int]:
    """n goroutines, half threads and half coroutines, miss the cache at
    once; returns the backend and how many callers got a shared result."""
    backend = Backend()
    cache: Map[str, str] = Map()  # the entries have just expired: empty
    group = singleflight.Group()
    shared = atomic.Int64()
    ready, done = WaitGroup(), WaitGroup()
    start: Chan[None] = Chan()  # closed to let everyone go at once

    # Each caller that misses the cache fills it. Under singleflight, a
    # caller that missed just before the call in flight ended finds the
    # value in the cache (checked again), so the backend runs once per key.
    def fill(key: str) -> str:
        value, ok = cache.load(key)
        if not ok:
            value = backend.load(key)
            cache.store(key, value)
        return value

    async def fill_async(key: str) -> str:
        value, ok = cache.load(key)
        if not ok:
            value = await backend.load_async(key)
            cache.store(key, value)
        return value

    def thread_get(key: str) -> None:
        ready.done()
        start.recv()
        value, ok = cache.load(key)
        if not ok:  # a miss: go to the backend
            if use_singleflight:
                value, was_shared = group.do(key, lambda: fill(key))
                if was_shared:
                    shared.add(1)
            else:
                value = fill(key)
        assert value == f"value of {key}"

    async def coroutine_get(key: str) -> None:
        ready.done()
        await start.recv_async()
        value, ok = cache.load(key)
        if not ok:
            if use_singleflight:
                value, was_shared = await group.do_async(key, lambda: fill_async(key))
                if was_shared:
                    shared.add(1)
            else:
                value = await fill_async(key)
        assert value == f"value of {key}"

    for i in range(n):
        key = keys[i % len(keys)]
        ready.add(1)
        if i % 2 == 0:
            done.go(thread_get, key)
        else:
            done.go(coroutine_get, key)
    ready.wait()  # everyone is waiting at the start line
    start.close()  # the entries expire: everyone misses at once
    done.wait()
    return backend, shared.load()


def report(title: str, backend: Backend, keys: list[str], shared: int | None) -> None:
    total = sum(backend.count(k) for k in keys)
    per_key = ", ".join(f"{k}: {backend.count(k)}" for k in keys)
    line = f"{title:22} backend called {total} times ({per_key})"
    if shared is not None:
        line += f"; {shared} callers got a shared result"
    println(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goroutines", type=int, default=200)
    parser.add_argument("--keys", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="shorter sleeps")
    args = parser.parse_args(argv)
    keys = [f"user:{i + 1}" for i in range(args.keys)]
    n = args.goroutines

    println(
        f"{n} goroutines ({(n + 1) // 2} threads, {n // 2} coroutines) "
        f"miss the cache for {len(keys)} keys at once"
    )
    backend, _ = stampede(n, keys, use_singleflight=False)
    report("without singleflight:", backend, keys, None)
    backend, shared = stampede(n, keys, use_singleflight=True)
    report("with singleflight:", backend, keys, shared)


if __name__ == "__main__":
    main()
