"""Ctrl-C (SIGINT) interrupts every blocking sync call within 100 ms and
leaves the primitive as if the call had never happened."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals sent with os.kill")

# Runs SETUP, then BLOCK (which blocks for ever) in the main thread; a
# thread sends SIGINT after 0.3 s. Prints the delay until KeyboardInterrupt
# and then runs CHECK (asserts about the primitive's state).
TEMPLATE = """
import os, signal, threading, time
from gocurrent import *

{setup}

sent = []
def fire():
    time.sleep(0.3)
    sent.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=fire, daemon=True).start()
try:
    {block}
except KeyboardInterrupt:
    delay = time.monotonic() - sent[0]
else:
    raise SystemExit("not interrupted")
{check}
print("DELAY", delay)
"""

CASES = {
    "wg.wait": (
        "wg = WaitGroup(); wg.add(1)",
        "wg.wait()",
        """
assert 'count=1 waiting=0' in repr(wg), repr(wg)
wg.done()
wg.wait(timeout=1)
""",
    ),
    "mu.lock": (
        """
mu = Mutex()
held, release = threading.Event(), threading.Event()
def holder():
    mu.lock(); held.set(); release.wait(); mu.unlock()
threading.Thread(target=holder, daemon=True).start()
held.wait()
""",
        "mu.lock()",
        """
assert 'waiting=0' in repr(mu), repr(mu)
release.set()
deadline = time.monotonic() + 5
while mu.locked and time.monotonic() < deadline:
    time.sleep(0.01)
# The interrupted lock() did not take the mutex: it is not left locked.
assert not mu.locked
assert mu.try_lock()
""",
    ),
    "rw.rlock": (
        "rw = RWMutex(); rw.lock()",
        "rw.rlock()",
        """
assert 'write-locked waiting=0' in repr(rw), repr(rw)
rw.unlock()
# No stray reader: the write lock is free.
assert rw.try_lock()
""",
    ),
    "cond.wait": (
        "c = Cond(); c.L.lock()",
        "c.wait()",
        """
# L is held again, and the waiter is gone from the list.
assert c.L.locked
assert 'waiting=0' in repr(c), repr(c)
c.L.unlock()
""",
    ),
    "sem.acquire": (
        "s = Semaphore(2); s.acquire(2)",
        "s.acquire()",
        """
assert 'held=2 waiting=0' in repr(s), repr(s)
s.release(2)
assert s.try_acquire(2)
""",
    ),
    "singleflight.do": (
        """
g = singleflight.Group()
entered, release = threading.Event(), threading.Event()
out = []
def slow():
    entered.set(); release.wait(); return 'v'
go(lambda: out.append(g.do('k', slow)))
entered.wait()
""",
        "g.do('k', lambda: 'mine')",
        """
# The interrupted duplicate left; the call goes on for its leader.
release.set()
deadline = time.monotonic() + 5
while not out and time.monotonic() < deadline:
    time.sleep(0.01)
assert out == [('v', True)], out
assert g.do('k', lambda: 2) == (2, False)
""",
    ),
    "rate.wait": (
        "lim = rate.Limiter(0.1, 1); assert lim.allow()",
        "lim.wait()",
        """
# The interrupted wait gave its token back: no token is owed.
assert lim.tokens() > -0.5, lim.tokens()
""",
    ),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(CASES))
def test_sigint_interrupts_blocking_call(name, python_run):
    setup, block, check = CASES[name]
    code = TEMPLATE.format(setup=setup, block=block, check=check)
    delays = []
    # The bound is 100 ms; a loaded machine can delay a single run, so the
    # bound must hold in one of three runs (each must be interrupted and
    # leave the primitive unchanged).
    for _ in range(3):
        p = python_run(code, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        delay = float(p.stdout.split("DELAY")[1])
        delays.append(delay)
        if delay < 0.1:
            break
    assert min(delays) < 0.1, delays
