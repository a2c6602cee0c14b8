"""http-me stand-in: statuses, waits, keep-alive and prompt shutdown."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from examples.services.httpme import HttpMeServer, parse_spec


def fetch(url: str, timeout: float = 10.0) -> tuple[int, str]:
    """GET ``url`` over a fresh connection; return (status, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server() -> Iterator[HttpMeServer]:
    with HttpMeServer() as srv:
        yield srv


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", (200, 0)),
        ("/status=200", (200, 0)),
        ("/?wait=1000&status=201", (201, 1000)),
        ("/status=500", (500, 0)),
        ("/?wait=500&status=500", (500, 500)),
        ("/wait=20/status=404", (404, 20)),
        ("/status=200?status=503", (503, 0)),
    ],
)
def test_parse_spec(target: str, expected: tuple[int, int]) -> None:
    assert parse_spec(target) == expected


@pytest.mark.parametrize("target", ["/status=99", "/status=600", "/wait=-1", "/status=x"])
def test_parse_spec_rejects(target: str) -> None:
    with pytest.raises(ValueError, match=r"status|wait|invalid literal"):
        parse_spec(target)


def test_url_shape(server: HttpMeServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0


@pytest.mark.parametrize(
    ("target", "status", "body"),
    [
        ("/status=200", 200, "200 OK\n"),
        ("/status=500", 500, "500 Internal Server Error\n"),
        ("/?status=201", 201, "201 Created\n"),
        ("/status=404", 404, "404 Not Found\n"),
        ("/status=204", 204, ""),
        ("/status=oops", 400, None),
    ],
)
def test_statuses(server: HttpMeServer, target: str, status: int, body: str | None) -> None:
    got_status, got_body = fetch(server.url + target)
    assert got_status == status
    if body is not None:
        assert got_body == body


def test_wait_then_status(server: HttpMeServer) -> None:
    start = time.monotonic()
    status, body = fetch(server.url + "/?wait=300&status=201")
    elapsed = time.monotonic() - start
    assert (status, body) == (201, "201 Created\n")
    assert 0.29 <= elapsed < 3.0


def test_waits_run_concurrently(server: HttpMeServer) -> None:
    urls = [server.url + f"/?wait=1000&status={s}" for s in (200, 201, 202, 500)]
    start = time.monotonic()
    with ThreadPoolExecutor(len(urls)) as pool:
        statuses = sorted(status for status, _ in pool.map(fetch, urls))
    assert statuses == [200, 201, 202, 500]
    assert time.monotonic() - start < 3.0  # four waits of 1 s overlap (else 4 s)


def test_keep_alive(server: HttpMeServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for status in (200, 500, 202):
            conn.request("GET", f"/status={status}")
            response = conn.getresponse()
            response.read()
            assert response.status == status
            assert response.version == 11
    finally:
        conn.close()


def test_stop_is_prompt_while_a_request_waits() -> None:
    srv = HttpMeServer()
    srv.start()
    result: list[object] = []

    def client() -> None:
        try:
            result.append(fetch(srv.url + "/?wait=20000&status=200", timeout=15))
        except OSError as exc:  # the stop may cut the connection instead
            result.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(0.3)  # let the request reach its wait
    start = time.monotonic()
    srv.stop()
    assert time.monotonic() - start < 2.0
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert result and (isinstance(result[0], OSError) or result[0][0] == 503)  # type: ignore[index]
    with pytest.raises(ConnectionRefusedError):
        fetch(f"http://127.0.0.1:{srv.port}/", timeout=2)


def test_stop_with_idle_keep_alive_connection() -> None:
    srv = HttpMeServer()
    srv.start()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.request("GET", "/status=200")
    conn.getresponse().read()  # the connection now idles, kept alive
    start = time.monotonic()
    srv.stop()
    assert time.monotonic() - start < 2.0
    conn.close()
