"""gocurrent: Go's concurrency model for Python, implemented in Rust.

Goroutines (``go``), channels (``Chan``, ``nilchan``), ``select``, timers
(``after``, ``tick``, ``Timer``, ``Ticker``, ``after_func``), Go's sync
primitives (``WaitGroup``, ``Mutex``, ``RWMutex``, ``Cond``, ``Once``,
``Map``, ``Semaphore``), ``ErrGroup`` and the submodules ``atomic``,
``context``, ``errgroup``, ``singleflight``, ``rate`` and ``runtime``
(goroutine dumps; a wait that nothing can end raises ``DeadlockError``);
every blocking call
releases the GIL, stays interruptible by Ctrl-C, and has an ``*_async`` twin
that works on the same objects from asyncio coroutines.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from inspect import CO_COROUTINE as _CO_COROUTINE
from sys import _getframe
from types import FunctionType as _FunctionType
from typing import TYPE_CHECKING, Any

from . import _runtime, atomic
from ._native import (
    Chan,
    ChanClosedError,
    Cond,
    DeadlockError,
    Mutex,
    Once,
    RWMutex,
    Semaphore,
    Ticker,
    Timer,
    WaitGroup,
    _spawn,
    _start_worker,
    after,
    after_func,
    nilchan,
    select,
    select_async,
    tick,
)
from ._sync import Map, once_func, once_value
from ._version import read_version as _read_version

__version__: str = _read_version()
"""The version of the installed gocurrent, e.g. ``"0.1.0"`` (from the package's metadata)."""

__all__ = [
    "Chan",
    "ChanClosedError",
    "Cond",
    "DeadlockError",
    "ErrGroup",
    "Map",
    "Mutex",
    "Once",
    "RWMutex",
    "Semaphore",
    "Ticker",
    "Timer",
    "WaitGroup",
    "after",
    "after_func",
    "atomic",
    "context",
    "errgroup",
    "go",
    "nilchan",
    "once_func",
    "once_value",
    "rate",
    "runtime",
    "select",
    "select_async",
    "singleflight",
    "tick",
]


def go(fn: Callable[..., Any] | Coroutine[Any, Any, Any], /, *args: Any, **kwargs: Any) -> None:
    """Runs ``fn(*args, **kwargs)`` concurrently, as Go's ``go`` statement.

    A plain callable runs on the runtime's pool of threads, which reuses idle
    threads and grows when all are busy. A coroutine function (or a coroutine
    object) runs as a task: on the calling thread's running asyncio loop if
    there is one, as a trio system task when called from a trio task, else
    on the runtime's background loop. An exception that
    escapes the goroutine is reported through ``threading.excepthook``.
    Goroutines never keep the process alive.
    """
    try:
        frame = _getframe(1)  # where go() was called, for gocurrent.runtime
    except ValueError:  # called from Rust: a timer's after_func
        frame = None
    if type(fn) is _FunctionType:  # _runtime.coroutine_of's first case, inlined
        coro = fn(*args, **kwargs) if fn.__code__.co_flags & _CO_COROUTINE else None
    else:
        coro = _runtime.coroutine_of(fn, args, kwargs)
    if coro is None:  # fn is a plain callable
        if _spawn(fn, args, kwargs, frame):
            _start_worker()
    else:
        _runtime.spawn_coroutine(coro, frame)


# Submodules whose names live there (``from gocurrent import context, rate``).
from . import context, errgroup, rate, singleflight  # noqa: E402

if TYPE_CHECKING:
    from . import runtime


def __getattr__(name: str) -> Any:
    # ``gocurrent.runtime`` is imported on first use: a program that never
    # looks into its goroutines does not pay for it at import.
    if name == "runtime":
        import importlib

        return importlib.import_module(".runtime", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ErrGroup = errgroup.Group
"""``errgroup.Group`` under a top-level name: ``ErrGroup()`` is Go's ``errgroup.Group{}``."""
