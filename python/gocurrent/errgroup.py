"""golang.org/x/sync/errgroup: a group of goroutines working on one task.

``Group`` is a wait group that also keeps the first error (exception) raised
by its goroutines and, made by ``with_context``, cancels a derived context
on that first error or when ``wait`` returns::

    g, ctx = errgroup.with_context(context.background())
    for url in urls:
        g.go(fetch, ctx, url)       # fetch returns when ctx.done() closes
    g.wait()                        # re-raises the first error, if any

Go's implementation is a WaitGroup, a ``chan token`` semaphore for the
limit and a ``sync.Once`` for the first error; this is the same over
gocurrent's primitives, so ``wait()`` and a ``go()`` blocked at the limit
release the GIL and are interruptible by Ctrl-C.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from typing import Any

from . import _native, _runtime
from . import context as _context
from ._native import Chan, WaitGroup

__all__ = ["Group", "with_context"]

_TOKEN = None


class Group:
    """A collection of goroutines working on subtasks of one task.

    A new Group has no limit and cancels nothing on error. ``go`` runs a
    function (a plain or a coroutine function) as a goroutine; its return
    value is ignored and an exception it raises is its error. ``wait``
    waits for all of them, then re-raises the first error.
    """

    __slots__ = ("_cancel", "_err", "_failed", "_lock", "_sem", "_wg")

    def __init__(self) -> None:
        self._cancel: Callable[..., None] | None = None
        self._wg = WaitGroup()
        # Guards the first error (Go's errOnce); never held while blocking.
        self._lock = threading.Lock()
        self._sem: Chan[None] | None = None
        self._failed = False
        self._err: BaseException | None = None

    def _done(self, sem: Chan[None] | None) -> None:
        if sem is not None:
            sem.recv()  # our token is there: never blocks
        self._wg.done()

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._failed:
                return
            self._failed = True
            self._err = exc
        if self._cancel is not None:
            self._cancel(exc)

    def _run(self, sem: Chan[None] | None, fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except BaseException as exc:
            self._fail(exc)
        finally:
            del fn, args, kwargs
            self._done(sem)

    async def _run_async(self, sem: Chan[None] | None, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            await coro
        except BaseException as exc:
            self._fail(exc)
        finally:
            del coro
            self._done(sem)

    def _start(
        self,
        sem: Chan[None] | None,
        fn: Callable[..., Any] | Coroutine[Any, Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self._wg.add(1)
        try:
            coro = _runtime.coroutine_of(fn, args, kwargs)
            if coro is None:
                _runtime.submit(self._run, (sem, fn, args, kwargs), {}, _runtime.caller(2))
            else:
                _runtime.spawn_coroutine(
                    self._run_async(sem, coro), _native._record(_runtime.caller(2))
                )
        except BaseException:
            self._done(sem)
            raise

    @staticmethod
    def _check(fn: Any) -> None:
        if not callable(fn) and not isinstance(fn, Coroutine):
            raise TypeError(f"go() argument must be callable, not {type(fn).__name__}")

    def go(
        self,
        fn: Callable[..., Any] | Coroutine[Any, Any, Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Runs ``fn(*args, **kwargs)`` as a goroutine of the group, blocking
        first (interruptibly) while the group is at its limit. A coroutine
        function runs as an async goroutine."""
        self._check(fn)
        sem = self._sem
        if sem is not None:
            sem.send(_TOKEN)
        self._start(sem, fn, args, kwargs)

    def try_go(
        self,
        fn: Callable[..., Any] | Coroutine[Any, Any, Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """Like ``go``, but only if the group is below its limit; returns
        whether the goroutine was started."""
        self._check(fn)
        sem = self._sem
        if sem is not None:
            try:
                sem.send(_TOKEN, timeout=0)
            except TimeoutError:
                return False
        self._start(sem, fn, args, kwargs)
        return True

    def set_limit(self, n: int) -> None:
        """Limits the active goroutines of the group to ``n`` (negative: no
        limit). Raises RuntimeError while a limited group has active
        goroutines (Go panics)."""
        n = int(n)
        if n < 0:
            self._sem = None
            return
        sem = self._sem
        if sem is not None and len(sem) != 0:
            raise RuntimeError(
                f"errgroup: modify limit while {len(sem)} goroutines in the group are still active"
            )
        self._sem = Chan(n)

    def _finish(self) -> None:
        if self._cancel is not None:
            self._cancel(self._err)
        if self._err is not None:
            raise self._err

    def wait(self) -> None:
        """Waits until every goroutine of the group has returned, then
        re-raises the first error (the original exception object)."""
        self._wg.wait()
        self._finish()

    async def wait_async(self) -> None:
        """``await g.wait_async()``: ``wait`` from a coroutine."""
        await self._wg.wait_async()
        self._finish()

    def __repr__(self) -> str:
        limit = "" if self._sem is None else f" limit={self._sem.cap}"
        return f"<errgroup.Group {self._wg!r}{limit}>"


def with_context(ctx: _context.Context) -> tuple[Group, _context.Context]:
    """A new Group and a context derived from ``ctx``, cancelled (with the
    error as its cause) by the first goroutine that fails, or when ``wait``
    returns, whichever comes first."""
    derived, cancel = _context.with_cancel_cause(ctx)
    g = Group()
    g._cancel = cancel
    return g, derived
