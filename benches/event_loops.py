"""The async rows that miss their goals, on asyncio's own loop and on uvloop.

Usage::

    python benches/event_loops.py [--runs N]

pingpong_async and spawn_async are bound by the event loop (see
PROFILES.md): every switch between two coroutines is one trip through the
loop. This script measures both, for gocurrent and for the asyncio anchor,
on asyncio's pure-Python loop and on uvloop (a C loop, if installed:
``pip install uvloop``), each the median of ``--runs`` runs in this process.
The difference between the two loops is what the loop costs; the
difference between gocurrent and asyncio on one loop is what gocurrent adds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections.abc import Awaitable, Callable
from time import perf_counter

import gocurrent as gc
from workloads import _apinger, _aponger  # benches/ is sys.path[0]

ROUND_TRIPS = 100_000
SPAWNS = 20_000


async def pingpong_gocurrent() -> float:
    ping, pong = gc.Chan(), gc.Chan()
    t0 = perf_counter()
    await asyncio.gather(
        _apinger(ping.send_async, pong.recv_async, ROUND_TRIPS),
        _aponger(ping.recv_async, pong.send_async, ROUND_TRIPS),
    )
    return (perf_counter() - t0) / ROUND_TRIPS


async def pingpong_asyncio() -> float:
    ping: asyncio.Queue[int] = asyncio.Queue(1)
    pong: asyncio.Queue[int] = asyncio.Queue(1)
    t0 = perf_counter()
    await asyncio.gather(
        _apinger(ping.put, pong.get, ROUND_TRIPS), _aponger(ping.get, pong.put, ROUND_TRIPS)
    )
    return (perf_counter() - t0) / ROUND_TRIPS


async def spawn_gocurrent() -> float:
    wg = gc.WaitGroup()

    async def noop() -> None:
        wg.done()

    t0 = perf_counter()
    wg.add(SPAWNS)
    for _ in range(SPAWNS):
        gc.go(noop)
    await wg.wait_async()
    return (perf_counter() - t0) / SPAWNS


async def spawn_asyncio() -> float:
    async def noop() -> None:
        pass

    t0 = perf_counter()
    await asyncio.gather(*[asyncio.create_task(noop()) for _ in range(SPAWNS)])
    return (perf_counter() - t0) / SPAWNS


CASES: dict[str, Callable[[], Awaitable[float]]] = {
    "pingpong_async gocurrent": pingpong_gocurrent,
    "pingpong_async asyncio.Queue": pingpong_asyncio,
    "spawn_async gocurrent": spawn_gocurrent,
    "spawn_async asyncio tasks": spawn_asyncio,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    runners: dict[str, Callable] = {"asyncio loop": asyncio.run}
    try:
        import uvloop
    except ImportError:
        print("uvloop is not installed: asyncio's loop only")
    else:
        runners["uvloop"] = uvloop.run
    print("| case | " + " | ".join(runners) + " |")
    print("|:--|" + "--:|" * len(runners))
    for name, case in CASES.items():
        cells = [
            statistics.median(run(case()) for _ in range(runs)) * 1e6 for run in runners.values()
        ]
        print(f"| {name} | " + " | ".join(f"{c:.2f} µs" for c in cells) + " |")


if __name__ == "__main__":
    main()
