"""The trio driver of gocurrent's wait protocol (see src/py/trio.rs).

Imported only by a program that runs trio: when a trio task awaits an
operation that must wait, or starts a coroutine goroutine.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Coroutine
from time import monotonic
from typing import Any

import trio

from . import _runtime


def waker() -> Callable[[], None]:
    """The wake of the current task: reschedules it, from any thread, once."""
    task = trio.lowlevel.current_task()
    token = trio.lowlevel.current_trio_token()
    thread = threading.get_ident()
    reschedule = trio.lowlevel.reschedule

    def wake() -> None:
        task.custom_sleep_data = None  # woken (see wait): runnable, for gocurrent.runtime
        try:
            if threading.get_ident() == thread:
                reschedule(task)
            else:
                token.run_sync_soon(reschedule, task)
        except trio.RunFinishedError:
            pass  # the run is over: nobody waits any more

    return wake


async def wait(ref: weakref.ref[Any], timeout: float | None) -> Any:
    """Waits for the operation of the awaitable ``ref()`` registered, then
    returns its result.

    A cancellation (or the timeout) aborts the wait only if the operation
    can still be withdrawn; if it completed first, its result is delivered
    and the cancellation comes at the next checkpoint. No value is lost or
    delivered twice. The awaitable holds this coroutine, so this coroutine
    holds it weakly (see src/py/trio.rs); it is alive whenever this runs,
    except while an awaitable dropped during its wait is finalized, when
    the awaitable has withdrawn itself.

    While it waits, the task's ``custom_sleep_data`` is ``(when the wait
    began, has a timeout)`` for gocurrent.runtime (the wait's state); trio
    resets it to None when it reschedules the task, and so does the wake.
    """

    def abort(_raise_cancel: Any) -> trio.lowlevel.Abort:
        aw = ref()
        if aw is None or aw._withdraw():
            return trio.lowlevel.Abort.SUCCEEDED
        return trio.lowlevel.Abort.FAILED

    try:
        task = trio.lowlevel.current_task()
        if timeout is None:
            task.custom_sleep_data = (monotonic(), False)
            await trio.lowlevel.wait_task_rescheduled(abort)
        else:
            with trio.move_on_after(timeout) as scope:
                task.custom_sleep_data = (monotonic(), True)
                await trio.lowlevel.wait_task_rescheduled(abort)
            if scope.cancelled_caught:
                raise _alive(ref)._timeout_error()
    except BaseException:
        aw = ref()
        if aw is not None:
            aw._give_up()
        raise
    return _alive(ref)._finish()


def _alive(ref: weakref.ref[Any]) -> Any:
    aw = ref()
    assert aw is not None  # held by whoever steps the wait (see wait)
    return aw


async def _goroutine(coro: Coroutine[Any, Any, Any], gid: int) -> None:
    try:
        await coro
    except trio.Cancelled:
        pass  # the run ends: goroutines never keep it alive
    except BaseException as exc:
        _runtime.report(exc, gid)
    finally:
        _runtime.trio_tasks.pop(trio.lowlevel.current_task(), None)
        _runtime._forget(gid)
        _runtime.tracked_finish(gid)


def spawn(coro: Coroutine[Any, Any, Any], gid: int) -> None:
    """Runs coro as a system task of the current trio run: the coroutine
    goroutine ``gid`` (see ``_native._record``), listed in
    ``_runtime.trio_tasks`` until it finishes."""
    task = trio.lowlevel.spawn_system_task(
        _goroutine, coro, gid, name=getattr(coro, "__qualname__", None)
    )
    # The task cannot run before this: it is scheduled on this very thread.
    _runtime.trio_tasks[task] = (gid, threading.get_ident())
