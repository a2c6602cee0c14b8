"""Seeing into goroutines: what Go's runtime gives a programmer whose
program hangs.

``num_goroutine()`` counts the goroutines started by ``go``, ``wg.go``,
errgroups and ``after_func`` that have not finished; ``goroutines()`` lists
them with Go's wait reason as their state; ``stack()`` dumps them all in
Go's format; ``dump_on_signal()`` prints that dump on SIGQUIT (as Go does,
without exiting). ``DeadlockError`` is Go's "all goroutines are asleep -
deadlock!", raised in the main thread's waiting call.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import signal
import sys
import threading
import time
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import _native, _runtime
from ._native import DeadlockError

__all__ = [
    "DeadlockError",
    "Goroutine",
    "dump_on_signal",
    "goroutines",
    "num_goroutine",
    "stack",
]

_PACKAGE_DIR = os.path.dirname(_runtime.__file__)
# gocurrent's own frames below a goroutine's (_trio.py is not imported here:
# gocurrent never imports trio itself).
_RUNTIME_FILES = frozenset({_runtime.__file__, __file__, os.path.join(_PACKAGE_DIR, "_trio.py")})


@dataclass(frozen=True)
class Goroutine:
    """A snapshot of one goroutine (see ``goroutines()``)."""

    id: int
    """Unique for the process, as Go's goroutine ids (1 is the main thread)."""
    kind: str
    """``"thread"`` or ``"coroutine"``."""
    state: str
    """Go's wait reason (``"chan receive"``, ``"sync.Mutex.Lock"``...) while
    it waits in a gocurrent call; ``"running"`` otherwise (``time.sleep``
    and I/O included); ``"runnable"`` before it first runs (a thread
    goroutine still queued for a pool thread too), and once woken from a
    wait until it runs again."""
    waiting_for: float | None
    """Seconds spent in the current wait so far, or None."""
    created_by: str
    """``"file:line"`` of the ``go(...)`` call."""
    name: str
    """The goroutine's function (``module.qualname``)."""
    stack: traceback.StackSummary
    """Where it is now, most recent call last (as ``traceback`` prints)."""


@dataclass
class _Entry:
    """One goroutine as the runtime sees it (a ``Goroutine`` plus what the
    dump and the deadlock check need)."""

    g: Goroutine
    frames: list[types.FrameType]  # most recent first
    creator: str  # the function that called go()
    asleep: bool  # in a gocurrent wait without timeout, not woken yet


def num_goroutine() -> int:
    """The number of goroutines that exist now (Go's
    ``runtime.NumGoroutine``, without the main one): started by ``go``,
    ``wg.go``, errgroups or ``after_func`` (once its function runs) and not
    finished, thread and coroutine goroutines alike (asyncio or trio).
    Never blocks."""
    return (
        _native._thread_goroutines()
        + _native._coroutine_task_count()
        + len(_runtime._starting)
        + len(_runtime.trio_tasks)
    )


def goroutines() -> list[Goroutine]:
    """A snapshot of the goroutines ``num_goroutine()`` counts, ordered by
    id (the main thread is not listed; a thread goroutine still queued for
    a pool thread is ``"runnable"``, with an empty stack). Never blocks."""
    return [e.g for e in _entries(include_main=False)]


def stack() -> str:
    """Every goroutine in Go's dump format, the main thread first as
    goroutine 1: ``goroutine 7 [chan receive, 2 minutes]:`` (minutes only
    from one minute on), its frames most recent first, then ``created by
    ... at file:line``. Never blocks."""
    return "\n\n".join(_format(e) for e in _entries(include_main=True)) + "\n"


def _dump(signum: int, frame: types.FrameType | None) -> None:
    sys.stderr.write(f"SIGQUIT: dump of goroutines (signal {signum})\n\n" + stack())
    sys.stderr.flush()


def dump_on_signal(signum: int = signal.SIGQUIT) -> None:
    """From now on, the signal ``signum`` prints ``stack()`` to stderr and
    the program goes on (Go's SIGQUIT dump, without the exit). Works while
    the main thread is blocked in a gocurrent call (it looks at signals
    every 20 ms). Must be called from the main thread (``signal.signal``'s
    rule: ValueError otherwise); TypeError if ``signum`` is not an int."""
    if isinstance(signum, bool) or not isinstance(signum, int):
        raise TypeError(f"signal number must be an int, not {type(signum).__name__}")
    signal.signal(signum, _dump)


# ---------------------------------------------------------------------------
# Snapshots


def _func_name(fn: Any) -> str:
    fn = inspect.unwrap(fn) if callable(fn) else fn
    if isinstance(fn, functools.partial):
        return _func_name(fn.func)
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    module = getattr(fn, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


def _code_name(code: types.CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)


def _frame_name(f: types.FrameType) -> str:
    module = f.f_globals.get("__name__")
    name = _code_name(f.f_code)
    return f"{module}.{name}" if module else name


def _user_frames(frames: Iterator[types.FrameType]) -> list[types.FrameType]:
    return [f for f in frames if f.f_code.co_filename not in _RUNTIME_FILES]


def _thread_frames(top: types.FrameType | None, stop: types.CodeType | None) -> list:
    """The frames of a thread from its top down to (not including) the
    frame running ``stop``: most recent first."""
    frames = []
    f = top
    while f is not None and f.f_code is not stop:
        frames.append(f)
        f = f.f_back
    return frames


def _summary(frames: list[types.FrameType]) -> traceback.StackSummary:
    return traceback.StackSummary.extract(
        ((f, f.f_lineno) for f in reversed(frames)), lookup_lines=False
    )


def _line(code: types.CodeType, lasti: int) -> int:
    """The line of the instruction at byte offset ``lasti`` (a frame's
    ``f_lasti``)."""
    for start, end, line in code.co_lines():
        if start <= lasti < end and line is not None:
            return line
    return code.co_firstlineno


def _created(code: types.CodeType | None, lasti: int) -> tuple[str, str]:
    """``(created_by, creator)``: the ``file:line`` of the go() call and
    the function that made it."""
    if code is None:
        return "gocurrent.after_func", "gocurrent.after_func"
    return f"{code.co_filename}:{_line(code, lasti)}", _code_name(code)


def _state(wait: tuple[str, float, bool, bool] | None) -> tuple[str, float | None, bool]:
    """(state, waiting_for, asleep) of a wait as the drivers report it:
    (reason, seconds, has a timeout, pending)."""
    if wait is None:
        return "running", None, False
    reason, seconds, has_timeout, pending = wait
    if not pending:  # woken, not yet running
        return "runnable", None, False
    return reason, seconds, not has_timeout


def _coroutine_chain(coro: Any) -> tuple[list[types.FrameType], Any]:
    """The frames of a suspended coroutine's await chain (outermost first)
    and the innermost object it awaits."""
    frames = []
    obj, last = coro, coro
    for _ in range(1000):  # a bound, should an awaitable refer to itself
        if obj is None:
            break
        f = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
        if f is not None:
            frames.append(f)
        last = obj
        obj = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
    return frames, last


def _job_entry(
    job: Any, state: str, waiting_for: float | None, frames: list[types.FrameType], asleep: bool
) -> _Entry:
    """The entry of a thread goroutine from its job ``(fn, args, kwargs,
    id, code, lasti)``: named after the user's function (inside wg.go's and
    errgroup's wrappers)."""
    fn, args, _kwargs, gid, code, lasti = job
    if fn is _runtime._wg_thread or getattr(fn, "__func__", None) is _group_run():
        fn = args[1]  # wg.go's and errgroup's wrappers: the user's function
    created_by, creator = _created(code, lasti)
    g = Goroutine(gid, "thread", state, waiting_for, created_by, _func_name(fn), _summary(frames))
    return _Entry(g, frames, creator, asleep)


def _queued_entries(queued: list[Any]) -> list[_Entry]:
    """The thread goroutines of ``queued``, jobs no pool thread has taken."""
    return [_job_entry(job, "runnable", None, [], False) for job in queued]


def _thread_entries(
    current: dict[int, types.FrameType], waits: dict[int, tuple[str, float, bool, bool]]
) -> list[_Entry]:
    entries = []
    worker_code = _runtime._run_jobs.__code__
    for ident in list(_runtime.worker_idents):
        top = current.get(ident)
        frames = _thread_frames(top, worker_code)
        f = frames[-1].f_back if frames else top
        if f is None or f.f_code is not worker_code:
            continue
        local = f.f_locals
        job = local.get("g")
        if job is None:
            job = local.get("job")  # taken (from the backlog), not started yet
            if job is not None:
                entries.append(_job_entry(job, "runnable", None, [], False))
            continue  # else idle
        state, waiting_for, asleep = _state(waits.get(ident))
        entries.append(_job_entry(job, state, waiting_for, _user_frames(iter(frames)), asleep))
    return entries


def _group_run() -> Any:
    from .errgroup import Group

    return Group._run


def _user_coroutine(coro: Any) -> Any:
    """The user's coroutine, inside gocurrent's wrappers (trio's goroutine
    task, wg.go's, errgroup's, singleflight's: each holds it as ``coro``)."""
    for _ in range(10):  # wrappers nest a few deep at most
        frame = getattr(coro, "cr_frame", None)
        if frame is None or not frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            break
        inner = frame.f_locals.get("coro")
        if inner is None:
            break
        coro = inner
    return coro


def _loop_thread(task: asyncio.Task[Any]) -> int | None:
    loop = task.get_loop()
    if loop is _runtime._background_loop:
        return _runtime._background_ident
    return getattr(loop, "_thread_id", None)


def _trio_wait_state(aw: Any, task: Any) -> tuple[str, float, bool, bool]:
    """The wait state of a trio ``task`` suspended on the awaitable ``aw``,
    as ``Awaitable._wait_state`` gives an asyncio task's: the wait is
    described on the task (see ``gocurrent._trio.wait``)."""
    wait = task.custom_sleep_data
    if type(wait) is tuple and len(wait) == 2:
        since, has_timeout = wait
        return aw._wait_reason, max(0.0, time.monotonic() - since), has_timeout, True
    return aw._wait_reason, 0.0, False, False  # woken, not running yet


def _coroutine_entry(
    gid: int,
    coro: Any,
    thread: int | None,
    waits: dict[int, tuple[str, float, bool, bool]],
    trio_task: Any = None,
) -> _Entry:
    """The entry of a coroutine goroutine running ``coro`` (its task's
    coroutine) on an event loop of the thread ``thread``, or in the trio
    task ``trio_task`` of a run on that thread."""
    created_by, creator = _created(*_native._call_site(gid))
    chain, last = _coroutine_chain(coro)
    user = list(reversed(_user_frames(iter(chain))))
    name = _func_name(_user_coroutine(coro))
    if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
        state, waiting_for, asleep = "runnable", None, False
    elif isinstance(last, _native.Awaitable):
        wait = last._wait_state if trio_task is None else _trio_wait_state(last, trio_task)
        state, waiting_for, asleep = _state(wait)
    else:
        state, waiting_for, asleep = "running", None, False
    # A coroutine of a loop whose thread is asleep is asleep too.
    loop_wait = waits.get(thread or 0)
    if not asleep and loop_wait is not None and _state(loop_wait)[2]:
        asleep = True
    g = Goroutine(gid, "coroutine", state, waiting_for, created_by, name, _summary(user))
    return _Entry(g, user, creator, asleep)


def _starting_entries() -> list[_Entry]:
    """The coroutine goroutines handed to the background loop, not yet tasks."""
    entries = []
    for gid in list(_runtime._starting):
        created_by, creator = _created(*_native._call_site(gid))
        g = Goroutine(gid, "coroutine", "runnable", None, created_by, "", _summary([]))
        entries.append(_Entry(g, [], creator, False))
    return entries


def _coroutine_entries(waits: dict[int, tuple[str, float, bool, bool]]) -> list[_Entry]:
    entries = []
    for task, gid in _native._coroutine_tasks():
        coro, thread = task.get_coro(), _loop_thread(task)
        entries.append(_coroutine_entry(gid, coro, thread, waits))
    for trio_task, (gid, thread) in list(_runtime.trio_tasks.items()):
        # A trio goroutine runs on the thread of the run that started it.
        entries.append(_coroutine_entry(gid, trio_task.coro, thread, waits, trio_task))
    return entries


def _main_entry(
    current: dict[int, types.FrameType], waits: dict[int, tuple[str, float, bool, bool]]
) -> _Entry | None:
    ident = threading.main_thread().ident
    if ident is None or ident not in current:
        return None
    frames = _user_frames(iter(_thread_frames(current[ident], None)))
    state, waiting_for, asleep = _state(waits.get(ident))
    g = Goroutine(1, "thread", state, waiting_for, "", "main", _summary(frames))
    return _Entry(g, frames, "", asleep)


def _entries(include_main: bool) -> list[_Entry]:
    # Those not started yet first: one that starts meanwhile is then also
    # seen started, and listed once, as such.
    starting = _starting_entries()
    queued = _native._queued_jobs()
    current = sys._current_frames()
    waits = _native._wait_states()
    started = _thread_entries(current, waits) + _coroutine_entries(waits)
    ids = {e.g.id for e in started}
    entries = started + [e for e in _queued_entries(queued) + starting if e.g.id not in ids]
    entries.sort(key=lambda e: e.g.id)
    if include_main:
        main = _main_entry(current, waits)
        if main is not None:
            entries.insert(0, main)
    return entries


def _format(e: _Entry) -> str:
    g = e.g
    header = f"goroutine {g.id} [{g.state}"
    if g.waiting_for is not None and g.waiting_for >= 60:
        header += f", {int(g.waiting_for // 60)} minutes"
    lines = [header + "]:"]
    for f in e.frames:
        lines.append(f"{_frame_name(f)}(...)")
        lines.append(f"\t{f.f_code.co_filename}:{f.f_lineno}")
    if g.created_by:
        lines.append(f"created by {e.creator} at {g.created_by}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Deadlock detection (called by the main thread's blocking wait, see
# src/waitstate.rs)

# The *_async twin of each blocking call, by its wait reason.
_ASYNC_TWIN = {
    "chan receive": "recv_async",
    "chan receive (nil chan)": "recv_async",
    "chan send": "send_async",
    "chan send (nil chan)": "send_async",
    "select": "select_async",
    "select (no cases)": "select_async",
    "sync.Mutex.Lock": "lock_async",
    "sync.RWMutex.Lock": "lock_async",
    "sync.RWMutex.RLock": "rlock_async",
    "sync.WaitGroup.Wait": "wait_async",
    "sync.Cond.Wait": "wait_async",
    "semacquire": "acquire_async",
}


def _harmless_handler(signum: int, handler: Any) -> bool:
    """True for a signal handler that can never wake a goroutine: none, the
    default SIGINT one, asyncio's and trio's SIGINT handlers (each raises
    KeyboardInterrupt, or has the run raise it), our own dump."""
    if not callable(handler) or handler is _dump:
        return True
    if signum == signal.SIGINT:
        if handler is signal.default_int_handler:
            return True
        func = getattr(handler, "func", None)  # asyncio.Runner's partial
        if getattr(func, "__qualname__", "") == "Runner._on_sigint":
            return True
        if (
            getattr(handler, "__module__", "") == "trio._core._ki"
            and getattr(handler, "__qualname__", "") == "KIManager.install.<locals>.handler"
        ):
            return True  # trio.run's
    return False


def _others_alive(current: dict[int, types.FrameType]) -> bool:
    """True if a Python thread other than the main one and gocurrent's own
    is alive."""
    own = {threading.main_thread().ident, _runtime._background_ident}
    own |= _runtime.worker_idents
    alive = set(current)
    for t in threading.enumerate():
        if not isinstance(t, threading._DummyThread) and t.is_alive():
            alive.add(t.ident)  # type: ignore[arg-type]
    return bool(alive - own)


def _deadlock_message(reason: str) -> str | None:
    """The DeadlockError message if nothing could ever wake the main
    thread, which waits (for ``reason``, without a timeout), else None."""
    if _native._timers_pending():
        return None
    # Cheap first: every thread goroutine must be in a wait without a
    # timeout (one look per pool thread, no frames, no stacks).
    waits = _native._wait_states()
    asleep = sum(1 for i in list(_runtime.worker_idents) if _state(waits.get(i))[2])
    if asleep < _native._thread_goroutines():
        return None
    if _others_alive(sys._current_frames()):
        return None
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (ValueError, OSError):
            continue
        if not _harmless_handler(signum, handler):
            return None
    entries = _entries(include_main=True)
    threads = sum(1 for e in entries if e.g.kind == "thread") - 1
    if threads != _native._thread_goroutines():
        return None  # a thread goroutine is on its way to or from a pool thread
    if not all(e.asleep for e in entries):
        return None
    message = "all goroutines are asleep - deadlock!\n\n"
    if asyncio._get_running_loop() is not None or _runtime._in_trio_task():
        twin = _ASYNC_TWIN.get(reason, "*_async")
        call = "select_async(...)" if twin == "select_async" else f"x.{twin}()"
        message += (
            f"A coroutine made a blocking call ({reason}) on its event loop's thread, so no "
            f"other coroutine of that loop can run; await the async twin instead: "
            f"`await {call}`.\n\n"
        )
    return message + stack()
