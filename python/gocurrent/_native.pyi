"""Type stubs of gocurrent's native module."""

from collections.abc import Awaitable as _Awaitable
from collections.abc import Callable, Coroutine, Generator
from types import CodeType, FrameType, TracebackType
from typing import Any, Generic, Literal, Protocol, TypeVar, final

__all__ = [
    "Awaitable",
    "Bool",
    "Chan",
    "ChanClosedError",
    "Cond",
    "Int32",
    "Int64",
    "Mutex",
    "Once",
    "RLocker",
    "RWMutex",
    "Semaphore",
    "Uint32",
    "Uint64",
    "Value",
    "WaitGroup",
    "_after_fork_in_child",
    "_arrive",
    "_begin_exit",
    "_idle_workers",
    "_next_job",
    "_start_worker",
    "_submit",
    "nilchan",
    "select",
    "select_async",
]
__all__ += [
    "DeadlockError",
    "_activity",
    "_call_site",
    "_coroutine_task_count",
    "_coroutine_tasks",
    "_forget",
    "_machine_busy",
    "_queued_jobs",
    "_record",
    "_set_tracking",
    "_spawn",
    "_start_task",
    "_task_done",
    "_task_goroutine",
    "_thread_goroutines",
    "_wait_states",
    "go",
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

class DeadlockError(RuntimeError):
    """Raised in the main thread's waiting call when every goroutine is asleep
    and nothing could ever wake it (Go's "all goroutines are asleep - deadlock!")."""

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
    def _withdraw(self) -> bool: ...
    def _finish(self) -> Any: ...
    def _give_up(self) -> None: ...
    def _timeout_error(self) -> TimeoutError: ...
    @property
    def _wait_state(self) -> tuple[str, float, bool, bool] | None:
        """(reason, seconds waited, has a timeout, pending) while an asyncio task is suspended on
        this operation."""
    @property
    def _wait_reason(self) -> str:
        """Go's wait reason of this operation ("chan receive"...)."""

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
"""Go's nil channel: every send and receive on it blocks for ever (or until
``timeout=``), so a ``select`` case on it never proceeds; closing it raises
``ChanClosedError("close of nil channel")``."""

_Case = Callable[..., Any] | tuple[Callable[..., Any], Any]

def select(*cases: _Case, default: bool = False, timeout: float | None = None) -> tuple[int, Any]:
    """Go's ``select``: waits until one of the cases can proceed, performs exactly
    that one (chosen uniformly at random among those ready at once) and returns
    ``(index, value)``.

    A case is one channel operation, written as the bound method that would
    perform it alone:

    - ``ch.recv``: receive; ``value`` is the value received (``None`` if ``ch`` is
      closed and drained);
    - ``ch.recv_ok``: receive; ``value`` is ``(v, ok)``, ``ok`` False once ``ch`` is
      closed and drained (Go's ``v, ok := <-ch``);
    - ``(ch.send, v)``: send ``v``; ``value`` is ``None``. A send case on a closed
      channel raises ``ChanClosedError("send on closed channel")`` when chosen.

    ``index`` is the case's position in ``cases``. A case on ``nilchan`` never
    proceeds, and ``select()`` with no case blocks for ever, as in Go.

    ``default=True`` is Go's ``default:`` branch: when no case can proceed at once,
    ``select`` returns ``(-1, None)`` without blocking.

    ``timeout=`` is in seconds (``None``: wait for ever; ``0`` or less: one attempt):
    when it expires before a case could proceed, the builtin ``TimeoutError`` is
    raised and no case has been performed. Waiting releases the GIL; in the
    main thread Ctrl-C raises ``KeyboardInterrupt``, again with no case
    performed. A case that is not one of the three forms raises ``TypeError``.

    Example: ``i, v = select(results.recv, (jobs.send, job), after(1.0).recv)``.
    """

def select_async(
    *cases: _Case, default: bool = False, timeout: float | None = None
) -> _Awaitable[tuple[int, Any]]:
    """``await select_async(*cases, default=False, timeout=None)``: ``select`` from a
    coroutine, with the same cases, result, ``default=`` and ``timeout=`` (on
    expiry ``TimeoutError`` is raised and no case has been performed). The
    awaitable does nothing until awaited; while it waits, the event loop runs
    other tasks; cancelling it performs no case.
    """

# sync

_ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]

class _Context(Protocol):
    def done(self) -> Chan[Any]: ...
    def err(self) -> BaseException | None: ...

@final
class WaitGroup:
    """A Go wait group: ``WaitGroup()``; ``add``, ``done``, ``wait``, ``go``."""

    def __new__(cls) -> WaitGroup: ...
    def add(self, delta: int = 1) -> None:
        """Adds delta to the counter; ValueError if it would go negative."""
    def done(self) -> None:
        """Decrements the counter by one."""
    def wait(self, *, timeout: float | None = None) -> None:
        """Blocks until the counter is zero."""
    def wait_async(self, *, timeout: float | None = None) -> Awaitable[None]:
        """``await wg.wait_async()``: wait from a coroutine."""
    def go(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Runs fn(*args, **kwargs) as a goroutine counted by the group."""

@final
class Mutex:
    """A Go mutual exclusion lock: ``Mutex()``; not reentrant, not owned."""

    def __new__(cls) -> Mutex: ...
    def lock(self, *, timeout: float | None = None) -> None:
        """Locks the mutex, blocking until it is available."""
    def unlock(self) -> None:
        """Unlocks the mutex; RuntimeError if it is not locked."""
    def try_lock(self) -> bool:
        """Locks the mutex if it is free now; returns whether it did."""
    @property
    def locked(self) -> bool:
        """True while the mutex is locked."""
    def __enter__(self) -> None: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...
    def lock_async(self, *, timeout: float | None = None) -> Awaitable[None]:
        """``await mu.lock_async()``: lock from a coroutine."""
    def __aenter__(self) -> Awaitable[None]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> Awaitable[None]: ...

@final
class RWMutex:
    """A Go reader/writer lock: ``RWMutex()``; a waiting writer blocks new readers."""

    def __new__(cls) -> RWMutex: ...
    def lock(self, *, timeout: float | None = None) -> None:
        """Locks for writing."""
    def unlock(self) -> None:
        """Unlocks for writing; RuntimeError if it is not write-locked."""
    def try_lock(self) -> bool:
        """Locks for writing if that needs no waiting; returns whether it did."""
    def rlock(self, *, timeout: float | None = None) -> None:
        """Locks for reading."""
    def runlock(self) -> None:
        """Undoes one rlock; RuntimeError if it is not read-locked."""
    def try_rlock(self) -> bool:
        """Locks for reading if that needs no waiting; returns whether it did."""
    def rlocker(self) -> RLocker:
        """A Locker whose lock/unlock take the read lock."""
    def __enter__(self) -> None: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...
    def lock_async(self, *, timeout: float | None = None) -> Awaitable[None]:
        """``await rw.lock_async()``: lock for writing from a coroutine."""
    def rlock_async(self, *, timeout: float | None = None) -> Awaitable[None]:
        """``await rw.rlock_async()``: lock for reading from a coroutine."""
    def __aenter__(self) -> Awaitable[None]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> Awaitable[None]: ...

@final
class RLocker:
    """The Locker of ``RWMutex.rlocker()``: lock/unlock take the read lock."""

    def lock(self, *, timeout: float | None = None) -> None:
        """Takes the read lock."""
    def unlock(self) -> None:
        """Releases the read lock."""
    def __enter__(self) -> None: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...

@final
class Cond:
    """A Go condition variable: ``Cond(lock=None)``; L is any Locker."""

    def __new__(cls, lock: Any = None) -> Cond: ...
    @property
    def L(self) -> Any:
        """The Locker held while observing or changing the condition."""
    def wait(self, *, timeout: float | None = None) -> None:
        """Unlocks L, waits for signal or broadcast, locks L again."""
    def wait_async(self, *, timeout: float | None = None) -> Coroutine[Any, Any, None]:
        """``await cond.wait_async()``: wait from a coroutine (asyncio or trio)."""
    def signal(self) -> None:
        """Wakes one waiting party, if any."""
    def broadcast(self) -> None:
        """Wakes every waiting party."""

@final
class Once:
    """Go's sync.Once: ``once.do(fn)`` calls fn only on the first call."""

    def __new__(cls) -> Once: ...
    def do(self, fn: Callable[[], object], /) -> None:
        """Calls fn() if this is the first call of do on this Once."""

@final
class Semaphore:
    """A weighted semaphore (golang.org/x/sync/semaphore): ``Semaphore(n)``."""

    def __new__(cls, n: int) -> Semaphore: ...
    def acquire(
        self, n: int = 1, *, ctx: _Context | None = None, timeout: float | None = None
    ) -> None:
        """Acquires n tokens, blocking until they are available (FIFO)."""
    def try_acquire(self, n: int = 1) -> bool:
        """Acquires n tokens if they are free now and nobody waits."""
    def release(self, n: int = 1) -> None:
        """Releases n tokens; RuntimeError if more than held."""
    def acquire_async(
        self, n: int = 1, *, ctx: _Context | None = None, timeout: float | None = None
    ) -> Awaitable[None]:
        """``await sem.acquire_async(n)``: acquire from a coroutine."""

# atomic

_I = TypeVar("_I", bound=_AtomicInt)

class _AtomicInt:
    def __new__(cls: type[_I], value: int = 0, /) -> _I: ...
    def load(self) -> int:
        """Atomically loads the value."""
    def store(self, v: int) -> None:
        """Atomically stores v (OverflowError if out of range)."""
    def add(self, delta: int) -> int:
        """Atomically adds delta (wrapping around) and returns the new value."""
    def swap(self, v: int) -> int:
        """Atomically stores v and returns the previous value."""
    def compare_and_swap(self, old: int, new: int) -> bool:
        """Stores new if the value is old; returns whether it did."""
    def and_(self, mask: int) -> int:
        """Atomically ANDs mask into the value; returns the old value."""
    def or_(self, mask: int) -> int:
        """Atomically ORs mask into the value; returns the old value."""

@final
class Int32(_AtomicInt):
    """An atomic int32 (Go's atomic.Int32)."""

@final
class Int64(_AtomicInt):
    """An atomic int64 (Go's atomic.Int64)."""

@final
class Uint32(_AtomicInt):
    """An atomic uint32 (Go's atomic.Uint32)."""

@final
class Uint64(_AtomicInt):
    """An atomic uint64 (Go's atomic.Uint64)."""

@final
class Bool:
    """An atomic boolean (Go's atomic.Bool)."""

    def __new__(cls, value: bool = False, /) -> Bool: ...
    def load(self) -> bool:
        """Atomically loads the value."""
    def store(self, v: bool) -> None:
        """Atomically stores v."""
    def swap(self, v: bool) -> bool:
        """Atomically stores v and returns the previous value."""
    def compare_and_swap(self, old: bool, new: bool) -> bool:
        """Stores new if the value is old; returns whether it did."""

@final
class Value:
    """Go's atomic.Value: holds any object (one type; not None)."""

    def __new__(cls) -> Value: ...
    def load(self) -> Any:
        """Atomically loads the value (None if nothing was stored yet)."""
    def store(self, v: Any) -> None:
        """Atomically stores v."""
    def swap(self, v: Any) -> Any:
        """Atomically stores v and returns the previous value."""
    def compare_and_swap(self, old: Any, new: Any) -> bool:
        """Stores new if the current value is old (identity); returns whether it did."""

def go(fn: Callable[..., Any] | Coroutine[Any, Any, Any], /, *args: Any, **kwargs: Any) -> None:
    """Runs ``fn(*args, **kwargs)`` concurrently, as Go's ``go`` statement.

    A plain callable runs on the runtime's pool of threads, which reuses idle
    threads and grows when all are busy. A coroutine function (or a coroutine
    object) runs as a task: on the calling thread's running asyncio loop if
    there is one, as a trio system task when called from a trio task, else
    on the runtime's background loop. An exception that escapes the
    goroutine is reported through ``threading.excepthook``. Goroutines never
    keep the process alive. Never blocks; TypeError if ``fn`` is not
    callable (or is a coroutine object given arguments).
    """

def _submit(job: object) -> bool: ...
def _spawn(fn_: object, args: object, kwargs: object, frame: object) -> bool:
    """Queues go(fn, *args, **kwargs) called from frame; True: start a worker."""

def _record(frame: FrameType | None) -> int:
    """A new coroutine goroutine's id, for go() called from frame (site kept until _forget)."""

def _forget(id: int) -> None:
    """The coroutine goroutine id has finished: forget its call site."""

def _start_task(coro: Coroutine[Any, Any, Any], loop_: Any, id: int) -> None:
    """Runs coro as the coroutine goroutine id, a task of loop_ (on its thread)."""

def _task_done(task: Any) -> None:
    """The done callback of a coroutine goroutine's task."""

def _call_site(id: int) -> tuple[CodeType | None, int]:
    """The code and f_lasti of the go() call of the live coroutine goroutine id."""

def _set_tracking(on: bool) -> None: ...
def _coroutine_tasks() -> list[tuple[Any, int]]: ...
def _coroutine_task_count() -> int: ...
def _task_goroutine(task: object) -> int | None: ...
def _machine_busy() -> bool: ...
def _arrive() -> tuple[Any, bool]: ...
def _start_worker() -> None: ...
def _next_job(finished: bool) -> Any: ...
def _idle_workers() -> int: ...
def _thread_goroutines() -> int:
    """Thread goroutines queued or running."""

def _queued_jobs() -> list[tuple[Any, tuple[Any, ...], dict[str, Any], int, Any, int]]:
    """The jobs (fn, args, kwargs, id, code, lasti) queued for a pool thread, oldest first."""

def _wait_states() -> dict[int, tuple[str, float, bool, bool]]:
    """Every thread in a gocurrent wait: ident -> (reason, seconds, has a timeout, pending)."""

def _activity() -> int:
    """How many waits began or ended so far."""

def _begin_exit() -> None: ...
def _after_fork_in_child(main_thread_ident: int) -> None: ...

# Timers

@final
class Timer:
    """Go's ``time.Timer``: sends the firing time (``time.monotonic()``) on ``.c`` once."""

    def __new__(cls, seconds: float, /) -> Timer: ...
    @property
    def c(self) -> Chan[float]:
        """The channel on which the firing time is delivered (``nilchan`` for an
        after_func timer). As in Go 1.23, it reports ``len`` 0 and ``cap`` 0."""
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
