"""Ctrl-C: every blocking call, blocked in the main thread of a child process,
raises KeyboardInterrupt within 100 ms of SIGINT and leaves its channel as if
the call had never happened.

The child announces readiness only once its main thread's frame sits on the
blocking line (seen through sys._current_frames() by a helper thread), so the
signal always lands while the call is blocked. The latency is measured on the
one monotonic clock of the machine: the parent reads time.monotonic() right
before os.kill, the child right where it catches KeyboardInterrupt."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import start_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

LATENCY_BOUND = 0.100

PRELUDE = """\
import sys, threading, time
from gocurrent import Chan, ChanClosedError, go, nilchan, select

# The parent interrupts the main thread from outside. A main thread that
# waits with nothing else alive is a deadlock (DeadlockError within 1 s, as
# Go's runtime would say); a plain thread alive, as in a program that waits
# for its user, keeps these waits ordinary however late the signal comes.
_keeper = threading.Event()
threading.Thread(target=_keeper.wait, daemon=True).start()

def _announce(line):
    main = threading.main_thread().ident
    def at_line():
        f = sys._current_frames().get(main)
        while f is not None:
            if f.f_code.co_filename == "<string>":
                return f.f_lineno == line
            f = f.f_back
        return False

    while not at_line():
        time.sleep(0.002)
    time.sleep(0.05)  # well inside the blocking call
    print("ready", flush=True)

def expect_timeout(fn):
    try:
        fn()
    except TimeoutError:
        return
    raise AssertionError("expected TimeoutError")
"""

BODY = """\
threading.Thread(target=_announce, args=({line},), daemon=True).start()
try:
{block}
except KeyboardInterrupt:
    caught = time.monotonic()
    print("caught", repr(caught), flush=True)
else:
    print("returned", flush=True)
    sys.exit(2)
"""


def _child_code(setup: str, block: str, check: str) -> str:
    setup = textwrap.dedent(setup)
    block = textwrap.indent(textwrap.dedent(block).strip("\n"), "    ")
    head = PRELUDE + setup + "\n"
    block_lines = block.split("\n")
    marked = [i for i, ln in enumerate(block_lines) if "# BLOCK" in ln]
    assert len(marked) == 1, "mark the blocking line with # BLOCK"
    # line numbers are 1-based; the body starts with the thread and `try:` lines
    line = head.count("\n") + 2 + marked[0] + 1
    body = BODY.format(line=line, block=block)
    return head + body + textwrap.dedent(check) + '\nprint("ok", flush=True)\n'


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"child not ready in {timeout}s\nstdout:{out}\nstderr:{err}")
    finally:
        sel.close()
    return proc.stdout.readline()


def interrupt(setup: str, block: str, check: str = "", sig: int = signal.SIGINT) -> str:
    """Runs the child, interrupts its blocking call, checks the latency and
    the child's own checks; returns the child's stdout.

    The machine is shared: if the latency alone is over the bound (every
    functional check passed), the child is run once more and that run must
    be within the bound."""
    out, latency = _interrupt_once(setup, block, check, sig)
    if latency >= LATENCY_BOUND:
        out, latency = _interrupt_once(setup, block, check, sig)
    assert latency < LATENCY_BOUND, f"KeyboardInterrupt {latency * 1000:.1f} ms after the signal"
    return out


def _interrupt_once(setup: str, block: str, check: str, sig: int) -> tuple[str, float]:
    code = _child_code(setup, block, check)
    proc = start_python(code)
    try:
        line = _readline(proc, 30)
        assert line == "ready\n", (line, proc.stderr.read() if proc.poll() is not None else "")
        sent = time.monotonic()
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, f"rc={proc.returncode}\nstdout:{out}\nstderr:{err}\n{code}"
    caught_lines = [ln for ln in out.splitlines() if ln.startswith("caught ")]
    assert len(caught_lines) == 1, out
    latency = float(caught_lines[0].split()[1]) - sent
    print(f"latency {latency * 1000:.1f} ms")
    assert latency >= 0
    assert out.rstrip().endswith("ok"), out
    assert err == "", err
    return out, latency


# --- each blocking call -------------------------------------------------------------

RECV_CHECK = """
# The interrupted receiver left no waiter behind (a sender finds nobody) ...
expect_timeout(lambda: ch.send("lost?", timeout=0))
# ... and a value sent afterwards is received.
go(ch.send, "after")
assert ch.recv(timeout=10) == "after"
"""


def test_sigint_recv():
    interrupt("ch = Chan()\n", "ch.recv()  # BLOCK", RECV_CHECK)


def test_sigint_recv_with_timeout():
    interrupt("ch = Chan()\n", "ch.recv(timeout=60)  # BLOCK", RECV_CHECK)


def test_sigint_recv_buffered():
    interrupt(
        "ch = Chan(3)\n",
        "ch.recv()  # BLOCK",
        """
        ch.send("buffered", timeout=0)
        assert len(ch) == 1  # it went to the buffer, not to a dead receiver
        assert ch.recv(timeout=0) == "buffered"
        """,
    )


def test_sigint_recv_ok():
    interrupt("ch = Chan()\n", "ch.recv_ok()  # BLOCK", RECV_CHECK)


def test_sigint_send_unbuffered():
    interrupt(
        "ch = Chan()\n",
        'ch.send("interrupted")  # BLOCK',
        """
        # The interrupted send left no value: no receiver gets it.
        expect_timeout(lambda: ch.recv(timeout=0))
        assert len(ch) == 0
        out = Chan(1)
        go(lambda: out.send(ch.recv()))
        ch.send("after", timeout=10)
        assert out.recv(timeout=10) == "after"
        """,
    )


def test_sigint_send_buffered_full():
    interrupt(
        'ch = Chan(1)\nch.send("first")\n',
        'ch.send("interrupted")  # BLOCK',
        """
        assert len(ch) == 1
        assert ch.recv(timeout=0) == "first"
        expect_timeout(lambda: ch.recv(timeout=0))
        """,
    )


def test_sigint_send_with_timeout():
    interrupt(
        "ch = Chan()\n",
        'ch.send("interrupted", timeout=60)  # BLOCK',
        "expect_timeout(lambda: ch.recv(timeout=0))\n",
    )


def test_sigint_select():
    interrupt(
        "a, b = Chan(), Chan(1)\nb.send('full')\n",
        "select(a.recv, (b.send, 'interrupted'), a.recv_ok)  # BLOCK",
        """
        expect_timeout(lambda: a.send(1, timeout=0))  # no receiver left on a
        assert len(b) == 1 and b.recv(timeout=0) == "full"
        expect_timeout(lambda: b.recv(timeout=0))  # the send case did not happen
        go(a.send, "after")
        assert select(a.recv, timeout=10) == (0, "after")
        """,
    )


def test_sigint_select_with_timeout():
    interrupt(
        "a = Chan()\n",
        "select(a.recv, timeout=60)  # BLOCK",
        "expect_timeout(lambda: a.send(1, timeout=0))\n",
    )


def test_sigint_select_no_cases():
    interrupt("", "select()  # BLOCK")


def test_sigint_select_only_nil_cases():
    interrupt("", "select(nilchan.recv, (nilchan.send, 1))  # BLOCK")


def test_sigint_nilchan_recv_and_send():
    interrupt("", "nilchan.recv()  # BLOCK")
    interrupt("", "nilchan.send(1)  # BLOCK")


def test_sigint_for_loop():
    interrupt(
        """
        ch = Chan()
        got = []
        def producer():
            ch.send(1)
            ch.send(2)
        go(producer)
        """,
        """
        for v in ch:  # BLOCK
            got.append(v)
        """,
        """
        assert got == [1, 2], got
        expect_timeout(lambda: ch.send(3, timeout=0))
        def more():
            ch.send(3)
            ch.close()
        go(more)
        assert list(ch) == [3]
        """,
    )


def test_sigint_recv_async_in_asyncio_run():
    # asyncio.run turns SIGINT into cancelling the main task, then raises
    # KeyboardInterrupt: the cancelled recv_async leaves no receiver behind.
    interrupt(
        "import asyncio\nch = Chan()\nasync def main():\n    await ch.recv_async()\n",
        "asyncio.run(main())  # BLOCK",
        RECV_CHECK,
    )


# --- other signals -----------------------------------------------------------------------


def test_signal_handler_that_returns_does_not_interrupt_the_wait():
    out = interrupt(
        """
        import signal
        ch = Chan()
        handled = []
        def on_usr1(signum, frame):
            handled.append(time.monotonic())
            go(ch.send, "after the handler")
        signal.signal(signal.SIGUSR1, on_usr1)
        """,
        """
        v = ch.recv()  # BLOCK
        print("received", v, flush=True)
        raise KeyboardInterrupt  # to end the block the way interrupt() expects
        """,
        'assert len(handled) == 1\nprint("handled", repr(handled[0]), flush=True)\n',
        sig=signal.SIGUSR1,
    )
    assert "received after the handler" in out


def test_signal_handler_exception_propagates_from_the_wait():
    interrupt(
        """
        import signal
        ch = Chan()
        class Custom(Exception):
            pass
        def on_usr1(signum, frame):
            raise Custom()
        signal.signal(signal.SIGUSR1, on_usr1)
        """,
        """
        try:
            ch.recv()  # BLOCK
        except Custom:
            raise KeyboardInterrupt from None  # report the catch time
        """,
        RECV_CHECK,
        sig=signal.SIGUSR1,
    )


def test_goroutine_threads_are_not_interrupted():
    # Only the main thread receives signals; a goroutine blocked in recv keeps
    # waiting and later gets its value.
    interrupt(
        """
        ch, out = Chan(), Chan(1)
        go(lambda: out.send(ch.recv()))
        time.sleep(0.1)
        """,
        "out.recv()  # BLOCK",
        """
        ch.send("to the goroutine", timeout=10)
        assert out.recv(timeout=10) == "to the goroutine"
        """,
    )


@pytest.mark.timeout(60)
def test_repeated_interrupts_leave_the_channel_consistent():
    # Ten interrupts in a row on one channel, then a normal exchange.
    code = PRELUDE + textwrap.dedent(
        """
        ch = Chan()
        for i in range(10):
            print("ready", flush=True)
            try:
                ch.recv()
            except KeyboardInterrupt:
                pass
        expect_timeout(lambda: ch.send(1, timeout=0))
        go(ch.send, "final")
        assert ch.recv(timeout=10) == "final"
        print("ok", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for _ in range(10):
            assert _readline(proc, 30) == "ready\n"
            time.sleep(0.1)
            os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("ok")
