"""The trio driver of gocurrent's wait protocol (see src/py/trio.rs).

Imported only by a program that runs trio: when a trio task awaits an
operation that must wait, or starts a coroutine goroutine.
"""

from __future__ import annotations

import threading
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


async def wait(aw: Any, timeout: float | None) -> Any:
    """Waits for the operation `aw` registered, then returns its result.

    A cancellation (or the timeout) aborts the wait only if the operation
    can still be withdrawn; if it completed first, its result is delivered
    and the cancellation comes at the next checkpoint. No value is lost or
    delivered twice.
    """

    def abort(_raise_cancel: Any) -> trio.lowlevel.Abort:
        if aw._withdraw():
            return trio.lowlevel.Abort.SUCCEEDED
        return trio.lowlevel.Abort.FAILED

    try:
        if timeout is None:
            await trio.lowlevel.wait_task_rescheduled(abort)
        else:
            with trio.move_on_after(timeout) as scope:
                await trio.lowlevel.wait_task_rescheduled(abort)
            if scope.cancelled_caught:
                raise aw._timeout_error()
    except BaseException:
        aw._give_up()
        raise
    return aw._finish()


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
