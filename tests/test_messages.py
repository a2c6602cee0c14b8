"""Errors that say what is wrong: what timed out and after how long, and
what is wrong with a select case."""

from __future__ import annotations

import asyncio

import pytest
from gocurrent import Chan, Cond, Mutex, RWMutex, Semaphore, WaitGroup, select, select_async


def _blocked():
    mu = Mutex()
    mu.lock()
    rw = RWMutex()
    rw.lock()
    wg = WaitGroup()
    wg.add(1)
    sem = Semaphore(1)
    sem.acquire()
    cond = Cond()
    cond.L.lock()
    ch: Chan[int] = Chan()
    return [
        ("Chan.recv", lambda t: ch.recv(timeout=t)),
        ("Chan.recv_ok", lambda t: ch.recv_ok(timeout=t)),
        ("Chan.send", lambda t: ch.send(1, timeout=t)),
        ("select", lambda t: select(ch.recv, timeout=t)),
        ("Mutex.lock", lambda t: mu.lock(timeout=t)),
        ("RWMutex.lock", lambda t: rw.lock(timeout=t)),
        ("RWMutex.rlock", lambda t: rw.rlock(timeout=t)),
        ("RLocker.lock", lambda t: rw.rlocker().lock(timeout=t)),
        ("WaitGroup.wait", lambda t: wg.wait(timeout=t)),
        ("Semaphore.acquire", lambda t: sem.acquire(timeout=t)),
        ("Cond.wait", lambda t: cond.wait(timeout=t)),
    ]


@pytest.mark.parametrize("index", range(len(_blocked())))
@pytest.mark.parametrize(("timeout", "shown"), [(0.01, "0.01s"), (0, "0s"), (-1, "0s")])
def test_timeout_error_says_what_timed_out_and_after_how_long(index, timeout, shown):
    what, call = _blocked()[index]
    with pytest.raises(TimeoutError) as ei:
        call(timeout)
    assert str(ei.value) == f"{what} timed out after {shown}"


def test_async_timeout_error_names_the_async_method():
    async def main():
        ch: Chan[int] = Chan()
        with pytest.raises(TimeoutError, match=r"^Chan\.recv_async timed out after 0\.01s$"):
            await ch.recv_async(timeout=0.01)
        with pytest.raises(TimeoutError, match=r"^select_async timed out after 0\.01s$"):
            await select_async(ch.recv, timeout=0.01)
        with pytest.raises(TimeoutError, match=r"^Chan\.send_async timed out after 0s$"):
            await ch.send_async(1, timeout=0)

    asyncio.run(main())


def _cases():
    ch: Chan[int] = Chan(1)
    return [
        ((ch.send,), "a send case is (ch.send, value), got a 1-tuple"),
        ((ch.send, 1, 2), "a send case is (ch.send, value), got a 3-tuple"),
        ((), "a send case is (ch.send, value), got a 0-tuple"),
        (ch.send, "a send case is (ch.send, value), got ch.send alone"),
        ((ch.recv, 1), "a receive case takes no value: pass ch.recv (or ch.recv_ok) alone"),
        (
            (print, 1),
            "the first item of a send case must be ch.send, got builtin_function_or_method",
        ),
        (1, "got int, which is not callable"),
        (print, "got builtin_function_or_method, not a channel's recv or recv_ok method"),
        (ch.close, "got builtin_function_or_method, not a channel's recv or recv_ok method"),
    ]


@pytest.mark.parametrize("index", range(len(_cases())))
def test_select_case_errors_say_what_is_wrong(index):
    case, detail = _cases()[index]
    ok: Chan[int] = Chan(1)
    expected = f"select case 1 must be ch.recv, ch.recv_ok or (ch.send, value): {detail}"
    with pytest.raises(TypeError) as ei:
        select(ok.recv, case, default=True)
    assert str(ei.value) == expected
    with pytest.raises(TypeError) as ei:
        select_async(ok.recv, case)
    assert str(ei.value) == expected
