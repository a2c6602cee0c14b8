"""Review findings of issue 14, each with a test that failed before."""

from __future__ import annotations

import asyncio

import pytest
from gocurrent import Chan, Mutex


class _NoTimersLoop(asyncio.SelectorEventLoop):
    """A loop whose call_later fails: the await fails after registering."""

    def call_later(self, *args, **kwargs):  # type: ignore[override]
        raise RuntimeError("no timers here")


def _run_on_no_timers_loop(coro):
    loop = _NoTimersLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def test_a_failed_await_leaves_no_receiver_behind():
    # Before: the waiter stayed registered after call_later failed, and the
    # next send handed its value to a receiver nobody reads (value lost).
    ch: Chan[int] = Chan()

    async def main():
        with pytest.raises(RuntimeError, match="no timers here"):
            await ch.recv_async(timeout=5)

    _run_on_no_timers_loop(main())
    with pytest.raises(TimeoutError):
        ch.send(1, timeout=0)


def test_a_failed_await_leaves_no_lock_waiter_behind():
    mu = Mutex()
    mu.lock()

    async def main():
        with pytest.raises(RuntimeError, match="no timers here"):
            await mu.lock_async(timeout=5)

    _run_on_no_timers_loop(main())
    assert "waiting=0" in repr(mu)
    mu.unlock()
    assert not mu.locked  # nobody was handed the lock


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_timers_work_in_children_forked_while_the_timer_heap_is_busy():
    # Tickers and timers keep the timer heap's lock busy while the parent
    # forks; before, a child forked while that lock was held by the timer
    # thread inherited it held by a thread it does not have, and its
    # timers hung (silently). Each child must see a timer fire.
    from conftest import run_python

    r = run_python(
        """
        import os, sys, threading
        from gocurrent import Ticker, Timer, after, go
        tickers = [Ticker(0.0001) for _ in range(4)]
        stop = threading.Event()
        def churn():
            while not stop.is_set():
                Timer(0.0005).stop()
        for _ in range(2):
            threading.Thread(target=churn, daemon=True).start()
        bad = 0
        for i in range(60):
            pid = os.fork()
            if pid == 0:
                ok = after(0.001).recv(timeout=5) is not None
                os._exit(0 if ok else 1)
            _, status = os.waitpid(pid, 0)
            bad += os.waitstatus_to_exitcode(status) != 0
        stop.set()
        print("bad", bad)
        """,
        timeout=100,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["bad", "0"], r.stdout + r.stderr
