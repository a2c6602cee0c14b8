"""The goroutine runtime: the thread pool's worker loop and the event loop
that runs coroutine goroutines started outside any running loop.

The pool's queue lives in Rust (``_native._submit``/``_native._next_job``),
which also starts the pool's threads, without the GIL. The loop that runs
jobs is Python: goroutine threads register with threading under the name
``goroutine-N`` (``threading.enumerate()``, profilers and
``threading.excepthook`` see them, as dummy threads: they are never
joined) and only the thread's entry point is Rust below user code.
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import itertools
import os
import sys
import threading
import types
from collections.abc import Callable, Coroutine
from typing import Any

from . import _native

_CO_COROUTINE = inspect.CO_COROUTINE
_counter = itertools.count(1)
_lock = threading.Lock()
_background_loop: asyncio.AbstractEventLoop | None = None
# Strong references to running coroutine goroutines, until they finish.
_tasks: set[asyncio.Task[Any]] = set()


def report(exc: BaseException) -> None:
    """Reports an exception that escaped a goroutine, as threading does."""
    if isinstance(exc, SystemExit):
        return
    args = threading.ExceptHookArgs([type(exc), exc, exc.__traceback__, threading.current_thread()])
    try:
        threading.excepthook(args)
    finally:
        del args


def _worker() -> None:
    # A native thread (started without the GIL): registered with threading,
    # under its goroutine name, as the dummy thread of a foreign thread.
    threading.current_thread().name = f"goroutine-{next(_counter)}"
    job, more = _native._arrive()
    if more:
        _native._start_worker()
    next_job = _native._next_job
    if job is None:
        job = next_job(False)
    while job is not None:
        fn, args, kwargs = job
        job = None
        try:
            fn(*args, **kwargs)
        except BaseException as exc:
            report(exc)
        # Free the goroutine's function and arguments before idling.
        del fn, args, kwargs
        job = next_job(True)


def submit(fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Submits fn(*args, **kwargs) to the pool: an idle goroutine thread
    runs it, else a new one soon."""
    if _native._submit((fn, args, kwargs)):
        _native._start_worker()


def _task_done(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled():
        exc = task.exception()
        if exc is not None:
            report(exc)


def _start_task(coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> None:
    task = loop.create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_task_done)


def _run_background_loop(loop: asyncio.AbstractEventLoop) -> None:
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


def _in_trio_task() -> bool:
    trio = sys.modules.get("trio")  # never imported by gocurrent itself
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def is_cancellation(exc: BaseException) -> bool:
    """True for asyncio's CancelledError and trio's Cancelled."""
    if isinstance(exc, asyncio.CancelledError):
        return True
    trio = sys.modules.get("trio")
    return trio is not None and isinstance(exc, trio.Cancelled)


def spawn_coroutine(coro: Coroutine[Any, Any, Any]) -> None:
    """Runs coro as a task: on this thread's running asyncio loop, else as
    a system task of this thread's trio run, else on the runtime's
    background loop."""
    loop = asyncio._get_running_loop()  # None where asyncio.get_running_loop() raises
    if loop is None and _in_trio_task():
        from . import _trio

        _trio.spawn(coro)
        return
    if loop is None:
        loop = background_loop()
        loop.call_soon_threadsafe(_start_task, coro, loop)
    else:
        _start_task(coro, loop)


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
    if coro is None:
        submit(_wg_thread, (wg, fn, args, kwargs), {})
    else:
        spawn_coroutine(_wg_coroutine(wg, coro))


def _after_fork_in_child() -> None:
    global _background_loop, _lock
    _background_loop = None
    _lock = threading.Lock()
    _tasks.clear()
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
