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

from typing import TYPE_CHECKING, Any

from . import _runtime, atomic  # noqa: F401 (_runtime: its exit and fork hooks, at import)
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
    after,
    after_func,
    go,
    nilchan,
    select,
    select_async,
    tick,
)
from ._sync import Map, once_func, once_value

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


# Submodules whose names live there (``from gocurrent import context``).
from . import context, errgroup

if TYPE_CHECKING:
    from . import rate, runtime, singleflight

    __version__: str
    """The version of the installed gocurrent, e.g. ``"0.1.0"`` (from the package's metadata)."""

# Imported on first use (``gocurrent.rate``, ``from gocurrent import rate``):
# a program that never uses them does not pay for them at import, in time
# nor in objects that every full garbage collection walks.
_LAZY_SUBMODULES = frozenset({"rate", "runtime", "singleflight"})


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "__version__":
        # importlib.metadata alone took a quarter of gocurrent's import time.
        from ._version import read_version

        version = globals()["__version__"] = read_version()
        return version
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_SUBMODULES, "__version__"})


ErrGroup = errgroup.Group
"""``errgroup.Group`` under a top-level name: ``ErrGroup()`` is Go's ``errgroup.Group{}``."""
