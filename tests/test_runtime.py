"""gocurrent.runtime: num_goroutine, goroutines, stack, dump_on_signal
(API.md, "runtime"). Scenarios whose goroutines block for ever run in a
child process; the others end their goroutines before returning."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable

import pytest
from conftest import run_python
from gocurrent import Chan, ErrGroup, WaitGroup, _native, after_func, go, runtime
from gocurrent.runtime import Goroutine

HERE = __file__


def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def mine() -> list[Goroutine]:
    """The goroutines started by this file (other tests may leave theirs)."""
    return [g for g in runtime.goroutines() if g.created_by.startswith(HERE + ":")]


def test_num_goroutine_counts_every_kind() -> None:
    base = runtime.num_goroutine()
    release: Chan[None] = Chan()
    started: Chan[None] = Chan(100)

    def blocker() -> None:
        started.send(None)
        release.recv()

    async def ablocker() -> None:
        await started.send_async(None)
        await release.recv_async()

    wg = WaitGroup()
    g = ErrGroup()
    go(blocker)  # a thread goroutine
    go(ablocker)  # a coroutine on the runtime's background loop
    wg.go(blocker)
    wg.go(ablocker)
    g.go(blocker)
    g.go(ablocker)
    # Counted from the go() call on, started or not.
    assert runtime.num_goroutine() >= base + 6

    async def on_callers_loop() -> None:
        go(ablocker)  # a coroutine on the caller's own loop
        await started.recv_async()

    for _ in range(6):
        started.recv(timeout=10)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(on_callers_loop())
        assert runtime.num_goroutine() == base + 7
        kinds = sorted(x.kind for x in mine())
        assert kinds == ["coroutine"] * 4 + ["thread"] * 3
        release.close()
        loop.run_until_complete(asyncio.sleep(0.05))
    finally:
        loop.close()
    wg.wait(timeout=10)
    g.wait()
    until(lambda: runtime.num_goroutine() == base)
    assert mine() == []


def test_after_func_counts_once_its_function_runs() -> None:
    base = runtime.num_goroutine()
    release: Chan[None] = Chan()
    ran: Chan[None] = Chan(1)

    def fn() -> None:
        ran.send(None)
        release.recv()

    t = after_func(0.3, fn)
    assert runtime.num_goroutine() == base  # a pending timer is no goroutine
    ran.recv(timeout=10)
    assert runtime.num_goroutine() == base + 1
    (g,) = [x for x in runtime.goroutines() if x.name.endswith("fn")]
    assert g.kind == "thread"
    assert g.created_by == "gocurrent.after_func"  # started by the timer, as Go's time.goFunc
    release.close()
    until(lambda: runtime.num_goroutine() == base)
    assert not t.stop()


def test_goroutine_fields() -> None:
    release: Chan[None] = Chan()
    inner: Chan[None] = Chan()

    def worker(n: int) -> None:
        release.recv()

    async def deeper() -> None:
        await inner.recv_async()

    async def aworker() -> None:
        await deeper()

    line = sys._getframe().f_lineno + 1
    go(worker, 1)
    go(aworker)
    until(lambda: sorted(g.state for g in mine()) == ["chan receive"] * 2)
    t, c = sorted(mine(), key=lambda g: g.kind, reverse=True)
    assert (t.kind, c.kind) == ("thread", "coroutine")
    assert t.id != c.id and t.id > 1 and c.id > 1
    assert t.created_by == f"{HERE}:{line}"
    assert c.created_by == f"{HERE}:{line + 1}"
    assert t.name.endswith("test_goroutine_fields.<locals>.worker")
    assert c.name.endswith("test_goroutine_fields.<locals>.aworker")
    assert t.waiting_for is not None and 0 <= t.waiting_for < 60
    assert c.waiting_for is not None and 0 <= c.waiting_for < 60
    # The stack: a StackSummary, most recent call last.
    assert isinstance(t.stack, traceback.StackSummary)
    assert [f.name for f in t.stack] == ["worker"]
    assert [f.name for f in c.stack] == ["aworker", "deeper"]
    assert c.stack[-1].lineno == deeper.__code__.co_firstlineno + 1
    # waiting_for grows while the goroutine waits.
    first = t.waiting_for
    until(lambda: (mine()[0].waiting_for or 0) > first + 0.05)
    release.close()
    inner.close()
    until(lambda: mine() == [])


def test_ids_are_unique_and_increase() -> None:
    done = WaitGroup()
    seen: list[int] = []
    release: Chan[None] = Chan()
    for _ in range(5):
        done.go(release.recv)
    until(lambda: len(mine()) == 5)
    seen += [g.id for g in mine()]
    release.close()
    done.wait(timeout=10)
    until(lambda: mine() == [])
    release2: Chan[None] = Chan()
    go(release2.recv)
    until(lambda: len(mine()) == 1)
    later = mine()[0].id
    release2.close()
    assert len(set(seen)) == 5 and later > max(seen)


def test_running_goroutine_and_queued_count() -> None:
    stop: Chan[None] = Chan()

    def spin() -> None:
        while not stop.closed:
            time.sleep(0.001)

    go(spin)
    until(lambda: [g.state for g in mine()] == ["running"])
    assert mine()[0].waiting_for is None
    assert next(f.name for f in mine()[0].stack) == "spin"
    stop.close()
    until(lambda: mine() == [])


def test_trio_goroutines_are_counted_and_listed() -> None:
    import trio

    base = runtime.num_goroutine()
    release: Chan[None] = Chan()
    started: Chan[None] = Chan(10)

    async def blocked() -> None:
        await started.send_async(None)
        await release.recv_async()

    async def sleeping() -> None:
        await started.send_async(None)
        while not release.closed:
            await trio.sleep(0.001)  # not a gocurrent wait: "running"

    seen: dict[str, object] = {}

    async def main() -> None:
        wg = WaitGroup()
        g = ErrGroup()
        line = sys._getframe().f_lineno + 1
        go(blocked)
        go(sleeping)
        wg.go(blocked)
        g.go(blocked)
        # Counted and listed from the go() call on, before they first run.
        seen["count"] = runtime.num_goroutine() - base
        seen["before"] = sorted((x.created_by, x.name, x.state) for x in mine())
        for _ in range(4):
            await started.recv_async()
        with trio.fail_after(10):
            while sorted(x.state for x in mine()) != ["chan receive"] * 3 + ["running"]:
                await trio.sleep(0.001)
        seen["line"] = line
        seen["during"] = {x.created_by: x for x in mine()}
        seen["dump"] = runtime.stack()
        release.close()
        await wg.wait_async()
        await g.wait_async()
        # Gone once finished (before the run ends, which cancels them).
        with trio.fail_after(10):
            while runtime.num_goroutine() != base:
                await trio.sleep(0.001)
        seen["after"] = mine()

    trio.run(main)
    line = seen["line"]
    assert isinstance(line, int)
    names = [f"{HERE}:{line + i}" for i in range(4)]
    assert seen["count"] == 4
    me = "test_trio_goroutines_are_counted_and_listed.<locals>."
    assert seen["before"] == sorted(
        (where, me + fn, "runnable")
        for where, fn in zip(names, ["blocked", "sleeping", "blocked", "blocked"], strict=True)
    )
    during = seen["during"]
    assert isinstance(during, dict) and sorted(during) == sorted(names)
    for where in names:
        x = during[where]
        assert x.kind == "coroutine" and x.id > 1
        if where == names[1]:
            assert (x.name, x.state, x.waiting_for) == (me + "sleeping", "running", None)
            assert x.stack[0].name == "sleeping"  # then trio's own frames
        else:
            assert (x.name, x.state) == (me + "blocked", "chan receive")
            assert x.waiting_for is not None and 0 <= x.waiting_for < 60
            assert x.stack[-1].name == "blocked"
            assert x.stack[-1].lineno == blocked.__code__.co_firstlineno + 2
    assert len({x.id for x in during.values()}) == 4
    # wg.go's wrapper is gocurrent's, not the user's; trio's task wrapper too.
    assert [f.name for f in during[names[2]].stack] == ["blocked"]
    dump = seen["dump"]
    assert isinstance(dump, str)
    assert dump.count("[chan receive]:") >= 3 and f"main at {names[0]}\n" in dump
    assert seen["after"] == []
    assert runtime.num_goroutine() == base


@pytest.mark.skipif(
    not getattr(sys, "_is_gil_enabled", lambda: True)(), reason="holds the GIL to freeze the pool"
)
def test_queued_thread_goroutines_are_listed_once_as_runnable() -> None:
    # More goroutines than the pool starts threads for at once, each
    # holding its thread in a wait that is no gocurrent wait (the pool
    # replaces none at once). While this thread keeps the GIL (a switch
    # interval longer than the test), no new pool thread can take a job:
    # the backlog and the pool are frozen, and must be listed exactly.
    release = threading.Event()
    n = 40 + 4 * (os.cpu_count() or 1)  # the pool starts up to one thread per CPU at once
    wg = WaitGroup()

    def settled() -> bool:  # no goroutine starting or ending
        gs = runtime.goroutines()
        return len(gs) == runtime.num_goroutine() and all(x.state != "runnable" for x in gs)

    # First the pool's idle threads (other tests leave some) get a
    # goroutine each, before the pool is frozen: a job handed to an idle
    # thread travels outside the backlog (and the rest reach idle threads
    # only as the ones woken begin to run).
    while idle := _native._idle_workers():
        for _ in range(idle):
            wg.go(release.wait, 60)
        until(settled)
    until(settled)
    interval = sys.getswitchinterval()
    # No collection in the window either: a finalizer that lets go of the
    # GIL (closing a file) lets waiting pool threads take jobs (seen: a
    # collection of objects whose __del__ sleeps made 3 in 30 runs fail).
    gc.collect()
    gc.disable()
    sys.setswitchinterval(1000)
    try:
        # A thread that began to wait for the GIL under the old interval
        # still asks for it after that wait: let such waits end first.
        time.sleep(0.05)
        busy = len(mine())
        for _ in range(n):
            wg.go(release.wait, 60)
        count = runtime.num_goroutine()
        everyone = runtime.goroutines()
        listed = mine()
        queued = [job[3] for job in _native._queued_jobs()]
    finally:
        sys.setswitchinterval(interval)
        gc.enable()
        release.set()
    wg.wait(timeout=60)
    until(lambda: mine() == [])
    # Every counted goroutine is listed, each once.
    assert len(everyone) == count
    assert len({x.id for x in everyone}) == count
    listed = listed[busy:]  # in order of id: those of the frozen pool
    assert len(listed) == n
    # A few took a thread: the rest wait in the backlog, oldest first.
    assert len(queued) >= 20 and queued == sorted(queued)
    runnable = {x.id for x in listed if x.state == "runnable"}
    # The backlog's jobs are runnable; so is a job that a new pool thread
    # took (oldest first) while go() let go of the GIL to start the next
    # thread, and has not begun to run.
    assert set(queued) <= runnable
    assert all(i < queued[0] for i in runnable - set(queued))
    for x in listed:
        assert x.kind == "thread"
        assert x.name == "threading.Event.wait"  # the user's function, not wg.go's wrapper
        assert x.created_by.startswith(HERE + ":")
        if x.id in runnable:
            assert x.waiting_for is None and len(x.stack) == 0
        else:
            assert x.state == "running" and x.stack[-1].name == "wait"


def test_a_goroutine_leaving_the_backlog_is_listed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A job that a pool thread took after the backlog's snapshot: seen in
    # both snapshots, listed once, as the running goroutine it is.
    release: Chan[None] = Chan()
    go(release.recv)
    until(lambda: [x.state for x in mine()] == ["chan receive"])
    (g,) = mine()
    stale = (release.recv, (), {}, g.id, sys._getframe().f_code, 0)
    monkeypatch.setattr(_native, "_queued_jobs", lambda: [stale])
    try:
        assert [(x.id, x.state) for x in mine()] == [(g.id, "chan receive")]
        assert runtime.stack().count(f"goroutine {g.id} [") == 1
    finally:
        monkeypatch.undo()
        release.close()
    until(lambda: mine() == [])


WAIT_REASONS = r"""
import asyncio, json, time
from gocurrent import (Chan, Cond, Mutex, RWMutex, Semaphore, WaitGroup, go, nilchan,
                       runtime, select, select_async)
ch = Chan()
full = Chan(1); full.send(0)
mu = Mutex(); mu.lock()
rw = RWMutex(); rw.lock()
rw2 = RWMutex(); rw2.rlock()
wg = WaitGroup(); wg.add(1)
cond = Cond(Mutex())
sem = Semaphore(1); sem.acquire()

def cond_wait():
    cond.L.lock()
    cond.wait()

threads = {
    "recv": lambda: ch.recv(), "send": lambda: full.send(1), "select": lambda: select(ch.recv),
    "select0": lambda: select(), "nilrecv": lambda: nilchan.recv(),
    "nilsend": lambda: nilchan.send(1), "mutex": lambda: mu.lock(), "rwlock": lambda: rw.lock(),
    "rwrlock": lambda: rw.rlock(), "rwwriter": lambda: rw2.lock(), "wg": lambda: wg.wait(),
    "cond": lambda: cond_wait(), "sem": lambda: sem.acquire(), "sleep": lambda: time.sleep(60),
    "timeout": lambda: ch.recv(timeout=60),
}
async def a(aw):
    await aw
coros = {
    "arecv": lambda: a(ch.recv_async()), "asend": lambda: a(full.send_async(1)),
    "aselect": lambda: a(select_async(ch.recv)), "anil": lambda: a(nilchan.recv_async()),
    "amutex": lambda: a(mu.lock_async()), "arw": lambda: a(rw.rlock_async()),
    "awg": lambda: a(wg.wait_async()), "asem": lambda: a(sem.acquire_async()),
    "asleep": lambda: a(asyncio.sleep(60)), "atimeout": lambda: a(ch.recv_async(timeout=60)),
}
names = {}
for k, f in threads.items():
    f.__qualname__ = k
    go(f)
for k, f in coros.items():
    def make(f=f):
        return f()
    go(make())
deadline = time.monotonic() + 20
while True:
    gs = runtime.goroutines()
    if len(gs) == len(threads) + len(coros) and all(g.state != "runnable" for g in gs):
        if sum(g.state == "running" for g in gs) == 2:
            break
    assert time.monotonic() < deadline, [(g.name, g.state) for g in gs]
    time.sleep(0.01)
out = {}
for g in gs:
    key = g.name.rsplit(".", 1)[-1] if g.kind == "thread" else g.stack[-1].line
    out.setdefault(g.kind, []).append([key, g.state, g.waiting_for is not None])
print(json.dumps(out))
"""


def test_every_wait_reason() -> None:
    r = run_python(WAIT_REASONS)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    threads = {k: (state, waiting) for k, state, waiting in out["thread"]}
    assert threads == {
        "recv": ("chan receive", True),
        "send": ("chan send", True),
        "select": ("select", True),
        "select0": ("select (no cases)", True),
        "nilrecv": ("chan receive (nil chan)", True),
        "nilsend": ("chan send (nil chan)", True),
        "mutex": ("sync.Mutex.Lock", True),
        "rwlock": ("sync.RWMutex.Lock", True),
        "rwrlock": ("sync.RWMutex.RLock", True),
        "rwwriter": ("sync.RWMutex.Lock", True),
        "wg": ("sync.WaitGroup.Wait", True),
        "cond": ("sync.Cond.Wait", True),
        "sem": ("semacquire", True),
        "sleep": ("running", False),  # time.sleep is not a gocurrent wait
        "timeout": ("chan receive", True),
    }
    states = sorted((state, waiting) for _, state, waiting in out["coroutine"])
    assert states == sorted(
        [
            ("chan receive", True),
            ("chan send", True),
            ("select", True),
            ("chan receive (nil chan)", True),
            ("sync.Mutex.Lock", True),
            ("sync.RWMutex.RLock", True),
            ("sync.WaitGroup.Wait", True),
            ("semacquire", True),
            ("running", False),  # asyncio.sleep is not a gocurrent wait
            ("chan receive", True),
        ]
    )


def entry(state: str, waiting_for: float | None) -> runtime._Entry:
    g = Goroutine(7, "thread", state, waiting_for, "/x.py:3", "m.f", traceback.StackSummary())
    return runtime._Entry(g, [], "main", True)


def test_stack_header_shows_minutes_from_one_minute_on() -> None:
    assert runtime._format(entry("chan receive", 59.9)).startswith("goroutine 7 [chan receive]:\n")
    assert runtime._format(entry("chan receive", 60.0)).startswith(
        "goroutine 7 [chan receive, 1 minutes]:\n"
    )
    assert runtime._format(entry("chan receive", 150.0)).startswith(
        "goroutine 7 [chan receive, 2 minutes]:\n"
    )
    assert runtime._format(entry("running", None)).endswith("created by main at /x.py:3")


STACK = r"""
import time
from gocurrent import Chan, go, runtime
ch = Chan()
def leaf():
    ch.recv()
def worker():
    leaf()
go(worker)
while not any(g.state == "chan receive" for g in runtime.goroutines()):
    time.sleep(0.01)
def main():
    return runtime.stack()
print(main())
"""


def test_stack_is_gos_dump_format() -> None:
    r = run_python(STACK)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # The main thread first, as goroutine 1, then each goroutine: its
    # frames most recent first, then where it was created.
    assert lines[0] == "goroutine 1 [running]:"
    assert lines[1] == "__main__.main(...)"
    assert lines[2] == "\t<string>:13"
    assert lines[3] == "__main__.<module>(...)"
    assert lines[4] == "\t<string>:14"
    assert lines[5] == ""
    assert lines[6] == "goroutine 2 [chan receive]:"
    assert lines[7:11] == [
        "__main__.leaf(...)",
        "\t<string>:6",
        "__main__.worker(...)",
        "\t<string>:8",
    ]
    assert lines[11] == "created by <module> at <string>:9"


DUMP = r"""
import sys, threading, time
from gocurrent import Chan, go, runtime
runtime.dump_on_signal()
ch, parked = Chan(), Chan()
def reader():
    ch.send(sys.stdin.readline().strip())  # I/O: the program is not deadlocked
go(reader)
go(parked.recv)
while sorted(g.state for g in runtime.goroutines()) != ["chan receive", "running"]:
    time.sleep(0.001)  # both started (a goroutine still queued is dumped as runnable)
print("ready", flush=True)
print("main got", ch.recv(), flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGQUIT"), reason="no SIGQUIT")
def test_dump_on_signal_while_the_main_thread_is_blocked() -> None:
    p = subprocess.Popen(
        [sys.executable, "-c", DUMP],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert p.stdin is not None and p.stdout is not None and p.stderr is not None
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGQUIT)  # main is in ch.recv() (or about to be)
        dump = []
        while sum(x.startswith("created by") for x in dump) < 2:
            line = p.stderr.readline()
            assert line, "no dump: " + "".join(dump)
            dump.append(line)
        text = "".join(dump)
        assert "goroutine 1 [" in text  # the main thread
        assert "__main__.reader(...)" in text
        assert "[chan receive]:" in text  # parked.recv
        # The program goes on.
        out, err = p.communicate("hello\n", timeout=30)
        assert out == "main got hello\n", err
        assert p.returncode == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_dump_on_signal_needs_the_main_thread() -> None:
    r = run_python(
        """
        import threading
        from gocurrent import runtime
        errors = []
        def t():
            try:
                runtime.dump_on_signal()
            except ValueError as e:
                errors.append(e)
        th = threading.Thread(target=t); th.start(); th.join()
        print(len(errors))
        """
    )
    assert r.stdout == "1\n", r.stderr
