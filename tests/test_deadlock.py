"""DeadlockError (API.md, "runtime"): Go's "all goroutines are asleep -
deadlock!" as an exception in the main thread's waiting call, and no false
positive. Every scenario runs in a child process: a missed deadlock would
hang, a false positive would fail the program."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import pytest
from conftest import run_python

PRELUDE = """
import asyncio, sys, threading, time
from gocurrent import *
from gocurrent import context, runtime
def timed(fn):
    t = time.monotonic()
    try:
        fn()
    except DeadlockError as e:
        msg = str(e)
        print("DEADLOCK", round(time.monotonic() - t, 3))
        print(msg)
        return msg
    print("returned")
"""


def run(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_python(PRELUDE + textwrap.dedent(code), timeout=timeout)


def deadlocked(r: subprocess.CompletedProcess[str]) -> str:
    """The DeadlockError message the child printed, checked."""
    assert r.returncode == 0, r.stderr
    first, *rest = r.stdout.split("\n", 1)
    assert first.startswith("DEADLOCK "), r.stdout + r.stderr
    elapsed = float(first.split()[1])
    assert elapsed < 1.0, f"DeadlockError after {elapsed} s"
    message = rest[0]
    assert message.startswith("all goroutines are asleep - deadlock!\n")
    return message


def test_main_and_goroutines_all_blocked() -> None:
    r = run(
        """
        ch, other = Chan(), Chan()
        mu = Mutex(); mu.lock()
        go(other.recv)
        go(mu.lock)
        async def a():
            await other.recv_async()
        go(a)
        while sum(g.state != "runnable" for g in runtime.goroutines()) < 3:
            time.sleep(0.01)
        timed(ch.recv)
        """
    )
    msg = deadlocked(r)
    # The message ends with stack(): main first, then every goroutine.
    dump = msg[msg.index("goroutine 1 [chan receive]:") :]
    assert dump.count("goroutine ") == 4
    assert "[sync.Mutex.Lock]:" in dump
    assert dump.count("[chan receive]:") == 3
    assert "timed(...)" in dump  # main's frames


@pytest.mark.parametrize(
    "call, reason",
    [
        ("ch.send(1)", "chan send"),
        ("select(ch.recv, (ch.send, 2))", "select"),
        ("select()", "select (no cases)"),
        ("nilchan.recv()", "chan receive (nil chan)"),
        ("mu.lock()", "sync.Mutex.Lock"),
        ("wg.wait()", "sync.WaitGroup.Wait"),
        ("sem.acquire()", "semacquire"),
        ("list(ch)", "chan receive"),
        ("eg.wait()", "sync.WaitGroup.Wait"),
    ],
)
def test_every_blocking_call_of_main(call: str, reason: str) -> None:
    r = run(
        f"""
        ch = Chan()
        mu = Mutex(); mu.lock()
        wg = WaitGroup(); wg.add(1)
        sem = Semaphore(1); sem.acquire()
        eg = ErrGroup(); eg.go(Chan().recv)
        timed(lambda: {call})
        """
    )
    msg = deadlocked(r)
    assert f"goroutine 1 [{reason}]:" in msg


def test_the_primitive_is_as_if_the_call_never_happened() -> None:
    r = run(
        """
        ch = Chan()
        mu = Mutex(); mu.lock()
        timed(lambda: ch.send(1))
        # No sender is left registered: a receive finds nothing.
        print(select(ch.recv, default=True))
        timed(ch.recv)
        # No receiver is left registered: a send finds nobody.
        try:
            ch.send(2, timeout=0)
        except TimeoutError:
            print("no receiver")
        timed(mu.lock)
        mu.unlock()  # still locked once, by us
        print(mu.try_lock())
        """
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "(-1, None)" in lines and "no receiver" in lines and "True" in lines
    assert sum(x.startswith("DEADLOCK") for x in lines) == 3


@pytest.mark.parametrize(
    "run_main",
    [
        "asyncio.run(main(), debug=False)",
        "asyncio.run(main(), debug=True)",
        # trio: the sender is a system task of the same run
        "import trio; trio.run(main)",
    ],
)
def test_newcomer_blocking_recv_in_a_coroutine_names_recv_async(run_main: str) -> None:
    # A coroutine calls the blocking ch.recv() on its own loop's thread;
    # its only sender is a coroutine of that loop, which can never run
    # (also under asyncio's debug mode, and in trio).
    r = run(
        f"""
        ch = Chan()
        async def sender():
            await ch.send_async("hello")
        async def main():
            go(sender)
            timed(ch.recv)
        {run_main}
        """
    )
    msg = deadlocked(r)
    assert "`await x.recv_async()`" in msg
    # The sender is in the dump, not yet run, with its creator.
    assert "goroutine 2 [runnable]:" in msg
    assert "main at <string>:" in msg


def test_trio_goroutines_of_a_blocked_goroutine_thread_are_asleep() -> None:
    # A trio run in a thread goroutine whose task blocks (the thread is
    # asleep): its goroutines can never run, whatever they await.
    r = run(
        """
        import trio, trio.testing
        ch, never = Chan(), Chan()
        async def napper():
            await trio.sleep(3600)  # no gocurrent wait, but its run is stuck
        async def waiter():
            await never.recv_async()
        async def body():
            go(napper)
            go(waiter)
            await trio.testing.wait_all_tasks_blocked()
            never.recv()  # blocks the run's thread
        go(trio.run, body)
        timed(ch.recv)
        """
    )
    msg = deadlocked(r)
    # main, the run's thread, waiter; napper is "running" (in trio.sleep).
    assert msg.count("[chan receive]:") == 3 and msg.count("[running]:") == 1, msg
    assert "__main__.napper(...)" in msg and "__main__.waiter(...)" in msg


def test_coroutines_of_the_background_loop_all_blocked() -> None:
    r = run(
        """
        ch, a, b = Chan(), Chan(), Chan()
        async def one():
            await a.recv_async()
        async def two():
            await b.send_async(1)
        go(one); go(two)
        timed(ch.recv)
        """
    )
    msg = deadlocked(r)
    assert "[chan send]:" in msg and msg.count("[chan receive]:") == 2


def test_a_goroutine_that_ends_the_wait_is_no_deadlock() -> None:
    r = run(
        """
        ch = Chan()
        def ping(n):
            for i in range(n):
                ch.send(i)
            ch.close()
        go(ping, 200)
        timed(lambda: print(sum(ch)))
        """
    )
    assert r.stdout.splitlines() == [str(sum(range(200))), "returned"], r.stderr


# ---------------------------------------------------------------------------
# No false positives: each program completes normally.

SLOW = 1.5  # well past the detection time (about 0.5 s)


def completes(code: str, expected: list[str]) -> None:
    r = run(code)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == expected, r.stdout + r.stderr


def test_no_deadlock_while_a_goroutine_sleeps() -> None:
    completes(
        f"""
        ch = Chan()
        go(lambda: (time.sleep({SLOW}), ch.send(1)))
        timed(lambda: print(ch.recv()))
        """,
        ["1", "returned"],
    )


def test_no_deadlock_while_a_coroutine_sleeps() -> None:
    completes(
        f"""
        ch = Chan()
        async def later():
            await asyncio.sleep({SLOW})
            await ch.send_async(1)
        go(later)
        timed(lambda: print(ch.recv()))
        """,
        ["1", "returned"],
    )


def test_no_deadlock_while_a_goroutine_waits_with_a_timeout() -> None:
    completes(
        f"""
        ch, never = Chan(), Chan()
        def w():
            try:
                never.recv(timeout={SLOW})
            except TimeoutError:
                ch.send("timed out")
        go(w)
        timed(lambda: print(ch.recv()))
        """,
        ["timed out", "returned"],
    )


def woken_from_outside(code: str, wake: Callable[[subprocess.Popen[str]], str | None]) -> str:
    """Runs code in a child that prints "ready" and then blocks; once it
    has stayed blocked (not failed) well past the detection time, ``wake``
    wakes it (returning what to write to its stdin). Its output."""
    p = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert p.stdout is not None
        assert p.stdout.readline() == "ready\n"
        time.sleep(SLOW)  # the child must stay blocked, not fail, meanwhile
        out, err = p.communicate(wake(p), timeout=30)
        assert p.returncode == 0, err
        return out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_no_deadlock_while_a_goroutine_is_in_io() -> None:
    code = """
        ch = Chan()
        go(lambda: ch.send(sys.stdin.readline().strip()))
        print("ready", flush=True)
        timed(lambda: print(ch.recv()))
    """
    out = woken_from_outside(code, lambda p: "data\n")
    assert out.splitlines() == ["data", "returned"]


@pytest.mark.parametrize(
    "setup, wait",
    [
        (f"t = Timer({SLOW})", "t.c.recv()"),
        (f"c = after({SLOW})", "c.recv()"),
        (f"tk = Ticker({SLOW})", "tk.c.recv()"),
        (f"after_func({SLOW}, lambda: ch.send(1))", "ch.recv()"),
        (
            f"ctx, cancel = context.with_timeout(context.background(), {SLOW})",
            "ctx.done().recv()",
        ),
    ],
)
def test_no_deadlock_while_a_timer_is_pending(setup: str, wait: str) -> None:
    completes(
        f"""
        ch = Chan()
        {setup}
        timed(lambda: {wait})
        """,
        ["returned"],
    )


def test_no_deadlock_while_a_plain_thread_is_alive() -> None:
    completes(
        f"""
        ch = Chan()
        threading.Thread(target=lambda: (time.sleep({SLOW}), ch.send(1))).start()
        timed(lambda: print(ch.recv()))
        """,
        ["1", "returned"],
    )


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1")
def test_no_deadlock_while_a_signal_handler_is_installed() -> None:
    code = """
        import signal
        ch = Chan(1)
        signal.signal(signal.SIGUSR1, lambda *_: ch.send("signalled"))
        print("ready", flush=True)
        timed(lambda: print(ch.recv()))
    """
    out = woken_from_outside(code, lambda p: p.send_signal(signal.SIGUSR1))
    assert out.splitlines() == ["signalled", "returned"]


def test_a_timeout_raises_timeout_error_not_deadlock_error() -> None:
    completes(
        f"""
        ch = Chan()
        go(Chan().recv)
        t = time.monotonic()
        try:
            timed(lambda: ch.recv(timeout={SLOW}))
        except TimeoutError:
            print("TimeoutError", time.monotonic() - t >= {SLOW})
        """,
        ["TimeoutError True"],
    )


def test_the_default_and_asyncio_sigint_handlers_do_not_count() -> None:
    # Neither could wake the program: a deadlock is still one.
    r = run(
        """
        import signal
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        ch = Chan()
        async def main():
            timed(ch.recv)
        asyncio.run(main())
        """
    )
    assert r.stdout.splitlines()[0] == "True"
    deadlocked(
        subprocess.CompletedProcess(r.args, r.returncode, r.stdout.split("\n", 1)[1], r.stderr)
    )


@pytest.mark.skipif(not hasattr(signal, "SIGQUIT"), reason="no SIGQUIT")
def test_the_dump_handler_does_not_count() -> None:
    # dump_on_signal's handler only prints: it can wake nothing.
    r = run(
        """
        runtime.dump_on_signal()
        go(Chan().recv)
        timed(Chan().recv)
        """
    )
    assert "goroutine 2 [" in deadlocked(r)
