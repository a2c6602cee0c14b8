"""golang.org/x/sync/singleflight: duplicate call suppression.

A ``Group`` makes concurrent callers asking for the same key share one call
of the function that computes it (a cache fill, a token refresh)::

    g = singleflight.Group()
    value, shared = g.do(key, lambda: load_from_backend(key))

Built as Go builds it: each call in flight is an object holding a
``WaitGroup``; its first caller (the leader) runs the function, and every
caller that arrives while it runs (a duplicate) waits on that WaitGroup,
with ``wg.wait()`` in a thread and ``await wg.wait_async()`` in a
coroutine. So waiting releases the GIL, Ctrl-C interrupts a waiting thread,
and threads and coroutines asking for the same key at once share ONE call.
``do_async`` only awaits gocurrent's ``*_async`` waits, so it works
wherever they do (trio included, once they do there).

Differences from Go, all from Python having exceptions where Go has
``(value, error)`` results and panics:

- ``do`` returns ``(value, shared)``; an exception raised by the function
  is raised in every caller that shared the call (the same exception
  object). ``do_chan``'s ``Result`` carries it in ``err`` (Go crashes the
  program when a DoChan call panics; here nothing crashes).
- A call is *abandoned*, not failed, when its leader is interrupted rather
  than the function failing: the leader's coroutine is cancelled
  (``asyncio.CancelledError``, trio's ``Cancelled``) or it gets
  ``KeyboardInterrupt`` (any ``BaseException`` that is neither an
  ``Exception`` nor ``SystemExit``). The leader re-raises it; duplicates
  waiting in ``do``/``do_async`` are not cancelled with it: they ask again
  (one of them runs the function anew). ``do_chan`` receivers get a
  ``Result`` whose ``err`` is that exception. (Go's nearest case,
  ``runtime.Goexit`` in the function, makes the duplicates exit too.)
- Keys are any hashable object, not only strings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine, Hashable
from types import TracebackType
from typing import Any, NamedTuple

from . import _native, _runtime
from ._native import Chan, WaitGroup

__all__ = ["Group", "Result"]


class Result(NamedTuple):
    """What ``Group.do_chan``'s channel receives: the function's value
    (``val``), the exception it raised or None (``err``), and whether the
    result went to more than one caller (``shared``)."""

    val: Any
    err: BaseException | None
    shared: bool


def _abandons(exc: BaseException) -> bool:
    # An interruption of the leader (cancellation, Ctrl-C), not fn's failure.
    return not isinstance(exc, (Exception, SystemExit))


class _Call:
    """One call in flight or done. ``val``/``err`` are written once before
    ``wg`` is done and only read after; ``dups`` and ``chans`` change only
    under the group's lock while the call is in the group's map."""

    __slots__ = ("abandoned", "chans", "dups", "err", "tb", "val", "wg")

    def __init__(self) -> None:
        self.wg = WaitGroup()
        self.wg.add(1)
        self.val: Any = None
        self.err: BaseException | None = None
        self.tb: TracebackType | None = None
        self.abandoned = False
        self.dups = 0
        self.chans: list[Chan[Result]] = []


class Group:
    """Go's ``singleflight.Group``: a namespace of keys whose concurrent
    calls are collapsed into one. The zero-argument constructor makes an
    empty group; a Group is safe to share between threads and coroutines.
    """

    __slots__ = ("_calls", "_mu")

    def __init__(self) -> None:
        # Guards _calls and the calls' dups/chans; held only for dict work,
        # never while a function runs or a caller waits.
        self._mu = threading.Lock()
        self._calls: dict[Hashable, _Call] = {}

    # -- the call's life -------------------------------------------------

    def _join(self, key: Hashable) -> tuple[_Call, bool]:
        """The call in flight for key (as a duplicate), or a new one that
        the caller must run (the leader): ``(call, is_leader)``."""
        with self._mu:
            c = self._calls.get(key)
            if c is not None:
                c.dups += 1
                return c, False
            c = _Call()
            self._calls[key] = c
            return c, True

    def _finish(self, c: _Call, key: Hashable, val: Any, err: BaseException | None) -> bool:
        """Records the outcome, removes the call from the map (unless
        forgotten and replaced), wakes the waiters and feeds the do_chan
        channels. Returns whether the result was shared."""
        c.val, c.err = val, err
        if err is not None:
            c.tb = err.__traceback__
            c.abandoned = _abandons(err)
        with self._mu:
            if self._calls.get(key) is c:
                del self._calls[key]
            shared = c.dups > 0
            chans = c.chans
            c.wg.done()
        if chans:
            res = Result(val, err, shared)
            for ch in chans:
                ch.send(res)  # capacity 1 and the only send: never blocks
        return shared

    def _run(self, c: _Call, key: Hashable, fn: Callable[[], Any]) -> None:
        """Runs a plain fn for the call (a goroutine's body); never raises.
        A coroutine that fn returns is awaited on the runtime's loop."""
        try:
            val = fn()
        except BaseException as exc:
            self._finish(c, key, None, exc)
            return
        if isinstance(val, Coroutine):
            # (On failure _start ends the call with the error, then raises.)
            self._start(c, key, fn, val, on_background=True)
        else:
            self._finish(c, key, val, None)

    async def _run_async(self, c: _Call, key: Hashable, coro: Coroutine[Any, Any, Any]) -> None:
        """Awaits fn's coroutine for the call (a coroutine goroutine's body)."""
        try:
            val = await coro
        except BaseException as exc:
            self._finish(c, key, None, exc)
            if _abandons(exc):
                raise  # let the task end cancelled
        else:
            self._finish(c, key, val, None)

    def _start(
        self,
        c: _Call,
        key: Hashable,
        fn: Callable[[], Any],
        coro: Coroutine[Any, Any, Any] | None,
        *,
        on_background: bool,
    ) -> None:
        """Runs the call as a goroutine: fn on a pool thread when ``coro``
        (fn's coroutine, or None for a plain fn) is None, else a task
        awaiting coro (on the runtime's background loop when
        ``on_background``, else where ``go`` would run it)."""
        try:
            frame = _runtime.user_caller()
            if coro is None:
                _runtime.submit(self._run, (c, key, fn), {}, frame)
            elif on_background:
                # A thread blocked in do() must not wait for its own loop,
                # nor for its own trio run (nor go to one from a pool thread).
                _runtime.spawn_coroutine(
                    self._run_async(c, key, coro), _native._record(frame), background=True
                )
            else:
                _runtime.spawn_coroutine(self._run_async(c, key, coro), _native._record(frame))
        except BaseException as exc:
            if coro is not None:
                coro.close()
            self._finish(c, key, None, exc)
            raise

    def _lead(self, key: Hashable, fn: Callable[[], Any]) -> tuple[_Call, bool, Any]:
        """Joins or creates the call for key: ``(call, is_leader, coro)``
        where coro is fn's coroutine when the leader has a coroutine
        function, else None. Raises TypeError (before joining anything)
        when fn is not callable."""
        if not callable(fn):
            raise TypeError(f"singleflight: fn must be callable, not {type(fn).__name__}")
        c, leader = self._join(key)
        if not leader:
            return c, False, None
        try:
            return c, True, _runtime.coroutine_of(fn, (), {})
        except BaseException as exc:
            self._finish(c, key, None, exc)
            raise

    @staticmethod
    def _outcome(c: _Call, shared: bool) -> tuple[Any, bool]:
        err = c.err
        if err is not None:
            raise err.with_traceback(c.tb)
        return c.val, shared

    # -- the API ------------------------------------------------------------

    def do(self, key: Hashable, fn: Callable[[], Any]) -> tuple[Any, bool]:
        """Runs ``fn()`` for key unless a call for key is in flight, in
        which case it waits for that call; returns ``(value, shared)``,
        ``shared`` being True when the value went to more than one caller.

        Blocks (releasing the GIL, interruptible by Ctrl-C) while another
        caller's call runs. An exception raised by fn is raised here, in
        every caller that shared the call. A plain fn runs in this thread;
        a coroutine function (or a coroutine that fn returns, as from
        ``lambda: fetch(key)``) runs as a task on the runtime's background
        event loop while this thread waits (from a coroutine, use
        ``do_async`` instead). A caller interrupted while waiting leaves;
        the call goes on for the others.
        """
        while True:
            c, leader, coro = self._lead(key, fn)
            if leader:
                if coro is None:
                    try:
                        val = fn()
                    except BaseException as exc:
                        self._finish(c, key, None, exc)
                        raise
                    if not isinstance(val, Coroutine):
                        return val, self._finish(c, key, val, None)
                    coro = val  # e.g. ``lambda: fetch(key)`` with an async fetch
                self._start(c, key, fn, coro, on_background=True)
            c.wg.wait()
            if not c.abandoned:
                return self._outcome(c, True if not leader else c.dups > 0)

    async def do_async(self, key: Hashable, fn: Callable[[], Any]) -> tuple[Any, bool]:
        """``await g.do_async(key, fn)``: ``do`` from a coroutine, sharing
        calls with threads and other coroutines.

        A coroutine function fn runs in this task when this caller leads
        (cancelling the task abandons the call: the others ask again); a
        plain fn runs as a goroutine (a pool thread) so the event loop is
        not blocked (a coroutine it returns, as from ``lambda: fetch(key)``,
        is awaited on the runtime's loop), and a cancelled caller leaves
        it running for the others. Waiting is ``await wg.wait_async()``.
        """
        while True:
            c, leader, coro = self._lead(key, fn)
            if leader:
                if coro is not None:
                    try:
                        val = await coro
                    except BaseException as exc:
                        self._finish(c, key, None, exc)
                        raise
                    return val, self._finish(c, key, val, None)
                self._start(c, key, fn, None, on_background=False)
            await c.wg.wait_async()
            if not c.abandoned:
                return self._outcome(c, True if not leader else c.dups > 0)

    def do_chan(self, key: Hashable, fn: Callable[[], Any]) -> Chan[Result]:
        """Like ``do``, but returns at once a channel (capacity 1, never
        closed) that receives one ``Result(val, err, shared)`` when the
        call ends. fn runs as a goroutine: a pool thread for a plain
        callable, a task for a coroutine function (on the calling thread's
        running loop if any, else the runtime's background loop). Never
        blocks."""
        if not callable(fn):
            raise TypeError(f"singleflight: fn must be callable, not {type(fn).__name__}")
        ch: Chan[Result] = Chan(1)
        with self._mu:
            c = self._calls.get(key)
            if c is not None:
                c.dups += 1
                c.chans.append(ch)
                return ch
            c = _Call()
            c.chans.append(ch)
            self._calls[key] = c
        try:
            coro = _runtime.coroutine_of(fn, (), {})
        except BaseException as exc:
            self._finish(c, key, None, exc)
            raise
        self._start(c, key, fn, coro, on_background=False)
        return ch

    def forget(self, key: Hashable) -> None:
        """Forgets key: later calls for it run the function again instead
        of joining the call in flight (which still ends for its callers)."""
        with self._mu:
            self._calls.pop(key, None)

    def __repr__(self) -> str:
        return f"<singleflight.Group in flight={len(self._calls)}>"
