"""The trio driver of gocurrent's wait protocol (see src/py/trio.rs).

Imported only by a program that runs trio: when a trio task awaits an
operation that must wait, or starts a coroutine goroutine.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Coroutine
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
    """

    def abort(_raise_cancel: Any) -> trio.lowlevel.Abort:
        aw = ref()
        if aw is None or aw._withdraw():
            return trio.lowlevel.Abort.SUCCEEDED
        return trio.lowlevel.Abort.FAILED

    try:
        if timeout is None:
            await trio.lowlevel.wait_task_rescheduled(abort)
        else:
            with trio.move_on_after(timeout) as scope:
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


async def _goroutine(coro: Coroutine[Any, Any, Any]) -> None:
    try:
        await coro
    except trio.Cancelled:
        pass  # the run ends: goroutines never keep it alive
    except BaseException as exc:
        _runtime.report(exc)


def spawn(coro: Coroutine[Any, Any, Any]) -> None:
    """Runs coro as a system task of the current trio run."""
    trio.lowlevel.spawn_system_task(_goroutine, coro, name=getattr(coro, "__qualname__", None))
