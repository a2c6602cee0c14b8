"""Type stubs of gocurrent's native module."""

from collections.abc import Awaitable as _Awaitable
from collections.abc import Callable, Generator
from typing import Any, Generic, Literal, TypeVar, final

__all__ = [
    "Awaitable",
    "Chan",
    "ChanClosedError",
    "_after_fork_in_child",
    "_arrive",
    "_begin_exit",
    "_idle_workers",
    "_next_job",
    "_submit",
    "nilchan",
    "select",
    "select_async",
]
__all__ += [
    "Ticker",
    "Timer",
    "_AfterFuncStop",
    "_CancelNode",
    "_timers_pending",
    "after",
    "after_func",
    "tick",
]

_T = TypeVar("_T")
_R = TypeVar("_R")

class ChanClosedError(Exception):
    """Raised by a send on a closed channel and by closing a closed (or nil) channel."""

@final
class Awaitable(Generic[_R]):
    """What every ``*_async`` method returns: like a coroutine, it does nothing until awaited."""

    def __await__(self) -> Generator[Any, None, _R]: ...
    def __iter__(self) -> Generator[Any, None, _R]: ...
    def __next__(self) -> Any: ...
    def send(self, value: object, /) -> Any: ...
    def throw(self, typ: object, val: object = None, tb: object = None, /) -> Any: ...
    def close(self) -> None: ...
    def _expire(self) -> None: ...

@final
class Chan(Generic[_T]):
    """A Go channel: ``Chan(cap=0)``; ``Chan[T]`` for typing."""

    def __new__(cls, cap: int | None = None) -> Chan[_T]: ...
    def send(self, value: _T, /, *, timeout: float | None = None) -> None:
        """Sends value; blocks until a receiver takes it or the buffer has room."""
    def recv(self, *, timeout: float | None = None) -> _T | None:
        """Receives the next value; None once the channel is closed and drained."""
    def recv_ok(self, *, timeout: float | None = None) -> tuple[_T | None, bool]:
        """Receives (value, ok); ok is False only when closed and drained."""
    def close(self) -> None:
        """Closes the channel."""
    def __len__(self) -> int: ...
    def __bool__(self) -> Literal[True]: ...
    @property
    def cap(self) -> int:
        """The capacity of the buffer (0: unbuffered)."""
    @property
    def closed(self) -> bool:
        """True once the channel has been closed."""
    def __iter__(self) -> Chan[_T]: ...
    def __next__(self) -> _T: ...
    def send_async(self, value: _T, /, *, timeout: float | None = None) -> Awaitable[None]:
        """``await ch.send_async(v)``: send from a coroutine."""
    def recv_async(self, *, timeout: float | None = None) -> Awaitable[_T | None]:
        """``await ch.recv_async()``: receive from a coroutine."""
    def recv_ok_async(self, *, timeout: float | None = None) -> Awaitable[tuple[_T | None, bool]]:
        """``await ch.recv_ok_async()``: (value, ok) from a coroutine."""
    def __aiter__(self) -> Chan[_T]: ...
    def __anext__(self) -> Awaitable[_T]: ...
    def __class_getitem__(cls, item: Any, /) -> Any: ...

nilchan: Chan[Any]

_Case = Callable[..., Any] | tuple[Callable[..., Any], Any]

def select(*cases: _Case, default: bool = False, timeout: float | None = None) -> tuple[int, Any]:
    """Performs exactly one ready case, chosen uniformly at random; returns (index, value)."""

def select_async(
    *cases: _Case, default: bool = False, timeout: float | None = None
) -> _Awaitable[tuple[int, Any]]:
    """``await select_async(...)``: select from a coroutine."""

def _submit(job: object) -> bool: ...
def _arrive() -> tuple[Any, bool]: ...
def _next_job() -> Any: ...
def _idle_workers() -> int: ...
def _begin_exit() -> None: ...
def _after_fork_in_child(main_thread_ident: int) -> None: ...

# Timers

@final
class Timer:
    """Go's ``time.Timer``: sends the firing time (``time.monotonic()``) on ``.c`` once."""

    def __new__(cls, seconds: float, /) -> Timer: ...
    @property
    def c(self) -> Chan[float] | None:
        """The channel on which the firing time is delivered (None for an after_func timer)."""
    def stop(self) -> bool:
        """Stops the timer; True if that prevented a value from being received."""
    def reset(self, seconds: float, /) -> bool:
        """Re-arms the timer; returns what stop() would have returned."""

@final
class Ticker:
    """Go's ``time.Ticker``: sends the time on ``.c`` every period, dropping missed ticks."""

    def __new__(cls, seconds: float, /) -> Ticker: ...
    @property
    def c(self) -> Chan[float]:
        """The channel on which the ticks are delivered."""
    def stop(self) -> None:
        """Stops the ticker: no more ticks, and no stale tick is received."""
    def reset(self, seconds: float, /) -> None:
        """Restarts the ticker with a new period."""

def after(seconds: float, /) -> Chan[float]:
    """A channel that receives the time once, after ``seconds``."""

def tick(seconds: float, /) -> Chan[float]:
    """A channel that receives the time every ``seconds``."""

def after_func(seconds: float, fn_: Callable[[], object], /) -> Timer:
    """Runs ``fn()`` as a goroutine after ``seconds``; returns its Timer."""

def _timers_pending() -> int: ...

# The cancellation tree of gocurrent.context

@final
class _CancelNode:
    def __new__(cls, parent: _CancelNode | None = None, /) -> _CancelNode: ...
    @property
    def done(self) -> Chan[Any]: ...
    def err(self) -> BaseException | None: ...
    def cause(self) -> BaseException | None: ...
    def cancel(
        self, err: BaseException, cause: BaseException | None = None, remove: bool = True
    ) -> None: ...
    def set_deadline(self, seconds: float, cause: BaseException | None = None, /) -> None: ...
    def after_func(self, fn_: Callable[[], object], /) -> _AfterFuncStop: ...
    def _children(self) -> int: ...

@final
class _AfterFuncStop:
    def __new__(cls) -> _AfterFuncStop: ...
    def __call__(self) -> bool: ...
