"""Bulk Deletion API, UPDATE 2024.11.01: keep going on errors, collect failed keys.

The article's modified version: instead of stopping at ``max_errors``, the
workers keep deleting, and a goroutine drains ``errors_ch`` into
``failed_keys`` (under a Mutex) while they work, making room in the channel's
buffer. Ranging over ``errors_ch`` ends only when it is closed, so it takes
two WaitGroups: ``wg_processing`` tracks the paginating goroutine and the
pool; ``wg_error_ch`` tracks the collecting goroutine and the one that waits
for ``wg_processing`` and then closes ``errors_ch``.

When ``errors_ch`` is full anyway the error is dropped (``select`` with
``default``), as in Go; unlike Go, this script counts the drops and reports
them, so every key left in the store is accounted for. The spinner and the
final keys/s are the same as in bulk_delete.py.

Real APIs limit the request rate and answer ``429 Too Many Requests`` over
it. ``--rate R --burst B`` paces the pool with ONE ``rate.Limiter`` shared
by every goroutine (Go's golang.org/x/time/rate): each request first
``limiter.wait()``s for its token, so the pool of 100 never exceeds R
requests/s however fast the API answers. A 429 that happens anyway is
retried after its ``Retry-After`` with capped exponential backoff
(``--retries N`` times); a key still refused after that fails and is
reported as any other. The spinner shows the rate and the retries.
``--server-rate-limit R`` limits the local server::

    python examples/bulk_delete_update.py --server-rate-limit 2000 --rate 2000 --burst 100

Run: ``python examples/bulk_delete_update.py [--keys N] [--pool N]
[--max-errors N] [--failure-rate F] [--rate R --burst B [--retries N]]``
(or ``--api URL --token T``).
"""

from __future__ import annotations

import argparse
import sys
import time

from _kv import APIError, KVClient, Retry, Spinner, add_arguments, kv_store, report_rate
from gocurrent import Chan, Mutex, WaitGroup, atomic, go, rate, select


class DeleteError(Exception):
    """Some keys could not be deleted: ``failed_keys`` (and ``dropped`` more)."""

    def __init__(self, message: str, failed_keys: list[str], dropped: int) -> None:
        super().__init__(message)
        self.failed_keys = failed_keys
        self.dropped = dropped


def delete_all_kv_store_keys(
    conn: KVClient,
    store_id: str,
    max_errors: int,
    pool_size: int,
    progress: Spinner | None = None,
    deleted: atomic.Uint64 | None = None,
) -> None:
    """Delete every key of ``store_id``; raise DeleteError if any failed."""
    p = conn.new_list_kv_store_keys_paginator(store_id)

    errors_ch: Chan[str] = Chan(max_errors)
    keys_ch: Chan[str] = Chan(1000)  # number correlates to pagination page size

    failed_keys: list[str] = []
    mu = Mutex()
    wg_processing = WaitGroup()
    wg_error_ch = WaitGroup()
    delete_count = deleted if deleted is not None else atomic.Uint64()
    dropped = atomic.Uint64()  # errors that found errors_ch full (Go drops them silently)
    pagination_err: list[Exception] = []

    # Three execution flows happen at once:
    #
    # 1. Pushing keys from pagination data into a key channel.
    # 2. Pulling keys from the error channel and appending to failed_keys.
    # 3. Pulling keys from the key channel and issuing API DELETE calls.
    #
    # The second one is problematic: ranging over a channel only ends when the
    # channel is closed, so errors_ch must be closed once every deletion is
    # done. Hence two wait groups: wg_processing tracks the goroutines that
    # process the pagination data (the paginator and the pool); wg_error_ch
    # tracks the collector and the goroutine that waits for wg_processing to
    # complete and then closes errors_ch.

    # This goroutine finishes once all pagination keys have been processed.
    def paginate() -> None:
        try:
            while p.next():
                for key in p.keys():
                    keys_ch.send(key)
            if (err := p.err()) is not None:
                pagination_err.append(err)
        finally:
            keys_ch.close()  # defer close(keysCh)
            wg_processing.done()  # defer wgProcessing.Done()

    wg_processing.add(1)
    go(paginate)

    # This goroutine finishes once errors_ch is closed.
    def collect() -> None:
        try:
            for err in errors_ch:
                with mu:
                    failed_keys.append(err)
        finally:
            wg_error_ch.done()

    wg_error_ch.add(1)
    go(collect)

    # These goroutines finish once they have pulled all data from keys_ch.
    def worker() -> None:
        try:
            for key in keys_ch:
                try:
                    conn.delete_kv_store_key(store_id, key)
                except APIError:
                    match select((errors_ch.send, key), default=True):
                        case (0, _):
                            pass
                        case _:
                            # The larger max_errors, the less likely errors are
                            # dropped (a memory trade-off).
                            dropped.add(1)
                    continue
                n = delete_count.add(1)
                if progress is not None:
                    progress.message(f"Deleting keys...{n}", n)
        finally:
            wg_processing.done()

    for _ in range(pool_size):
        wg_processing.add(1)
        go(worker)

    # This goroutine finishes once the 'processing' goroutines are finished.
    def close_errors() -> None:
        try:
            wg_processing.wait()  # wait for all deletion and pagination tasks
            errors_ch.close()
        finally:
            wg_error_ch.done()

    wg_error_ch.add(1)
    go(close_errors)

    # Wait for the error-handling goroutines to finish processing.
    wg_error_ch.wait()

    if pagination_err:
        raise DeleteError(f"listing keys failed: {pagination_err[0]}", failed_keys, 0)
    if failed_keys or dropped.load():
        n = len(failed_keys) + dropped.load()
        raise DeleteError(f"failed to delete {n} keys", failed_keys, dropped.load())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="requests per second, all goroutines (0: no limit)"
    )
    parser.add_argument("--burst", type=int, default=None, help="the limiter's burst (R/20)")
    parser.add_argument("--retries", type=int, default=8, help="retries of a 429 answer")
    args = parser.parse_args(argv)

    # One limiter for the whole pool: 100 goroutines share R requests/s.
    limiter = None
    if args.rate > 0:
        limiter = rate.Limiter(args.rate, args.burst or max(1, int(args.rate / 20)))
    retry = Retry(attempts=args.retries) if args.retries > 0 else None
    with kv_store(args, limiter=limiter, retry=retry) as target:
        limited = limiter is not None or args.server_rate_limit > 0
        retries = target.client.retries
        spinner = Spinner(total=target.total, retries=retries if limited else None)
        spinner.start()
        spinner.message("Deleting keys...")
        deleted = atomic.Uint64()
        start = time.perf_counter()
        status = 0
        try:
            delete_all_kv_store_keys(
                target.client,
                target.store_id,
                args.max_errors,
                args.pool,
                progress=spinner,
                deleted=deleted,
            )
        except DeleteError as err:
            spinner.stop_fail_message(f"Deleted keys: {deleted.load()}")
            spinner.stop_fail()
            print(f"\nERROR: {err}.")
            keys = sorted(err.failed_keys)
            more = f" ... ({len(keys) - 50} more)" if len(keys) > 50 else ""
            print(f"Failed keys ({len(keys)}): {', '.join(keys[:50])}{more}")
            if err.dropped:
                print(f"Errors dropped (errors channel full): {err.dropped}")
            status = 1
        else:
            spinner.stop_message(f"Deleted keys: {deleted.load()}")
            spinner.stop()
            print(f"\nSUCCESS: Deleted all keys from KV Store '{target.store_id}'")
        report_rate(deleted.load(), time.perf_counter() - start)
        if limited:
            pace = f"at most {args.rate:,g} requests/s" if limiter else "no client limit"
            print(f"Retried (429 Too Many Requests): {retries.load():,} ({pace})")
        print(f"Keys left in the store: {target.count_left():,}")
    return status


if __name__ == "__main__":
    sys.exit(main())
