"""Helpers shared by the test modules (imported as ``support``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import anyio
from gocurrent import go


def spawn(fn, *args) -> tuple[threading.Event, list]:
    """Runs fn(*args) as a goroutine; returns (finished, [result or exception])."""
    done = threading.Event()
    out: list = []

    def run() -> None:
        try:
            out.append(fn(*args))
        except BaseException as e:
            out.append(e)
        finally:
            done.set()

    go(run)
    return done, out


def eventually(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Polls cond() until it is true (True) or ``timeout`` s pass (False)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


async def until(cond, timeout: float = 5.0) -> None:
    """Waits (polling, under asyncio or trio) until cond() is true."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await anyio.sleep(0.001)


async def let_block() -> None:
    """Lets tasks started just before reach their first real suspension."""
    for _ in range(5):
        await anyio.sleep(0)


class Task:
    """A task of an anyio task group, under asyncio or trio, with the
    handle asyncio's tasks have: its result, its exception, and a cancel
    (of its own cancel scope) that the caller can observe."""

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._value: object = None
        self._error: BaseException | None = None

    async def _run(self, fn, args) -> None:
        try:
            with self.scope:
                try:
                    self._value = await fn(*args)
                except Exception as e:
                    self._error = e
        finally:
            self._done.set()

    def cancel(self) -> None:
        self.scope.cancel()

    def done(self) -> bool:
        return self._done.is_set()

    @property
    def cancelled(self) -> bool:
        """True when the task ended by its cancellation (not with a value)."""
        return self.done() and self.scope.cancelled_caught

    async def wait(self) -> None:
        await self._done.wait()

    async def result(self):
        """Waits for the task's end; returns its value or raises its error
        (an AssertionError when it ended cancelled)."""
        await self._done.wait()
        assert not self.scope.cancelled_caught, "the task was cancelled"
        if self._error is not None:
            raise self._error
        return self._value


def start(tg: anyio.abc.TaskGroup, fn, *args) -> Task:
    """Starts fn(*args) in the task group tg; returns its Task."""
    task = Task()
    tg.start_soon(task._run, fn, args)
    return task
