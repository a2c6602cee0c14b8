"""sync.Map in the two use cases the Go documentation names ("Map").

The article quotes the documentation rather than showing a program:

    The Map type is optimized for two common use cases: (1) when the entry
    for a given key is only ever written once but read many times, as in
    caches that only grow, or (2) when multiple goroutines read, write, and
    overwrite entries for disjoint sets of keys.

This script shows both:

1. A cache that only grows. Ten goroutines ask for the same three values many
   times. ``load_or_store(key, once_value(compute))`` is the Go idiom that
   stores one ``OnceValue`` per key, so each value is computed exactly once
   however many goroutines race for it; later reads are plain ``load``\\s.
2. Disjoint keys. Four goroutines each own the keys ``worker-N/...`` and keep
   overwriting them; nobody else writes them, so they never contend.

The "computing" lines come in any order; the rest is deterministic.
Run: ``python examples/sync_map.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from _common import println
from gocurrent import Map, WaitGroup, atomic, once_value

READERS = 10
LOOKUPS = 100
KEYS = (2, 3, 5)


def cache_that_only_grows() -> None:
    println("1. a cache that only grows (each entry written once, read many times)")
    cache = Map()
    computations = atomic.Int64()

    def compute(n: int) -> Callable[[], int]:
        def square() -> int:
            computations.add(1)
            println(f"   computing {n}*{n}")
            return n * n

        return square

    def get(n: int) -> int:
        fn, ok = cache.load(n)
        if not ok:  # first use: store a OnceValue, unless another goroutine won
            fn, _loaded = cache.load_or_store(n, once_value(compute(n)))
        return fn()  # every caller calls the same OnceValue: computed once

    def reader(results: list[int]) -> None:
        for i in range(LOOKUPS):
            results.append(get(KEYS[i % len(KEYS)]))

    wg = WaitGroup()
    per_reader: list[list[int]] = [[] for _ in range(READERS)]
    for results in per_reader:
        wg.go(reader, results)
    wg.wait()

    total = sum(sum(r) for r in per_reader)
    expected = READERS * sum(KEYS[i % len(KEYS)] ** 2 for i in range(LOOKUPS))
    println(
        f"   {READERS} goroutines x {LOOKUPS} lookups: {len(cache)} entries, "
        f"{computations.load()} computations, sums match: {total == expected}"
    )


def disjoint_keys() -> None:
    println("2. goroutines reading, writing and overwriting disjoint sets of keys")
    m = Map()
    rounds = 1000

    def worker(w: int) -> None:
        for r in range(rounds):
            key = f"worker-{w}/{r % 3}"  # only this worker touches worker-w/...
            old, ok = m.load(key)
            m.store(key, (old if ok else 0) + 1)

    wg = WaitGroup()
    for w in range(4):
        wg.go(worker, w)
    wg.wait()

    items: list[tuple[str, int]] = []
    m.range(lambda k, v: items.append((k, v)) or True)
    for key, value in sorted(items):
        println(f"   {key} = {value}")


def main() -> None:
    cache_that_only_grows()
    disjoint_keys()


if __name__ == "__main__":
    main()
