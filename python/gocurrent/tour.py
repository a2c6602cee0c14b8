"""A short tour of gocurrent: ``python -m gocurrent.tour``.

It runs small Go-style programs (a producer/consumer pipeline, select with a
timeout, and a coroutine talking to a thread over one channel) and, when
run from a checkout, every example script under ``examples/`` in turn.
"""

from __future__ import annotations

import asyncio
import time

from gocurrent import Chan, go, select, select_async


def heading(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def producer_consumer() -> None:
    heading("producer / consumer")
    jobs: Chan[int] = Chan(3)
    results: Chan[str] = Chan()

    def producer() -> None:
        for i in range(5):
            jobs.send(i)
        jobs.close()  # the sender closes, as in Go

    def consumer() -> None:
        for j in jobs:  # ranges until closed and drained
            results.send(f"job {j} squared is {j * j}")
        results.close()

    go(producer)
    go(consumer)
    for line in results:
        print(line)


def select_with_timeout() -> None:
    heading("select with a timeout")
    fast: Chan[str] = Chan()
    slow: Chan[str] = Chan()

    def later(ch: Chan[str], delay: float, msg: str) -> None:
        time.sleep(delay)
        ch.send(msg)

    go(later, slow, 1.0, "slow result")
    go(later, fast, 0.05, "fast result")
    _, msg = select(fast.recv, slow.recv)
    print("Received:", msg)
    try:
        select(slow.recv, timeout=0.1)
    except TimeoutError:
        print("Timeout! No message received.")


def threads_and_coroutines() -> None:
    heading("a thread and a coroutine on one channel")
    ch: Chan[int] = Chan()
    done: Chan[None] = Chan()

    def thread_side() -> None:
        for i in range(3):
            ch.send(i)
        ch.close()

    async def coroutine_side() -> None:
        async for v in ch:
            print("coroutine received", v)
        idx, _ = await select_async(done.recv, default=True)
        print("nothing on done:", idx == -1)

    go(thread_side)
    asyncio.run(coroutine_side())


def main() -> None:
    producer_consumer()
    select_with_timeout()
    threads_and_coroutines()
    print("\nTour complete.")


if __name__ == "__main__":
    main()
