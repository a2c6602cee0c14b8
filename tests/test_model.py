"""Model-based tests: hypothesis drives real channels (capacities 0, 1 and 3,
plus nilchan in selects) and a pure-Python model of Go's channel semantics
(tests/chanmodel.py) with the same random sequence of operations, and checks
that every result, exception, ``len``, ``closed`` and ``cap`` agree.

Single-threaded operations are non-blocking (``timeout=0``, a tiny timeout,
or ``select(..., default=True)``), through the blocking and the asyncio
entry points. Unbuffered channels also get *handoffs*: a blocking send on
one thread against a blocking receive on a goroutine (or the other way
round), whose outcome does not depend on the interleaving.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
from typing import Any

import pytest
from chanmodel import RECV, RECV_OK, SEND, ChanModel, Closed
from gocurrent import Chan, ChanClosedError, go, nilchan, select, select_async
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

CAPS = (0, 1, 3)
# How a single send or receive is issued.
SEND_WAYS = ("send", "send_tiny", "select", "select_tiny", "send_async", "select_async")
RECV_WAYS = (
    "recv",
    "recv_tiny",
    "recv_ok",
    "select",
    "select_ok",
    "recv_async",
    "recv_ok_async",
    "select_async",
)
TINY = 0.002


class Item:
    """A fresh value whose identity the model tracks."""

    _ids = itertools.count()

    def __init__(self) -> None:
        self.n = next(self._ids)

    def __repr__(self) -> str:
        return f"Item({self.n})"


def case_of(ch: Chan[Any], kind: str, value: Any = None) -> Any:
    if kind == SEND:
        return (ch.send, value)
    return ch.recv_ok if kind == RECV_OK else ch.recv


class ChannelMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.chans = [Chan(c) for c in CAPS]
        self.models = [ChanModel(c) for c in CAPS]
        self.loop = asyncio.new_event_loop()

    def teardown(self) -> None:
        self.loop.close()

    def run(self, aw: Any) -> Any:
        return self.loop.run_until_complete(aw)

    # -- single operations -------------------------------------------------

    @rule(i=st.sampled_from(range(len(CAPS))), way=st.sampled_from(SEND_WAYS))
    def send(self, i: int, way: str) -> None:
        ch, m = self.chans[i], self.models[i]
        v = Item()
        ops = {
            "send": lambda: ch.send(v, timeout=0),
            "send_tiny": lambda: ch.send(v, timeout=TINY),
            "select": lambda: select((ch.send, v), default=True),
            "select_tiny": lambda: select((ch.send, v), timeout=TINY),
            "send_async": lambda: self.run(ch.send_async(v, timeout=0)),
            "select_async": lambda: self.run(select_async((ch.send, v), default=True)),
        }
        if not m.ready(SEND):
            if way == "select" or way == "select_async":
                assert ops[way]() == (-1, None)
            else:
                with pytest.raises(TimeoutError):
                    ops[way]()
            return
        if m.closed:
            with pytest.raises(ChanClosedError, match="send on closed channel"):
                ops[way]()
            return
        got = ops[way]()
        m.send(v)
        assert got == ((0, None) if way.startswith("select") else None)

    @rule(i=st.sampled_from(range(len(CAPS))), way=st.sampled_from(RECV_WAYS))
    def recv(self, i: int, way: str) -> None:
        ch, m = self.chans[i], self.models[i]
        ops = {
            "recv": lambda: ch.recv(timeout=0),
            "recv_tiny": lambda: ch.recv(timeout=TINY),
            "recv_ok": lambda: ch.recv_ok(timeout=0),
            "select": lambda: select(ch.recv, default=True),
            "select_ok": lambda: select(ch.recv_ok, timeout=TINY),
            "recv_async": lambda: self.run(ch.recv_async(timeout=0)),
            "recv_ok_async": lambda: self.run(ch.recv_ok_async(timeout=TINY)),
            "select_async": lambda: self.run(select_async(nilchan.recv, ch.recv, default=True)),
        }
        if not m.ready(RECV):
            if way in ("select", "select_async"):
                assert ops[way]() == (-1, None)
            else:
                with pytest.raises(TimeoutError):
                    ops[way]()
            return
        got = ops[way]()
        kind = RECV_OK if way in ("recv_ok", "select_ok", "recv_ok_async") else RECV
        want = m.perform(kind)
        if way == "select_async":
            want = (1, want)
        elif way.startswith("select"):
            want = (0, want)
        assert_same(got, want)

    @rule(i=st.sampled_from(range(len(CAPS))))
    def close(self, i: int) -> None:
        ch, m = self.chans[i], self.models[i]
        try:
            m.close()
        except Closed:
            with pytest.raises(ChanClosedError, match="close of closed channel"):
                ch.close()
        else:
            ch.close()

    # -- select over several channels --------------------------------------

    @rule(
        cases=st.lists(
            st.tuples(
                st.sampled_from(range(-1, len(CAPS))), st.sampled_from((SEND, RECV, RECV_OK))
            ),
            min_size=1,
            max_size=5,
        ),
        how=st.sampled_from(("default", "tiny", "async_default", "async_tiny")),
    )
    def select_many(self, cases: list[tuple[int, str]], how: str) -> None:
        values = [Item() if kind == SEND else None for _, kind in cases]
        real = [
            case_of(nilchan if i < 0 else self.chans[i], kind, v)
            for (i, kind), v in zip(cases, values, strict=True)
        ]
        ready = [k for k, (i, kind) in enumerate(cases) if i >= 0 and self.models[i].ready(kind)]
        call = {
            "default": lambda: select(*real, default=True),
            "tiny": lambda: select(*real, timeout=TINY),
            "async_default": lambda: self.run(select_async(*real, default=True)),
            "async_tiny": lambda: self.run(select_async(*real, timeout=TINY)),
        }[how]
        if not ready:
            if how.endswith("default"):
                assert call() == (-1, None)
            else:
                with pytest.raises(TimeoutError):
                    call()
            return
        try:
            index, got = call()
        except ChanClosedError:
            # Only a send case on a closed channel may have been chosen.
            assert any(cases[k][1] == SEND and self.models[cases[k][0]].closed for k in ready), (
                "ChanClosedError with no closed send case ready"
            )
            return
        assert index in ready, f"case {index} chosen, ready: {ready}"
        i, kind = cases[index]
        want = self.models[i].perform(kind, values[index])
        assert_same(got, want)

    # -- rendezvous on a goroutine -----------------------------------------

    @rule(i=st.sampled_from(range(len(CAPS))), async_recv=st.booleans())
    def handoff_send(self, i: int, async_recv: bool) -> None:
        """A blocking send here, a blocking receive on a goroutine."""
        ch, m = self.chans[i], self.models[i]
        v = Item()
        got: queue.Queue[Any] = queue.Queue()
        if async_recv:

            async def receiver() -> None:
                got.put(await ch.recv_async(timeout=5))

            go(receiver)
        else:
            go(lambda: got.put(ch.recv(timeout=5)))
        sent, want = m.handoff(v)
        if sent:
            ch.send(v, timeout=5)
        else:
            with pytest.raises(ChanClosedError):
                ch.send(v, timeout=5)
        assert_same(got.get(timeout=10), want)

    @rule(i=st.sampled_from(range(len(CAPS))))
    def handoff_recv(self, i: int) -> None:
        """A blocking receive here, a blocking send on a goroutine."""
        ch, m = self.chans[i], self.models[i]
        v = Item()
        outcome: queue.Queue[str] = queue.Queue()

        def sender() -> None:
            try:
                ch.send(v, timeout=5)
                outcome.put("sent")
            except ChanClosedError:
                outcome.put("closed")
            except BaseException as e:
                outcome.put(repr(e))

        go(sender)
        sent, want = m.handoff(v)
        assert_same(ch.recv(timeout=5), want)
        assert outcome.get(timeout=10) == ("sent" if sent else "closed")

    # -- draining ----------------------------------------------------------

    @precondition(lambda self: any(m.closed for m in self.models))
    @rule(data=st.data(), use_async=st.booleans())
    def drain_closed(self, data: st.DataObject, use_async: bool) -> None:
        i = data.draw(st.sampled_from([k for k, m in enumerate(self.models) if m.closed]))
        ch, m = self.chans[i], self.models[i]
        if use_async:

            async def collect() -> list[Any]:
                return [v async for v in ch]

            got = self.run(collect())
        else:
            got = list(ch)
        assert_same(got, list(m.buf))
        m.buf.clear()

    @invariant()
    def observable_state_agrees(self) -> None:
        for ch, m in zip(self.chans, self.models, strict=True):
            assert len(ch) == len(m.buf)
            assert ch.closed == m.closed
            assert ch.cap == m.cap


def assert_same(got: Any, want: Any) -> None:
    """Equal, with the model's values identical (not just equal) to the real ones."""
    assert got == want
    if isinstance(want, Item):
        assert got is want
    elif isinstance(want, (tuple, list)):
        for g, w in zip(got, want, strict=True):
            assert_same(g, w)


ChannelMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestChannelModel = pytest.mark.timeout(120)(ChannelMachine.TestCase)
