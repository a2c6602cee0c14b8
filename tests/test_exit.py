"""Goroutines never keep the process alive: the program ends when the main
thread ends, quickly, with its own exit status, and without any crash or
stray output, however many goroutines are blocked (or busy) at that moment."""

from __future__ import annotations

import subprocess
import textwrap
import time

import pytest
from conftest import crashed_at_exit_on_310, run_python, start_python

EXIT_BOUND = 2.0

SCRIPT = """
import asyncio, sys, threading, time
from gocurrent import Chan, go, nilchan, select, select_async

N = {scale}
started = Chan(100_000)
def mark():
    started.send(None)

# Thread goroutines blocked in every kind of call.
rgate, sgate, full = Chan(), Chan(), Chan(1)
full.send(0)
def blocked_recv():
    mark(); rgate.recv()
def blocked_recv_ok():
    mark(); rgate.recv_ok()
def blocked_send():
    mark(); sgate.send(object())
def blocked_send_full():
    mark(); full.send(1)
def blocked_select():
    a, b = Chan(), Chan()
    mark(); select(a.recv, (b.send, 1), rgate.recv_ok)
def blocked_for():
    mark()
    for _ in rgate:
        pass
def blocked_nil():
    mark(); nilchan.recv()
def blocked_no_cases():
    mark(); select()
def blocked_timeout():
    mark(); rgate.recv(timeout=3600)

# Goroutines still working: pure Python, repeated short waits, and traffic.
def busy():
    mark()
    x = 0
    while True:
        x += 1
def ticker():
    mark()
    c = Chan()
    while True:
        try:
            c.recv(timeout=0.001)
        except TimeoutError:
            pass
traffic = Chan()
def producer():
    mark()
    i = 0
    while True:
        traffic.send(i); i += 1
def consumer():
    mark()
    for _ in traffic:
        pass

# Coroutine goroutines on the runtime's background loop.
agate = Chan()
async def co_recv():
    mark(); await agate.recv_async()
async def co_send():
    mark(); await Chan().send_async(1)
async def co_select():
    mark(); await select_async(agate.recv, (Chan().send, 1))
async def co_sleep():
    mark()
    while True:
        await asyncio.sleep(0.001)
async def co_traffic():
    mark()
    c = Chan(1)
    while True:
        await c.send_async(1)
        await c.recv_async()
        await asyncio.sleep(0)  # both awaits take the fast path: never suspend

blocked = [
    (blocked_recv, 100 * N), (blocked_recv_ok, 20 * N), (blocked_send, 60 * N),
    (blocked_send_full, 10 * N), (blocked_select, 40 * N), (blocked_for, 10 * N),
    (blocked_nil, 10 * N), (blocked_no_cases, 10 * N), (blocked_timeout, 10 * N),
    (co_recv, 40 * N), (co_send, 10 * N), (co_select, 20 * N),
]
# Started last: busy goroutines would slow the start of the others down.
working = [(busy, 2), (ticker, 4), (producer, 2), (consumer, 2), (co_sleep, 5), (co_traffic, 5)]
total = 0
for plan in (blocked, working):
    n_plan = 0
    for fn, n in plan:
        for _ in range(n):
            go(fn)
        n_plan += n
    for _ in range(n_plan):
        started.recv(timeout=60)
    total += n_plan
time.sleep(0.2)  # let every goroutine reach its blocking call
print("started", total, flush=True)
print("ending", repr(time.monotonic()), flush=True)
{ending}
"""

ENDINGS = {
    "return": ("pass", 0),
    "sys.exit(3)": ("sys.exit(3)", 3),
    "exception": ('raise RuntimeError("boom")', 1),
}


def run_exit_script(ending: str, scale: int = 1) -> tuple[subprocess.CompletedProcess, float]:
    r, took = run_exit_script_once(ending, scale)
    if crashed_at_exit_on_310(r.returncode):
        r, took = run_exit_script_once(ending, scale)
    return r, took


def run_exit_script_once(ending: str, scale: int) -> tuple[subprocess.CompletedProcess, float]:
    code = textwrap.dedent(SCRIPT).format(scale=scale, ending=ENDINGS[ending][0])
    proc = start_python(code)
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    exited = time.monotonic()
    ends = [ln for ln in out.splitlines() if ln.startswith("ending ")]
    assert ends, f"the script did not get to its end\nstdout:{out}\nstderr:{err}"
    took = exited - float(ends[0].split()[1])
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), took


@pytest.mark.timeout(120)
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_exit_with_hundreds_of_blocked_goroutines(ending):
    r, took = run_exit_script(ending)
    status = ENDINGS[ending][1]
    assert r.returncode == status, f"rc={r.returncode}\nstderr:{r.stderr}"
    started = int(r.stdout.split("started ")[1].split()[0])
    assert started >= 300
    assert took < EXIT_BOUND, f"the process took {took:.2f}s to exit"
    if ending == "exception":
        # exactly the expected traceback, and nothing after it
        assert r.stderr.startswith("Traceback (most recent call last):\n"), r.stderr
        assert r.stderr.endswith("RuntimeError: boom\n"), r.stderr
        assert r.stderr.count("Traceback") == 1, r.stderr
    else:
        assert r.stderr == "", r.stderr


@pytest.mark.timeout(120)
def test_exit_repeatedly_is_always_clean():
    # Exit is a race against goroutines waking up: try it a few more times.
    for ending in ["return", "sys.exit(3)", "return", "exception"]:
        r, took = run_exit_script(ending)
        assert r.returncode == ENDINGS[ending][1], r.stderr
        assert took < EXIT_BOUND
        if ending != "exception":
            assert r.stderr == "", r.stderr


def test_exit_right_after_starting_goroutines():
    # No waiting for them to block: exit while the pool is still starting.
    r = run_python(
        """
        import asyncio
        from gocurrent import Chan, go
        c = Chan()
        async def co():
            await c.recv_async()
        for _ in range(200):
            go(c.recv)
            go(co)
        """,
        timeout=60,
    )
    assert r.returncode == 0
    assert r.stderr == ""


def test_exit_from_main_blocked_goroutine_sends_after_finalization_starts():
    # Goroutines that wake up while the interpreter finalizes (their timeout
    # expires during exit) must not crash it.
    r = run_python(
        """
        import time
        from gocurrent import Chan, go
        c = Chan()
        def waker(i):
            try:
                c.recv(timeout=0.05 + i * 0.0005)
            except TimeoutError:
                print("woke", flush=True)
        for i in range(200):
            go(waker, i)
        time.sleep(0.05)
        """,
        timeout=60,
    )
    assert r.returncode == 0
    assert r.stderr == ""


def test_exit_while_goroutines_run_user_code_called_from_rust():
    # Before Python 3.14 a daemon thread that wants the GIL back during
    # finalization is ended by pthread_exit, a forced unwind. It must not
    # abort the process when it meets gocurrent's Rust frames: a goroutine
    # sleeping inside Once.do's function, and goroutines re-locking a
    # Cond's threading.Lock, which Cond.wait calls from Rust.
    code = """
        import threading, time
        from gocurrent import Cond, Once, go

        def sleeper():
            while True:
                time.sleep(0.0005)

        for _ in range(4):
            go(lambda: Once().do(sleeper))

        lock = threading.Lock()
        cond = Cond(lock)

        def waiter():
            while True:
                with lock:
                    cond.wait()

        def notifier():
            while True:
                with lock:
                    cond.broadcast()
                    time.sleep(0.0005)  # woken waiters block re-locking

        for _ in range(4):
            go(waiter)
        go(notifier)
        time.sleep(0.3)
        print("exiting", flush=True)
        """
    for _ in range(3):
        r = run_python(code, timeout=60)
        assert (r.returncode, r.stdout) == (0, "exiting\n"), r.stderr
