"""A local key-value store HTTP API shaped like the Fastly KV store API.

The "Bulk Deletion API" example pages through every key of a store and deletes
them one DELETE request at a time with a pool of 100 workers.  This module is
the server those examples talk to.  It runs in its *own process* (so the
client's GIL and the server's never compete inside one interpreter) and speaks
plain HTTP/1.1 with keep-alive on ``127.0.0.1``.

Endpoints (all of them require the header ``Fastly-Key: <token>``, else 401):

``GET /resources/stores/kv/{store_id}/keys?cursor=C&limit=N&prefix=P``
    One page of key names, in lexicographic order::

        {"data": ["key-000000", ...],
         "meta": {"limit": 1000, "next_cursor": "..."}}

    ``next_cursor`` is present only while more keys follow; pass it back as
    ``cursor`` to get the next page.  The cursor names the last key returned,
    so deleting keys while paginating never makes a page skip keys.
    ``limit`` defaults to 1000 (1 to 10,000).  404 for an unknown store.
``GET /resources/stores/kv/{store_id}/keys/{key}``
    The value of one key (404 if absent).
``PUT /resources/stores/kv/{store_id}/keys/{key}``
    Insert or update one key; the request body is the value (200).
``DELETE /resources/stores/kv/{store_id}/keys/{key}``
    Delete one key: 204 on success, 404 if absent, 500 (key kept) when the
    key is in ``fail_keys`` or when the random ``failure_rate`` strikes.

Rate limit (off by default; ``--rate-limit R [--rate-burst B]`` or
``KVStoreServer(rate_limit=R, rate_burst=B)``): as real APIs do, each token
(``Fastly-Key``) gets a token bucket of B requests refilled at R per
second; an API request finding it empty answers ``429 Too Many Requests``
with ``Retry-After: <seconds>`` (whole seconds, as HTTP defines it, at
least 1) and does nothing. Rejected requests take no token.

Admin endpoints (not slowed down by ``latency_ms`` nor rate limited):

``POST /admin/seed?store=ID&count=N&prefix=key-&start=0``
    Create N keys ``{prefix}{i:06d}`` for ``i`` in ``start .. start+N-1``
    (zero-padded to at least 6 digits, so the text order is the numeric one).
``GET /admin/count?store=ID``
    ``{"store": ID, "count": n}``.
``GET /admin/keys?store=ID``
    ``{"store": ID, "keys": [...]}``, every remaining key in order.
``GET /admin/stats``
    Request counters (deleted, delete failures, pages listed, ...).

Key names in the URL are percent-encoded (``quote(key, safe="")``).  Request
bodies must carry ``Content-Length``; chunked uploads get 501.

Run it standalone::

    python examples/services/kvstore.py --port 8080 --latency-ms 2 \
        --failure-rate 0.01 --preload mystore=100000 --rate-limit 2000

or from Python with :class:`KVStoreServer`, which starts it as a subprocess on
an ephemeral port (the child prints its port as the first line of stdout).

This file only uses the standard library, so it can run as a plain script.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import bisect
import contextlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = [
    "API_PREFIX",
    "DEFAULT_PAGE_LIMIT",
    "DEFAULT_TOKEN",
    "KVStoreApp",
    "KVStoreServer",
    "Response",
    "Store",
    "main",
    "serve",
]

DEFAULT_TOKEN = "local-token"
"""Token accepted in the ``Fastly-Key`` header unless another is configured."""

DEFAULT_PAGE_LIMIT = 1000
"""Keys per page when the client sends no ``limit``."""

MAX_PAGE_LIMIT = 10_000
"""Largest ``limit`` accepted by the list endpoint."""

API_PREFIX = "/resources/stores/kv/"
"""Path prefix of the KV store API routes."""

_MAX_BODY = 16 * 1024 * 1024
_REASONS = {s.value: s.phrase for s in HTTPStatus}


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------


class Store:
    """The keys of one KV store, with cursor pagination in key order.

    Values live in a dict.  A sorted list of key names serves pagination;
    deletions only remove the dict entry (the name stays in the list as a
    tombstone, skipped when listing) and the list is compacted once
    tombstones outnumber live keys, so a DELETE costs O(1) amortised.
    """

    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}
        self._order: list[str] = []

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, key: object) -> bool:
        return key in self.items

    def put(self, key: str, value: bytes) -> bool:
        """Insert or update ``key``; return True when the key is new."""
        created = key not in self.items
        self.items[key] = value
        if created:
            i = bisect.bisect_left(self._order, key)
            if i == len(self._order) or self._order[i] != key:
                self._order.insert(i, key)
        return created

    def seed(self, prefix: str, count: int, start: int = 0) -> int:
        """Create ``count`` keys ``{prefix}{i:0Wd}``; return how many were new."""
        width = max(6, len(str(max(start + count - 1, 0))))
        before = len(self.items)
        for i in range(start, start + count):
            self.items.setdefault(f"{prefix}{i:0{width}d}", b"")
        self._order = sorted(self.items)
        return len(self.items) - before

    def delete(self, key: str) -> bool:
        """Remove ``key``; return False when it was absent."""
        if key not in self.items:
            return False
        del self.items[key]
        if len(self._order) > 2 * len(self.items) + 1024:
            self._order = [k for k in self._order if k in self.items]
        return True

    def page(self, after: str | None, limit: int, prefix: str = "") -> tuple[list[str], bool]:
        """Return up to ``limit`` live keys after ``after`` and whether more follow."""
        order, items = self._order, self.items
        if after is None:
            i = bisect.bisect_left(order, prefix)
        else:
            i = bisect.bisect_right(order, max(after, prefix))
        out: list[str] = []
        n = len(order)
        while i < n:
            key = order[i]
            i += 1
            if prefix and not key.startswith(prefix):
                break
            if key in items:
                if len(out) == limit:
                    return out, True
                out.append(key)
        return out, False

    def keys(self) -> list[str]:
        """Every live key, in order."""
        return [k for k in self._order if k in self.items]


@dataclass
class Response:
    """An HTTP response produced by :class:`KVStoreApp`."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] | None = None

    @classmethod
    def json(cls, status: int, payload: Any) -> Response:
        """A JSON response."""
        return cls(status, json.dumps(payload, separators=(",", ":")).encode())

    @classmethod
    def error(cls, status: int, msg: str, detail: str = "") -> Response:
        """A Fastly-style JSON error (``{"msg": ..., "detail": ...}``)."""
        return cls.json(status, {"msg": msg, "detail": detail})


@dataclass
class Stats:
    """Counters exposed by ``GET /admin/stats``."""

    requests: int = 0
    unauthorized: int = 0
    pages: int = 0
    puts: int = 0
    deleted: int = 0
    delete_failures: int = 0
    delete_not_found: int = 0
    rate_limited: int = 0


def _encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    pad = "=" * (-len(cursor) % 4)
    return base64.b64decode(cursor + pad, altchars=b"-_", validate=True).decode()


class KVStoreApp:
    """Transport-independent request router holding every store in memory.

    Args:
        token: value required in the ``Fastly-Key`` header.
        failure_rate: probability (0..1) that a DELETE of an existing key
            answers 500 and leaves the key in place.
        fail_keys: keys whose DELETE always answers 500.
        seed: seed of the random generator behind ``failure_rate``.
        rate_limit: API requests per second allowed per token (0: no limit).
        rate_burst: size of each token's bucket (default: a tenth of a
            second's worth, at least 1).
        clock: the time source of the rate limit (``time.monotonic``).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        failure_rate: float = 0.0,
        fail_keys: Iterable[str] = (),
        seed: int | None = None,
        rate_limit: float = 0.0,
        rate_burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"failure_rate must be within 0..1, got {failure_rate}")
        if rate_limit < 0 or (rate_burst is not None and rate_burst < 1):
            raise ValueError("rate_limit must be >= 0 and rate_burst >= 1")
        self.rate_limit = rate_limit
        self.rate_burst = rate_burst if rate_burst is not None else max(1, int(rate_limit / 10))
        self.clock = clock
        # token -> [tokens in the bucket, when that was computed]
        self._buckets: dict[str, list[float]] = {}
        self.token = token
        self.failure_rate = failure_rate
        self.fail_keys = frozenset(fail_keys)
        self.rng = random.Random(seed)
        self.stores: dict[str, Store] = {}
        self.stats = Stats()

    def _throttle(self, token: str) -> float:
        """Takes one request from ``token``'s bucket: 0.0 when allowed,
        else the seconds until the bucket holds a request again."""
        now = self.clock()
        bucket = self._buckets.get(token)
        if bucket is None:
            bucket = self._buckets[token] = [float(self.rate_burst), now]
        tokens = min(float(self.rate_burst), bucket[0] + (now - bucket[1]) * self.rate_limit)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate_limit

    @staticmethod
    def is_admin(path: str) -> bool:
        """True for admin routes, which ``latency_ms`` does not slow down."""
        return path.startswith("/admin/")

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Route one request; ``headers`` keys must be lower-case."""
        self.stats.requests += 1
        if headers.get("fastly-key") != self.token:
            self.stats.unauthorized += 1
            return Response.error(401, "Provided credentials are missing or invalid", "Fastly-Key")
        parts = urlsplit(target)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            if path.startswith(API_PREFIX):
                if self.rate_limit:
                    wait = self._throttle(headers["fastly-key"])
                    if wait:
                        self.stats.rate_limited += 1
                        response = Response.error(
                            429, "Too many requests", f"rate limit {self.rate_limit:g}/s"
                        )
                        response.headers = {"Retry-After": str(max(1, math.ceil(wait)))}
                        return response
                return self._api(method, path[len(API_PREFIX) :], query, body)
            if self.is_admin(path):
                return self._admin(method, path, query)
        except ValueError as exc:
            return Response.error(400, "Bad request", str(exc))
        return Response.error(404, "Not found", path)

    # -- /resources/stores/kv/... ------------------------------------------

    def _api(self, method: str, rest: str, query: dict[str, str], body: bytes) -> Response:
        segments = rest.split("/")
        if len(segments) < 2 or segments[1] != "keys" or not segments[0]:
            return Response.error(404, "Not found", API_PREFIX + rest)
        store_id = unquote(segments[0])
        if len(segments) == 2 or (len(segments) == 3 and segments[2] == ""):
            if method != "GET":
                return Response.error(405, "Method not allowed", method)
            return self._list(store_id, query)
        key = unquote("/".join(segments[2:]))
        if method == "DELETE":
            return self._delete(store_id, key)
        if method == "PUT":
            self.stats.puts += 1
            self.stores.setdefault(store_id, Store()).put(key, body)
            return Response(200, b"")
        if method == "GET":
            store = self.stores.get(store_id)
            if store is None or key not in store:
                return Response.error(404, "Record not found", key)
            return Response(200, store.items[key], "application/octet-stream")
        return Response.error(405, "Method not allowed", method)

    def _list(self, store_id: str, query: dict[str, str]) -> Response:
        store = self.stores.get(store_id)
        if store is None:
            return Response.error(404, "Store not found", store_id)
        limit = int(query.get("limit") or DEFAULT_PAGE_LIMIT)
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise ValueError(f"limit must be within 1..{MAX_PAGE_LIMIT}")
        cursor = query.get("cursor") or None
        try:
            after = _decode_cursor(cursor) if cursor else None
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"invalid cursor {cursor!r}") from exc
        prefix = query.get("prefix", "")
        keys, more = store.page(after, limit, prefix)
        self.stats.pages += 1
        meta: dict[str, Any] = {"limit": limit}
        if prefix:
            meta["prefix"] = prefix
        if more and keys:
            meta["next_cursor"] = _encode_cursor(keys[-1])
        return Response.json(200, {"data": keys, "meta": meta})

    def _delete(self, store_id: str, key: str) -> Response:
        store = self.stores.get(store_id)
        if store is None or key not in store:
            self.stats.delete_not_found += 1
            return Response.error(404, "Record not found", key)
        if key in self.fail_keys or (self.failure_rate and self.rng.random() < self.failure_rate):
            self.stats.delete_failures += 1
            return Response.error(500, "Internal server error", f"delete {key}")
        store.delete(key)
        self.stats.deleted += 1
        return Response(204)

    # -- /admin/... ----------------------------------------------------------

    def _admin(self, method: str, path: str, query: dict[str, str]) -> Response:
        if path == "/admin/stats" and method == "GET":
            return Response.json(200, asdict(self.stats))
        store_id = query.get("store", "")
        if not store_id:
            raise ValueError("missing 'store' query parameter")
        if path == "/admin/seed" and method == "POST":
            count = int(query.get("count", "0"))
            start = int(query.get("start", "0"))
            if count < 0 or start < 0:
                raise ValueError("count and start must be >= 0")
            store = self.stores.setdefault(store_id, Store())
            created = store.seed(query.get("prefix", "key-"), count, start)
            return Response.json(200, {"store": store_id, "created": created, "count": len(store)})
        store = self.stores.get(store_id) or Store()
        if path == "/admin/count" and method == "GET":
            return Response.json(200, {"store": store_id, "count": len(store)})
        if path == "/admin/keys" and method == "GET":
            return Response.json(200, {"store": store_id, "keys": store.keys()})
        return Response.error(404, "Not found", path)


# --------------------------------------------------------------------------
# HTTP/1.1 transport (asyncio streams, keep-alive, one event loop)
# --------------------------------------------------------------------------


class _HttpError(Exception):
    def __init__(self, status: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status


def _render(response: Response, keep_alive: bool) -> bytes:
    status = response.status
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    if status != 204 and status >= 200:
        lines.append(f"Content-Type: {response.content_type}")
        lines.append(f"Content-Length: {len(response.body)}")
    if response.headers:
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + response.body if status != 204 else head


class _Server:
    """Serve a :class:`KVStoreApp` over HTTP/1.1 with asyncio streams."""

    def __init__(self, app: KVStoreApp, latency_ms: float = 0.0, access_log: bool = False) -> None:
        self.app = app
        self.latency = max(0.0, latency_ms) / 1000.0
        self.access_log = access_log
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def _read_request(
        self, reader: asyncio.StreamReader
    ) -> tuple[str, str, dict[str, str], bytes, bool] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None  # the client closed the connection
        except asyncio.LimitOverrunError as exc:
            raise _HttpError(431, "request head too large") from exc
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError as exc:
            raise _HttpError(400, f"bad request line {lines[0]!r}") from exc
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, sep, value = line.partition(":")
                if not sep:
                    raise _HttpError(400, f"bad header line {line!r}")
                headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _HttpError(501, "chunked request bodies are not supported")
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError as exc:
            raise _HttpError(400, "bad Content-Length") from exc
        if not 0 <= length <= _MAX_BODY:
            raise _HttpError(413, "request body too large")
        body = await reader.readexactly(length) if length else b""
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.1":
            keep_alive = connection != "close"
        else:
            keep_alive = connection == "keep-alive"
        return method, target, headers, body, keep_alive

    async def handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve requests on one connection until either side closes it."""
        self.writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            while True:
                try:
                    request = await self._read_request(reader)
                except _HttpError as exc:
                    response = Response.error(exc.status, str(exc))
                    writer.write(_render(response, keep_alive=False))
                    await writer.drain()
                    return
                if request is None:
                    return
                method, target, headers, body, keep_alive = request
                if self.latency and not KVStoreApp.is_admin(target):
                    await asyncio.sleep(self.latency)
                try:
                    response = self.app.handle(method, target, headers, body)
                except Exception as exc:  # a bug: report it, keep serving
                    traceback.print_exc()
                    response = Response.error(500, "Internal server error", repr(exc))
                if self.access_log:
                    print(f"{method} {target} {response.status}", file=sys.stderr)
                writer.write(_render(response, keep_alive))
                if writer.transport.get_write_buffer_size() > 65536:
                    await writer.drain()
                if not keep_alive:
                    await writer.drain()
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # shutting down: this task is the top of its connection
        finally:
            self.writers.discard(writer)
            if task is not None:
                self.tasks.discard(task)
            writer.close()

    async def close_connections(self, grace: float = 1.0) -> None:
        """Close every open client connection and let its task finish."""
        for writer in list(self.writers):
            writer.close()
        if self.tasks:
            _, pending = await asyncio.wait(list(self.tasks), timeout=grace)
            for task in pending:
                task.cancel()


async def serve(
    app: KVStoreApp,
    host: str = "127.0.0.1",
    port: int = 0,
    latency_ms: float = 0.0,
    *,
    access_log: bool = False,
    ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``app`` until ``stop`` is set (or SIGTERM/SIGINT arrives).

    ``ready``, when given, is called with the bound port once listening.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    server = _Server(app, latency_ms, access_log)
    listener = await asyncio.start_server(
        server.handle_connection, host, port, backlog=1024, reuse_address=True
    )
    bound = listener.sockets[0].getsockname()[1]
    if ready is not None:
        ready(bound)
    try:
        await stop.wait()
    finally:
        listener.close()
        await server.close_connections()
        await listener.wait_closed()


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _parse_fail_keys(spec: str) -> list[str]:
    """``a,b,c`` or ``@path`` (one key per line)."""
    if spec.startswith("@"):
        text = Path(spec[1:]).read_text(encoding="utf-8")
        return [line for line in text.splitlines() if line]
    return [k for k in spec.split(",") if k]


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Local Fastly-KV-store-like HTTP API (see module docstring)."
    )
    p.add_argument("--host", default="127.0.0.1", help="listen address")
    p.add_argument("--port", type=int, default=0, help="listen port (0: ephemeral)")
    p.add_argument("--token", default=DEFAULT_TOKEN, help="required Fastly-Key")
    p.add_argument("--latency-ms", type=float, default=0.0, help="delay added to API requests")
    p.add_argument(
        "--failure-rate",
        type=float,
        default=0.0,
        help="probability (0..1) that a DELETE fails with 500",
    )
    p.add_argument("--seed", type=int, default=None, help="RNG seed")
    p.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        metavar="R",
        help="API requests per second per token; over it: 429 with Retry-After (0: off)",
    )
    p.add_argument(
        "--rate-burst",
        type=int,
        default=None,
        metavar="B",
        help="token bucket size of the rate limit (default: R/10, at least 1)",
    )
    p.add_argument(
        "--fail-keys",
        default="",
        help="keys whose DELETE always fails: 'a,b,c' or '@file' (one per line)",
    )
    p.add_argument(
        "--preload",
        action="append",
        default=[],
        metavar="STORE=N",
        help="seed STORE with N keys named key-000000... (repeatable)",
    )
    p.add_argument("--access-log", action="store_true", help="log requests")
    p.add_argument("--quiet", action="store_true", help="no banner on stderr")
    p.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when stdin closes (used by KVStoreServer against orphans)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server; print the bound port as the first line of stdout."""
    args = _build_parser().parse_args(argv)
    app = KVStoreApp(
        token=args.token,
        failure_rate=args.failure_rate,
        fail_keys=_parse_fail_keys(args.fail_keys),
        seed=args.seed,
        rate_limit=args.rate_limit,
        rate_burst=args.rate_burst,
    )
    for spec in args.preload:
        store_id, _, count = spec.partition("=")
        app.stores.setdefault(store_id, Store()).seed("key-", int(count))

    async def run() -> None:
        stop = asyncio.Event()
        if args.exit_on_stdin_eof:
            loop = asyncio.get_running_loop()

            def watch_stdin() -> None:
                # os.read, not sys.stdin: a daemon thread blocked inside a
                # buffered reader would abort the interpreter at exit.
                with contextlib.suppress(OSError):
                    while os.read(0, 4096):
                        pass
                loop.call_soon_threadsafe(stop.set)

            threading.Thread(target=watch_stdin, daemon=True).start()

        def ready(port: int) -> None:
            print(port, flush=True)
            if not args.quiet:
                print(
                    f"kvstore listening on http://{args.host}:{port} (Fastly-Key: {args.token})",
                    file=sys.stderr,
                    flush=True,
                )

        await serve(
            app,
            args.host,
            args.port,
            args.latency_ms,
            access_log=args.access_log,
            ready=ready,
            stop=stop,
        )

    asyncio.run(run())
    return 0


# --------------------------------------------------------------------------
# Parent-side helper
# --------------------------------------------------------------------------


class KVStoreServer:
    """Run the KV store in a subprocess on an ephemeral port.

    Example::

        with KVStoreServer(latency_ms=1) as kv:
            kv.seed("store-1", 10_000)
            requests.delete(kv.key_url("store-1", "key-000000"), headers=kv.headers)
            assert kv.count("store-1") == 9_999

    Args:
        latency_ms: delay added to every API (non-admin) request.
        failure_rate: probability (0..1) that a DELETE answers 500.
        fail_keys: keys whose DELETE always answers 500.
        token: the ``Fastly-Key`` value the server requires.
        seed: seed of the server's random generator.
        rate_limit: API requests per second per token, over which the
            server answers 429 with ``Retry-After`` (0: no limit).
        rate_burst: the rate limit's bucket size (default R/10, at least 1).
        host: listen address (keep it on loopback).
        startup_timeout: seconds to wait for the child to report its port.
        access_log: make the child log each request to stderr.
    """

    def __init__(
        self,
        latency_ms: float = 0.0,
        failure_rate: float = 0.0,
        fail_keys: Iterable[str] = (),
        token: str = DEFAULT_TOKEN,
        seed: int | None = None,
        *,
        host: str = "127.0.0.1",
        startup_timeout: float = 15.0,
        access_log: bool = False,
        rate_limit: float = 0.0,
        rate_burst: int | None = None,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"failure_rate must be within 0..1, got {failure_rate}")
        self.rate_limit = rate_limit
        self.rate_burst = rate_burst
        self.latency_ms = latency_ms
        self.failure_rate = failure_rate
        self.fail_keys = tuple(fail_keys)
        self.token = token
        self.seed_value = seed
        self.host = host
        self.startup_timeout = startup_timeout
        self.access_log = access_log
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._fail_file: str | None = None

    # -- lifecycle -----------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT`` (after :meth:`start`)."""
        if self.port is None:
            raise RuntimeError("KVStoreServer is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """Headers that authenticate a request (``{"Fastly-Key": token}``)."""
        return {"Fastly-Key": self.token}

    def start(self) -> str:
        """Start the child process and return :attr:`url`."""
        if self.process is not None:
            return self.url
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--host",
            self.host,
            "--port",
            "0",
            "--token",
            self.token,
            "--latency-ms",
            repr(float(self.latency_ms)),
            "--failure-rate",
            repr(float(self.failure_rate)),
            "--exit-on-stdin-eof",
        ]
        if self.seed_value is not None:
            cmd += ["--seed", str(self.seed_value)]
        if self.rate_limit:
            cmd += ["--rate-limit", repr(float(self.rate_limit))]
            if self.rate_burst is not None:
                cmd += ["--rate-burst", str(self.rate_burst)]
        cmd.append("--access-log" if self.access_log else "--quiet")
        if self.fail_keys:
            fd, self._fail_file = tempfile.mkstemp(prefix="kvstore-fail-", text=True)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(self.fail_keys) + "\n")
            cmd += ["--fail-keys", "@" + self._fail_file]
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self._read_first_line(self.process, self.startup_timeout)
        try:
            self.port = int(line)
        except ValueError:
            self.stop()
            raise RuntimeError(f"kvstore child did not report a port: {line!r}") from None
        return self.url

    @staticmethod
    def _read_first_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
        result: list[bytes] = []
        assert proc.stdout is not None
        reader = threading.Thread(
            target=lambda: result.append(proc.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(timeout)
        if not result:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"kvstore child did not start within {timeout}s")
        return result[0].decode().strip()

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the child, wait for it (no zombie) and clean up."""
        proc, self.process = self.process, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        if self._fail_file is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._fail_file)
            self._fail_file = None
        self.port = None

    def __enter__(self) -> KVStoreServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- URLs ----------------------------------------------------------------

    def keys_url(self, store_id: str) -> str:
        """URL of the list-keys endpoint of ``store_id``."""
        return f"{self.url}{API_PREFIX}{quote(store_id, safe='')}/keys"

    def key_url(self, store_id: str, key: str) -> str:
        """URL of one key (for GET, PUT and DELETE)."""
        return f"{self.keys_url(store_id)}/{quote(key, safe='')}"

    # -- admin calls ---------------------------------------------------------

    def _admin(self, method: str, path: str, **params: Any) -> Any:
        query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
        request = urllib.request.Request(
            f"{self.url}{path}?{query}", method=method, headers=self.headers
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def seed(self, store_id: str, n: int, prefix: str = "key-", start: int = 0) -> int:
        """Create ``n`` keys ``{prefix}000000...``; return the store's key count."""
        out = self._admin(
            "POST", "/admin/seed", store=store_id, count=n, prefix=prefix, start=start
        )
        return int(out["count"])

    def count(self, store_id: str) -> int:
        """Number of keys left in ``store_id``."""
        return int(self._admin("GET", "/admin/count", store=store_id)["count"])

    def remaining(self, store_id: str) -> list[str]:
        """Every key left in ``store_id``, in order."""
        return list(self._admin("GET", "/admin/keys", store=store_id)["keys"])

    def stats(self) -> dict[str, int]:
        """The server's request counters."""
        return dict(self._admin("GET", "/admin/stats"))


if __name__ == "__main__":
    sys.exit(main())
