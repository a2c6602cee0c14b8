"""Measure how many DELETE requests/s the local KV store sustains.

A plain-threads client (no gocurrent) in the shape of the bulk deletion
example: one producer pages through the keys into a bounded queue, and
``--workers`` threads, each with its own keep-alive connection, delete them.

    python examples/services/bench_kvstore.py --keys 100000 --workers 100
    python examples/services/bench_kvstore.py --client http.client

The server runs in its own process (see :class:`KVStoreServer`); on a 2-core
machine the client and the server share the two cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.services.kvstore import KVStoreServer

_DONE = object()


def _requests_deleter(kv: KVStoreServer) -> Callable[[str], int]:
    import requests  # optional dependency of this script only

    session = requests.Session()
    session.headers.update(kv.headers)
    return lambda url: session.delete(url).status_code


def _httpclient_deleter(kv: KVStoreServer) -> Callable[[str], int]:
    parts = urlsplit(kv.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)

    def delete(url: str) -> int:
        conn.request("DELETE", urlsplit(url).path, headers=kv.headers)
        response = conn.getresponse()
        response.read()
        return response.status

    return delete


def _pages(kv: KVStoreServer, store_id: str) -> list[str]:
    """Yield every key via the paginated list endpoint (http.client)."""
    parts = urlsplit(kv.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    path = urlsplit(kv.keys_url(store_id)).path
    keys: list[str] = []
    cursor = ""
    while True:
        conn.request("GET", f"{path}?cursor={cursor}", headers=kv.headers)
        page = json.loads(conn.getresponse().read())
        keys.extend(page["data"])
        cursor = page["meta"].get("next_cursor", "")
        if not cursor:
            conn.close()
            return keys


def bench(
    kv: KVStoreServer, n_keys: int, workers: int, client: str = "requests"
) -> tuple[float, int, int]:
    """Delete ``n_keys`` keys with ``workers`` threads; return (rate, ok, failed)."""
    store_id = "bench"
    kv.seed(store_id, n_keys)
    make = _requests_deleter if client == "requests" else _httpclient_deleter
    keys_q: queue.Queue[object] = queue.Queue(maxsize=1000)
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()

    def producer() -> None:
        for key in _pages(kv, store_id):
            keys_q.put(key)
        for _ in range(workers):
            keys_q.put(_DONE)

    def worker() -> None:
        delete = make(kv)
        ok = failed = 0
        while (key := keys_q.get()) is not _DONE:
            if delete(kv.key_url(store_id, str(key))) == 204:
                ok += 1
            else:
                failed += 1
        with lock:
            counts["ok"] += ok
            counts["failed"] += failed

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    start = time.perf_counter()
    for t in [threading.Thread(target=producer), *threads]:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return counts["ok"] / elapsed, counts["ok"], counts["failed"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the DELETE rate."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keys", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=100)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--client", choices=["requests", "http.client"], default="requests")
    args = p.parse_args(argv)
    with KVStoreServer(latency_ms=args.latency_ms) as kv:
        rate, ok, failed = bench(kv, args.keys, args.workers, args.client)
        left = kv.count("bench")
    print(
        f"{args.client}: {ok} deleted, {failed} failed, {left} left, "
        f"{rate:,.0f} DELETE/s with {args.workers} workers"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
