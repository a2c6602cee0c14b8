"""What the two Bulk Deletion examples share: the KV store client, the spinner,
and the command line (a local KV store server by default, or ``--api``).

The client mirrors the calls of the Go Fastly client that the article uses:
``conn.new_list_kv_store_keys_paginator(store_id)`` (``p.next()`` /
``p.keys()`` / ``p.err()``) and ``conn.delete_kv_store_key(store_id, key)``.
It speaks HTTP/1.1 with keep-alive, with either client:

* ``--client http.client`` (the default): one keep-alive ``http.client``
  connection per goroutine thread (thread-local). Measured with
  benches/bulk_delete_compare.py, it costs about half the client CPU per
  DELETE of the urllib3 pool and deletes 1.5-2x more keys per second.
* ``--client urllib3``: one ``urllib3`` connection pool shared by every
  goroutine, sized to the goroutine pool, like Go's ``http.Client`` with its
  idle-connection pool.

Against a rate-limited API, give the client a ``gocurrent.rate.Limiter``
(shared by every goroutine: each request first waits for its token, Go's
``limiter.Wait(ctx)``) and a number of retries: a ``429 Too Many
Requests`` is retried after its ``Retry-After``, with capped exponential
backoff and jitter, and only a key still refused after the last retry
fails.

``Spinner`` is the Fastly CLI's ``text.Spinner`` drawn with ``rich``: a live
spinner and message in a terminal and in Jupyter (with ipywidgets), one final
line when the output is a file or a pipe. ``message()`` only stores the text
(the display refreshes ten times a second), so a hundred goroutines can call
it on every deletion as the Go code does.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote, urlencode, urlsplit

import _common  # noqa: F401  (puts the repository root on sys.path)
import urllib3

__all__ = [
    "APIError",
    "KVClient",
    "Paginator",
    "Retry",
    "Spinner",
    "add_arguments",
    "kv_store",
    "report_rate",
]

API_PREFIX = "/resources/stores/kv/"


class APIError(Exception):
    """A KV store API call that did not succeed (``status`` 0: no answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is not used here)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass
class Retry:
    """How 429 answers are retried: at most ``attempts`` more times, after
    ``max(Retry-After, backoff)`` where backoff doubles from ``base`` up
    to ``cap`` seconds, with jitter (so retries do not come back in step)."""

    attempts: int = 8
    base: float = 0.05
    cap: float = 2.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.cap, self.base * 2**attempt)
        backoff = random.uniform(backoff / 2, backoff)
        return max(retry_after or 0.0, backoff)


class KVClient:
    """A client of the Fastly-KV-store-shaped API at ``api`` (http or https)."""

    def __init__(
        self,
        api: str,
        token: str,
        pool_size: int = 100,
        client: str = "http.client",
        *,
        limiter: Any = None,
        retry: Retry | None = None,
    ) -> None:
        if client not in ("urllib3", "http.client"):
            raise ValueError(f"unknown client {client!r}")
        from gocurrent import atomic

        self.limiter = limiter  # a gocurrent.rate.Limiter shared by all goroutines
        self.retry = retry  # None: a 429 is an error at once
        self.retries = atomic.Uint64()  # 429 answers retried so far
        self.api = api.rstrip("/")
        self.headers = {"Fastly-Key": token, "Accept": "application/json"}
        self.client = client
        parts = urlsplit(self.api)
        self._scheme = parts.scheme
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        # block=True: a goroutine waits for a free connection rather than
        # opening (and then discarding) an extra one.
        self._pool = urllib3.connection_from_url(
            self.api, maxsize=pool_size, block=True, headers=self.headers, retries=False
        )
        self._local = threading.local()
        self._conns: list[http.client.HTTPConnection] = []
        self._conns_mu = threading.Lock()

    def close(self) -> None:
        """Close every connection (the pool's and the per-thread ones)."""
        self._pool.close()
        with self._conns_mu:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            conn = self._local.conn = cls(self._host, self._port, timeout=60)
            with self._conns_mu:
                self._conns.append(conn)
        return conn

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        """One request; returns (status, body). Raises APIError if no answer.

        With a limiter, first waits (blocking this goroutine) for a token;
        with a retry policy, a 429 answer is retried after its Retry-After
        (and backoff) until the attempts run out; the last answer is
        returned."""
        attempt = 0
        while True:
            if self.limiter is not None:
                self.limiter.wait()
            status, retry_after, body = self._send(method, self._base + path)
            if status != 429 or self.retry is None or attempt >= self.retry.attempts:
                return status, body
            self.retries.add(1)
            time.sleep(self.retry.delay(attempt, retry_after))
            attempt += 1

    def _send(self, method: str, path: str) -> tuple[int, float | None, bytes]:
        try:
            if self.client == "urllib3":
                resp = self._pool.urlopen(method, path, headers=self.headers)
                return resp.status, _retry_after(resp.headers.get("Retry-After")), resp.data
            conn = self._conn()
            try:
                conn.request(method, path, headers=self.headers)
                resp2 = conn.getresponse()
                body = resp2.read()
                return resp2.status, _retry_after(resp2.getheader("Retry-After")), body
            except (OSError, http.client.HTTPException):
                conn.close()  # reconnect on the next call
                raise
        except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
            raise APIError(0, f"{method} {path}: {exc}") from exc

    # -- the calls of the Go client -------------------------------------------

    def delete_kv_store_key(self, store_id: str, key: str) -> None:
        """``DeleteKVStoreKey``: raise APIError unless the API answered 2xx."""
        path = f"{API_PREFIX}{quote(store_id, safe='')}/keys/{quote(key, safe='')}"
        status, body = self.request("DELETE", path)
        if not 200 <= status < 300:
            raise APIError(status, f"DELETE {key}: {status} {_error_text(body)}")

    def new_list_kv_store_keys_paginator(self, store_id: str, limit: int = 1000) -> Paginator:
        """``NewListKVStoreKeysPaginator``: pages of key names, in order."""
        return Paginator(self, store_id, limit)


def _error_text(body: bytes) -> str:
    try:
        payload = json.loads(body)
        return str(payload.get("msg", "")) or body.decode(errors="replace")
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:200]


class Paginator:
    """``p.next()`` fetches the next page (False at the end or on error);
    ``p.keys()`` is that page; ``p.err()`` the error that ended it, if any."""

    def __init__(self, client: KVClient, store_id: str, limit: int = 1000) -> None:
        self._client = client
        self._path = f"{API_PREFIX}{quote(store_id, safe='')}/keys"
        self._limit = limit
        self._cursor: str | None = ""
        self._keys: list[str] = []
        self._err: Exception | None = None

    def next(self) -> bool:
        if self._cursor is None or self._err is not None:
            return False
        query = {"limit": self._limit}
        if self._cursor:
            query["cursor"] = self._cursor  # type: ignore[assignment]
        try:
            status, body = self._client.request("GET", f"{self._path}?{urlencode(query)}")
            if status != 200:
                raise APIError(status, f"list keys: {status} {_error_text(body)}")
            page = json.loads(body)
        except (APIError, ValueError) as exc:
            self._err = exc
            return False
        self._keys = list(page.get("data") or [])
        self._cursor = (page.get("meta") or {}).get("next_cursor") or None
        return bool(self._keys) or self._cursor is not None

    def keys(self) -> list[str]:
        return self._keys

    def err(self) -> Exception | None:
        return self._err


def count_keys(client: KVClient, store_id: str) -> int:
    """How many keys the store has (by paging through it)."""
    p = client.new_list_kv_store_keys_paginator(store_id, limit=10_000)
    n = 0
    while p.next():
        n += len(p.keys())
    if (err := p.err()) is not None:
        raise err
    return n


# --------------------------------------------------------------------------
# The spinner
# --------------------------------------------------------------------------


class Spinner:
    """The Fastly CLI's ``text.Spinner``: ``start``, ``message``, ``stop_message``,
    ``stop``, ``stop_fail_message``, ``stop_fail``; drawn with rich.

    ``message(text, count)`` may also pass the number of keys done so far:
    the display then shows the rate, and a bar when ``total`` is known.
    """

    def __init__(
        self, out: TextIO | None = None, total: int | None = None, retries: Any = None
    ) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.spinner import Spinner as RichSpinner

        self._text = ""
        self._count = 0
        self._total = total
        self._retries = retries  # an atomic counter of retried requests, shown when set
        self._started_at = time.perf_counter()
        self._spinner = RichSpinner("dots", style="cyan")
        self._console = Console(file=out) if out is not None else Console()
        self._live = Live(self, console=self._console, refresh_per_second=10, redirect_stdout=False)
        self._final = ""

    def __rich__(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        self._spinner.update(text=self._text)
        if not self._count:
            return self._spinner
        elapsed = max(time.perf_counter() - self._started_at, 1e-9)
        grid = Table.grid(padding=(0, 2))
        row: list[Any] = [self._spinner]
        if self._total:
            row.append(ProgressBar(total=self._total, completed=self._count, width=30))
        row.append(f"{self._count / elapsed:,.0f} keys/s")
        if self._retries is not None:
            row.append(f"{self._retries.load():,} retries")
        grid.add_row(*row)
        return grid

    def start(self) -> None:
        self._started_at = time.perf_counter()
        self._live.start()

    def message(self, text: str, count: int | None = None) -> None:
        # Plain stores: cheap enough to call on every deletion.
        self._text = text
        if count is not None:
            self._count = count

    def stop_message(self, text: str) -> None:
        self._final = text

    stop_fail_message = stop_message

    def _stop(self, mark: str, style: str) -> None:
        from rich.text import Text

        self._live.update(Text.assemble((mark, style), " ", self._final or self._text))
        self._live.stop()

    def stop(self) -> None:
        self._stop("✓", "green")

    def stop_fail(self) -> None:
        self._stop("✗", "red")


# --------------------------------------------------------------------------
# Command line and the local server
# --------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options both bulk deletion examples take."""
    parser.add_argument("--api", help="a compatible API (e.g. https://api.fastly.com)")
    parser.add_argument("--token", help="API token for --api (Fastly-Key header)")
    parser.add_argument("--store", default="store", help="KV store ID (default: store)")
    parser.add_argument(
        "--keys", type=int, default=100_000, help="keys to create in the local store"
    )
    parser.add_argument("--pool", type=int, default=100, help="goroutines deleting keys")
    parser.add_argument("--max-errors", type=int, default=100, help="errors channel size")
    parser.add_argument(
        "--failure-rate",
        type=float,
        default=0.0,
        help="local server: probability that a DELETE fails with 500",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="local server: delay per API request"
    )
    parser.add_argument("--seed", type=int, default=None, help="local server: RNG seed")
    parser.add_argument(
        "--server-rate-limit",
        type=float,
        default=0.0,
        metavar="R",
        help="local server: answer 429 (Retry-After) over R requests/s (0: no limit)",
    )
    parser.add_argument(
        "--server-burst",
        type=int,
        default=None,
        metavar="B",
        help="local server: the rate limit's bucket size (default R/10)",
    )
    parser.add_argument(
        "--client",
        choices=["http.client", "urllib3"],
        default="http.client",
        help="HTTP client: a connection per goroutine, or a shared urllib3 pool",
    )
    parser.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)


@dataclass
class Target:
    """Where the example deletes keys."""

    client: KVClient
    store_id: str
    local: Any = None  # the KVStoreServer, when the example started one
    total: int | None = None  # how many keys there are, when known

    def count_left(self) -> int:
        """How many keys the store still has (asked of the API by listing
        them, once the deletion is over). A report, not part of the
        deletion: an API whose rate limit the deletion spent answers 429,
        which is retried after its Retry-After whatever ``--retries`` said."""
        client = self.client
        retry = client.retry
        client.retry = retry if retry is not None else Retry()
        try:
            return count_keys(client, self.store_id)
        finally:
            client.retry = retry


@contextmanager
def kv_store(args: argparse.Namespace, **client_options: Any) -> Iterator[Target]:
    """The store to empty: ``--api`` if given, else a local server (own process)
    seeded with ``--keys`` keys; the server is stopped on exit.
    ``client_options`` go to KVClient (``limiter=``, ``retry=``)."""
    if args.api:
        if not args.token:
            raise SystemExit("--api needs --token")
        client = KVClient(args.api, args.token, args.pool, args.client, **client_options)
        try:
            yield Target(client, args.store)
        finally:
            client.close()
        return

    from examples.services.kvstore import KVStoreServer

    with KVStoreServer(
        latency_ms=args.latency_ms,
        failure_rate=args.failure_rate,
        seed=args.seed,
        rate_limit=args.server_rate_limit,
        rate_burst=args.server_burst,
    ) as kv:
        kv.seed(args.store, args.keys)
        limit = ""
        if args.server_rate_limit:
            limit = f", limited to {args.server_rate_limit:,g} requests/s"
        print(f"Local KV store at {kv.url}: store {args.store!r} has {args.keys:,} keys{limit}")
        client = KVClient(kv.url, kv.token, args.pool, args.client, **client_options)
        try:
            yield Target(client, args.store, kv, args.keys)
        finally:
            client.close()


def report_rate(deleted: int, seconds: float, out: Callable[[str], None] = print) -> float:
    """Print and return the deletion rate."""
    rate = deleted / seconds if seconds > 0 else 0.0
    out(f"Deleted {deleted:,} keys in {seconds:.2f} s: {rate:,.0f} keys/s")
    return rate
