"""Linearizability of channels, select and close on small concurrent histories.

Each round, a few threads run short random scripts of send / recv / recv_ok /
close / select (with default or short timeouts) over a buffered and an
unbuffered channel, recording when each call started and ended; then the
channels are drained. The history must be explainable by *some* sequential
order that respects real time (an operation that ended before another began
comes first) and that the reference model (tests/chanmodel.py) accepts at
every step: a brute-force search (Wing and Gong's algorithm, memoised),
cheap on histories this small.

A timed-out or defaulted operation is linearized at a point where none of
its cases was ready. On the unbuffered channel a completed send and the
receive that got its value are one rendezvous event, placed in the
intersection of their intervals (which must exist).
"""

from __future__ import annotations

import random
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from chanmodel import RECV, RECV_OK, SEND, ChanModel
from gocurrent import Chan, ChanClosedError, select

CAPS = (0, 2)  # channel 0 unbuffered, channel 1 buffered


class Item:
    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"v{self.n}"


@dataclass
class Op:
    thread: int
    start: int
    end: int
    # ("close", ch) or ("cases", [(ch, kind, value)], is_select)
    what: tuple[Any, ...]
    # ("done", case, returned) | ("none",) | ("send_closed",) | ("ok",) | ("close_err",)
    outcome: tuple[Any, ...]
    # For a rendezvous: the partner op (the pair is one event).
    partner: Op | None = None

    def __repr__(self) -> str:
        return f"T{self.thread}[{self.start}-{self.end}] {self.what} -> {self.outcome}"


def call(ch_objs: list[Chan[Any]], what: tuple[Any, ...]) -> tuple[Any, ...]:
    """Performs the operation, returning its normalized outcome."""
    if what[0] == "close":
        try:
            ch_objs[what[1]].close()
            return ("ok",)
        except ChanClosedError:
            return ("close_err",)
    _, cases, is_select, timeout = what
    try:
        if not is_select:
            (i, kind, v) = cases[0]
            ch = ch_objs[i]
            if kind == SEND:
                return ("done", 0, ch.send(v, timeout=timeout))
            if kind == RECV:
                return ("done", 0, ch.recv(timeout=timeout))
            return ("done", 0, ch.recv_ok(timeout=timeout))
        real = []
        for i, kind, v in cases:
            ch = ch_objs[i]
            real.append(
                (ch.send, v) if kind == SEND else ch.recv_ok if kind == RECV_OK else ch.recv
            )
        if timeout is None:
            index, got = select(*real, default=True)
        else:
            index, got = select(*real, timeout=timeout)
        return ("none",) if index == -1 else ("done", index, got)
    except TimeoutError:
        return ("none",)
    except ChanClosedError:
        return ("send_closed",)


def random_op(rng: random.Random, counter: list[int]) -> tuple[Any, ...]:
    def value() -> Item:
        counter[0] += 1
        return Item(counter[0])

    def case() -> tuple[int, str, Any]:
        kind = rng.choice((SEND, SEND, RECV, RECV_OK))
        return (rng.randrange(len(CAPS)), kind, value() if kind == SEND else None)

    r = rng.random()
    timeout = rng.choice((0, 0.001, 0.005, 0.02))
    if r < 0.06:
        return ("close", rng.randrange(len(CAPS)))
    if r < 0.7:
        return ("cases", [case()], False, timeout)
    # select: default (timeout None here) or a timeout
    return ("cases", [case() for _ in range(rng.randint(1, 3))], True, rng.choice((None, timeout)))


def run_round(rng: random.Random, threads: int, ops_each: int) -> list[Op]:
    chans = [Chan(c) for c in CAPS]
    counter = [0]
    scripts = [[random_op(rng, counter) for _ in range(ops_each)] for _ in range(threads)]
    history: list[Op] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker(t: int) -> None:
        mine = []
        barrier.wait()
        for what in scripts[t]:
            start = time.perf_counter_ns()
            outcome = call(chans, what)
            end = time.perf_counter_ns()
            mine.append(Op(t, start, end, what, outcome))
        with lock:
            history.extend(mine)

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
        assert not t.is_alive(), "a worker hung"
    # Drain sequentially: every buffered value must come out exactly once.
    for i in range(len(chans)):
        while True:
            start = time.perf_counter_ns()
            outcome = call(chans, ("cases", [(i, RECV_OK, None)], False, 0))
            history.append(Op(-1, start, time.perf_counter_ns(), ("drain", i), outcome))
            if outcome == ("none",) or outcome[2][1] is False:
                break
    return history


def pair_rendezvous(history: list[Op]) -> list[Op]:
    """Merges each completed send on the unbuffered channel with the receive
    that got its value into one event; fails if they cannot overlap."""
    sends: dict[int, Op] = {}
    recvs: dict[int, Op] = {}
    for op in history:
        if op.outcome[0] != "done" or op.what[0] not in ("cases", "drain"):
            continue
        i, kind, v = cases_of(op)[op.outcome[1]]
        if CAPS[i] != 0:
            continue
        if kind == SEND:
            sends[id(v)] = op
        else:
            got = op.outcome[2]
            got = got[0] if kind == RECV_OK else got
            if got is not None:
                assert id(got) not in recvs, f"value received twice: {op} and {recvs[id(got)]}"
                recvs[id(got)] = op
    events = []
    for op in history:
        if op in sends.values() or op in recvs.values():
            continue
        events.append(op)
    for key, r in recvs.items():
        s = sends.get(key)
        assert s is not None, f"received a value nobody sent on the unbuffered channel: {r}"
        start, end = max(s.start, r.start), min(s.end, r.end)
        assert start <= end, f"rendezvous of operations that never overlapped: {s} / {r}"
        events.append(Op(-2, start, end, ("rendezvous", s, r), ("pair",)))
    for key, s in sends.items():
        assert key in recvs, f"a completed unbuffered send whose value nobody received: {s}"
    return events


def cases_of(op: Op) -> list[tuple[int, str, Any]]:
    if op.what[0] == "drain":
        return [(op.what[1], RECV_OK, None)]
    return op.what[1]


def step(models: list[ChanModel], op: Op) -> list[ChanModel] | None:
    """Applies op to a copy of the state; None if the model rejects it here."""
    models = [m.copy() for m in models]
    kind0 = op.what[0]
    if kind0 == "close":
        m = models[op.what[1]]
        if op.outcome == ("ok",):
            if m.closed:
                return None
            m.closed = True
            return models
        return models if m.closed else None
    if kind0 == "rendezvous":
        s = op.what[1]
        i = cases_of(s)[s.outcome[1]][0]
        if models[i].closed:
            return None
        # the rest of both selects: nothing else happened
        return models
    cases = cases_of(op)
    out = op.outcome
    if out == ("none",):
        return None if any(models[i].ready(k) for i, k, _ in cases) else models
    if out == ("send_closed",):
        ok = any(k == SEND and models[i].closed for i, k, _ in cases)
        return models if ok else None
    index, returned = out[1], out[2]
    i, kind, v = cases[index]
    m = models[i]
    if not m.ready(kind):
        return None
    if kind == SEND:
        if m.closed:
            return None  # it would have raised
        want: Any = None
    else:
        if m.cap == 0 and not m.closed:
            return None  # a real value on cap 0 is a rendezvous, paired above
        want = m.perform(kind, v)
    if kind == SEND:
        m.send(v)
    if kind == RECV_OK:
        ok = returned[0] is want[0] and returned[1] == want[1]
    else:
        ok = returned is want
    return models if ok else None


def linearizable(events: list[Op]) -> bool:
    n = len(events)
    seen: set[tuple[frozenset[int], tuple[Any, ...]]] = set()

    def key(models: list[ChanModel]) -> tuple[Any, ...]:
        return tuple((tuple(id(v) for v in m.buf), m.closed) for m in models)

    def search(done: frozenset[int], models: list[ChanModel]) -> bool:
        if len(done) == n:
            return True
        k = (done, key(models))
        if k in seen:
            return False
        seen.add(k)
        pending = [j for j in range(n) if j not in done]
        horizon = min(events[j].end for j in pending)
        for j in pending:
            if events[j].start > horizon:
                continue  # some pending op ended before this one started
            nxt = step(models, events[j])
            if nxt is not None and search(done | {j}, nxt):
                return True
        return False

    return search(frozenset(), [ChanModel(c) for c in CAPS])


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("seed", range(6))
def test_histories_are_linearizable(seed: int, fast_switching: None) -> None:
    rng = random.Random(seed)
    outcomes: dict[str, int] = {}
    for _ in range(80):
        history = run_round(rng, threads=3 + seed % 2, ops_each=4)
        for op in history:
            outcomes[op.outcome[0]] = outcomes.get(op.outcome[0], 0) + 1
        events = pair_rendezvous(history)
        assert linearizable(events), "not linearizable:\n" + "\n".join(
            map(repr, sorted(history, key=lambda o: o.start))
        )
    # The histories exercised every kind of outcome.
    assert {"done", "none", "ok"} <= outcomes.keys(), outcomes


def test_checker_rejects_a_lost_value() -> None:
    """The checker is not vacuous: a value sent but never received fails it."""
    v = Item(1)
    send = Op(0, 0, 1, ("cases", [(1, SEND, v)], False, 0), ("done", 0, None))
    drain = Op(-1, 2, 3, ("drain", 1), ("none",))
    assert not linearizable([send, drain])
    got = Op(-1, 2, 3, ("drain", 1), ("done", 0, (v, True)))
    assert linearizable([send, got])
    # Received before it was sent (in real time): rejected.
    early = Op(1, -5, -4, ("cases", [(1, RECV, None)], False, 0), ("done", 0, v))
    assert not linearizable([early, send])
