"""A local stand-in for ``http-me.fastly.dev``: answer a chosen status after a wait.

The "Error Groups" example fetches URLs such as::

    /status=200
    /?wait=1000&status=201
    /status=500
    /?wait=500&status=500

Each request may name ``status=NNN`` (default 200, within 200..599) and
``wait=MS`` (default 0, at most 60,000) as path segments
(``/wait=500/status=500``) or as query parameters; a query parameter wins over
a path segment.  The server waits ``MS`` milliseconds, then answers that
status with a short plain-text body such as ``"201 Created\\n"`` (no body for
204 and 304).  A malformed value answers 400.  Any method is accepted.

The server is a :class:`http.server.ThreadingHTTPServer` speaking HTTP/1.1
with keep-alive.  Handler threads are daemons and every wait listens to a
shutdown event, so :meth:`HttpMeServer.stop` returns promptly even while
requests are waiting: a waiting request gets ``503`` (or, if the cut comes
first, its connection is closed).

Example::

    with HttpMeServer() as server:  # server.url == "http://127.0.0.1:PORT"
        urllib.request.urlopen(f"{server.url}/?wait=100&status=200")

Standalone: ``python -m examples.services.httpme --port 8080``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from http import HTTPStatus
from types import TracebackType
from urllib.parse import parse_qsl, unquote, urlsplit

from ._threadserver import BackgroundServer, QuietHandler

__all__ = ["MAX_WAIT_MS", "HttpMeServer", "main", "parse_spec"]

MAX_WAIT_MS = 60_000
"""Longest accepted ``wait``, in milliseconds."""


def parse_spec(target: str) -> tuple[int, int]:
    """Return ``(status, wait_ms)`` for a target such as ``/?wait=5&status=201``.

    Raises:
        ValueError: a ``status`` outside 200..599, a ``wait`` outside
            0..MAX_WAIT_MS, or a value that is not an integer.
    """
    parts = urlsplit(target)
    spec: dict[str, str] = {}
    for segment in parts.path.split("/"):
        name, sep, value = unquote(segment).partition("=")
        if sep and name in ("status", "wait"):
            spec[name] = value
    for name, value in parse_qsl(parts.query):
        if name in ("status", "wait"):
            spec[name] = value
    status = int(spec.get("status", "200"))
    wait_ms = int(spec.get("wait", "0"))
    if not 200 <= status <= 599:
        raise ValueError(f"status must be within 200..599, got {status}")
    if not 0 <= wait_ms <= MAX_WAIT_MS:
        raise ValueError(f"wait must be within 0..{MAX_WAIT_MS} ms, got {wait_ms}")
    return status, wait_ms


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _Handler(QuietHandler):
    server_version = "http-me-local"

    def _serve(self) -> None:
        self.discard_body()
        try:
            status, wait_ms = parse_spec(self.path)
        except ValueError as exc:
            self.send_text(400, f"400 Bad Request: {exc}\n")
            return
        if wait_ms and self.server.stopping.wait(wait_ms / 1000.0):
            self.close_connection = True
            self.send_text(503, "503 Service Unavailable: server shutting down\n")
            return
        self.send_text(status, f"{status} {_phrase(status)}".rstrip() + "\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class HttpMeServer:
    """Run the http-me stand-in on a background thread.

    Args:
        host: listen address (keep it on loopback).
        port: listen port; 0 picks a free ephemeral port.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._bg = BackgroundServer(_Handler, host, port, name="http-me")

    @property
    def url(self) -> str:
        """Base URL such as ``http://127.0.0.1:PORT`` (after :meth:`start`)."""
        return self._bg.url

    @property
    def port(self) -> int:
        """The bound port (the requested one until :meth:`start`)."""
        return self._bg.port

    def start(self) -> str:
        """Bind, serve on a daemon thread and return :attr:`url`."""
        return self._bg.start()

    def stop(self) -> None:
        """Stop serving, wake waiting handlers and close every connection."""
        self._bg.stop()

    def __enter__(self) -> HttpMeServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Local http-me stand-in.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    with HttpMeServer(args.host, args.port) as server:
        print(f"http-me listening on {server.url} (try {server.url}/?wait=500&status=201)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
