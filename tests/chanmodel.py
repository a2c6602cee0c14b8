"""A small pure-Python reference model of Go's channel semantics.

Used by the model-based tests (tests/test_model.py) and the
linearizability check (tests/test_linearizability.py). It models only what
is observable without blocking: a channel is its buffer and its closed
flag; a send is *ready* when the channel is closed (it then raises) or the
buffer has room; a receive is ready when the buffer holds a value or the
channel is closed (it then returns the zero value, ``None``). Rendezvous on
unbuffered channels (a blocked party on the other side) is modelled by the
tests themselves.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

SEND, RECV, RECV_OK = "send", "recv", "recv_ok"


class Closed(Exception):
    """The model's ChanClosedError."""


@dataclass
class ChanModel:
    cap: int
    buf: deque[Any] = field(default_factory=deque)
    closed: bool = False

    def copy(self) -> ChanModel:
        return ChanModel(self.cap, deque(self.buf), self.closed)

    def ready(self, kind: str) -> bool:
        if kind == SEND:
            return self.closed or len(self.buf) < self.cap
        return bool(self.buf) or self.closed

    def send(self, value: Any) -> None:
        """A ready send (raises Closed on a closed channel)."""
        if self.closed:
            raise Closed("send on closed channel")
        assert len(self.buf) < self.cap, "send not ready"
        self.buf.append(value)

    def recv_ok(self) -> tuple[Any, bool]:
        """A ready receive: ``(value, True)``, or ``(None, False)`` when closed and drained."""
        if self.buf:
            return self.buf.popleft(), True
        assert self.closed, "recv not ready"
        return None, False

    def perform(self, kind: str, value: Any = None) -> Any:
        """Performs a ready case and returns what the real call returns."""
        if kind == SEND:
            self.send(value)
            return None
        v, ok = self.recv_ok()
        return (v, ok) if kind == RECV_OK else v

    def close(self) -> None:
        if self.closed:
            raise Closed("close of closed channel")
        self.closed = True

    def handoff(self, value: Any) -> tuple[bool, Any]:
        """A blocking send of ``value`` and a blocking receive, run concurrently
        until both finish: ``(sent, received)``. Whatever the interleaving, the
        receiver gets the head of the buffer (the sent value when the buffer is
        empty) and the value joins the tail, unless the channel is closed: then
        the send raises and the receive drains or gets None."""
        if self.closed:
            v, _ = self.recv_ok()
            return False, v
        self.buf.append(value)
        return True, self.buf.popleft()
