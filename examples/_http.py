"""An HTTP GET bound to a context, the way Go's ``http.NewRequestWithContext`` is.

``get(ctx, url)`` sends the request with urllib3 (one connection per
request, as a cancelled Go request does not return its connection to the
pool either). The cancellation mechanism:

1. If ``ctx`` is already done, no request is sent.
2. Once connected, ``context.after_func(ctx, abort)`` arranges for ``abort``
   to run in a goroutine as soon as ``ctx.done()`` is closed. ``abort``
   shuts the socket down (``SHUT_RDWR``), which wakes the thread blocked in
   ``send``/``recv`` at once, exactly as Go's transport closes the
   connection of a request whose context is cancelled. The server sees the
   connection close and stops too.
3. The failed call then raises ``URLError`` wrapping ``ctx.err()``
   (``Get "URL": context canceled``), like Go's ``*url.Error``.

``stop()`` (returned by ``after_func``) and a Mutex make sure ``abort``
never touches a socket that was already closed.
"""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass

import urllib3
from gocurrent import Mutex, context
from urllib3.connection import HTTPConnection

__all__ = ["Response", "URLError", "get"]


@dataclass
class Response:
    """A received response (its body is read in full)."""

    status: int
    reason: str
    body: bytes

    @property
    def status_text(self) -> str:
        """Go's ``resp.Status``, e.g. ``"404 Not Found"``."""
        return f"{self.status} {self.reason}".rstrip()


class URLError(Exception):
    """Go's ``*url.Error``: ``Get "URL": <cause>``; the cause is ``err``."""

    def __init__(self, op: str, url: str, err: BaseException) -> None:
        super().__init__(f'{op} "{url}": {err}')
        self.op, self.url, self.err = op, url, err


def get(
    ctx: context.Context,
    url: str,
    headers: dict[str, str] | None = None,
    connect_timeout: float = 10.0,
) -> Response:
    """GET ``url``; cancelled (raises URLError) as soon as ``ctx`` is done."""
    if (err := ctx.err()) is not None:
        raise URLError("Get", url, err)
    u = urllib3.util.parse_url(url)
    conn = HTTPConnection(u.host or "127.0.0.1", u.port or 80, timeout=connect_timeout)
    mu = Mutex()
    closed = False

    def abort() -> None:  # runs as a goroutine once ctx is done
        with mu:
            if not closed and conn.sock is not None:
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the peer

    try:
        conn.connect()
        conn.sock.settimeout(None)  # block: cancellation comes from ctx, not a timer
        stop = context.after_func(ctx, abort)
        try:
            conn.request("GET", u.request_uri, headers=headers)
            resp = conn.getresponse()
            body = resp.data
            return Response(resp.status, resp.reason or "", body)
        finally:
            stop()
    except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
        if (err := ctx.err()) is not None:
            raise URLError("Get", url, err) from exc  # cancelled: report ctx's error
        raise URLError("Get", url, exc) from exc
    finally:
        with mu:
            closed = True
            conn.close()
