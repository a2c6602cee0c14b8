"""The Bulk Deletion examples against the local KV store server (own process):
every key is gone, or exactly the failed ones remain and are reported."""

from __future__ import annotations

import io
import re

import pytest
from ex_support import run_example

pytestmark = pytest.mark.timeout(90)


def number(pattern: str, text: str) -> int:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in:\n{text}"
    return int(m.group(1).replace(",", ""))


# -- the original version (stops at MaxErrors) ---------------------------------


def test_original_deletes_every_key() -> None:
    out = run_example("bulk_delete", "--keys", "3000").stdout
    assert "Local KV store at http://127.0.0.1:" in out
    assert "✓ Deleted keys: 3000" in out
    assert "SUCCESS: Deleted all keys from KV Store 'store'" in out
    assert re.search(r"Deleted 3,000 keys in \d+\.\d\d s: [\d,]+ keys/s", out)
    assert "Keys left in the store: 0" in out


def test_original_urllib3_transport_and_small_pool() -> None:
    out = run_example("bulk_delete", "--keys", "1500", "--pool", "7", "--client", "urllib3")
    assert "✓ Deleted keys: 1500" in out.stdout
    assert "Keys left in the store: 0" in out.stdout


def test_original_stops_at_max_errors() -> None:
    proc = run_example(
        "bulk_delete",
        "--keys", "4000",
        "--failure-rate", "0.05",
        "--max-errors", "10",
        "--seed", "7",
        returncode=1,
    )  # fmt: skip
    out = proc.stdout
    assert "ERROR: failed to delete 10 keys." in out
    deleted = number(r"✗ Deleted keys: (\d+)", out)
    left = number(r"Keys left in the store: ([\d,]+)", out)
    assert deleted + left == 4000
    assert left > 10  # the workers stopped before the end
    shown = re.search(r"Failed keys: (.*)", out)
    assert shown and len(shown.group(1).split(", ")) == 10


def test_original_in_process_reports_keys_that_remain() -> None:
    import bulk_delete
    from _kv import KVClient

    from examples.services.kvstore import KVStoreServer

    with KVStoreServer(failure_rate=0.1, seed=3) as kv:
        kv.seed("s", 2000)
        client = KVClient(kv.url, kv.token, pool_size=20)
        with pytest.raises(bulk_delete.DeleteError) as info:
            bulk_delete.delete_all_keys(client, "s", io.StringIO(), pool_size=20, max_errors=5)
        client.close()
        remaining = set(kv.remaining("s"))
    err = info.value
    assert len(err.failed_keys) == 5
    assert set(err.failed_keys) <= remaining
    assert err.deleted + len(remaining) == 2000


# -- UPDATE 2024.11.01 (keeps going, collects the failed keys) -------------------


def test_update_collects_exactly_the_failed_keys() -> None:
    import bulk_delete_update
    from _kv import KVClient

    from examples.services.kvstore import KVStoreServer

    fail = [f"key-{i:06d}" for i in (0, 17, 999, 1500, 2999)]
    with KVStoreServer(fail_keys=fail) as kv:
        kv.seed("s", 3000)
        client = KVClient(kv.url, kv.token, pool_size=50)
        with pytest.raises(bulk_delete_update.DeleteError) as info:
            bulk_delete_update.delete_all_kv_store_keys(client, "s", max_errors=2, pool_size=50)
        client.close()
        remaining = kv.remaining("s")
    err = info.value
    # max_errors=2 is smaller than the failures: the collector drains errors_ch
    # concurrently, and any error that still found it full is counted.
    assert len(set(err.failed_keys)) == len(err.failed_keys)
    assert set(err.failed_keys) <= set(fail)
    assert len(err.failed_keys) + err.dropped == len(fail)
    assert remaining == fail


def test_update_random_failures_remain_and_are_reported() -> None:
    proc = run_example(
        "bulk_delete_update",
        "--keys", "3000",
        "--failure-rate", "0.01",
        "--max-errors", "100",  # more than the failures: none can be dropped
        "--seed", "11",
        returncode=1,
    )  # fmt: skip
    out = proc.stdout
    failed = number(r"Failed keys \((\d+)\)", out)
    assert failed > 0
    assert f"ERROR: failed to delete {failed} keys." in out
    assert number(r"Keys left in the store: ([\d,]+)", out) == failed
    assert number(r"✗ Deleted keys: (\d+)", out) == 3000 - failed
    assert "dropped" not in out


def test_update_without_failures() -> None:
    out = run_example("bulk_delete_update", "--keys", "2500", "--pool", "100").stdout
    assert "✓ Deleted keys: 2500" in out
    assert "SUCCESS: Deleted all keys from KV Store 'store'" in out
    assert "Keys left in the store: 0" in out
    assert re.search(r"[\d,]+ keys/s", out)


def test_api_flag_requires_token() -> None:
    proc = run_example("bulk_delete", "--api", "http://127.0.0.1:9", returncode=None)
    assert proc.returncode != 0
    assert "--api needs --token" in proc.stderr


def test_api_flag_runs_against_any_compatible_service() -> None:
    from examples.services.kvstore import KVStoreServer

    with KVStoreServer(token="s3cret") as kv:
        kv.seed("other-store", 1200)
        proc = run_example(
            "bulk_delete_update",
            "--api", kv.url,
            "--token", "s3cret",
            "--store", "other-store",
            "--pool", "10",
        )  # fmt: skip
        assert kv.count("other-store") == 0
    assert "Local KV store" not in proc.stdout  # it used the given API only
    assert "✓ Deleted keys: 1200" in proc.stdout


def test_the_local_server_is_gone_when_the_example_ends() -> None:
    import socket

    out = run_example("bulk_delete", "--keys", "500").stdout
    port = number(r"Local KV store at http://127\.0\.0\.1:(\d+)", out)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 2):
        pass


# -- UPDATE 2024.11.01 against a rate-limited API (--rate, --burst) ------------


def test_update_rate_limited_api_retries_429s_and_loses_nothing() -> None:
    # The server allows 2,000 requests/s with a bucket of 5: the client's
    # burst of 50 and the pool's jitter get 429s, retried after Retry-After.
    proc = run_example(
        "bulk_delete_update",
        "--keys", "3000",
        "--server-rate-limit", "2000",
        "--server-burst", "5",
        "--rate", "2000",
        "--burst", "50",
        timeout=120,
    )  # fmt: skip
    out = proc.stdout
    assert "limited to 2,000 requests/s" in out
    assert "✓ Deleted keys: 3000" in out
    assert "Keys left in the store: 0" in out
    assert number(r"Retried \(429 Too Many Requests\): ([\d,]+)", out) > 0
    seconds = float(re.search(r"Deleted 3,000 keys in (\d+\.\d+) s", out).group(1))  # type: ignore[union-attr]
    # Never faster than the limiter allows (3,000 DELETEs and 3 pages, 50 at once).
    assert seconds >= (3003 - 50) / 2000 * 0.95


def refused_keys_are_reported_and_left(keys: int, rate: int, burst: int) -> None:
    """bulk_delete_update with no retries against a server limited to
    ``rate`` requests/s (``burst``): the keys the API refused are reported,
    and the example's final count finds exactly those left."""
    proc = run_example(
        "bulk_delete_update",
        "--keys", str(keys),
        "--server-rate-limit", str(rate),
        "--server-burst", str(burst),
        "--retries", "0",
        "--max-errors", str(keys),
        returncode=1,
    )  # fmt: skip
    out = proc.stdout
    failed = number(r"Failed keys \((\d+)\)", out)
    assert failed > 0  # 100 goroutines, no limiter: the API refused many
    assert f"ERROR: failed to delete {failed} keys." in out
    assert number(r"Keys left in the store: ([\d,]+)", out) == failed
    assert number(r"✗ Deleted keys: (\d+)", out) == keys - failed


def test_update_keys_still_refused_after_the_retries_are_reported() -> None:
    refused_keys_are_reported_and_left(keys=1000, rate=500, burst=10)


def test_retry_policy_backs_off_exponentially_within_the_cap() -> None:
    from _kv import Retry

    r = Retry(attempts=5, base=0.1, cap=1.0)
    for attempt, top in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (9, 1.0)]:
        d = r.delay(attempt, None)
        assert top / 2 <= d <= top
    assert r.delay(0, 3.0) == 3.0  # Retry-After wins over a shorter backoff


def test_update_counts_what_is_left_even_when_the_deletion_spent_the_rate_limit() -> None:
    # 5 requests/s, burst 1: the deletion's requests leave the bucket empty,
    # so the final count's listing is refused (429) at first; it waits for
    # the Retry-After even with --retries 0 (which only governs deletions).
    refused_keys_are_reported_and_left(keys=200, rate=5, burst=1)
