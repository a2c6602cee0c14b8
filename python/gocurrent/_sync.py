"""The Python half of gocurrent's sync names: ``Map``, ``once_func`` and
``once_value``, and the relocking half of ``Cond.wait_async`` (the rest is
native: ``WaitGroup``, ``Mutex``, ``RWMutex``, ``Cond``, ``Once``,
``Semaphore``)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from ._native import Once

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

_MISSING: Any = object()


class Map(Generic[K, V]):
    """Go's ``sync.Map``: a map safe for concurrent use, keyed by any
    hashable object.

    Keys hash and compare as in a dict; ``compare_and_swap`` and
    ``compare_and_delete`` compare values with ``==``, as Go does. Loads
    take no lock; every change takes an internal re-entrant lock, held only
    for the dict operation itself (so a key's ``__eq__`` may use the map).
    ``range(fn)`` calls ``fn(key, value)`` for a snapshot of the entries,
    with no lock held, and stops when fn returns ``False``.
    """

    __slots__ = ("_d", "_lock")

    def __init__(self) -> None:
        self._d: dict[K, V] = {}
        self._lock = threading.RLock()

    def load(self, key: K) -> tuple[V | None, bool]:
        """The value stored for key and True, or ``(None, False)``."""
        v = self._d.get(key, _MISSING)
        if v is _MISSING:
            return None, False
        return v, True

    def store(self, key: K, value: V) -> None:
        """Sets the value for key."""
        with self._lock:
            self._d[key] = value

    def load_or_store(self, key: K, value: V) -> tuple[V, bool]:
        """The existing value and True if key is present; otherwise stores
        value and returns ``(value, False)``."""
        with self._lock:
            v = self._d.get(key, _MISSING)
            if v is _MISSING:
                self._d[key] = value
                return value, False
            return v, True

    def load_and_delete(self, key: K) -> tuple[V | None, bool]:
        """Deletes key, returning its previous value and whether it was present."""
        with self._lock:
            v = self._d.pop(key, _MISSING)
        if v is _MISSING:
            return None, False
        return v, True

    def delete(self, key: K) -> None:
        """Deletes the value for key (nothing happens if it is absent)."""
        with self._lock:
            self._d.pop(key, None)

    def swap(self, key: K, value: V) -> tuple[V | None, bool]:
        """Stores value for key; returns the previous value and whether there was one."""
        with self._lock:
            prev = self._d.get(key, _MISSING)
            self._d[key] = value
        if prev is _MISSING:
            return None, False
        return prev, True

    def compare_and_swap(self, key: K, old: V, new: V) -> bool:
        """Stores new for key if its current value ``== old``; returns whether it did."""
        with self._lock:
            cur = self._d.get(key, _MISSING)
            if cur is _MISSING or not (cur == old):
                return False
            self._d[key] = new
            return True

    def compare_and_delete(self, key: K, old: V) -> bool:
        """Deletes key if its current value ``== old``; returns whether it did."""
        with self._lock:
            cur = self._d.get(key, _MISSING)
            if cur is _MISSING or not (cur == old):
                return False
            del self._d[key]
            return True

    def range(self, fn: Callable[[K, V], object]) -> None:
        """Calls ``fn(key, value)`` for each entry (of a snapshot taken at
        the call); stops early when fn returns ``False``. No lock is held
        while fn runs, so fn may use the map."""
        with self._lock:
            items = list(self._d.items())
        for k, v in items:
            if fn(k, v) is False:
                break

    def clear(self) -> None:
        """Deletes every entry."""
        with self._lock:
            self._d.clear()

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"<Map len={len(self._d)}>"


def once_func(fn: Callable[[], object]) -> Callable[[], None]:
    """Go's ``sync.OnceFunc``: a function that calls ``fn()`` only once.

    Concurrent callers wait for that call to finish. If fn raised, every
    call raises the same exception object.
    """
    once = Once()
    f: Callable[[], object] | None = fn
    exc: BaseException | None = None
    tb: Any = None

    def call() -> None:
        nonlocal f, exc, tb
        try:
            if f is not None:
                f()
        except BaseException as e:
            exc, tb = e, e.__traceback__
            raise
        finally:
            f = None

    def once_fn() -> None:
        # The call that ran fn raises from once.do; every later call here.
        once.do(call)
        if exc is not None:
            raise exc.with_traceback(tb)

    return _wrap(once_fn, fn)


def once_value(fn: Callable[[], R]) -> Callable[[], R]:
    """Go's ``sync.OnceValue``: a function that calls ``fn()`` only once
    and returns its value on every call.

    Concurrent callers wait for that call to finish. If fn raised, every
    call raises the same exception object.
    """
    once = Once()
    f: Callable[[], R] | None = fn
    result: Any = None
    exc: BaseException | None = None
    tb: Any = None

    def call() -> None:
        nonlocal f, result, exc, tb
        try:
            if f is not None:
                result = f()
        except BaseException as e:
            exc, tb = e, e.__traceback__
            raise
        finally:
            f = None

    def once_fn() -> R:
        once.do(call)
        if exc is not None:
            raise exc.with_traceback(tb)
        return result

    return _wrap(once_fn, fn)


def _wrap(wrapper: Callable[[], Any], fn: Callable[[], Any]) -> Any:
    for attr in ("__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attr, getattr(fn, attr))
        except (AttributeError, TypeError):
            pass
    return wrapper


async def cond_wait(
    wait: Awaitable[None], relock: Callable[[], Awaitable[Any]], unlocked: Callable[[], bool]
) -> None:
    """``Cond.wait_async``: awaits ``wait`` (whose first step unlocks L),
    then locks L again whatever happened, so that L is held when the await
    returns or raises (a cancellation included)."""
    try:
        await wait
    finally:
        if unlocked():
            await _relock(relock)


async def _relock(relock: Callable[[], Awaitable[Any]]) -> None:
    trio = sys.modules.get("trio")
    if trio is not None and asyncio._get_running_loop() is None:
        # A trio task: shielded, so a cancelled scope cannot stop the relock.
        with trio.CancelScope(shield=True):
            await relock()
        return
    # asyncio: a cancellation while waiting for L is kept for after.
    cancelled: BaseException | None = None
    while True:
        try:
            await relock()
            break
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        raise cancelled
