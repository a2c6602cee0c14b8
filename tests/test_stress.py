"""Stress: 8 producer goroutines send 100,000 distinct values through a mix of
buffered and unbuffered channels to consumers that mix recv, recv_ok, for-in,
select (with and without default), and recv_async / select_async in tasks
that are cancelled at random. Every value must be received exactly once."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter

import pytest
from gocurrent import Chan, go, nilchan, select, select_async

N = 100_000
N_PRODUCERS = 8


@pytest.mark.timeout(120)
def test_every_value_received_exactly_once():
    chans = [Chan(0), Chan(0), Chan(16), Chan(128)]
    u0, u1, b2, b3 = chans
    pdone = Chan(N_PRODUCERS)
    results = Chan(100)  # (consumer name, list of values) or (name, exception)
    stats = {"async_cancels": 0, "async_respawns": 0, "send_cancels": 0, "timeouts": 0}

    # --- producers: values p, p+8, p+16, ... -----------------------------------------

    def producer_send(p: int) -> None:
        for v in range(p, N, N_PRODUCERS):
            chans[v % 4].send(v)
        pdone.send(p)

    def producer_select_two(p: int) -> None:
        rng = random.Random(p)
        for v in range(p, N, N_PRODUCERS):
            i, j = rng.sample(range(4), 2)
            select((chans[i].send, v), (chans[j].send, v))
        pdone.send(p)

    def producer_select_timeout(p: int) -> None:
        # A timed-out select must not have sent: retry until one send happens.
        # The first attempt is non-blocking (timeout=0), then short timeouts.
        for v in range(p, N, N_PRODUCERS):
            timeout = 0.0
            while True:
                try:
                    select((u0.send, v), (u1.send, v), (b2.send, v), timeout=timeout)
                    break
                except TimeoutError:
                    stats["timeouts"] += 1
                    timeout = 0.001
        pdone.send(p)

    async def producer_async(p: int) -> None:
        # on the runtime's background loop; some sends are cancelled at random
        rng = random.Random(p)
        for v in range(p, N, N_PRODUCERS):
            while True:
                sent = []

                async def one(v=v, sent=sent):
                    # the unbuffered channels: the sends block, and cancels land
                    if v % 2:
                        await chans[v % 4 // 2].send_async(v)
                    else:
                        await select_async((u0.send, v), (u1.send, v))
                    sent.append(True)  # the await returned: the value was sent

                t = asyncio.create_task(one())
                if rng.random() < 0.3:
                    await asyncio.sleep(rng.choice([0, 0, 0.0001, 0.0005]))
                    t.cancel()
                try:
                    await t
                except asyncio.CancelledError:
                    stats["send_cancels"] += 1
                if sent:
                    break
        pdone.send(p)

    def closer() -> None:
        for _ in range(N_PRODUCERS):
            pdone.recv()
        for c in chans:
            c.close()

    # --- consumers ---------------------------------------------------------------------

    def consumer(name: str, body) -> None:
        got: list = []
        try:
            body(got)
            results.send((name, got))
        except BaseException as e:
            results.send((name, e))

    def by_for(got: list) -> None:
        for v in u1:
            got.append(v)

    def by_recv_ok(got: list) -> None:
        while True:
            v, ok = b2.recv_ok()
            if not ok:
                return
            got.append(v)

    def by_recv_timeout(got: list) -> None:
        while True:
            try:
                v = b3.recv(timeout=0.002)
            except TimeoutError:
                continue
            if v is None:  # closed and drained (values are never None)
                return
            got.append(v)

    def by_select(got: list) -> None:
        cases = [c.recv_ok for c in chans]
        live = [True] * 4
        while any(live):
            i, (v, ok) = select(*cases)
            if ok:
                got.append(v)
            else:
                live[i] = False
                cases[i] = nilchan.recv_ok  # Go's idiom: disable a done case

    def by_select_default(got: list) -> None:
        cases = [c.recv for c in chans]
        live = [True] * 4
        while any(live):
            i, v = select(*cases, default=True)
            if i == -1:
                time.sleep(0.0002)
            elif v is None:
                live[i] = False
                cases[i] = nilchan.recv
            else:
                got.append(v)

    def by_async(got: list) -> None:
        async def chan_consumer(k: int) -> None:
            n = 0
            while True:
                v, ok = await chans[k].recv_ok_async()
                if not ok:
                    return
                got.append(v)  # recorded before the next suspension
                n += 1
                if n % 16 == 0:
                    await asyncio.sleep(0)

        async def select_consumer() -> None:
            cases = [c.recv_ok for c in chans]
            live = [True] * 4
            n = 0
            while any(live):
                i, (v, ok) = await select_async(*cases)
                if ok:
                    got.append(v)
                else:
                    live[i] = False
                    cases[i] = nilchan.recv_ok
                n += 1
                if n % 16 == 0:
                    await asyncio.sleep(0)

        async def async_for_consumer() -> None:
            async for v in u0:
                got.append(v)
                await asyncio.sleep(0)

        def make(kind):
            if kind == "select":
                return select_consumer()
            if kind == "for":
                return async_for_consumer()
            return chan_consumer(kind)

        async def main() -> None:
            rng = random.Random(42)
            kinds = [0, 1, 2, 3, "select", "select", "for"]
            tasks = {asyncio.create_task(make(k)): k for k in kinds}
            while tasks:
                done, _ = await asyncio.wait(tasks, timeout=rng.choice([0.0005, 0.001, 0.003]))
                for t in done:
                    kind = tasks.pop(t)
                    if t.cancelled():
                        stats["async_respawns"] += 1
                        tasks[asyncio.create_task(make(kind))] = kind
                    elif t.exception() is not None:
                        raise t.exception()  # type: ignore[misc]
                if tasks and rng.random() < 0.7:
                    rng.choice(list(tasks)).cancel()
                    stats["async_cancels"] += 1

        asyncio.run(main())

    consumers = {
        "for": by_for,
        "recv_ok": by_recv_ok,
        "recv_timeout": by_recv_timeout,
        "select1": by_select,
        "select2": by_select,
        "select_default": by_select_default,
        "async": by_async,
    }
    for name, body in consumers.items():
        go(consumer, name, body)

    t0 = time.monotonic()
    go(producer_send, 0)
    go(producer_send, 1)
    go(producer_select_two, 2)
    go(producer_select_two, 3)
    go(producer_select_timeout, 4)
    go(producer_select_timeout, 5)
    go(producer_async, 6)  # coroutine goroutines: the background loop
    go(producer_async, 7)
    go(closer)

    received: dict = {}
    deadline = t0 + 90
    for _ in consumers:
        try:
            name, got = results.recv(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            pytest.fail(
                f"consumers {sorted(set(consumers) - set(received))} unfinished after 90 s; "
                f"{sum(map(len, received.values()))} values so far; stats {stats}; "
                f"lens {[len(c) for c in chans]} closed {[c.closed for c in chans]}"
            )
        if isinstance(got, BaseException):
            raise got
        received[name] = got
    elapsed = time.monotonic() - t0

    everything = [v for got in received.values() for v in got]
    counts = Counter(everything)
    duplicates = {v: n for v, n in counts.items() if n > 1}
    missing = set(range(N)) - set(counts)
    assert not duplicates, f"{len(duplicates)} values received twice or more"
    assert not missing, f"{len(missing)} values lost, e.g. {sorted(missing)[:10]}"
    assert len(everything) == N
    # every style of consumer and the random cancellations took part
    assert all(received[name] for name in consumers), {k: len(v) for k, v in received.items()}
    assert stats["async_cancels"] > 10, stats
    assert stats["send_cancels"] > 0, stats
    assert stats["timeouts"] > 0, stats
    per_consumer = {k: len(v) for k, v in received.items()}
    print(f"stress: {elapsed:.1f}s, per consumer {per_consumer}, {stats}")
    # no stray threads left blocked on these channels
    assert all(len(c) == 0 and c.closed for c in chans)
    assert threading.active_count() >= 1
