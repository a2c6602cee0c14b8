"""sync from threads: WaitGroup, Mutex, RWMutex, Cond, Once, once_func,
once_value, Map and Semaphore, with Go's rules and misuse messages."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import pytest
from gocurrent import (
    Chan,
    Cond,
    Map,
    Mutex,
    Once,
    RWMutex,
    Semaphore,
    WaitGroup,
    go,
    once_func,
    once_value,
)


def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    """Polls cond until it is true (fails the test after timeout)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.001)


def waiting(obj: object) -> int:
    m = re.search(r"waiting=(\d+)", repr(obj))
    assert m, repr(obj)
    return int(m.group(1))


def start(fn: Callable[[], object]) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


# --------------------------------------------------------------------- WaitGroup


@pytest.mark.timeout(20)
def test_waitgroup_counts_and_waits():
    wg = WaitGroup()
    wg.wait()  # zero: returns at once
    results = []
    wg.add(3)
    for i in range(3):

        def work(i=i):
            time.sleep(0.01 * i)
            results.append(i)
            wg.done()

        go(work)
    wg.wait()
    assert sorted(results) == [0, 1, 2]
    wg.wait(timeout=0)


def test_waitgroup_negative_counter():
    wg = WaitGroup()
    with pytest.raises(ValueError, match=r"^sync: negative WaitGroup counter$"):
        wg.done()
    wg.add(2)
    with pytest.raises(ValueError, match="sync: negative WaitGroup counter"):
        wg.add(-3)
    # Refused: the counter is unchanged.
    assert "count=2" in repr(wg)
    wg.add(-2)
    wg.wait(timeout=0)


def test_waitgroup_add_default_and_overflow():
    wg = WaitGroup()
    wg.add()
    assert "count=1" in repr(wg)
    with pytest.raises(OverflowError):
        wg.add(2**31)
    with pytest.raises(OverflowError):
        wg.add(2**70)
    wg.done()


@pytest.mark.timeout(20)
def test_waitgroup_timeout_then_still_works():
    wg = WaitGroup()
    wg.add(1)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0.05)
    assert time.monotonic() - t0 >= 0.04
    assert waiting(wg) == 0
    go(wg.done)
    wg.wait(timeout=5)


@pytest.mark.timeout(30)
def test_waitgroup_releases_every_waiter_and_is_reusable():
    wg = WaitGroup()
    for _ in range(20):
        wg.add(2)
        released = []
        waiters = [start(lambda r=released: (wg.wait(), r.append(1))) for _ in range(3)]
        wait_until(lambda: waiting(wg) == 3)
        wg.done()
        time.sleep(0.005)
        assert released == []
        wg.done()
        for t in waiters:
            t.join(5)
        assert len(released) == 3
        assert waiting(wg) == 0


@pytest.mark.timeout(20)
def test_waitgroup_go_passes_arguments():
    wg = WaitGroup()
    out = Chan(10)
    for i in range(5):
        wg.go(out.send, i, timeout=5)
    wg.wait(timeout=10)
    assert sorted(out.recv() for _ in range(5)) == list(range(5))


@pytest.mark.timeout(20)
def test_waitgroup_go_marks_done_when_fn_raises(monkeypatch):
    seen: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    wg = WaitGroup()
    boom = ValueError("boom")

    def fail():
        raise boom

    wg.go(fail)
    wg.go(fail)
    wg.wait(timeout=10)
    # Reported before done(): the exceptions are there once wait returns.
    assert seen == [boom, boom]


@pytest.mark.timeout(20)
def test_waitgroup_go_coroutine_function(monkeypatch):
    seen: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    wg = WaitGroup()
    out = []

    async def job(x, *, y):
        out.append(x + y)

    async def bad():
        raise KeyError("k")

    wg.go(job, 1, y=2)
    wg.go(bad)
    wg.go(job(10, y=20))
    wg.wait(timeout=10)
    assert sorted(out) == [3, 30]
    assert len(seen) == 1 and isinstance(seen[0], KeyError)


def test_waitgroup_go_rejects_non_callable():
    wg = WaitGroup()
    with pytest.raises(TypeError):
        wg.go(42)  # type: ignore[arg-type]
    # The add was undone.
    wg.wait(timeout=0)


# ------------------------------------------------------------------------- Mutex


def test_mutex_basics():
    mu = Mutex()
    assert not mu.locked
    mu.lock()
    assert mu.locked
    assert not mu.try_lock()
    mu.unlock()
    assert not mu.locked
    assert mu.try_lock()
    mu.unlock()
    with mu:
        assert mu.locked
    assert not mu.locked


def test_mutex_unlock_of_unlocked():
    mu = Mutex()
    with pytest.raises(RuntimeError, match=r"^sync: unlock of unlocked mutex$"):
        mu.unlock()
    mu.lock()
    mu.unlock()
    with pytest.raises(RuntimeError, match="sync: unlock of unlocked mutex"):
        mu.unlock()
    assert mu.try_lock()


def test_mutex_with_releases_on_exception():
    mu = Mutex()
    with pytest.raises(KeyError), mu:
        raise KeyError
    assert not mu.locked


@pytest.mark.timeout(20)
def test_mutex_is_not_reentrant_and_not_owned():
    mu = Mutex()
    mu.lock()
    with pytest.raises(TimeoutError):
        mu.lock(timeout=0.02)
    # Another thread may unlock it, as in Go.
    t = start(mu.unlock)
    t.join(5)
    assert not mu.locked


def test_mutex_timeout_arguments():
    mu = Mutex()
    mu.lock(timeout=0)  # free: succeeds
    with pytest.raises(TimeoutError):
        mu.lock(timeout=0)
    with pytest.raises(TimeoutError):
        mu.lock(timeout=-1)
    with pytest.raises(ValueError):
        mu.lock(timeout=float("nan"))
    with pytest.raises(TypeError):
        mu.lock(timeout="1")  # type: ignore[arg-type]
    mu.unlock()
    assert waiting(mu) == 0


@pytest.mark.timeout(20)
def test_mutex_blocked_lock_waits_for_unlock():
    mu = Mutex()
    mu.lock()
    got = threading.Event()

    def locker():
        mu.lock()
        got.set()

    t = start(locker)
    wait_until(lambda: waiting(mu) == 1)
    assert not got.is_set()
    mu.unlock()
    assert got.wait(5)
    t.join(5)
    assert mu.locked
    mu.unlock()


@pytest.mark.timeout(20)
def test_mutex_timed_out_waiter_leaves_no_trace():
    mu = Mutex()
    mu.lock()
    errors = []

    def locker():
        try:
            mu.lock(timeout=0.05)
        except TimeoutError as e:
            errors.append(e)

    ts = [start(locker) for _ in range(3)]
    for t in ts:
        t.join(5)
    assert len(errors) == 3
    assert waiting(mu) == 0
    mu.unlock()
    assert not mu.locked
    assert mu.try_lock()
    mu.unlock()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("style", ["with", "lock"])
def test_mutex_mutual_exclusion(style):
    mu = Mutex()
    n_threads, n = 4, 3000
    state = {"count": 0, "inside": 0}
    bad = []

    def work():
        for i in range(n):
            if style == "with":
                mu.__enter__()
            else:
                mu.lock()
            state["inside"] += 1
            if state["inside"] != 1:
                bad.append(state["inside"])
            c = state["count"]
            if i % 100 == 0:
                time.sleep(0)  # invite a thread switch inside
            state["count"] = c + 1
            state["inside"] -= 1
            mu.unlock()

    ts = [start(work) for _ in range(n_threads)]
    for t in ts:
        t.join(50)
    assert not bad
    assert state["count"] == n_threads * n
    assert not mu.locked
    assert waiting(mu) == 0


@pytest.mark.timeout(60)
def test_mutex_mixed_timeouts_under_contention():
    mu = Mutex()
    total = [0]

    def work(k):
        for i in range(400):
            try:
                mu.lock(timeout=0.0005 * (k + 1) if i % 3 else None)
            except TimeoutError:
                continue
            total[0] += 1
            mu.unlock()

    ts = [start(lambda k=k: work(k)) for k in range(4)]
    for t in ts:
        t.join(50)
    assert not mu.locked
    assert waiting(mu) == 0
    assert total[0] > 0


@pytest.mark.timeout(60)
def test_mutex_waiter_is_not_starved_by_a_relocking_thread():
    """Go's starvation mode: a thread that unlocks and relocks in a tight
    loop (and holds the GIL meanwhile) cannot keep a waiter out for long."""
    mu = Mutex()
    stop = threading.Event()
    spins = [0]

    def hog():
        while not stop.is_set():
            with mu:
                spins[0] += 1

    t = start(hog)
    wait_until(lambda: spins[0] > 1000)
    try:
        for _ in range(20):
            mu.lock(timeout=10)
            mu.unlock()
    finally:
        stop.set()
        t.join(10)
    assert not mu.locked
    assert waiting(mu) == 0


# ----------------------------------------------------------------------- RWMutex


def test_rwmutex_basics_and_misuse():
    rw = RWMutex()
    rw.rlock()
    rw.rlock()
    assert rw.try_rlock()
    assert not rw.try_lock()
    with pytest.raises(RuntimeError, match=r"^sync: Unlock of unlocked RWMutex$"):
        rw.unlock()
    for _ in range(3):
        rw.runlock()
    with pytest.raises(RuntimeError, match=r"^sync: RUnlock of unlocked RWMutex$"):
        rw.runlock()
    rw.lock()
    assert not rw.try_rlock()
    assert not rw.try_lock()
    with pytest.raises(RuntimeError, match="sync: RUnlock of unlocked RWMutex"):
        rw.runlock()
    rw.unlock()
    with pytest.raises(RuntimeError, match="sync: Unlock of unlocked RWMutex"):
        rw.unlock()
    with rw:
        assert not rw.try_rlock()
    assert rw.try_lock()
    rw.unlock()


def test_rwmutex_timeouts():
    rw = RWMutex()
    rw.lock()
    with pytest.raises(TimeoutError):
        rw.rlock(timeout=0)
    with pytest.raises(TimeoutError):
        rw.rlock(timeout=0.02)
    with pytest.raises(TimeoutError):
        rw.lock(timeout=0.02)
    assert waiting(rw) == 0
    rw.unlock()
    rw.rlock(timeout=0)
    with pytest.raises(TimeoutError):
        rw.lock(timeout=0.02)
    # The timed-out writer no longer holds readers back.
    assert rw.try_rlock()
    rw.runlock()
    rw.runlock()
    assert rw.try_lock()
    rw.unlock()


@pytest.mark.timeout(20)
def test_rwmutex_waiting_writer_blocks_new_readers():
    rw = RWMutex()
    order: list[str] = []
    rw.rlock()

    def writer():
        rw.lock()
        order.append("writer")
        time.sleep(0.02)
        order.append("writer done")
        rw.unlock()

    def reader():
        rw.rlock()
        order.append("reader")
        rw.runlock()

    tw = start(writer)
    wait_until(lambda: waiting(rw) == 1)
    # The writer waits: a new reader must wait too, although only readers
    # hold the lock.
    assert not rw.try_rlock()
    with pytest.raises(TimeoutError):
        rw.rlock(timeout=0.02)
    tr = start(reader)
    wait_until(lambda: waiting(rw) == 2)
    assert order == []
    rw.runlock()  # the last reader out hands the lock to the writer
    tw.join(5)
    tr.join(5)
    assert order == ["writer", "writer done", "reader"]


@pytest.mark.timeout(20)
def test_rwmutex_writer_unlock_admits_all_waiting_readers():
    rw = RWMutex()
    rw.lock()
    inside = []
    barrier = threading.Barrier(4)

    def reader():
        rw.rlock()
        inside.append(1)
        barrier.wait(5)  # all three readers hold the lock at once
        rw.runlock()

    ts = [start(reader) for _ in range(3)]
    wait_until(lambda: waiting(rw) == 3)
    rw.unlock()
    barrier.wait(5)
    for t in ts:
        t.join(5)
    assert len(inside) == 3


@pytest.mark.timeout(20)
def test_rlocker():
    rw = RWMutex()
    rl = rw.rlocker()
    rl.lock()
    with rl:
        assert not rw.try_lock()
        assert rw.try_rlock()
        rw.runlock()
    rl.unlock()
    assert rw.try_lock()
    with pytest.raises(TimeoutError):
        rl.lock(timeout=0.01)
    rw.unlock()
    with pytest.raises(RuntimeError, match="sync: RUnlock of unlocked RWMutex"):
        rl.unlock()


@pytest.mark.timeout(60)
def test_rwmutex_stress():
    rw = RWMutex()
    state = {"readers": 0, "writer": False}
    bad = []
    lock = threading.Lock()

    def work(k):
        for i in range(500):
            if (i + k) % 4 == 0:
                with rw:
                    if state["writer"] or state["readers"]:
                        bad.append("w")
                    state["writer"] = True
                    time.sleep(0)
                    state["writer"] = False
            else:
                rw.rlock()
                with lock:
                    state["readers"] += 1
                    if state["writer"]:
                        bad.append("r")
                time.sleep(0)
                with lock:
                    state["readers"] -= 1
                rw.runlock()

    ts = [start(lambda k=k: work(k)) for k in range(4)]
    for t in ts:
        t.join(50)
    assert not bad
    assert rw.try_lock()
    rw.unlock()


# -------------------------------------------------------------------------- Cond


def test_cond_default_and_given_lock():
    c = Cond()
    assert isinstance(c.L, Mutex)
    mu = Mutex()
    assert Cond(mu).L is mu
    with pytest.raises(TypeError):
        Cond(42)


def test_cond_wait_without_holding_lock():
    c = Cond()
    with pytest.raises(RuntimeError, match=r"^sync: unlock of unlocked mutex$"):
        c.wait()
    assert waiting(c) == 0
    assert not c.L.locked
    rw = RWMutex()
    with pytest.raises(RuntimeError, match="sync: Unlock of unlocked RWMutex"):
        Cond(rw).wait()
    with pytest.raises(RuntimeError, match="sync: RUnlock of unlocked RWMutex"):
        Cond(rw.rlocker()).wait()
    with pytest.raises(RuntimeError):
        Cond(threading.Lock()).wait()


def test_cond_wait_timeout_relocks():
    c = Cond()
    c.L.lock()
    with pytest.raises(TimeoutError):
        c.wait(timeout=0.02)
    assert c.L.locked
    with pytest.raises(TimeoutError):
        c.wait(timeout=0)
    assert c.L.locked
    assert waiting(c) == 0
    c.L.unlock()


def _cond_waiters(c: Cond, n: int, woken: list[int]) -> list[threading.Thread]:
    ts = []
    for i in range(n):

        def w(i=i):
            with c.L:
                c.wait()
                woken.append(i)

        ts.append(start(w))
        wait_until(lambda i=i: waiting(c) == i + 1)
    return ts


@pytest.mark.timeout(20)
def test_cond_signal_wakes_one_oldest_and_broadcast_all():
    c = Cond()
    woken: list[int] = []
    ts = _cond_waiters(c, 4, woken)
    c.signal()
    wait_until(lambda: woken == [0])
    time.sleep(0.02)
    assert woken == [0]
    assert waiting(c) == 3
    c.signal()
    wait_until(lambda: woken == [0, 1])
    c.broadcast()
    for t in ts:
        t.join(5)
    assert sorted(woken) == [0, 1, 2, 3]
    c.signal()  # nobody waits: nothing happens
    c.broadcast()


@pytest.mark.timeout(20)
def test_cond_signal_before_wait_is_not_remembered():
    c = Cond()
    c.signal()
    c.broadcast()
    with c.L:
        with pytest.raises(TimeoutError):
            c.wait(timeout=0.02)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["mutex", "rwmutex", "rlocker", "threading"])
def test_cond_with_any_locker(kind):
    if kind == "mutex":
        lock = Mutex()
    elif kind == "rwmutex":
        lock = RWMutex()
    elif kind == "rlocker":
        lock = RWMutex().rlocker()
    else:
        lock = threading.Lock()
    c = Cond(lock)
    items: list[int] = []
    got: list[int] = []
    acquire = getattr(lock, "lock", None) or lock.acquire
    release = getattr(lock, "unlock", None) or lock.release

    def consumer():
        acquire()
        try:
            while len(got) < 5:
                while not items:
                    c.wait()
                got.append(items.pop(0))
        finally:
            release()

    t = start(consumer)
    for i in range(5):
        acquire()
        items.append(i)
        c.signal()
        release()
        time.sleep(0.002)
    t.join(10)
    assert got == [0, 1, 2, 3, 4]


@pytest.mark.timeout(20)
def test_cond_timed_out_waiter_does_not_swallow_signal():
    c = Cond()
    events = []

    def impatient():
        with c.L:
            try:
                c.wait(timeout=0.1)
            except TimeoutError:
                events.append("timeout")

    def patient():
        with c.L:
            c.wait()
            events.append("patient")

    ta = start(impatient)
    wait_until(lambda: waiting(c) == 1)
    tb = start(patient)
    wait_until(lambda: waiting(c) == 2)
    ta.join(5)
    assert events == ["timeout"]
    # The oldest registered waiter gave up: the signal goes to the other.
    c.signal()
    tb.join(5)
    assert events == ["timeout", "patient"]


# -------------------------------------------------------------------------- Once


@pytest.mark.timeout(30)
def test_once_runs_exactly_once_under_16_threads():
    once = Once()
    calls = []
    finished = threading.Event()
    seen_finished = []
    barrier = threading.Barrier(16)

    def fn():
        calls.append(1)
        time.sleep(0.05)
        finished.set()

    def racer():
        barrier.wait(5)
        once.do(fn)
        # No call to do returns before fn has returned.
        seen_finished.append(finished.is_set())

    ts = [start(racer) for _ in range(16)]
    for t in ts:
        t.join(10)
    assert calls == [1]
    assert seen_finished == [True] * 16
    once.do(fn)
    assert calls == [1]


def test_once_stays_done_after_exception():
    once = Once()
    calls = []

    def fn():
        calls.append(1)
        raise ValueError("first")

    with pytest.raises(ValueError, match="first"):
        once.do(fn)
    once.do(fn)  # done: fn is not called, nothing is raised
    once.do(lambda: calls.append(2))
    assert calls == [1]


@pytest.mark.timeout(20)
def test_once_func():
    calls = []
    f = once_func(lambda: calls.append(1))
    assert f() is None
    f()
    assert calls == [1]
    barrier = threading.Barrier(8)
    g = once_func(lambda: (time.sleep(0.02), calls.append(2)))
    ts = [start(lambda: (barrier.wait(5), g())) for _ in range(8)]
    for t in ts:
        t.join(5)
    assert calls == [1, 2]


def test_once_func_reraises_same_exception():
    calls = []
    err = KeyError("k")

    def fn():
        calls.append(1)
        raise err

    f = once_func(fn)
    raised = []
    for _ in range(3):
        with pytest.raises(KeyError) as ei:
            f()
        raised.append(ei.value)
    assert calls == [1]
    assert all(e is err for e in raised)


@pytest.mark.timeout(20)
def test_once_value():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.02)
        return object()

    f = once_value(fn)
    barrier = threading.Barrier(8)
    results = []
    ts = [start(lambda: (barrier.wait(5), results.append(f()))) for _ in range(8)]
    for t in ts:
        t.join(5)
    assert calls == [1]
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert f() is results[0]


def test_once_value_reraises_same_exception():
    calls = []

    def fn():
        calls.append(1)
        raise ZeroDivisionError("z")

    f = once_value(fn)
    errs = []
    for _ in range(3):
        with pytest.raises(ZeroDivisionError) as ei:
            f()
        errs.append(ei.value)
    assert calls == [1]
    assert errs[0] is errs[1] is errs[2]


# --------------------------------------------------------------------------- Map


def test_map_methods():
    m: Map[str, int] = Map()
    assert m.load("a") == (None, False)
    m.store("a", 1)
    assert m.load("a") == (1, True)
    assert m.load_or_store("a", 2) == (1, True)
    assert m.load_or_store("b", 2) == (2, False)
    assert len(m) == 2
    assert m.swap("a", 10) == (1, True)
    assert m.swap("c", 3) == (None, False)
    assert m.load_and_delete("c") == (3, True)
    assert m.load_and_delete("c") == (None, False)
    m.delete("b")
    m.delete("nope")
    assert m.load("b") == (None, False)
    assert not m.compare_and_swap("a", 1, 11)
    assert m.compare_and_swap("a", 10, 11)
    assert m.load("a") == (11, True)
    assert not m.compare_and_swap("missing", None, 1)  # type: ignore[arg-type]
    assert not m.compare_and_delete("a", 10)
    assert m.compare_and_delete("a", 11)
    assert len(m) == 0
    m.store("x", 1)
    m.clear()
    assert len(m) == 0


def test_map_compares_values_with_eq_and_keeps_identity():
    m: Map[str, object] = Map()
    v = [1, 2]
    m.store("k", v)
    assert m.load("k")[0] is v
    assert m.compare_and_swap("k", [1, 2], "new")  # equal, not identical
    assert m.compare_and_delete("k", "new")


def test_map_range_stops_and_may_use_the_map():
    m: Map[int, int] = Map()
    for i in range(10):
        m.store(i, i * i)
    seen = {}

    def visit(k, v):
        seen[k] = v
        m.store(k + 100, v)  # no lock is held while fn runs
        return None  # None does not stop the range

    m.range(visit)
    assert seen == {i: i * i for i in range(10)}
    count = []
    m.range(lambda k, v: count.append(k) or len(count) < 3)
    assert len(count) == 3


@pytest.mark.timeout(30)
def test_map_concurrent_load_or_store():
    m: Map[int, int] = Map()
    winners = []

    def work(k):
        for key in range(200):
            actual, loaded = m.load_or_store(key, k)
            if not loaded:
                winners.append(key)
            assert m.load(key) == (actual, True)

    ts = [start(lambda k=k: work(k)) for k in range(4)]
    for t in ts:
        t.join(20)
    assert sorted(winners) == list(range(200))
    assert len(m) == 200


# --------------------------------------------------------------------- Semaphore


def test_semaphore_basics_and_misuse():
    s = Semaphore(3)
    s.acquire()
    s.acquire(2)
    assert not s.try_acquire()
    s.release(3)
    assert s.try_acquire(3)
    s.release(2)
    with pytest.raises(RuntimeError, match=r"^semaphore: released more than held$"):
        s.release(2)
    s.release()
    with pytest.raises(RuntimeError, match="semaphore: released more than held"):
        s.release()
    with pytest.raises(ValueError):
        s.acquire(4)
    with pytest.raises(ValueError):
        s.try_acquire(4)
    with pytest.raises(ValueError):
        s.acquire(-1)
    with pytest.raises(ValueError):
        Semaphore(-1)
    s.acquire(0)
    assert "held=0" in repr(s)


def test_semaphore_timeout():
    s = Semaphore(1)
    s.acquire()
    with pytest.raises(TimeoutError):
        s.acquire(timeout=0)
    with pytest.raises(TimeoutError):
        s.acquire(timeout=0.02)
    assert waiting(s) == 0
    s.release()
    s.acquire(timeout=0)
    s.release()


@pytest.mark.timeout(20)
def test_semaphore_fifo_order():
    s = Semaphore(1)
    s.acquire()
    order: list[int] = []
    ts = []
    for i in range(5):

        def w(i=i):
            s.acquire()
            order.append(i)
            s.release()

        ts.append(start(w))
        wait_until(lambda i=i: waiting(s) == i + 1)
    # Someone waits: try_acquire must fail even when tokens are free.
    s.release()
    for t in ts:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]


@pytest.mark.timeout(20)
def test_semaphore_large_request_is_not_overtaken():
    s = Semaphore(4)
    s.acquire(3)
    got = []
    big = start(lambda: (s.acquire(4), got.append("big"), s.release(4)))
    wait_until(lambda: waiting(s) == 1)
    # One token is free, but the big waiter is first in line.
    assert not s.try_acquire(1)
    small = start(lambda: (s.acquire(1), got.append("small"), s.release(1)))
    wait_until(lambda: waiting(s) == 2)
    assert got == []
    s.release(3)
    big.join(5)
    small.join(5)
    assert got == ["big", "small"]


@pytest.mark.timeout(20)
def test_semaphore_timed_out_front_waiter_lets_others_in():
    s = Semaphore(2)
    s.acquire(1)
    got = []

    def big():
        try:
            s.acquire(2, timeout=0.1)
        except TimeoutError:
            got.append("big timed out")

    tb = start(big)
    wait_until(lambda: waiting(s) == 1)
    ts = start(lambda: (s.acquire(1), got.append("small")))
    tb.join(5)
    ts.join(5)
    assert got == ["big timed out", "small"]
    assert "held=2" in repr(s)


class FakeCtx:
    """A context as Semaphore sees one: done() (a Chan) and err()."""

    def __init__(self) -> None:
        self._done: Chan[None] = Chan()
        self._err: BaseException | None = None

    def done(self) -> Chan[None]:
        return self._done

    def err(self) -> BaseException | None:
        return self._err

    def cancel(self) -> None:
        if self._err is None:
            self._err = RuntimeError("context canceled")
            self._done.close()


def test_semaphore_done_ctx_fails_even_with_free_tokens():
    s = Semaphore(2)
    ctx = FakeCtx()
    s.acquire(ctx=ctx)
    ctx.cancel()
    with pytest.raises(RuntimeError, match="context canceled") as ei:
        s.acquire(ctx=ctx)
    assert ei.value is ctx.err()
    assert "held=1" in repr(s)
    with pytest.raises(TypeError):
        s.acquire(ctx=object())


@pytest.mark.timeout(20)
def test_semaphore_ctx_cancelled_while_waiting():
    s = Semaphore(1)
    s.acquire()
    ctx = FakeCtx()
    errs = []

    def waiter():
        try:
            s.acquire(ctx=ctx)
        except RuntimeError as e:
            errs.append(e)

    t = start(waiter)
    wait_until(lambda: waiting(s) == 1)
    ctx.cancel()
    t.join(5)
    assert errs and errs[0] is ctx.err()
    assert waiting(s) == 0
    assert "held=1" in repr(s)
    s.release()
    assert s.try_acquire()


@pytest.mark.timeout(60)
def test_semaphore_stress_never_exceeds_size():
    s = Semaphore(3)
    inside = [0]
    peak = [0]
    lock = threading.Lock()
    bad = []

    def work(k):
        for i in range(300):
            n = (i + k) % 3 + 1
            try:
                s.acquire(n, timeout=None if i % 4 else 0.001)
            except TimeoutError:
                continue
            with lock:
                inside[0] += n
                peak[0] = max(peak[0], inside[0])
                if inside[0] > 3:
                    bad.append(inside[0])
            time.sleep(0)
            with lock:
                inside[0] -= n
            s.release(n)

    ts = [start(lambda k=k: work(k)) for k in range(4)]
    for t in ts:
        t.join(50)
    assert not bad
    assert "held=0 waiting=0" in repr(s)
