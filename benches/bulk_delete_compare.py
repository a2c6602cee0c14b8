"""Bulk deletion keys/s: the gocurrent examples vs a sequential loop vs a
ThreadPoolExecutor of the same size, in one run, against one local KV store.

    python benches/bulk_delete_compare.py                 # 20,000 keys, pool 100
    python benches/bulk_delete_compare.py --keys 100000 --latency-ms 2
    python benches/bulk_delete_compare.py --client http.client --repeat 3

Every contender uses the same client (examples/_kv.py: one http.client
connection per thread, or with --client urllib3 a pool shared by the workers) and the same server
process (examples/services/kvstore.py, asyncio, on 127.0.0.1), which is
re-seeded with ``--keys`` keys before each run. The server shares the
machine's cores with the client, so keys/s measures the whole system; the
client's CPU time per key (user + system, this process only) depends less
on what else the machine is doing.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import bulk_delete  # noqa: E402
import bulk_delete_update  # noqa: E402
from _kv import APIError, KVClient  # noqa: E402

from examples.services.kvstore import KVStoreServer  # noqa: E402

STORE = "bench"


def sequential(client: KVClient, pool: int) -> int:
    """One thread: page through the keys and delete them one by one."""
    p = client.new_list_kv_store_keys_paginator(STORE)
    deleted = 0
    while p.next():
        for key in p.keys():
            try:
                client.delete_kv_store_key(STORE, key)
                deleted += 1
            except APIError:
                pass
    return deleted


def thread_pool(client: KVClient, pool: int) -> int:
    """concurrent.futures.ThreadPoolExecutor(pool): one task per key."""
    p = client.new_list_kv_store_keys_paginator(STORE)

    def delete(key: str) -> bool:
        try:
            client.delete_kv_store_key(STORE, key)
            return True
        except APIError:
            return False

    with ThreadPoolExecutor(max_workers=pool) as executor:
        futures = []
        while p.next():
            futures.extend(executor.submit(delete, key) for key in p.keys())
        return sum(f.result() for f in futures)


def gocurrent_original(client: KVClient, pool: int) -> int:
    """examples/bulk_delete.py: Chan(1000) of keys, `pool` goroutines."""
    return bulk_delete.delete_all_keys(client, STORE, io.StringIO(), pool_size=pool)


def gocurrent_update(client: KVClient, pool: int) -> int:
    """examples/bulk_delete_update.py: two WaitGroups, errors collected."""
    from gocurrent import atomic

    deleted = atomic.Uint64()
    bulk_delete_update.delete_all_kv_store_keys(client, STORE, 100, pool, deleted=deleted)
    return deleted.load()


def _cpu() -> float:
    """CPU seconds (user + system) used by this process (the client) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CONTENDERS: dict[str, Callable[[KVClient, int], int]] = {
    "sequential loop": sequential,
    "ThreadPoolExecutor": thread_pool,
    "gocurrent bulk_delete": gocurrent_original,
    "gocurrent bulk_delete_update": gocurrent_update,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--pool", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--client", choices=["http.client", "urllib3"], default="http.client")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (median)")
    parser.add_argument("--only", default="", help="comma-separated contenders (default: all)")
    args = parser.parse_args(argv)
    chosen = [c.strip() for c in args.only.split(",") if c.strip()] or list(CONTENDERS)

    print(
        f"{args.keys:,} keys, pool {args.pool}, client {args.client}, "
        f"server latency {args.latency_ms} ms, {args.repeat} run(s) each"
    )
    with KVStoreServer(latency_ms=args.latency_ms) as kv:
        for name in chosen:
            rates, cpu = [], []
            for _ in range(args.repeat):
                kv.seed(STORE, args.keys)
                client = KVClient(kv.url, kv.token, args.pool, args.client)
                start, start_cpu = time.perf_counter(), _cpu()
                deleted = CONTENDERS[name](client, args.pool)
                elapsed, used = time.perf_counter() - start, _cpu() - start_cpu
                client.close()
                cpu.append(used / max(deleted, 1) * 1e6)
                left = kv.count(STORE)
                if deleted != args.keys or left:
                    print(f"  {name}: deleted {deleted}, {left} left (expected all)")
                rates.append(deleted / elapsed)
            print(
                f"{name:30} {statistics.median(rates):>9,.0f} keys/s"
                f"   client CPU {statistics.median(cpu):>5.0f} us/key"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
