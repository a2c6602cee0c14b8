"""gocurrent.singleflight (API.md, section singleflight).

The first part ports golang.org/x/sync/singleflight/singleflight_test.go
test by test (Go's name in each docstring); Go's panics are Python
exceptions, Go's ``(v, err)`` results a value or an exception. Then what
is new here: threads and coroutines sharing one call, the async twin,
abandoned calls.
"""

from __future__ import annotations

import asyncio
import threading
import time

import anyio
import pytest
from gocurrent import Chan, WaitGroup, after, go, select, singleflight
from gocurrent.singleflight import Group, Result
from support import spawn, start, until


async def bounded(main):
    """main(), failing after 10 s (under asyncio or trio)."""
    with anyio.fail_after(10):
        return await main()


class ErrValue(Exception):
    pass


# ---- ported from singleflight_test.go ----------------------------------------


@pytest.mark.parametrize("value", ["string value", ErrValue("error value")])
def test_exception_is_raised_to_the_caller(value):
    """TestPanicErrorUnwrap: what fn raises comes out of do, unchanged."""
    g = Group()
    exc = value if isinstance(value, BaseException) else RuntimeError(value)

    def fn():
        raise exc

    with pytest.raises(type(exc)) as info:
        g.do(str(value), fn)
    assert info.value is exc


def test_do():
    """TestDo."""
    g = Group()
    v, shared = g.do("key", lambda: "bar")
    assert (v, type(v), shared) == ("bar", str, False)


def test_do_err():
    """TestDoErr: the error, and no value."""
    g = Group()
    some_err = ValueError("Some error")

    def fn():
        raise some_err

    with pytest.raises(ValueError) as info:
        g.do("key", fn)
    assert info.value is some_err


def test_do_dup_suppress():
    """TestDoDupSuppress: 10 callers, fewer than 10 calls, all get "bar"."""
    g = Group()
    wg1, wg2 = WaitGroup(), WaitGroup()
    c: Chan[str] = Chan(1)
    calls = 0
    calls_lock = threading.Lock()
    errors: list[str] = []

    def fn():
        nonlocal calls
        with calls_lock:
            calls += 1
            first = calls == 1
        if first:
            wg1.done()
        v = c.recv()
        c.send(v)  # pump; make available for any future calls
        time.sleep(0.01)  # let more goroutines enter do
        return v

    n = 10
    wg1.add(1)

    def caller():
        try:
            wg1.done()
            v, _ = g.do("key", fn)
            if v != "bar":
                errors.append(f"do = {v!r}; want 'bar'")
        finally:
            wg2.done()

    for _ in range(n):
        wg1.add(1)
        wg2.add(1)
        go(caller)
    wg1.wait(timeout=10)
    # At least one goroutine is in fn now and all of them have at least
    # reached the line before the do.
    c.send("bar")
    wg2.wait(timeout=10)
    assert not errors
    assert 0 < calls < n


def test_forget():
    """TestForget (golang/go#31420): after forget, a new call runs, and a
    call joining the new one gets the new one's result."""
    g = Group()
    first_started, unblock_first, first_finished = Chan(), Chan(), Chan()

    def first():
        first_started.close()
        unblock_first.recv()
        first_finished.close()

    go(lambda: g.do("key", first))
    first_started.recv(timeout=10)
    g.forget("key")

    unblock_second: Chan[None] = Chan()

    def second():
        unblock_second.recv()
        return 2

    second_result = g.do_chan("key", second)
    unblock_first.close()
    first_finished.recv(timeout=10)

    third_result = g.do_chan("key", lambda: 3)
    unblock_second.close()
    second_result.recv(timeout=10)
    r = third_result.recv(timeout=10)
    assert r.val == 2  # the result of the second call
    assert r.shared


def test_do_chan():
    """TestDoChan."""
    g = Group()
    ch = g.do_chan("key", lambda: "bar")
    res = ch.recv(timeout=10)
    assert isinstance(res, Result)
    assert (res.val, res.err, res.shared) == ("bar", None, False)
    assert len(ch) == 0 and not ch.closed  # one result; never closed


def test_panic_do():
    """TestPanicDo (golang/go#41133): every caller sharing a failing call
    gets the exception, and none hangs."""
    g = Group()
    started = threading.Event()
    release = threading.Event()

    def fn():
        started.set()
        release.wait(10)
        raise RuntimeError("invalid memory address or nil pointer dereference")

    n = 5
    done: Chan[BaseException | None] = Chan(n)

    def caller():
        try:
            g.do("key", fn)
        except BaseException as e:
            done.send(e)
        else:
            done.send(None)

    for _ in range(n):
        go(caller)
    started.wait(10)
    time.sleep(0.05)  # let the others join (they may also run a later call)
    release.set()
    errs = []
    for _ in range(n):
        i, e = select(done.recv, after(10).recv)
        assert i == 0, "do hangs"
        errs.append(e)
    assert all(isinstance(e, RuntimeError) for e in errs), errs


def test_abandoned_call_lets_the_duplicates_retry():
    """TestGoexitDo's counterpart: Go's duplicates of a call whose function
    calls runtime.Goexit neither hang nor get an error. Here the leader is
    interrupted (KeyboardInterrupt out of fn): it gets that, and the
    duplicates are not interrupted with it; they ask again."""
    g = Group()
    in_fn = threading.Event()
    release = threading.Event()
    calls = []

    def fn():
        calls.append(1)
        if len(calls) == 1:
            in_fn.set()
            release.wait(10)
            raise KeyboardInterrupt
        # The new call: wait until the other three duplicates joined it.
        deadline = time.monotonic() + 10
        while g._calls["key"].dups < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        return "again"

    leader = spawn(g.do, "key", fn)
    in_fn.wait(10)
    dups = [spawn(g.do, "key", fn) for _ in range(4)]
    deadline = time.monotonic() + 10
    while g._calls["key"].dups < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    release.set()
    for done, _out in [leader, *dups]:
        assert done.wait(10), "do hangs"
    assert isinstance(leader[1][0], KeyboardInterrupt)
    results = [out[0] for _, out in dups]
    assert all(r[0] == "again" for r in results), results
    assert len(calls) == 2  # the duplicates shared one new call
    assert [r[1] for r in results] == [True] * 4


def test_failing_do_chan_call_sends_its_exception():
    """TestPanicDoChan: Go crashes the program when a DoChan call panics
    (nobody could receive the panic). Here the Result carries it."""
    g = Group()
    ch = g.do_chan("", lambda: 1 / 0)
    res = ch.recv(timeout=10)
    assert res.val is None and isinstance(res.err, ZeroDivisionError)
    assert res.shared is False


def test_failing_do_shared_by_do_chan():
    """TestPanicDoSharedByDoChan: do_chan joining a failing do call
    receives do's exception; its own fn never runs."""
    g = Group()
    blocked, unblock = threading.Event(), threading.Event()

    def failing():
        blocked.set()
        unblock.wait(10)
        raise RuntimeError("Panicking in Do")

    def never():
        raise AssertionError("do_chan unexpectedly executed callback")

    done, out = spawn(g.do, "", failing)
    assert blocked.wait(10)
    ch = g.do_chan("", never)
    unblock.set()
    res = ch.recv(timeout=10)
    assert isinstance(res.err, RuntimeError) and str(res.err) == "Panicking in Do"
    assert res.shared
    assert done.wait(10)
    assert out[0] is res.err  # the same exception object in both callers


def test_example_group():
    """ExampleGroup: a second do_chan with the same key shares the first
    call; only the first function runs."""
    g = Group()
    block: Chan[None] = Chan()

    def func(name):
        def f():
            block.recv()
            return name

        return f

    res1c = g.do_chan("key", func("func 1"))
    res2c = g.do_chan("key", func("func 2"))
    block.close()
    res1 = res1c.recv(timeout=10)
    res2 = res2c.recv(timeout=10)
    assert res2.shared is True
    assert res1.val == res2.val
    assert res1.val == "func 1"


# ---- threads and coroutines sharing one call ---------------------------------


def test_thread_and_coroutine_share_one_call(arun):
    """A thread calling do and a coroutine awaiting do_async for the same
    key at once share ONE call of fn (whoever leads), and both see
    shared=True."""
    g = Group()
    calls = []
    entered = threading.Event()
    release = threading.Event()

    def fn():
        calls.append(threading.current_thread().name)
        entered.set()
        assert release.wait(10)
        return {"answer": 42}

    thread_side = spawn(g.do, "key", fn)
    assert entered.wait(10)  # the thread leads; fn is running

    async def coroutine_side():
        async with anyio.create_task_group() as tg:
            task = start(tg, g.do_async, "key", fn)
            # Let the coroutine join the call, then let fn finish.
            await until(lambda: g._calls["key"].dups >= 1)
            release.set()
            return await task.result()

    v_co, shared_co = arun(bounded, coroutine_side)
    assert thread_side[0].wait(10)
    v_th, shared_th = thread_side[1][0]
    assert v_co is v_th  # the very same object
    assert shared_co is True and shared_th is True
    assert len(calls) == 1


def test_coroutine_leader_with_thread_joiners(arun):
    """A coroutine leads with a coroutine function (run in its own task);
    threads join with do and wait on the same call object."""
    g = Group()
    calls = []
    joined = threading.Event()

    async def fn():
        calls.append(1)
        await until(lambda: g._calls["key"].dups >= 3)
        joined.set()
        return "v"

    async def main():
        async with anyio.create_task_group() as tg:
            lead = start(tg, g.do_async, "key", fn)
            await until(lambda: "key" in g._calls)
            threads = [spawn(g.do, "key", fn) for _ in range(3)]
            res = await lead.result()
        return res, threads

    (v, shared), threads = arun(bounded, main)
    assert (v, shared) == ("v", True)
    for done, out in threads:
        assert done.wait(10)
        assert out[0] == ("v", True)
    assert len(calls) == 1


def test_do_with_a_coroutine_function_from_a_thread():
    """do() given a coroutine function runs it on the runtime's loop while
    the thread waits."""
    g = Group()

    async def fn():
        await asyncio.sleep(0.01)
        return threading.current_thread().name

    name, shared = g.do("k", fn)
    assert name != threading.current_thread().name
    assert shared is False


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_do_with_a_coroutine_function_from_a_task_runs_it_on_the_runtimes_loop(backend, python_run):
    """do() blocks its thread, so a coroutine fn called from an asyncio or
    trio task must not run as a task of that (blocked) loop or run: it runs
    on the runtime's loop. (From a trio task it was a system task of the
    blocked run: a hang, hence the child process.)"""
    code = f"""
    import asyncio, threading
    import {backend}
    from gocurrent.singleflight import Group

    g = Group()

    async def fn():
        await asyncio.sleep(0.01)
        return threading.current_thread().name

    async def main():
        return g.do("k", fn)

    name, shared = {backend}.run({"main()" if backend == "asyncio" else "main"})
    assert name == "gocurrent-loop" and shared is False, (name, shared)
    print("ok")
    """
    r = python_run(code, timeout=30)
    assert r.returncode == 0 and r.stdout == "ok\n", r.stderr


def test_do_async_runs_a_plain_fn_off_the_loop(arun):
    """do_async with a plain callable runs it as a goroutine: the event
    loop keeps running while it blocks."""
    g = Group()
    release = threading.Event()

    def fn():
        assert release.wait(10)
        return threading.current_thread().name

    async def main():
        async with anyio.create_task_group() as tg:
            task = start(tg, g.do_async, "k", fn)
            await anyio.sleep(0.02)  # the loop is not blocked by fn
            assert not task.done()
            release.set()
            return await task.result()

    name, shared = arun(bounded, main)
    assert name != threading.current_thread().name
    assert shared is False


def test_do_async_twins(arun):
    """The async twins of TestDo, TestDoErr and TestDoDupSuppress."""
    g = Group()
    calls = 0

    async def slow():
        nonlocal calls
        calls += 1
        await anyio.sleep(0.05)
        return "bar"

    async def failing():
        raise ValueError("Some error")

    async def main():
        assert await g.do_async("key", lambda: "bar") == ("bar", False)
        with pytest.raises(ValueError, match="Some error"):
            await g.do_async("key", failing)
        async with anyio.create_task_group() as tg:
            tasks = [start(tg, g.do_async, "dup", slow) for _ in range(10)]
        return [await t.result() for t in tasks]

    results = arun(bounded, main)
    assert calls == 1
    assert results == [("bar", True)] * 10


def test_exception_shared_between_thread_and_coroutine(arun):
    g = Group()
    entered, release = threading.Event(), threading.Event()
    boom = LookupError("boom")

    def fn():
        entered.set()
        release.wait(10)
        raise boom

    th = spawn(g.do, "k", fn)
    assert entered.wait(10)

    async def main():
        async with anyio.create_task_group() as tg:
            task = start(tg, g.do_async, "k", fn)
            await until(lambda: g._calls["k"].dups >= 1)
            release.set()
            with pytest.raises(LookupError) as info:
                await task.result()
        return info.value

    assert arun(bounded, main) is boom
    assert th[0].wait(10)
    assert th[1][0] is boom


def test_cancelled_coroutine_leader_abandons_the_call_for_a_thread(arun):
    """Cancelling the leading coroutine cancels only it: a thread that
    joined runs the function again."""
    g = Group()
    calls = []

    async def fn():
        calls.append(1)
        if len(calls) == 1:
            await anyio.sleep(30)  # in the leading task
        return "second"

    async def main():
        async with anyio.create_task_group() as tg:
            lead = start(tg, g.do_async, "k", fn)
            await until(lambda: "k" in g._calls)
            th = spawn(g.do, "k", fn)
            await until(lambda: g._calls["k"].dups >= 1)
            lead.cancel()
            await lead.wait()
        assert lead.cancelled
        return th

    th = arun(bounded, main)
    assert th[0].wait(10)
    assert th[1][0] == ("second", False)
    assert len(calls) == 2


def test_cancelled_joiner_leaves_the_call_running(arun):
    g = Group()
    release = threading.Event()

    def fn():
        release.wait(10)
        return 7

    async def main():
        async with anyio.create_task_group() as tg:
            lead = start(tg, g.do_async, "k", fn)
            dup = start(tg, g.do_async, "k", fn)
            await anyio.sleep(0.01)
            dup.cancel()
            await dup.wait()
            assert dup.cancelled
            release.set()
            return await lead.result()

    assert arun(bounded, main) == (7, True)
    assert not g._calls


def test_do_chan_with_a_coroutine_function_and_recv_async(arun):
    g = Group()

    async def fn():
        await anyio.sleep(0.01)  # a task of this loop (a trio system task)
        return "co"

    async def main():
        ch = g.do_chan("k", fn)
        ch2 = g.do_chan("k", fn)
        return await ch.recv_async(), await ch2.recv_async()

    r1, r2 = arun(bounded, main)
    assert r1 == Result("co", None, True) and r2 == r1


def test_keys_are_independent_and_any_hashable():
    g = Group()
    assert g.do(("a", 1), lambda: 1) == (1, False)
    assert g.do(("a", 2), lambda: 2) == (2, False)
    assert g.do(None, lambda: 3) == (3, False)
    assert "in flight=0" in repr(g)


def test_bad_fn_raises_type_error_and_leaves_nothing_in_flight(arun):
    g = Group()
    with pytest.raises(TypeError):
        g.do("k", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        g.do_chan("k", 42)  # type: ignore[arg-type]

    async def main():
        with pytest.raises(TypeError):
            await g.do_async("k", 42)  # type: ignore[arg-type]

    arun(main)
    assert not g._calls
    assert g.do("k", lambda: 1) == (1, False)


def test_submodule_is_exported():
    import gocurrent

    assert gocurrent.singleflight is singleflight
    assert "singleflight" in gocurrent.__all__


def test_a_plain_fn_returning_a_coroutine_is_awaited(arun):
    """``lambda: fetch(key)`` with an async fetch: the coroutine it returns
    is awaited (on the runtime's loop), from do and from do_async."""
    g = Group()
    runs = []

    async def fetch(key):
        runs.append(key)
        await asyncio.sleep(0.01)
        return f"value of {key}"

    assert g.do("a", lambda: fetch("a")) == ("value of a", False)

    async def main():
        async with anyio.create_task_group() as tg:
            tasks = [start(tg, g.do_async, "b", lambda: fetch("b")) for _ in range(5)]
        return [await t.result() for t in tasks]

    results = arun(bounded, main)
    assert results == [("value of b", True)] * 5
    assert runs == ["a", "b"]
