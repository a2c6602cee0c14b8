"""Shared plumbing for the threaded HTTP servers (http-me and ACME HTTP-01).

:class:`StoppableHTTPServer` is a :class:`ThreadingHTTPServer` whose handler
threads are daemons, whose handlers can sleep on :attr:`~StoppableHTTPServer.stopping`
instead of ``time.sleep`` (so a stop wakes them), and which knows its open
connections so that a stop can cut idle keep-alive ones.  :class:`BackgroundServer`
runs one on a daemon thread with ``start()``/``stop()``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["BackgroundServer", "QuietHandler", "StoppableHTTPServer"]


class StoppableHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server that can be stopped while handlers are busy."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore errors of connections cut by a stop or closed by the client.

        A client that cancels a request (as the Error Groups example does)
        closes its connection; answering it then fails with a broken pipe or
        a reset, which is not the server's error.
        """
        if self.stopping.is_set() or isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down every open client socket (wakes blocked handler reads)."""
        with self.lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler that registers its connection and logs nothing."""

    protocol_version = "HTTP/1.1"
    server: StoppableHTTPServer

    def setup(self) -> None:
        """Register the connection with the server."""
        super().setup()
        with self.server.lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        """Unregister the connection; ignore errors from a cut socket."""
        with self.server.lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet (the examples print their own output)."""

    def send_text(self, status: int, text: str) -> None:
        """Send ``text`` as a ``text/plain`` response (no body for 204/304/HEAD)."""
        no_body = status in (204, 304)
        body = b"" if no_body else text.encode()
        self.send_response(status)
        if not no_body:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def discard_body(self) -> None:
        """Read and drop the request body so the connection can be reused."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)


class BackgroundServer:
    """Run a :class:`StoppableHTTPServer` on a daemon thread."""

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "http",
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.name = name
        self.server: StoppableHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL such as ``http://127.0.0.1:PORT`` (after :meth:`start`)."""
        if self.server is None:
            raise RuntimeError(f"{self.name} server is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Bind, serve on a daemon thread and return :attr:`url`."""
        if self.server is None:
            self.server = StoppableHTTPServer((self.host, self.port), self.handler)
            self.port = self.server.server_address[1]
            self._thread = threading.Thread(
                target=self.server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{self.name}:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, wake waiting handlers and close every connection."""
        server, self.server = self.server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
