"""go(): every line of the "Goroutines" section of API.md (process exit is in
test_exit.py)."""

from __future__ import annotations

import asyncio
import functools
import gc
import sys
import threading
import time
import weakref

import pytest
from conftest import run_python
from gocurrent import Chan, go

# --- plain callables ----------------------------------------------------------------


def test_go_returns_none_and_runs_concurrently():
    ch = Chan()
    assert go(ch.send, 1) is None
    assert ch.recv(timeout=10) == 1


def test_arguments_and_kwargs_are_passed():
    out = Chan(1)

    def f(a, b, *rest, k=None, **kw):
        out.send((a, b, rest, k, kw))

    obj = object()
    go(f, 1, obj, 3, 4, k="key", extra=obj)
    a, b, rest, k, kw = out.recv(timeout=10)
    assert (a, rest, k) == (1, (3, 4), "key")
    assert b is obj and kw["extra"] is obj and list(kw) == ["extra"]


def test_kwargs_may_be_named_fn():
    # go's own parameter is positional-only.
    out = Chan(1)
    go(lambda **kw: out.send(kw), fn=1, args=2)
    assert out.recv(timeout=10) == {"fn": 1, "args": 2}


def test_runs_on_another_thread():
    out = Chan(1)
    go(lambda: out.send(threading.current_thread()))
    t = out.recv(timeout=10)
    assert isinstance(t, threading.Thread)
    assert t is not threading.main_thread()
    assert t is not threading.current_thread()


@pytest.mark.parametrize(
    "make",
    [
        lambda out: (out.send, ("builtin",)),
        lambda out: (functools.partial(out.send, "partial"), ()),
        lambda out: (_Callable(out), ()),
        lambda out: (_Obj(out).method, ()),
        lambda out: (print, ("",)),
    ],
    ids=["builtin", "partial", "callable-object", "bound-method", "print"],
)
def test_any_callable(make):
    out = Chan(1)
    fn, args = make(out)
    go(fn, *args)
    if fn is print:
        return
    assert out.recv(timeout=10) in ("builtin", "partial", "callable", "method")


class _Callable:
    def __init__(self, out):
        self.out = out

    def __call__(self):
        self.out.send("callable")


class _Obj:
    def __init__(self, out):
        self.out = out

    def method(self):
        self.out.send("method")


@pytest.mark.parametrize("bad", [1, None, "f", b"f", object(), [print]])
def test_non_callable_is_type_error(bad):
    with pytest.raises(TypeError, match="callable"):
        go(bad)


def test_no_argument_is_type_error():
    with pytest.raises(TypeError):
        go()  # type: ignore[call-arg]


def test_many_concurrent_goroutines_all_run():
    n = 5000
    out = Chan(n)
    for i in range(n):
        go(out.send, i)
    assert sorted(out.recv(timeout=30) for _ in range(n)) == list(range(n))


def test_goroutines_start_goroutines():
    out = Chan(100)

    def spawner(depth: int) -> None:
        out.send(depth)
        if depth < 50:
            go(spawner, depth + 1)

    go(spawner, 0)
    assert sorted(out.recv(timeout=30) for _ in range(51)) == list(range(51))


# --- the pool ---------------------------------------------------------------------


def test_idle_threads_are_reused():
    # A fresh process, so no idle thread of another test is around.
    r = run_python(
        """
        import threading, time
        from gocurrent import Chan, go
        from gocurrent import _native
        ch = Chan()
        def g():
            ch.send(threading.get_ident())

        # sequential short goroutines, back to back
        idents = set()
        for _ in range(100):
            go(g)
            idents.add(ch.recv(timeout=10))
        print(len(idents), threading.main_thread().ident in idents)

        # the same, letting each worker go idle before the next go()
        from gocurrent import _runtime
        existing = set(_runtime.worker_idents)
        idents2 = set()
        for _ in range(100):
            go(g)
            idents2.add(ch.recv(timeout=10))
            deadline = time.monotonic() + 2
            while _native._idle_workers() < 1 and time.monotonic() < deadline:
                time.sleep(0.0005)
        print(len(idents2), len(idents2 - existing))
        """
    )
    assert r.returncode == 0, r.stderr
    line1, line2 = r.stdout.split("\n")[:2]
    distinct, main_used = line1.split()
    assert main_used == "False"
    assert 1 <= int(distinct) <= 10
    distinct2, new2 = map(int, line2.split())
    assert new2 == 0  # no new thread once idle ones exist
    assert distinct2 >= 1


@pytest.mark.timeout(90)
def test_pool_grows_when_all_are_blocked():
    """1,000 goroutines block on one channel: the pool grows (none waits
    behind a blocked one), another goroutine still runs, and all complete
    once released."""
    n = 1000
    gate = Chan()
    started = Chan(n)
    finished = Chan(n)

    def blocked(i: int) -> None:
        started.send(i)
        gate.recv()
        finished.send(i)

    for i in range(n):
        go(blocked, i)
    assert sorted(started.recv(timeout=60) for _ in range(n)) == list(range(n))

    # everyone is blocked on the gate, yet a new goroutine runs at once
    probe = Chan(1)
    go(probe.send, "still runs")
    assert probe.recv(timeout=10) == "still runs"
    assert len(finished) == 0

    gate.close()
    assert sorted(finished.recv(timeout=60) for _ in range(n)) == list(range(n))


@pytest.mark.skipif(sys.platform != "linux", reason="the futex hash is Linux's")
@pytest.mark.timeout(120)
def test_thousands_of_goroutine_threads_get_the_futex_table_grown():
    """Past 1,024 goroutine threads the kernel's futex table of the process
    (Linux 6.16+) grows to a bucket per thread: 1,100 blocked goroutines
    get 2,048 buckets (the kernel's own default is 4 per CPU). In a child,
    so the table starts at the kernel's size."""
    proc = run_python(
        """
        import ctypes, time
        from gocurrent import Chan, go

        libc = ctypes.CDLL(None, use_errno=True)
        zero = ctypes.c_ulong(0)

        def slots():
            return libc.prctl(78, ctypes.c_ulong(2), zero, zero, zero)  # GET_SLOTS

        n = 1100
        gate, started = Chan(), Chan(n)

        def blocked():
            started.send(None)
            gate.recv()

        go(blocked)
        started.recv(timeout=60)
        at_first = slots()
        for _ in range(n - 1):
            go(blocked)
        for _ in range(n - 1):
            started.recv(timeout=60)
        deadline = time.monotonic() + 60
        while 0 < slots() < 2048 and time.monotonic() < deadline:
            time.sleep(0.01)
        print(at_first, slots())
        gate.close()
        """,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr
    at_first, at_last = map(int, proc.stdout.split())
    if at_first <= 0:
        pytest.skip("no private futex hash here (Linux < 6.16, or the global one)")
    assert at_first < 2048
    assert at_last == 2048


def test_a_blocked_goroutine_does_not_starve_queued_work():
    # One goroutine blocks for ever; many short ones started after it all run.
    go(Chan().recv)
    out = Chan(200)
    for i in range(200):
        go(out.send, i)
    assert sorted(out.recv(timeout=30) for _ in range(200)) == list(range(200))


# --- coroutines -------------------------------------------------------------------


def test_coroutine_function_runs_on_the_callers_running_loop():
    async def child(a, *, b):
        return asyncio.get_running_loop(), threading.get_ident(), a, b

    async def main():
        out = Chan(1)

        async def wrapper(*args, **kwargs):
            out.send(await child(*args, **kwargs))

        assert go(wrapper, 1, b=2) is None
        loop, ident, a, b = await out.recv_async(timeout=10)
        assert loop is asyncio.get_running_loop()
        assert ident == threading.get_ident()
        assert (a, b) == (1, 2)

    asyncio.run(main())


def test_coroutine_object_runs_on_the_callers_running_loop():
    async def main():
        out = Chan(1)

        async def child(x):
            out.send((asyncio.get_running_loop(), x))

        go(child("obj"))
        loop, x = await out.recv_async(timeout=10)
        assert loop is asyncio.get_running_loop()
        assert x == "obj"

    asyncio.run(main())


def test_coroutine_goroutine_is_a_task_running_concurrently():
    async def main():
        a, b = Chan(), Chan()

        async def ping():
            for i in range(10):
                await a.send_async(i)
                assert await b.recv_async() == i

        go(ping)
        for _ in range(10):
            await b.send_async(await a.recv_async(timeout=10))

    asyncio.run(main())


async def goroutine_task() -> asyncio.Task:
    """The task of a coroutine goroutine that go() starts from here."""
    out = Chan(1)

    async def child():
        out.send(asyncio.current_task())

    go(child)
    return await out.recv_async(timeout=10)


def test_coroutine_goroutine_goes_through_the_loops_task_factory():
    made = []

    def factory(loop, coro, **kwargs):
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    async def main():
        asyncio.get_running_loop().set_task_factory(factory)
        assert made == [await goroutine_task()]

    asyncio.run(main())


def test_coroutine_goroutine_goes_through_an_overridden_create_task():
    made = []

    class Loop(asyncio.SelectorEventLoop):
        def create_task(self, coro, **kwargs):
            task = super().create_task(coro, **kwargs)
            made.append(task)
            return task

    async def main():
        task = await goroutine_task()
        assert made == [asyncio.current_task(), task]  # main's, then the goroutine's

    loop = Loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_coroutine_goroutine_in_debug_mode_is_traced_to_the_go_call():
    async def main():
        out = Chan(1)

        async def child():
            out.send(asyncio.current_task())

        go(child)  # the line the task's source traceback ends at
        line = sys._getframe().f_lineno - 1
        task = await out.recv_async(timeout=10)
        assert type(task) is asyncio.Task
        assert task.get_loop() is asyncio.get_running_loop()
        last = task._source_traceback[-1]
        assert (last.filename, last.lineno) == (__file__, line)

    asyncio.run(main(), debug=True)


def test_coroutine_object_with_arguments_is_type_error():
    async def child():
        pass

    coro = child()
    try:
        with pytest.raises(TypeError):
            go(coro, 1)
    finally:
        coro.close()


def test_partial_of_a_coroutine_function_runs_as_a_task():
    async def child(x, out):
        out.send((x, asyncio.get_running_loop()))

    async def main():
        out = Chan(1)
        go(functools.partial(child, "p"), out)
        x, loop = await out.recv_async(timeout=10)
        assert x == "p" and loop is asyncio.get_running_loop()

    asyncio.run(main())


def test_task_referenced_only_by_the_runtime_completes():
    """asyncio keeps only weak references to tasks; go() must keep one."""

    async def main():
        loop = asyncio.get_running_loop()
        refs: list = []
        done = Chan(1)

        async def orphan():
            fut = loop.create_future()  # only this frame refers to it
            refs.append(weakref.ref(fut))
            done.send(await fut)

        go(orphan)
        await asyncio.sleep(0.01)
        for _ in range(3):
            gc.collect()
        fut = refs[0]()
        assert fut is not None, "the goroutine's task was garbage-collected"
        fut.set_result("completed")
        del fut
        return await done.recv_async(timeout=10)

    assert asyncio.run(main()) == "completed"


def test_background_task_referenced_only_by_the_runtime_completes():
    refs: list = []
    ready, done = Chan(1), Chan(1)

    async def orphan():
        fut = asyncio.get_running_loop().create_future()
        refs.append(weakref.ref(fut))
        ready.send(None)
        done.send(await fut)

    go(orphan)
    ready.recv(timeout=10)
    for _ in range(3):
        gc.collect()
    fut = refs[0]()
    assert fut is not None, "the goroutine's task was garbage-collected"
    fut.get_loop().call_soon_threadsafe(fut.set_result, "completed")
    del fut
    assert done.recv(timeout=10) == "completed"


def test_coroutine_without_running_loop_uses_the_background_loop():
    out = Chan(2)

    async def where(tag):
        loop = asyncio.get_running_loop()
        out.send((tag, loop, threading.get_ident(), loop.is_running()))

    go(where, "function")
    go(where("object"))
    got = dict((t, rest) for t, *rest in (out.recv(timeout=10), out.recv(timeout=10)))
    (loop1, ident1, running1), (loop2, ident2, running2) = got["function"], got["object"]
    assert loop1 is loop2  # one background loop
    assert ident1 == ident2 != threading.get_ident()
    assert running1 and running2


def test_coroutine_started_from_a_thread_goroutine_uses_the_background_loop():
    out = Chan(2)

    async def where():
        out.send(asyncio.get_running_loop())

    def starter() -> None:
        go(where)

    go(starter)
    go(where)
    assert out.recv(timeout=10) is out.recv(timeout=10)


def test_background_loop_goroutines_run_concurrently_with_threads():
    ch = Chan()
    out = Chan(100)

    async def consumer():
        async for v in ch:
            out.send(v)

    go(consumer)
    go(consumer)
    for i in range(100):
        ch.send(i, timeout=10)
    ch.close()
    assert sorted(out.recv(timeout=10) for _ in range(100)) == list(range(100))


# --- exceptions ------------------------------------------------------------------------


@pytest.fixture
def hooked(monkeypatch):
    """Replaces threading.excepthook; yields the channel of hook arguments."""
    calls = Chan(100)
    monkeypatch.setattr(threading, "excepthook", lambda args: calls.send(args))
    return calls


def _check_hook_args(args, exc, thread_expected=True):
    assert args.exc_type is type(exc)
    assert args.exc_value is exc
    assert args.exc_traceback is not None
    if thread_expected:
        assert isinstance(args.thread, threading.Thread)


def test_thread_goroutine_exception_reaches_excepthook(hooked):
    exc = ValueError("boom")

    def fail():
        raise exc

    go(fail)
    args = hooked.recv(timeout=10)
    _check_hook_args(args, exc)
    assert args.thread is not threading.main_thread()
    # the program goes on, and so does the pool
    out = Chan(1)
    go(out.send, "after")
    assert out.recv(timeout=10) == "after"


def test_base_exception_in_goroutine_reaches_excepthook(hooked):
    exc = KeyboardInterrupt()

    def fail():
        raise exc

    go(fail)
    _check_hook_args(hooked.recv(timeout=10), exc)


def test_system_exit_in_goroutine_does_not_stop_the_program(hooked):
    go(sys.exit, 3)
    out = Chan(1)
    go(out.send, "alive")
    assert out.recv(timeout=10) == "alive"


def test_coroutine_goroutine_exception_on_running_loop_reaches_excepthook(hooked):
    exc = RuntimeError("async boom")

    async def fail():
        await asyncio.sleep(0)
        raise exc

    async def main():
        go(fail)
        return await hooked.recv_async(timeout=10)

    _check_hook_args(asyncio.run(main()), exc)


@pytest.mark.timeout(60)
def test_coroutine_goroutines_of_loops_on_two_threads_all_report_and_end(monkeypatch):
    """Each loop's thread runs its goroutines' done callbacks in a context of
    its own: two loops whose goroutines fail at the same time report every
    exception, and their callbacks never fail (asyncio would log them)."""
    from gocurrent import runtime

    n = 1000
    reported = Chan(2 * n)
    monkeypatch.setattr(threading, "excepthook", lambda args: reported.send(args.exc_value))
    callback_errors = []

    async def fail(i):
        await asyncio.sleep(0)
        raise ValueError(i)

    async def main(first):
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, context: callback_errors.append(context)
        )
        for i in range(first, first + n):
            go(fail, i)
        while any(not t.done() for t in asyncio.all_tasks() if t is not asyncio.current_task()):
            await asyncio.sleep(0)

    base = runtime.num_goroutine()
    threads = [threading.Thread(target=asyncio.run, args=(main(k * n),)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    got = sorted(reported.recv(timeout=10).args[0] for _ in range(2 * n))
    assert got == list(range(2 * n))
    assert callback_errors == []
    assert runtime.num_goroutine() == base


def test_coroutine_goroutine_exception_on_background_loop_reaches_excepthook(hooked):
    exc = LookupError("bg boom")

    async def fail():
        raise exc

    go(fail)
    _check_hook_args(hooked.recv(timeout=10), exc)
    go(fail())  # a coroutine object too
    _check_hook_args(hooked.recv(timeout=10), exc)


def test_many_failing_goroutines_each_reported_once(hooked):
    def fail(i):
        raise ValueError(i)

    for i in range(50):
        go(fail, i)
    got = sorted(hooked.recv(timeout=10).exc_value.args[0] for _ in range(50))
    assert got == list(range(50))
    with pytest.raises(TimeoutError):
        hooked.recv(timeout=0.1)


def test_default_excepthook_prints_the_traceback():
    r = run_python(
        """
        import time
        from gocurrent import Chan, go
        def fail():
            raise ValueError("from a goroutine")
        go(fail)
        time.sleep(0.3)  # two threads' tracebacks written at once interleave
        async def afail():
            raise KeyError("from a coroutine goroutine")
        go(afail)
        time.sleep(0.3)
        print("still running")
        """
    )
    assert r.returncode == 0, r.stderr
    assert "still running" in r.stdout
    assert "ValueError: from a goroutine" in r.stderr, r.stderr
    assert "KeyError: 'from a coroutine goroutine'" in r.stderr, r.stderr
    assert "Traceback" in r.stderr


def test_goroutine_does_not_keep_a_reference_after_it_finished():
    class Big:
        pass

    ref: list = []
    done = Chan(1)

    def g(obj):
        ref.append(weakref.ref(obj))
        done.send(None)

    go(g, Big())
    done.recv(timeout=10)
    deadline = time.monotonic() + 5
    while ref[0]() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.01)
    assert ref[0]() is None
