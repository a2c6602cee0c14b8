"""Bulk Deletion API: delete every key of a KV store with a pool of goroutines.

The article's "Real Examples / Bulk Deletion API" (the original version). The
API has no bulk delete: one goroutine pages through the keys into ``keys_ch``
and a pool of ``POOL_SIZE`` (100) goroutines issue one DELETE per key. Errors
go into ``errors_ch`` (buffered, ``MAX_ERRORS``); when it is full, the
``select`` falls through to ``default`` and the goroutine stops: MaxErrors
stops the workers. An ``atomic.Uint64`` counts the deleted keys and a
spinner shows the count live.

Two differences from the Go code, both fixes:

* Go counts a key whose DELETE failed as deleted too (``deleteCount.Add(1)``
  runs after the ``select``); here only successful deletions are counted.
* In Go, once every worker has returned on errors, the paginating goroutine
  blocks for ever on ``keysCh <- key`` and ``wg.Wait()`` never returns. Here
  the first worker that finds ``errors_ch`` full closes ``stop`` (once), and
  the paginating goroutine's ``select`` on ``stop`` ends the pagination; the
  remaining workers drain what is buffered and return.

By default the script starts a local KV store server (its own process, on
127.0.0.1), seeds it with ``--keys`` (100,000) keys, deletes them all, checks
what is left, and prints the keys/s. ``--api URL --token T --store ID`` runs
against any compatible API instead.

Run: ``python examples/bulk_delete.py [--keys N] [--pool N] [--max-errors N]
[--failure-rate F]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from _kv import APIError, KVClient, Spinner, add_arguments, kv_store, report_rate
from gocurrent import Chan, Once, WaitGroup, atomic, go, select

POOL_SIZE = 100
"""The goroutine pool size: each goroutine takes a key from a channel and
issues a DELETE request."""

MAX_ERRORS = 100
"""The maximum number of errors allowed before stopping the goroutines."""


class DeleteError(Exception):
    """Some keys could not be deleted; ``failed_keys`` lists those reported."""

    def __init__(self, message: str, failed_keys: list[str], deleted: int) -> None:
        super().__init__(message)
        self.failed_keys = failed_keys
        self.deleted = deleted


def delete_all_keys(
    conn: KVClient,
    store_id: str,
    out: TextIO | None = None,
    pool_size: int = POOL_SIZE,
    max_errors: int = MAX_ERRORS,
    total: int | None = None,
) -> int:
    """Delete every key of ``store_id``; return how many were deleted.

    ``total``, when known, lets the spinner draw a progress bar.

    Raises DeleteError when some deletions failed.
    """
    # A spinner visually updates the user on the progress.
    spinner_message = "Deleting keys"
    spinner = Spinner(out, total)
    spinner.start()
    spinner.message(spinner_message + "...")

    # A keys paginator.
    p = conn.new_list_kv_store_keys_paginator(store_id)

    # A channel for tracking errors when deleting keys.
    errors_ch: Chan[str] = Chan(max_errors)

    # A channel for tracking keys to delete.
    keys_ch: Chan[str] = Chan(1000)  # correlates to the pagination page size of the API

    delete_count = atomic.Uint64()  # the number of keys deleted
    failed_keys: list[str] = []  # which keys failed to be deleted
    wg = WaitGroup()  # waits for all goroutines to complete
    stop: Chan[None] = Chan()  # closed once MAX_ERRORS is reached (see the docstring)
    stop_once = Once()
    pagination_err: list[Exception] = []

    # Two execution flows happen at once:
    #
    # 1. Pushing keys from pagination data into a key channel.
    # 2. Pulling keys from the key channel and issuing API DELETE calls.
    #
    # Once the limit of errors is reached the goroutines of the second flow stop.

    def paginate() -> None:
        try:
            while p.next():
                for key in p.keys():
                    if select((keys_ch.send, key), stop.recv)[0] == 1:
                        return  # the workers stopped: stop paginating
            if (err := p.err()) is not None:
                pagination_err.append(err)
        finally:
            keys_ch.close()  # defer close(keysCh)
            wg.done()  # defer wg.Done()

    wg.add(1)
    go(paginate)

    def worker() -> None:
        try:
            for key in keys_ch:
                try:
                    conn.delete_kv_store_key(store_id, key)
                except APIError:
                    match select((errors_ch.send, key), default=True):
                        case (0, _):
                            continue  # recorded (Go counts the key as deleted here)
                        case _:  # the channel is full: the MAX_ERRORS limit is reached
                            stop_once.do(stop.close)
                            return
                # Update the terminal UI to reflect the number of deleted keys.
                f = delete_count.add(1)
                spinner.message(f"{spinner_message}...{f}", f)
        finally:
            wg.done()

    # Limit the number of goroutines spun up to the pool size.
    for _ in range(pool_size):
        wg.add(1)
        go(worker)

    wg.wait()

    errors_ch.close()
    for err in errors_ch:
        failed_keys.append(err)

    spinner_message = f"Deleted keys: {delete_count.load()}"

    if failed_keys or pagination_err:
        spinner.stop_fail_message(spinner_message)
        spinner.stop_fail()
        if pagination_err:
            raise DeleteError(
                f"listing keys failed: {pagination_err[0]}", failed_keys, delete_count.load()
            )
        raise DeleteError(
            f"failed to delete {len(failed_keys)} keys", failed_keys, delete_count.load()
        )

    spinner.stop_message(spinner_message)
    spinner.stop()

    print(f"\nSUCCESS: Deleted all keys from KV Store '{store_id}'", file=out or sys.stdout)
    return delete_count.load()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)

    with kv_store(args) as target:
        start = time.perf_counter()
        status = 0
        try:
            deleted = delete_all_keys(
                target.client,
                target.store_id,
                pool_size=args.pool,
                max_errors=args.max_errors,
                total=target.total,
            )
        except DeleteError as err:
            print(f"\nERROR: {err}.")
            shown = ", ".join(sorted(err.failed_keys)[:10])
            more = " ..." if len(err.failed_keys) > 10 else ""
            if err.failed_keys:
                print(f"Failed keys: {shown}{more}")
            deleted, status = err.deleted, 1
        report_rate(deleted, time.perf_counter() - start)
        print(f"Keys left in the store: {target.count_left():,}")
    return status


if __name__ == "__main__":
    sys.exit(main())
