"""The Error Groups example: the first error cancels the other requests, and
the cancellation really aborts them (their connections are shut down)."""

from __future__ import annotations

import re
import time

import pytest
from ex_support import run_example
from gocurrent import Chan, WaitGroup, context

pytestmark = pytest.mark.timeout(60)

GOROUTINE_FOR = re.compile(r"Goroutine for  (http://127\.0\.0\.1:\d+\S*)$")


def run_set(name: str, scale: float = 0.5) -> tuple[list[str], list[str]]:
    """stdout lines of one URL set, and the URLs the goroutines announced."""
    out = run_example("errgroup_fetch", "--set", name, scale=scale).stdout.splitlines()
    urls = [m.group(1) for line in out if (m := GOROUTINE_FOR.match(line))]
    return out, urls


def test_article_set_error_cancels_the_slow_requests() -> None:
    out, urls = run_set("article")
    assert len(urls) == 4
    assert {re.sub(r"^http://[^/]+", "", u) for u in urls} == {
        "/status=200",
        "/?wait=500&status=201",
        "/?wait=500&status=202",
        "/status=500",
    }
    err = next(u for u in urls if u.endswith("/status=500"))
    assert out[-1] == f"Error: non-200 status: 500 from {err}"
    # The wait= requests were aborted by the cancelled context: no goroutine
    # saw their answer (a late 201/202 would print "Successfully fetched" or
    # "cancelled" for them).
    slow = [u for u in urls if "wait=" in u]
    others = [line for line in out if not line.startswith("Goroutine for")]
    assert not [line for line in others for u in slow if u in line]
    # status=200 may succeed, be cancelled, or fail: all three are in the article.
    assert len(out) in (5, 6)


def test_wait500_variant_lets_status_200_succeed() -> None:
    out, urls = run_set("wait500")
    ok = next(u for u in urls if u.endswith("/status=200"))
    err = next(u for u in urls if "status=500" in u)
    assert "wait=250&status=500" in err
    assert f"Successfully fetched: {ok}" in out
    assert out[-1] == f"Error: non-200 status: 500 from {err}"
    assert not [
        line
        for line in out
        if "status=20" in line and "wait=" in line and "Goroutine for" not in line
    ]


def test_all_ok_set() -> None:
    out, urls = run_set("all-ok")
    assert len(urls) == 4
    assert sorted(line for line in out if line.startswith("Successfully fetched: ")) == sorted(
        f"Successfully fetched: {u}" for u in urls
    )
    assert out[-1] == "All fetches succeeded."


def test_set_limit_bounds_the_running_goroutines() -> None:
    out, urls = run_set("limit")
    assert len(urls) == 6
    assert out[-2] == "All fetches succeeded."
    m = re.fullmatch(r"At most (\d) fetches ran at once \(limit 2\)\.", out[-1])
    assert m and 1 <= int(m.group(1)) <= 2
    # g.go blocks while two are running: the third starts only after one ended.
    first_done = next(i for i, line in enumerate(out) if line.startswith("Successfully"))
    third_start = [i for i, line in enumerate(out) if line.startswith("Goroutine for")][2]
    assert first_done < third_start


def test_default_runs_every_set() -> None:
    out = run_example("errgroup_fetch", scale=0.2).stdout
    for name in ("article", "wait500", "all-ok", "limit"):
        assert f"--- URL set: {name} ---" in out


def test_get_is_aborted_when_the_context_is_cancelled() -> None:
    """_http.get blocked on a slow answer raises with ctx's error once cancelled,
    instead of returning the response the server would send 10 s later."""
    from _http import URLError, get

    from examples.services.httpme import HttpMeServer

    with HttpMeServer() as server:
        ctx, cancel = context.with_cancel(context.background())
        result: Chan[object] = Chan(1)
        wg = WaitGroup()

        def fetch() -> None:
            try:
                result.send(get(ctx, f"{server.url}/?wait=10000&status=200"))
            except URLError as exc:
                result.send(exc)

        wg.go(fetch)
        time.sleep(0.2)  # let the request reach the server
        cancel()
        outcome = result.recv(timeout=5)  # far less than the server's 10 s
        wg.wait(timeout=5)
    assert isinstance(outcome, URLError), outcome
    assert isinstance(outcome.err, context.Canceled)
    assert str(outcome).endswith(": context canceled")


def test_get_with_done_context_sends_nothing() -> None:
    from _http import URLError, get

    ctx, cancel = context.with_cancel(context.background())
    cancel()
    with pytest.raises(URLError, match="context canceled"):
        get(ctx, "http://127.0.0.1:9/never-contacted")


def test_the_http_me_server_is_gone_when_the_example_ends() -> None:
    import socket

    _, urls = run_set("all-ok")
    port = int(re.search(r"127\.0\.0\.1:(\d+)", urls[0]).group(1))
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 2):
        pass
