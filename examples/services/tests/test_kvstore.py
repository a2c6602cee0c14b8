"""KV store server: pagination, deletes, auth, failure injection, process lifecycle."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from examples.services import kvstore
from examples.services.kvstore import KVStoreApp, KVStoreServer, Store


@pytest.fixture(scope="module")
def kv() -> Iterator[KVStoreServer]:
    with KVStoreServer() as server:
        yield server


@pytest.fixture
def session(kv: KVStoreServer) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.headers.update(kv.headers)
        yield s


def list_all(
    session: requests.Session, kv: KVStoreServer, store: str, limit: int | None = None
) -> list[list[str]]:
    """Every page of ``store``, following ``next_cursor``."""
    pages: list[list[str]] = []
    cursor = ""
    while True:
        params = {"cursor": cursor} if cursor else {}
        if limit is not None:
            params["limit"] = str(limit)
        r = session.get(kv.keys_url(store), params=params, timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body["data"])
        cursor = body["meta"].get("next_cursor", "")
        if not cursor:
            return pages


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_pagination_2500_keys(kv: KVStoreServer, session: requests.Session) -> None:
    assert kv.seed("pages", 2500) == 2500
    pages = list_all(session, kv, "pages", limit=1000)
    assert [len(p) for p in pages] == [1000, 1000, 500]
    keys = [k for page in pages for k in page]
    assert len(keys) == len(set(keys)) == 2500
    assert keys == sorted(keys) == kv.remaining("pages")
    assert keys[0] == "key-000000" and keys[-1] == "key-002499"


def test_default_limit_is_1000(kv: KVStoreServer, session: requests.Session) -> None:
    kv.seed("default-limit", 1001)
    body = session.get(kv.keys_url("default-limit"), timeout=10).json()
    assert len(body["data"]) == 1000
    assert body["meta"]["limit"] == 1000
    assert body["meta"]["next_cursor"]


def test_last_page_has_no_cursor(kv: KVStoreServer, session: requests.Session) -> None:
    kv.seed("exact", 1000)
    body = session.get(kv.keys_url("exact"), params={"limit": 1000}, timeout=10).json()
    assert len(body["data"]) == 1000
    assert "next_cursor" not in body["meta"]


def test_deleting_while_paginating_skips_nothing(
    kv: KVStoreServer, session: requests.Session
) -> None:
    kv.seed("live", 2500)
    seen: list[str] = []
    cursor = ""
    while True:
        params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
        body = session.get(kv.keys_url("live"), params=params, timeout=10).json()
        for key in body["data"]:
            assert session.delete(kv.key_url("live", key), timeout=10).status_code == 204
        seen += body["data"]
        cursor = body["meta"].get("next_cursor", "")
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 2500
    assert kv.count("live") == 0


def test_delete(kv: KVStoreServer, session: requests.Session) -> None:
    kv.seed("del", 10)
    url = kv.key_url("del", "key-000003")
    assert session.delete(url, timeout=10).status_code == 204
    assert session.delete(url, timeout=10).status_code == 404
    assert kv.count("del") == 9
    assert "key-000003" not in kv.remaining("del")


def test_put_get_and_odd_key_names(kv: KVStoreServer, session: requests.Session) -> None:
    key = "a/b c?d%e"
    url = kv.key_url("put", key)
    assert session.put(url, data=b"value", timeout=10).status_code == 200
    r = session.get(url, timeout=10)
    assert (r.status_code, r.content) == (200, b"value")
    assert kv.remaining("put") == [key]
    assert session.delete(url, timeout=10).status_code == 204
    assert session.get(url, timeout=10).status_code == 404


def test_unknown_store_and_route(kv: KVStoreServer, session: requests.Session) -> None:
    assert session.get(kv.keys_url("no-such-store"), timeout=10).status_code == 404
    assert session.get(kv.url + "/nope", timeout=10).status_code == 404
    r = session.get(kv.keys_url("pages"), params={"cursor": "!!!"}, timeout=10)
    assert r.status_code == 400
    r = session.get(kv.keys_url("pages"), params={"limit": "0"}, timeout=10)
    assert r.status_code == 400


def test_auth_required(kv: KVStoreServer) -> None:
    kv.seed("auth", 3)
    assert requests.get(kv.keys_url("auth"), timeout=10).status_code == 401
    bad = {"Fastly-Key": "wrong"}
    assert requests.get(kv.keys_url("auth"), headers=bad, timeout=10).status_code == 401
    r = requests.delete(kv.key_url("auth", "key-000000"), headers=bad, timeout=10)
    assert r.status_code == 401
    assert requests.get(kv.url + "/admin/count?store=auth", timeout=10).status_code == 401
    assert kv.count("auth") == 3


def test_custom_token() -> None:
    with KVStoreServer(token="s3cret") as server:
        server.seed("t", 1)
        url = server.keys_url("t")
        assert requests.get(url, headers={"Fastly-Key": "s3cret"}, timeout=10).ok
        assert (
            requests.get(url, headers={"Fastly-Key": "local-token"}, timeout=10).status_code == 401
        )


def test_failure_rate_one_fails_every_delete() -> None:
    with KVStoreServer(failure_rate=1.0) as server, requests.Session() as s:
        server.seed("f", 20)
        for i in range(20):
            r = s.delete(server.key_url("f", f"key-{i:06d}"), headers=server.headers, timeout=10)
            assert r.status_code == 500
            assert r.json()["msg"]
        assert server.count("f") == 20
        assert server.stats()["delete_failures"] == 20


def test_failure_rate_is_seeded() -> None:
    def failures(seed: int) -> list[int]:
        with (
            KVStoreServer(failure_rate=0.3, seed=seed) as server,
            requests.Session() as s,
        ):
            server.seed("r", 50)
            urls = [server.key_url("r", f"key-{i:06d}") for i in range(50)]
            return [s.delete(u, headers=server.headers, timeout=10).status_code for u in urls]

    first = failures(7)
    assert first == failures(7)
    assert 0 < first.count(500) < 50


def test_fail_keys_are_deterministic() -> None:
    fail = ["key-000002", "key-000005", "odd,key"]
    with KVStoreServer(fail_keys=fail) as server, requests.Session() as s:
        s.headers.update(server.headers)
        server.seed("fk", 8)
        s.put(server.key_url("fk", "odd,key"), data=b"", timeout=10)
        for _ in range(2):  # failing keys keep failing
            for key in server.remaining("fk"):
                expected = 500 if key in fail else 204
                assert s.delete(server.key_url("fk", key), timeout=10).status_code == expected
        assert server.remaining("fk") == sorted(fail)
        assert server.count("fk") == 3


def test_latency_is_added() -> None:
    with KVStoreServer(latency_ms=500) as server, requests.Session() as s:
        server.seed("lat", 1)
        start = time.monotonic()
        assert s.get(server.keys_url("lat"), headers=server.headers, timeout=10).ok
        assert time.monotonic() - start >= 0.49
        start = time.monotonic()
        server.count("lat")  # admin routes are not slowed down
        assert time.monotonic() - start < 0.45


def test_process_is_gone_after_stop() -> None:
    server = KVStoreServer()
    server.start()
    proc, port = server.process, server.port
    assert proc is not None and port is not None
    assert proc.poll() is None
    server.stop()
    assert proc.returncode is not None  # waited for: no zombie left
    assert server.process is None
    assert port_is_closed(port)
    with pytest.raises(RuntimeError):
        _ = server.url
    server.stop()  # idempotent


def test_child_exits_when_parent_pipe_closes() -> None:
    server = KVStoreServer()
    server.start()
    proc = server.process
    assert proc is not None and proc.stdin is not None
    proc.stdin.close()  # what happens when the parent process dies
    assert proc.wait(timeout=10) == 0
    server.stop()


def test_standalone_script() -> None:
    script = Path(kvstore.__file__)
    cmd = [sys.executable, str(script), "--port", "0", "--preload", "demo=42"]
    cmd += ["--fail-keys", "key-000001,key-000002", "--token", "tok"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        headers = {"Fastly-Key": "tok"}
        r = requests.get(f"{base}/admin/count?store=demo", headers=headers, timeout=10)
        assert r.json() == {"store": "demo", "count": 42}
        url = f"{base}/resources/stores/kv/demo/keys/key-000001"
        assert requests.delete(url, headers=headers, timeout=10).status_code == 500
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert b"listening on" in proc.stderr.read()


def test_many_keep_alive_clients_delete_everything(kv: KVStoreServer) -> None:
    """100 threads, one requests.Session each, as in the bulk deletion example."""
    n_keys, workers = 3000, 100
    kv.seed("bulk", n_keys)
    keys = kv.remaining("bulk")
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(chunk: list[str]) -> None:
        with requests.Session() as s:
            s.headers.update(kv.headers)
            got = [s.delete(kv.key_url("bulk", k), timeout=10).status_code for k in chunk]
        with lock:
            statuses.extend(got)

    threads = [threading.Thread(target=worker, args=(keys[i::workers],)) for i in range(workers)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert statuses.count(204) == n_keys
    assert kv.count("bulk") == 0
    print(f"\n{n_keys / elapsed:,.0f} DELETE/s with {workers} keep-alive requests sessions")


# -- in-process unit tests of the data structure ------------------------------


def test_store_page_with_prefix_and_tombstones() -> None:
    store = Store()
    store.seed("a-", 5)
    store.seed("b-", 5)
    assert store.page(None, 3, "b-") == (["b-000000", "b-000001", "b-000002"], True)
    assert store.page("b-000002", 3, "b-") == (["b-000003", "b-000004"], False)
    for i in range(4):
        assert store.delete(f"a-{i:06d}")
    assert not store.delete("a-000000")
    assert store.page(None, 2) == (["a-000004", "b-000000"], True)
    store.put("a-000000", b"back")
    assert store.keys()[:2] == ["a-000000", "a-000004"]
    assert len(store) == 7


def test_store_compacts_tombstones() -> None:
    store = Store()
    store.seed("k", 5000)
    for key in store.keys()[:4900]:
        store.delete(key)
    assert len(store) == 100
    assert len(store._order) < 5000  # compacted along the way
    assert store.page(None, 1000) == (store.keys(), False)


def test_app_rejects_bad_failure_rate() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        KVStoreApp(failure_rate=1.5)
    with pytest.raises(ValueError, match="failure_rate"):
        KVStoreServer(failure_rate=-0.1)


# -- the rate limit (off by default) ------------------------------------------


def test_rate_limit_is_off_by_default(kv: KVStoreServer, session: requests.Session) -> None:
    kv.seed("unlimited", 1)
    for _ in range(300):
        assert session.get(kv.keys_url("unlimited"), timeout=10).status_code == 200
    assert kv.stats()["rate_limited"] == 0


def test_rate_limit_answers_429_with_retry_after() -> None:
    with KVStoreServer(rate_limit=5, rate_burst=3) as server, requests.Session() as s:
        s.headers.update(server.headers)
        server.seed("rl", 10)
        codes = [s.delete(server.key_url("rl", f"key-00000{i}"), timeout=10) for i in range(6)]
        # The bucket holds 3; at 5/s at most one more refills meanwhile.
        ok = [r for r in codes if r.status_code == 204]
        limited = [r for r in codes if r.status_code == 429]
        assert 3 <= len(ok) <= 4 and len(ok) + len(limited) == 6
        assert codes[:3] == ok[:3]
        r = limited[0]
        assert r.headers["Retry-After"] == "1"  # whole seconds, at least 1
        assert r.json()["msg"] == "Too many requests"
        # A rejected request did nothing: those keys are still there.
        assert server.count("rl") == 10 - len(ok)
        # Admin routes are not limited.
        for _ in range(10):
            server.count("rl")
        assert server.stats()["rate_limited"] == len(limited)
        # After Retry-After, the API answers again.
        time.sleep(float(r.headers["Retry-After"]))
        assert s.delete(server.key_url("rl", "key-000009"), timeout=10).status_code == 204


def test_rate_limit_is_per_token_and_refills_at_the_rate() -> None:
    now = [0.0]
    app = KVStoreApp(rate_limit=10, rate_burst=2, clock=lambda: now[0])
    app.stores["s"] = Store()
    app.stores["s"].seed("key-", 5)

    def get(token: str) -> kvstore.Response:
        return app.handle("GET", f"{kvstore.API_PREFIX}s/keys", {"fastly-key": token}, b"")

    assert [get(app.token).status for _ in range(3)] == [200, 200, 429]
    r = get(app.token)
    assert r.status == 429 and r.headers == {"Retry-After": "1"}
    now[0] += 0.1  # one request's worth at 10/s
    assert [get(app.token).status for _ in range(2)] == [200, 429]
    now[0] += 10  # the bucket refills only up to its size
    assert [get(app.token).status for _ in range(3)] == [200, 200, 429]
    # Another token has its own bucket (an unknown one is refused first).
    app.token = "other"
    assert get("other").status == 200
    assert get("nobody").status == 401
    assert app.stats.rate_limited == 4
    with pytest.raises(ValueError, match="rate_limit"):
        KVStoreApp(rate_limit=-1)
    assert KVStoreApp(rate_limit=2000).rate_burst == 200
