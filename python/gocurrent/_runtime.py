"""The goroutine runtime: the thread pool's worker loop and the event loop
that runs coroutine goroutines started outside any running loop.

The pool's queue lives in Rust (``_native._submit``/``_native._next_job``),
which also starts the pool's threads, without the GIL. The loop that runs
jobs is Python, so tracebacks and profilers see Python goroutines, and
only the thread's entry point is Rust below user code. Goroutine threads
do not register with ``threading`` when they start (a dummy ``Thread``
object per thread was a quarter of the cost of a goroutine that needs a
new thread: 141 -> 110 us per link of a 10,000-goroutine daisy chain);
``threading.current_thread()`` makes one on demand, and an exception that
escapes a goroutine is reported as escaping the thread ``goroutine-<id>``.

The goroutine registry (read by ``gocurrent.runtime``) costs a spawn only
an id and the caller's code and instruction (``f_code``, ``f_lasti``; the
line is worked out from them when asked): a thread goroutine's job tuple carries
them (``(fn, args, kwargs, id, code, lasti)``) and the worker keeps the job
it runs in its local ``g`` (which ``gocurrent.runtime`` reads from the
worker's frame); Rust counts the jobs and lists those still queued
(``_native._queued_jobs``). A coroutine goroutine's id is the value of its
task in ``_native._coroutine_tasks()`` (asyncio) or ``trio_tasks`` (trio, with
the thread of its run); Rust keeps its call site until it ends (``_native._record``/``_forget``:
no tuple alive per asyncio goroutine, which would make the garbage collector
run more often).
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import os
import sys
import threading
import types
from collections.abc import Callable, Coroutine
from typing import Any

from . import _native

_CO_COROUTINE = inspect.CO_COROUTINE
_record = _native._record
_forget = _native._forget
_getframe = sys._getframe
_lock = threading.Lock()
_background_loop: asyncio.AbstractEventLoop | None = None
_background_ident: int | None = None
# The ids of coroutine goroutines handed to the background loop, not yet tasks.
_starting: set[int] = set()
# Coroutine goroutines of trio runs (system tasks, see _trio.spawn): each
# task with its goroutine id and the thread of its run, until it finishes.
trio_tasks: dict[Any, tuple[int, int]] = {}
# Threads of the pool (goroutine threads, running a job or idle).
worker_idents: set[int] = set()
# The pytest plugin's tracker (gocurrent.testing), when it is enabled.
track: Any = None


def caller(depth: int) -> types.FrameType | None:
    """The frame ``depth`` levels above the caller: where ``go`` was called
    (None for a goroutine started by a timer, from Rust)."""
    try:
        return _getframe(depth + 1)
    except ValueError:
        return None


_PACKAGE = os.path.dirname(__file__) + os.sep


def user_caller() -> types.FrameType | None:
    """The innermost frame outside gocurrent: where a goroutine started by
    gocurrent on the user's behalf (singleflight) was asked for."""
    f: types.FrameType | None = _getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE):
        f = f.f_back
    return f


def tracked_spawn(gid: int) -> None:
    """A goroutine starts (called by ``_native._spawn`` while tracking)."""
    if track is not None:
        track.spawned(gid)


def report(exc: BaseException, gid: int | None = None) -> None:
    """Reports an exception that escaped a goroutine (``gid``, else the
    calling one), as threading does; the pytest plugin takes it instead
    when it knows the test that started the goroutine."""
    if isinstance(exc, SystemExit):
        return
    if track is not None and track.failed(exc, gid):
        return
    thread = threading.current_thread()  # made on demand on a goroutine thread
    if threading.get_ident() in worker_idents:
        running = gid if gid is not None else _running_gid()
        thread.name = f"goroutine-{running}" if running is not None else "goroutine"
    args = threading.ExceptHookArgs([type(exc), exc, exc.__traceback__, thread])
    try:
        threading.excepthook(args)
    finally:
        del args


def _running_gid() -> int | None:
    """The id of the job the calling goroutine thread runs (its worker
    loop's local ``g``)."""
    f: types.FrameType | None = _getframe(1)
    while f is not None and f.f_code is not _run_jobs.__code__:
        f = f.f_back
    job = f.f_locals.get("g") if f is not None else None
    return job[3] if job else None


def _worker() -> None:
    # A native thread (started without the GIL), unknown to threading.
    ident = threading.get_ident()
    worker_idents.add(ident)
    try:
        _run_jobs()
    finally:
        worker_idents.discard(ident)


def _run_jobs() -> None:
    job, more = _native._arrive()
    if more:
        _native._start_worker()
    next_job = _native._next_job
    if job is None:
        job = next_job(False)
    while job is not None:
        # g: the running goroutine's job, read by gocurrent.runtime.
        fn, args, kwargs, gid, _, _ = g = job
        job = None
        if track is not None:
            track.started(gid)
        try:
            fn(*args, **kwargs)
        except BaseException as exc:
            report(exc, gid)
        if track is not None:
            track.finished(gid)
        # Free the goroutine's function and arguments before idling.
        del fn, args, kwargs
        g = None  # noqa: F841 (read from the frame)
        job = next_job(True)


def submit(
    fn: Callable[..., object],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    frame: types.FrameType | None,
) -> None:
    """Submits fn(*args, **kwargs) to the pool: an idle goroutine thread
    runs it, else a new one soon. ``frame``: where ``go`` was called."""
    if _native._spawn(fn, args, kwargs, frame):
        _native._start_worker()


def tracked_finish(gid: int) -> None:
    """A coroutine goroutine ended (called by ``_native._task_done`` while tracking)."""
    if track is not None:
        track.finished(gid)


_start_task = _native._start_task


def _start_background_task(
    coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop, gid: int
) -> None:
    _start_task(coro, loop, gid)
    _starting.discard(gid)


def _run_background_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _background_ident
    _background_ident = threading.get_ident()
    asyncio.set_event_loop(loop)
    loop.run_forever()


def background_loop() -> asyncio.AbstractEventLoop:
    """The runtime's own event loop (started on first use, in a daemon thread)."""
    global _background_loop
    with _lock:
        if _background_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=_run_background_loop, args=(loop,), name="gocurrent-loop", daemon=True
            ).start()
            _background_loop = loop
        return _background_loop


def current_trio_task() -> Any:
    """The trio task calling, or None outside a trio task."""
    trio = sys.modules.get("trio")  # never imported by gocurrent itself
    if trio is None:
        return None
    try:
        return trio.lowlevel.current_task()
    except RuntimeError:
        return None


def _in_trio_task() -> bool:
    return current_trio_task() is not None


def is_cancellation(exc: BaseException) -> bool:
    """True for asyncio's CancelledError and trio's Cancelled."""
    if isinstance(exc, asyncio.CancelledError):
        return True
    trio = sys.modules.get("trio")
    return trio is not None and isinstance(exc, trio.Cancelled)


def spawn_coroutine(coro: Coroutine[Any, Any, Any], gid: int, background: bool = False) -> None:
    """Runs coro as the coroutine goroutine ``gid`` (from ``_record``, called
    where ``go`` was called) as a task: on this thread's running asyncio
    loop, else as a system task of this thread's trio run, else (or if
    ``background``) on the runtime's background loop. Every kind is a
    goroutine of gocurrent.runtime until it finishes."""
    loop = None if background else asyncio._get_running_loop()  # None where it raises
    if loop is None and not background and _in_trio_task():
        from . import _trio

        _trio.spawn(coro, gid)
        return
    if loop is None:
        loop = background_loop()
        _starting.add(gid)
        loop.call_soon_threadsafe(_start_background_task, coro, loop, gid)
    else:
        _start_task(coro, loop, gid)


def _wg_thread(
    wg: Any, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    try:
        fn(*args, **kwargs)
    except BaseException as exc:
        report(exc)
    finally:
        wg.done()


async def _wg_coroutine(wg: Any, coro: Coroutine[Any, Any, Any]) -> None:
    try:
        await coro
    except BaseException as exc:
        if is_cancellation(exc):
            raise
        report(exc)
    finally:
        wg.done()


def coroutine_of(
    fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Coroutine[Any, Any, Any] | None:
    """What ``go(fn, *args, **kwargs)`` runs: the coroutine to run as a task
    (fn is a coroutine object, or a coroutine function, called here), or
    None when fn is a plain callable that runs on a pool thread. Raises
    TypeError as ``go`` does."""
    if type(fn) is types.FunctionType:  # the common case, decided by one flag
        return fn(*args, **kwargs) if fn.__code__.co_flags & _CO_COROUTINE else None
    if type(fn) is types.BuiltinMethodType:  # ch.send, wg.done, list.append...
        return None  # never a coroutine (what the checks below find, at a tenth of the cost)
    if isinstance(fn, Coroutine):
        if args or kwargs:
            raise TypeError("go() takes no arguments after a coroutine object")
        return fn
    if inspect.iscoroutinefunction(fn):  # partials, methods, wrapped functions
        return fn(*args, **kwargs)
    if callable(fn):
        return None
    raise TypeError(f"go() argument must be callable, not {type(fn).__name__}")


def wg_go(wg: Any, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``WaitGroup.go``'s goroutine (the group's counter was incremented):
    runs fn like ``go`` and calls ``wg.done()`` when it returns or raises,
    after reporting the exception."""
    coro = coroutine_of(fn, args, kwargs)
    try:
        frame: types.FrameType | None = _getframe(1)  # the caller of wg.go
    except ValueError:
        frame = None
    if coro is None:
        if _native._spawn(_wg_thread, (wg, fn, args, kwargs), {}, frame):
            _native._start_worker()
    else:
        spawn_coroutine(_wg_coroutine(wg, coro), _record(frame))


def _after_fork_in_child() -> None:
    global _background_loop, _lock
    _background_loop = None
    _lock = threading.Lock()
    _starting.clear()
    trio_tasks.clear()
    worker_idents.clear()
    ident = threading.main_thread().ident
    _native._after_fork_in_child(ident if ident is not None else 0)


# Goroutines never keep the process alive, and must not re-enter the
# interpreter while it finalizes: stop them before finalization starts.
# atexit runs after non-daemon threads were joined (they may still need
# goroutines until then) and, being registered at import, after the atexit
# callbacks registered later.
atexit.register(_native._begin_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
