"""Soak test: a mixed gocurrent workload for N seconds, checking invariants.

    python benches/soak.py --seconds 600 [--seed 1]

Rounds of randomly chosen workloads run concurrently, as thread goroutines
and coroutine goroutines: pipelines over channels of every capacity,
select fan-in and fan-out, close races, mutexes, read-write mutexes,
condition variables, semaphores, Once, WaitGroups, timers and tickers,
contexts (cancel, deadlines, values, after_func) and errgroups.

Invariants checked throughout: every value sent is received exactly once
(and in order per sender and receiver); no lock is left held after a round;
counters guarded by locks are exact; a semaphore never admits more than its
size; a stopped timer's function never runs and a fired one runs once;
cancelled contexts report the right error; no goroutine raises unexpectedly;
and at the end no goroutine is left running. Prints the operations done per
kind, and exits 1 on any violation (2 if a round hangs).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import faulthandler
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from gocurrent import (
    Chan,
    ChanClosedError,
    Cond,
    ErrGroup,
    Mutex,
    Once,
    RWMutex,
    Semaphore,
    Ticker,
    Timer,
    WaitGroup,
    after,
    after_func,
    atomic,
    context,
    errgroup,
    nilchan,
    select,
    select_async,
)

ROUND_TIMEOUT = 120.0
# Resident memory may not grow by more than this between the end of the
# warm-up (the first tenth of the run) and the end.
RSS_GROWTH_LIMIT = 256 << 20


def rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: not measured
        return 0


class Violation(AssertionError):
    pass


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise Violation(msg)


class Stats:
    """Operation counts per kind, merged from the workloads; violations."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: collections.Counter[str] = collections.Counter()
        self.violations: list[str] = []
        self.running = atomic.Int64()  # goroutines of the soak now running

    def add(self, counts: dict[str, int]) -> None:
        with self.lock:
            self.ops.update(counts)

    def fail(self, msg: str) -> None:
        with self.lock:
            self.violations.append(msg)


STATS = Stats()


def tracked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a goroutine body: counts it as running until it ends."""
    if asyncio.iscoroutinefunction(fn):

        async def run_async(*args: Any, **kwargs: Any) -> Any:
            STATS.running.add(1)
            try:
                return await fn(*args, **kwargs)
            finally:
                STATS.running.add(-1)

        return run_async

    def run(*args: Any, **kwargs: Any) -> Any:
        STATS.running.add(1)
        try:
            return fn(*args, **kwargs)
        finally:
            STATS.running.add(-1)

    return run


def spawn(wg: WaitGroup, fn: Callable[..., Any], *args: Any) -> None:
    """A tracked goroutine counted by wg (thread or coroutine, by fn's kind)."""
    wg.go(tracked(fn), *args)


# -- workloads -----------------------------------------------------------------
# Each takes (rng, counts) and runs to completion; it may start goroutines
# but waits for them before returning.


def pipeline(rng: random.Random, counts: collections.Counter[str]) -> None:
    """Producers (threads and coroutines) -> one channel -> consumers (for,
    async for, select with a timeout); the channel is closed when the
    producers are done."""
    ch: Chan[tuple[int, int]] = Chan(rng.choice((0, 0, 1, 3, 16)))
    n_prod, n_cons, per = rng.randint(1, 4), rng.randint(1, 4), rng.randint(50, 400)
    got: list[list[tuple[int, int]]] = [[] for _ in range(n_cons)]
    producers, consumers = WaitGroup(), WaitGroup()

    def produce(p: int) -> None:
        for i in range(per):
            ch.send((p, i))

    async def produce_async(p: int) -> None:
        for i in range(per):
            await ch.send_async((p, i))

    def consume_for(c: int) -> None:
        for v in ch:
            got[c].append(v)

    async def consume_async(c: int) -> None:
        async for v in ch:
            got[c].append(v)

    def consume_select(c: int) -> None:
        while True:
            try:
                _, (v, ok) = select(ch.recv_ok, nilchan.recv, timeout=0.05)
            except TimeoutError:
                counts["select timeouts"] += 1
                continue
            if not ok:
                return
            got[c].append(v)

    for p in range(n_prod):
        spawn(producers, rng.choice((produce, produce_async)), p)
    for c in range(n_cons):
        spawn(consumers, rng.choice((consume_for, consume_async, consume_select)), c)
    check(producers.wait(timeout=ROUND_TIMEOUT) is None, "producers")
    ch.close()
    consumers.wait(timeout=ROUND_TIMEOUT)
    seen = collections.Counter(v for g in got for v in g)
    check(len(seen) == n_prod * per, f"pipeline: {n_prod * per - len(seen)} values lost")
    check(max(seen.values()) == 1, "pipeline: a value received twice")
    for g in got:  # FIFO: each consumer sees each producer's values in order
        last: dict[int, int] = {}
        for p, i in g:
            check(last.get(p, -1) < i, "pipeline: values out of order")
            last[p] = i
    counts["chan sends"] += n_prod * per
    counts["chan recvs"] += n_prod * per
    counts["chan closes"] += 1


def fan_in_select(rng: random.Random, counts: collections.Counter[str]) -> None:
    """A select over several channels, each closed by its producer; a closed
    channel's case is replaced by nilchan (Go's idiom)."""
    chans = [Chan(rng.choice((0, 2))) for _ in range(rng.randint(2, 4))]
    per = rng.randint(50, 300)
    wg = WaitGroup()

    def produce(ch: Chan[int]) -> None:
        for i in range(per):
            ch.send(i)
        ch.close()

    for ch in chans:
        spawn(wg, produce, ch)
    cases = [ch.recv_ok for ch in chans]
    got: list[list[int]] = [[] for _ in chans]
    open_ = len(chans)
    while open_:
        i, (v, ok) = select(*cases, timeout=ROUND_TIMEOUT)
        if not ok:
            cases[i] = nilchan.recv_ok
            open_ -= 1
            continue
        got[i].append(v)
        counts["select recvs"] += 1
    wg.wait(timeout=ROUND_TIMEOUT)
    for g in got:
        check(g == list(range(per)), "fan-in: values lost, duplicated or reordered")


def fan_out_select(rng: random.Random, counts: collections.Counter[str]) -> None:
    """A coroutine distributes values with select_async over send cases."""
    outs = [Chan(rng.choice((0, 1, 4))) for _ in range(rng.randint(2, 4))]
    total = rng.randint(100, 600)
    got: list[list[int]] = [[] for _ in outs]
    wg = WaitGroup()

    async def distribute() -> None:
        for v in range(total):
            cases = [(o.send, v) for o in outs]
            await select_async(*cases)
        for o in outs:
            o.close()

    def work(k: int) -> None:
        for v in outs[k]:
            got[k].append(v)

    spawn(wg, distribute)
    for k in range(len(outs)):
        spawn(wg, work, k)
    wg.wait(timeout=ROUND_TIMEOUT)
    allv = sorted(v for g in got for v in g)
    check(allv == list(range(total)), "fan-out: values lost or duplicated")
    for g in got:
        check(g == sorted(g), "fan-out: a receiver saw values out of order")
    counts["select sends"] += total


def close_race(rng: random.Random, counts: collections.Counter[str]) -> None:
    """Senders race a close: every send either delivered its value or raised
    ChanClosedError, and the receivers got exactly the delivered ones."""
    ch: Chan[tuple[int, int]] = Chan(rng.choice((0, 1, 8)))
    n_send = rng.randint(2, 6)
    delivered: list[list[tuple[int, int]]] = [[] for _ in range(n_send)]
    received: list[tuple[int, int]] = []
    senders, receivers = WaitGroup(), WaitGroup()

    def sender(s: int) -> None:
        i = 0
        while True:
            try:
                if i % 2:
                    select((ch.send, (s, i)))
                else:
                    ch.send((s, i))
            except ChanClosedError:
                return
            delivered[s].append((s, i))
            i += 1

    def receiver() -> None:
        for v in ch:
            received.append(v)
            if rng.random() < 0.01:
                time.sleep(0.001)

    for s in range(n_send):
        spawn(senders, sender, s)
    spawn(receivers, receiver)
    time.sleep(rng.uniform(0, 0.05))
    ch.close()
    senders.wait(timeout=ROUND_TIMEOUT)
    receivers.wait(timeout=ROUND_TIMEOUT)
    sent = sorted(v for d in delivered for v in d)
    check(sorted(received) == sent, "close race: delivered and received values differ")
    try:
        ch.close()
        raise Violation("close of a closed channel did not raise")
    except ChanClosedError:
        pass
    counts["chan sends"] += len(sent)
    counts["chan recvs"] += len(received)
    counts["chan closes"] += 1
    counts["sends refused by close"] += n_send


def mutexes(rng: random.Random, counts: collections.Counter[str]) -> None:
    """A counter under a Mutex (with, try_lock, lock with a timeout, async
    with) and two fields kept equal under an RWMutex."""
    mu, rw = Mutex(), RWMutex()
    state = {"n": 0, "a": 0, "b": 0}
    per, workers = rng.randint(50, 300), rng.randint(2, 6)
    wg = WaitGroup()

    def incr() -> None:
        for i in range(per):
            if i % 3 == 0:
                with mu:
                    state["n"] += 1
            elif i % 3 == 1:
                while not mu.try_lock():
                    time.sleep(0)
                state["n"] += 1
                mu.unlock()
            else:
                while True:
                    try:
                        mu.lock(timeout=0.001)
                        break
                    except TimeoutError:
                        counts["lock timeouts"] += 1
                state["n"] += 1
                mu.unlock()

    async def incr_async() -> None:
        for _ in range(per):
            async with mu:
                state["n"] += 1
                if rng.random() < 0.05:
                    await asyncio.sleep(0)

    def writer() -> None:
        for _ in range(per):
            with rw:
                state["a"] += 1
                state["b"] += 1

    def reader() -> None:
        for _ in range(per):
            rw.rlock()
            try:
                check(state["a"] == state["b"], "RWMutex: a reader saw a half-done write")
            finally:
                rw.runlock()
            with rw.rlocker():
                check(state["a"] == state["b"], "RWMutex: rlocker saw a half-done write")

    for _ in range(workers):
        spawn(wg, rng.choice((incr, incr, incr_async)))
        spawn(wg, rng.choice((writer, reader)))
    wg.wait(timeout=ROUND_TIMEOUT)
    check(state["n"] == per * workers, f"Mutex: lost updates ({state['n']} != {per * workers})")
    check(state["a"] == state["b"], "RWMutex: fields differ")
    check(not mu.locked, "Mutex left locked")
    check(mu.try_lock(), "Mutex left locked (try_lock)")
    mu.unlock()
    check(rw.try_lock(), "RWMutex left locked")
    rw.unlock()
    counts["mutex locks"] += per * workers
    counts["rwmutex locks"] += per * workers


def cond_queue(rng: random.Random, counts: collections.Counter[str]) -> None:
    """A bounded queue on a Cond: producers wait while full, consumers while
    empty; broadcast on close."""
    cond = Cond()
    q: collections.deque[int] = collections.deque()
    size, total = rng.randint(1, 4), rng.randint(100, 500)
    done = {"closed": False}
    got: list[int] = []
    wg = WaitGroup()

    def producer() -> None:
        for v in range(total):
            with cond.L:
                while len(q) >= size:
                    cond.wait()
                q.append(v)
                cond.signal() if rng.random() < 0.5 else cond.broadcast()
        with cond.L:
            done["closed"] = True
            cond.broadcast()

    def consumer() -> None:
        while True:
            with cond.L:
                while not q and not done["closed"]:
                    cond.wait()
                if not q:
                    return
                got.append(q.popleft())
                cond.broadcast()

    spawn(wg, producer)
    for _ in range(rng.randint(1, 3)):
        spawn(wg, consumer)
    wg.wait(timeout=ROUND_TIMEOUT)
    check(sorted(got) == list(range(total)), "Cond queue: values lost or duplicated")
    check(not cond.L.locked, "Cond's lock left held")
    counts["cond waits+signals"] += total


def semaphores(rng: random.Random, counts: collections.Counter[str]) -> None:
    """Never more holders than the semaphore's size; every token returned."""
    size = rng.randint(1, 4)
    sem = Semaphore(size)
    inside = atomic.Int64()
    per = rng.randint(20, 100)
    wg = WaitGroup()

    def enter(k: int) -> None:
        now = inside.add(k)
        check(now <= size, f"Semaphore: {now} holders > {size}")

    def worker() -> None:
        for _ in range(per):
            k = rng.randint(1, size)
            if rng.random() < 0.3:
                if not sem.try_acquire(k):
                    continue
            else:
                sem.acquire(k)
            enter(k)
            inside.add(-k)
            sem.release(k)

    async def worker_async() -> None:
        for _ in range(per):
            k = rng.randint(1, size)
            await sem.acquire_async(k)
            enter(k)
            await asyncio.sleep(0)
            inside.add(-k)
            sem.release(k)

    for _ in range(rng.randint(2, 5)):
        spawn(wg, rng.choice((worker, worker_async)))
    wg.wait(timeout=ROUND_TIMEOUT)
    check(sem.try_acquire(size), "Semaphore: tokens not returned")
    sem.release(size)
    counts["semaphore acquires"] += per


def once_and_waitgroups(rng: random.Random, counts: collections.Counter[str]) -> None:
    once, ran = Once(), atomic.Int64()
    wg = WaitGroup()
    n = rng.randint(2, 20)
    for _ in range(n):
        spawn(wg, lambda: once.do(lambda: ran.add(1)))
    inner = WaitGroup()
    inner.add(n)
    for _ in range(n):
        spawn(wg, inner.done)
    inner.wait(timeout=ROUND_TIMEOUT)
    wg.wait(timeout=ROUND_TIMEOUT)
    check(ran.load() == 1, f"Once ran {ran.load()} times")
    counts["once calls"] += n
    counts["waitgroup dones"] += 2 * n


def timers(rng: random.Random, counts: collections.Counter[str]) -> None:
    """after, Timer stop/reset, Ticker, after_func: a stopped function never
    runs, a fired one runs exactly once; no stale value after stop/reset."""
    fired = collections.Counter[int]()
    lock = threading.Condition()
    funcs = []
    for k in range(rng.randint(5, 30)):

        def fn(k: int = k) -> None:
            with lock:
                fired[k] += 1
                lock.notify_all()

        funcs.append((k, after_func(rng.uniform(0, 0.02), fn)))
    stopped = {k for k, t in funcs if rng.random() < 0.5 and t.stop()}
    t = Timer(rng.uniform(0, 0.01))
    if t.stop():
        check(len(t.c) == 0, "Timer: a stale value after stop")
        try:
            t.c.recv(timeout=0.02)
            raise Violation("Timer: received from a stopped timer")
        except TimeoutError:
            pass
    t.reset(0.001)
    t.c.recv(timeout=ROUND_TIMEOUT)
    v = after(rng.uniform(0, 0.005)).recv(timeout=ROUND_TIMEOUT)
    check(isinstance(v, float), "after: not a time")
    tk = Ticker(0.001)
    ticks = [tk.c.recv(timeout=ROUND_TIMEOUT) for _ in range(3)]
    check(ticks == sorted(ticks), "Ticker: ticks out of order")
    tk.stop()
    # Every function that was not stopped runs (waited for as an event: a
    # loaded machine may start it late), then once more after a pause no
    # function has run twice and no stopped one has run at all.
    with lock:
        lock.wait_for(lambda: all(fired[k] for k, _ in funcs if k not in stopped), ROUND_TIMEOUT)
    time.sleep(0.03)
    for k, _ in funcs:
        want = 0 if k in stopped else 1
        with lock:
            check(fired[k] == want, f"after_func ran {fired[k]} times, want {want}")
    counts["timers"] += len(funcs) + 3
    counts["ticks"] += 3


def contexts(rng: random.Random, counts: collections.Counter[str]) -> None:
    """A tree of contexts; goroutines select on done(); cancelling the root
    cancels all; deadlines expire with DeadlineExceeded."""
    root, cancel_root = context.with_cancel(context.background())
    ctxs = [root]
    cancels = [cancel_root]
    for _ in range(rng.randint(3, 30)):
        parent = rng.choice(ctxs)
        kind = rng.random()
        if kind < 0.5:
            c, cancel = context.with_cancel(parent)
        elif kind < 0.7:
            c, cancel = context.with_timeout(parent, rng.uniform(0.001, 0.05))
        else:
            c = context.with_value(parent, "k", len(ctxs))
            cancel = None
        ctxs.append(c)
        if cancel is not None:
            cancels.append(cancel)
    stopped = atomic.Int64()
    wg = WaitGroup()
    work: Chan[int] = Chan()

    def watcher(c: context.Context) -> None:
        while True:
            i, _ = select(c.done().recv, work.recv)
            if i == 0:
                check(c.err() is not None, "context: done but no err")
                stopped.add(1)
                return

    async def watcher_async(c: context.Context) -> None:
        await select_async(c.done().recv)
        check(c.err() is not None, "context: done but no err")
        stopped.add(1)

    for c in ctxs:
        spawn(wg, rng.choice((watcher, watcher_async)), c)
    fn_ran = atomic.Int64()
    stop_fn = context.after_func(rng.choice(ctxs), lambda: fn_ran.add(1))
    for _ in range(rng.randint(0, 20)):
        try:
            work.send(1, timeout=0.001)
        except TimeoutError:
            pass
    time.sleep(rng.uniform(0, 0.02))
    cancel_root()
    wg.wait(timeout=ROUND_TIMEOUT)
    check(stopped.load() == len(ctxs), "context: a watcher never saw done")
    for c in ctxs:
        err = c.err()
        check(
            isinstance(err, (context.Canceled, context.DeadlineExceeded)),
            f"context: wrong err {err!r}",
        )
    for cancel in cancels:
        cancel()
    time.sleep(0.005)
    check(fn_ran.load() + int(stop_fn()) <= 1, "context.after_func ran and was stopped")
    counts["contexts"] += len(ctxs)


def errgroups(rng: random.Random, counts: collections.Counter[str]) -> None:
    """The first error wins; the group's context is cancelled; limits hold."""
    g, ctx = errgroup.with_context(context.background())
    limit = rng.choice((-1, 1, 3))
    g.set_limit(limit)
    active, peak = atomic.Int64(), atomic.Int64()
    n = rng.randint(3, 20)
    fail_at = rng.randint(0, n) if rng.random() < 0.5 else None
    errors = []

    def task(k: int) -> None:
        now = active.add(1)
        while True:
            p = peak.load()
            if now <= p or peak.compare_and_swap(p, now):
                break
        try:
            if k == fail_at:
                err = ValueError(k)
                errors.append(err)
                raise err
            select(ctx.done().recv, after(rng.uniform(0, 0.002)).recv)
        finally:
            active.add(-1)

    for k in range(n):
        g.go(tracked(task), k)
    try:
        g.wait()
        check(fail_at is None or fail_at == n, "errgroup: an error was lost")
    except ValueError as e:
        check(e is errors[0], "errgroup: not the first error")
    check(ctx.err() is not None, "errgroup: context not cancelled after wait")
    if limit > 0:
        check(peak.load() <= limit, f"errgroup: {peak.load()} active > limit {limit}")
    g2 = ErrGroup()
    for _ in range(rng.randint(1, 5)):
        g2.go(tracked(lambda: None))
    g2.wait()
    counts["errgroup goroutines"] += n


WORKLOADS: list[Callable[[random.Random, collections.Counter[str]], None]] = [
    pipeline,
    fan_in_select,
    fan_out_select,
    close_race,
    mutexes,
    cond_queue,
    semaphores,
    once_and_waitgroups,
    timers,
    contexts,
    errgroups,
]


def run_workload(fn: Callable[..., None], seed: int) -> None:
    counts: collections.Counter[str] = collections.Counter()
    try:
        fn(random.Random(seed), counts)
        counts[f"workload {fn.__name__}"] += 1
    except Violation as e:
        STATS.fail(f"{fn.__name__} (seed {seed}): {e}")
    except BaseException as e:
        STATS.fail(f"{fn.__name__} (seed {seed}): unexpected {e!r}")
    STATS.add(counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--parallel", type=int, default=4, help="workloads per round")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"soak: {args.seconds:g} s, seed {seed}", flush=True)

    def hook(a: threading.ExceptHookArgs) -> None:
        STATS.fail(f"a goroutine raised {a.exc_value!r}")

    threading.excepthook = hook
    start = time.monotonic()
    rounds = 0
    rss_warm = 0
    while time.monotonic() - start < args.seconds and not STATS.violations:
        if not rss_warm and time.monotonic() - start >= args.seconds / 10:
            rss_warm = rss()
        wg = WaitGroup()
        for _ in range(rng.randint(1, args.parallel)):
            wg.go(run_workload, rng.choice(WORKLOADS), rng.randrange(1 << 30))
        try:
            wg.wait(timeout=ROUND_TIMEOUT)
        except TimeoutError:
            print(f"VIOLATION: round {rounds} hung for {ROUND_TIMEOUT:g} s", flush=True)
            faulthandler.dump_traceback(all_threads=True)
            os._exit(2)
        rounds += 1
    # No goroutine of the soak is left running.
    deadline = time.monotonic() + 10
    while STATS.running.load() and time.monotonic() < deadline:
        time.sleep(0.01)
    if STATS.running.load():
        STATS.fail(f"{STATS.running.load()} goroutines still running at the end")
    elapsed = time.monotonic() - start
    rss_end = rss()
    print(f"rounds: {rounds} in {elapsed:.1f} s")
    if rss_warm:
        print(f"RSS after warm-up {rss_warm >> 20} MiB, at the end {rss_end >> 20} MiB")
        if rss_end - rss_warm > RSS_GROWTH_LIMIT:
            STATS.fail(f"RSS grew by {(rss_end - rss_warm) >> 20} MiB")
    width = max(map(len, STATS.ops), default=0)
    for kind, n in sorted(STATS.ops.items()):
        print(f"  {kind:<{width}}  {n}")
    print(f"  {'total operations':<{width}}  {sum(STATS.ops.values())}")
    if STATS.violations:
        for v in STATS.violations:
            print("VIOLATION:", v)
        return 1
    print("no violations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
