"""gocurrent: Go's concurrency model for Python, implemented in Rust.

Goroutines (``go``), channels (``Chan``, ``nilchan``), ``select``, timers
(``after``, ``tick``, ``Timer``, ``Ticker``, ``after_func``), Go's sync
primitives (``WaitGroup``, ``Mutex``, ``RWMutex``, ``Cond``, ``Once``,
``Map``, ``Semaphore``), ``ErrGroup`` and the submodules ``atomic``,
``context`` and ``errgroup``; every blocking call
releases the GIL, stays interruptible by Ctrl-C, and has an ``*_async`` twin
that works on the same objects from asyncio coroutines.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from . import _runtime, atomic
from ._native import (
    Chan,
    ChanClosedError,
    Cond,
    Mutex,
    Once,
    RWMutex,
    Semaphore,
    Ticker,
    Timer,
    WaitGroup,
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
    "select",
    "select_async",
    "tick",
]


def go(fn: Callable[..., Any] | Coroutine[Any, Any, Any], /, *args: Any, **kwargs: Any) -> None:
    """Runs ``fn(*args, **kwargs)`` concurrently, as Go's ``go`` statement.

    A plain callable runs on the runtime's pool of threads, which reuses idle
    threads and grows when all are busy. A coroutine function (or a coroutine
    object) runs as a task: on the calling thread's running event loop if
    there is one, else on the runtime's background loop. An exception that
    escapes the goroutine is reported through ``threading.excepthook``.
    Goroutines never keep the process alive.
    """
    coro = _runtime.coroutine_of(fn, args, kwargs)
    if coro is None:  # fn is a plain callable
        _runtime.spawn_thread(fn, args, kwargs)  # type: ignore[arg-type]
    else:
        _runtime.spawn_coroutine(coro)


# Submodules whose names live there (``from gocurrent import context, errgroup``).
from . import context, errgroup  # noqa: E402

ErrGroup = errgroup.Group
"""``errgroup.Group`` under a top-level name: ``ErrGroup()`` is Go's ``errgroup.Group{}``."""
