"""gocurrent.errgroup (API.md, section errgroup), with Go's rules."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import anyio
import gocurrent
import pytest
import sniffio
from gocurrent import Chan, ErrGroup, after, context, errgroup, go, select
from gocurrent.context import Canceled


class Peak:
    """Counts running goroutines and remembers the peak."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def test_exports():
    assert ErrGroup is errgroup.Group
    assert "ErrGroup" in gocurrent.__all__ and "errgroup" in gocurrent.__all__
    assert "Group" in errgroup.__all__ and "with_context" in errgroup.__all__


def test_empty_group_waits_for_nothing():
    g = ErrGroup()
    assert g.wait() is None


def test_go_runs_all_and_ignores_return_values():
    g = errgroup.Group()
    results: Chan[int] = Chan(10)
    for i in range(10):
        g.go(lambda i=i: results.send(i) or "ignored")
    assert g.wait() is None
    assert sorted(results.recv() for _ in range(10)) == list(range(10))


def test_go_passes_arguments():
    g = errgroup.Group()
    out: Chan[tuple] = Chan(1)
    g.go(lambda a, b, *, c: out.send((a, b, c)), 1, 2, c=3)
    g.wait()
    assert out.recv() == (1, 2, 3)


def test_wait_reraises_the_first_error_object():
    g = errgroup.Group()
    first = ValueError("first")
    second_may_go: Chan[None] = Chan()

    def fail_first():
        try:
            raise first
        finally:
            second_may_go.close()

    def fail_later():
        second_may_go.recv()
        time.sleep(0.02)
        raise KeyError("second")

    g.go(fail_later)
    g.go(fail_first)
    g.go(lambda: None)
    with pytest.raises(ValueError) as info:
        g.wait()
    assert info.value is first


def test_wait_waits_for_every_goroutine_even_after_an_error():
    g = errgroup.Group()
    finished = []

    def slow():
        time.sleep(0.1)
        finished.append("slow")

    def fail():
        raise RuntimeError("x")

    g.go(slow)
    g.go(fail)
    with pytest.raises(RuntimeError):
        g.wait()
    assert finished == ["slow"]


def test_group_errors_do_not_reach_excepthook(monkeypatch):
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args))
    g = errgroup.Group()
    g.go(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        g.wait()
    assert seen == []


def test_group_is_reusable_after_wait():
    g = errgroup.Group()
    g.go(lambda: None)
    g.wait()
    ran: Chan[int] = Chan(1)
    g.go(lambda: ran.send(2))
    g.wait()
    assert ran.recv(timeout=0) == 2


def test_go_needs_a_callable():
    g = errgroup.Group()
    with pytest.raises(TypeError):
        g.go(3)  # type: ignore[arg-type]
    assert g.wait() is None


# ---- with_context ----------------------------------------------------------------


def test_with_context_cancels_on_first_error():
    g, ctx = errgroup.with_context(context.background())
    assert ctx.err() is None
    boom = OSError("boom")
    seen: Chan[BaseException | None] = Chan(3)

    def watcher():
        ctx.done().recv()
        seen.send(ctx.err())
        raise ctx.err()  # type: ignore[misc]

    for _ in range(3):
        g.go(watcher)

    def fail():
        raise boom

    g.go(fail)
    with pytest.raises(OSError) as info:
        g.wait()
    assert info.value is boom
    errs = [seen.recv(timeout=5) for _ in range(3)]
    assert all(isinstance(e, Canceled) for e in errs)
    assert context.cause(ctx) is boom


def test_with_context_is_cancelled_when_wait_returns():
    g, ctx = errgroup.with_context(context.background())
    g.go(lambda: None)
    assert g.wait() is None
    assert isinstance(ctx.err(), Canceled)
    assert isinstance(context.cause(ctx), Canceled)


def test_with_context_follows_its_parent():
    parent, cancel = context.with_cancel(context.background())
    g, ctx = errgroup.with_context(parent)

    def worker():
        ctx.done().recv()
        raise ctx.err()  # type: ignore[misc]

    g.go(worker)
    cancel()
    with pytest.raises(Canceled) as info:
        g.wait()
    assert info.value is parent.err()


# ---- set_limit / try_go ----------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 3, 8])
def test_limit_is_never_exceeded(limit):
    g = errgroup.Group()
    g.set_limit(limit)
    peak = Peak()

    def work():
        with peak:
            time.sleep(0.01)

    for _ in range(5 * limit + 3):
        g.go(work)
        assert peak.now <= limit
    g.wait()
    assert peak.peak == limit


def test_try_go_false_at_the_limit():
    g = errgroup.Group()
    g.set_limit(2)
    release: Chan[None] = Chan()
    started: Chan[None] = Chan(2)

    def blocked():
        started.send(None)
        release.recv()

    assert g.try_go(blocked) is True
    assert g.try_go(blocked) is True
    assert g.try_go(blocked) is False
    started.recv(timeout=5)
    started.recv(timeout=5)
    assert g.try_go(blocked) is False
    release.send(None)  # one finishes: a slot frees
    deadline = time.monotonic() + 5
    while not g.try_go(lambda: None):
        assert time.monotonic() < deadline
        time.sleep(0.001)
    release.close()
    g.wait()


def test_go_blocks_at_the_limit_until_a_slot_frees():
    g = errgroup.Group()
    g.set_limit(1)
    release: Chan[None] = Chan()
    g.go(release.recv)
    returned: Chan[str] = Chan(1)

    def second_go():
        g.go(lambda: None)
        returned.send("go returned")

    threading.Thread(target=second_go, daemon=True).start()
    with pytest.raises(TimeoutError):
        returned.recv(timeout=0.1)
    release.send(None)
    assert returned.recv(timeout=5) == "go returned"
    g.wait()


def test_set_limit_while_active_raises():
    g = errgroup.Group()
    g.set_limit(2)
    release: Chan[None] = Chan()
    g.go(release.recv)
    with pytest.raises(
        RuntimeError,
        match=r"^errgroup: modify limit while 1 goroutines in the group are still active$",
    ):
        g.set_limit(5)
    g.set_limit(-1)  # removing the limit is allowed
    assert g.try_go(lambda: None) is True
    release.close()
    g.wait()
    g.set_limit(3)  # nothing active: fine


def test_limit_zero_and_negative():
    g = errgroup.Group()
    g.set_limit(0)
    assert g.try_go(lambda: None) is False
    g.set_limit(-1)
    for _ in range(20):
        assert g.try_go(lambda: None) is True
    g.wait()


def test_unlimited_group_runs_everything_at_once():
    g = errgroup.Group()
    n = 20
    barrier = threading.Barrier(n, timeout=10)
    for _ in range(n):
        g.go(barrier.wait)
    g.wait()


# ---- coroutine goroutines ----------------------------------------------------------


def test_coroutine_functions_run_as_async_goroutines():
    g = errgroup.Group()
    out: Chan[str] = Chan(2)

    async def work(tag):
        await asyncio.sleep(0.01)  # on the runtime's asyncio loop
        await out.send_async(tag)

    g.go(work, "a")
    g.go(work("b"))  # a coroutine object too
    g.wait()
    assert sorted([out.recv(), out.recv()]) == ["a", "b"]


def test_coroutine_error_is_the_group_error():
    g = errgroup.Group()
    boom = LookupError("async boom")

    async def fail():
        await asyncio.sleep(0)
        raise boom

    g.go(fail)
    with pytest.raises(LookupError) as info:
        g.wait()
    assert info.value is boom


def test_wait_async(arun):
    async def main():
        g, ctx = errgroup.with_context(context.background())
        boom = ValueError("x")

        async def fail():
            raise boom

        async def watch():
            await ctx.done().recv_async()
            raise ctx.err()  # type: ignore[misc]

        def thread_watch():
            ctx.done().recv()

        g.go(watch)
        g.go(thread_watch)
        g.go(fail)
        with pytest.raises(ValueError) as info:
            await g.wait_async()
        assert info.value is boom
        assert isinstance(ctx.err(), Canceled)
        g2 = errgroup.Group()
        assert await g2.wait_async() is None

    arun(main)


def test_coroutines_started_from_a_task_run_there(backend, arun):
    """g.go(coroutine function) from an asyncio or trio task runs it as a
    task of that loop or run (a trio system task), limit and first error
    included; wait_async waits for them without blocking the loop."""

    async def main():
        g = errgroup.Group()
        g.set_limit(2)
        peak = Peak()
        where = []
        boom = KeyError("boom")

        async def work(i):
            with peak:
                where.append(sniffio.current_async_library())
                await anyio.sleep(0.01)
            if i == 3:
                raise boom

        for i in range(5):
            while not g.try_go(work, i):  # go() would block this loop at the limit
                await anyio.sleep(0.001)
        await anyio.to_thread.run_sync(g.go, work, 5)  # blocks a worker thread
        with pytest.raises(KeyError) as info:
            with anyio.fail_after(10):
                await g.wait_async()
        assert info.value is boom
        assert peak.peak <= 2
        return where

    where = arun(main)
    # the one started from a thread runs on the runtime's asyncio loop
    assert sorted(where) == sorted([backend] * 5 + ["asyncio"])


def test_limit_with_coroutines():
    g = errgroup.Group()
    g.set_limit(2)
    peak = Peak()

    async def work():
        with peak:
            await asyncio.sleep(0.01)

    for _ in range(10):
        g.go(work)
    g.wait()
    assert peak.peak <= 2


# ---- Ctrl-C ------------------------------------------------------------------------


def test_wait_and_blocked_go_are_interruptible(python_run):
    code = """
        import os, signal, threading, time
        from gocurrent import Chan, errgroup

        def interrupt_soon():
            time.sleep(0.3)
            os.kill(os.getpid(), signal.SIGINT)

        g = errgroup.Group()
        g.set_limit(1)
        forever = Chan()
        g.go(forever.recv)
        for what in ("go", "wait"):
            threading.Thread(target=interrupt_soon, daemon=True).start()
            start = time.monotonic()
            try:
                g.go(lambda: None) if what == "go" else g.wait()
            except KeyboardInterrupt:
                print(what, "interrupted", round(time.monotonic() - start, 1))
        # The interrupted go() took no slot: closing releases the group.
        forever.close()
        g.wait()
        print("ok")
    """
    r = python_run(code)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("go interrupted")
    assert lines[1].startswith("wait interrupted")
    assert lines[2] == "ok"


# ---- the seed article's Error Groups example --------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """http-me stand-in: /?wait=MS&status=NNN or /status=NNN."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        spec = {k: v[0] for k, v in parse_qs(parts.query).items()}
        for seg in parts.path.split("/"):
            k, _, v = seg.partition("=")
            spec.setdefault(k, v)
        time.sleep(int(spec.get("wait", "0")) / 1000)
        status = int(spec.get("status", "200"))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_me() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fetch(ctx: context.Context, url: str) -> int:
    """http.NewRequestWithContext + Do: the status, or ctx.err() if the
    context is done first (the request goroutine is abandoned)."""
    result: Chan[tuple[int | None, BaseException | None]] = Chan(1)

    def do() -> None:
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                result.send((resp.status, None))
        except urllib.error.HTTPError as e:
            result.send((e.code, None))
        except Exception as e:
            result.send((None, e))

    go(do)
    i, v = select(ctx.done().recv, result.recv)
    if i == 0:
        raise ctx.err()  # type: ignore[misc]
    status, err = v
    if err is not None:
        raise RuntimeError(f"request failed: {err}") from err
    assert status is not None
    return status


def run_seed_example(urls: list[str]) -> tuple[BaseException | None, dict[str, str], float]:
    """The article's main(), outcomes per URL instead of prints."""
    outcomes: dict[str, str] = {}
    lock = threading.Lock()

    def record(u: str, what: str) -> None:
        with lock:
            outcomes[u] = what

    g, ctx = errgroup.with_context(context.background())
    for u in urls:

        def work(u: str = u) -> None:
            try:
                status = fetch(ctx, u)
            except BaseException:
                record(u, "request cancelled")
                raise
            if status < 200 or status >= 300:
                record(u, "error")
                raise RuntimeError(f"non-200 status: {status} from {u}")
            i, _ = select(after(0.001).recv, ctx.done().recv)
            if i == 1:
                record(u, "cancelled")
                raise ctx.err()  # type: ignore[misc]
            record(u, "fetched")

        g.go(work)
    start = time.monotonic()
    try:
        g.wait()
        err = None
    except BaseException as e:
        err = e
    return err, outcomes, time.monotonic() - start


def test_seed_errgroup_example_first_error_cancels_the_others(http_me):
    urls = [
        f"{http_me}/status=200",
        f"{http_me}/?wait=1000&status=201",
        f"{http_me}/?wait=1000&status=202",
        f"{http_me}/status=500",
    ]
    err, outcomes, took = run_seed_example(urls)
    assert isinstance(err, RuntimeError)
    assert str(err) == f"non-200 status: 500 from {urls[3]}"
    assert outcomes[urls[3]] == "error"
    # The slow requests never complete: their goroutines saw ctx.done().
    assert outcomes[urls[1]] == "request cancelled"
    assert outcomes[urls[2]] == "request cancelled"
    assert outcomes[urls[0]] in ("fetched", "cancelled", "request cancelled")
    assert took < 0.9  # nobody waited for the 1 s responses


def test_seed_errgroup_example_with_a_delayed_error(http_me):
    urls = [
        f"{http_me}/status=200",
        f"{http_me}/?wait=1000&status=201",
        f"{http_me}/?wait=1000&status=202",
        f"{http_me}/?wait=500&status=500",
    ]
    err, outcomes, _ = run_seed_example(urls)
    assert str(err) == f"non-200 status: 500 from {urls[3]}"
    assert outcomes[urls[0]] == "fetched"  # "Successfully fetched"
    assert outcomes[urls[1]] == outcomes[urls[2]] == "request cancelled"


def test_seed_errgroup_example_all_succeed(http_me):
    urls = [f"{http_me}/status=200", f"{http_me}/?wait=50&status=201"]
    err, outcomes, _ = run_seed_example(urls)
    assert err is None
    assert set(outcomes.values()) == {"fetched"}


def test_seed_errgroup_example_with_a_limit(http_me):
    # The article's tip: g.SetLimit(n) bounds the active goroutines.
    g, ctx = errgroup.with_context(context.background())
    g.set_limit(2)
    peak = Peak()

    def work(i: int) -> None:
        with peak:
            assert fetch(ctx, f"{http_me}/?wait=20&status=200") == 200

    for i in range(8):
        g.go(work, i)
    g.wait()
    assert peak.peak == 2
