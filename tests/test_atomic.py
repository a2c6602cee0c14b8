"""gocurrent.atomic: Go's sync/atomic types."""

from __future__ import annotations

import threading

import pytest
from gocurrent import atomic
from gocurrent.atomic import Bool, Int32, Int64, Uint32, Uint64, Value

INTS = [
    (Int32, -(2**31), 2**31 - 1),
    (Int64, -(2**63), 2**63 - 1),
    (Uint32, 0, 2**32 - 1),
    (Uint64, 0, 2**64 - 1),
]


def test_module_exports():
    assert set(atomic.__all__) == {"Bool", "Int32", "Int64", "Uint32", "Uint64", "Value"}
    from gocurrent import atomic as again

    assert again is atomic


@pytest.mark.parametrize(("cls", "lo", "hi"), INTS)
def test_int_methods(cls, lo, hi):
    a = cls()
    assert a.load() == 0
    assert cls(7).load() == 7
    a.store(5)
    assert a.load() == 5
    assert a.add(3) == 8
    assert a.add(-2) == 6
    assert a.swap(9) == 6
    assert a.load() == 9
    assert a.compare_and_swap(9, 12)
    assert a.load() == 12
    # A stale expected value fails and changes nothing.
    assert not a.compare_and_swap(9, 100)
    assert a.load() == 12
    assert a.and_(0b1010) == 12
    assert a.load() == 0b1000
    assert a.or_(0b0011) == 0b1000
    assert a.load() == 0b1011
    a.store(hi)
    assert a.load() == hi
    a.store(lo)
    assert a.load() == lo
    assert repr(cls(3)) == f"{cls.__name__}(3)"


@pytest.mark.parametrize(("cls", "lo", "hi"), INTS)
def test_int_wraps_like_go(cls, lo, hi):
    a = cls(hi)
    assert a.add(1) == lo
    assert a.load() == lo
    assert a.add(-1) == hi
    width = 2 ** (hi - lo).bit_length()
    # Any delta works modulo the width, also huge ones.
    a.store(lo)
    assert a.add(width + 1) == lo + 1
    assert a.add(-(width * 5) - 1) == lo


def test_unsigned_negative_delta():
    assert Uint32(0).add(-1) == 2**32 - 1
    assert Uint64(0).add(-1) == 2**64 - 1
    u = Uint32(10)
    assert u.add(-3) == 7
    assert Uint64(5).add(2**64 - 1) == 4  # Go's AddUint64(&x, ^uint64(0))


@pytest.mark.parametrize(("cls", "lo", "hi"), INTS)
def test_int_out_of_range(cls, lo, hi):
    a = cls(1)
    for method in (a.store, a.swap, a.and_, a.or_):
        with pytest.raises(OverflowError):
            method(hi + 1)
        with pytest.raises(OverflowError):
            method(lo - 1)
    with pytest.raises(OverflowError):
        a.compare_and_swap(1, hi + 1)
    with pytest.raises(OverflowError):
        a.compare_and_swap(lo - 1, 0)
    with pytest.raises(OverflowError):
        cls(hi + 1)
    assert a.load() == 1
    with pytest.raises(TypeError):
        a.store(1.5)
    with pytest.raises(TypeError):
        a.add("1")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cls", [Int32, Int64, Uint32, Uint64])
def test_int_concurrent_adds_and_cas(cls):
    a = cls()
    c = cls()
    n, k = 4, 5000

    def work():
        for _ in range(k):
            a.add(1)
            while True:
                old = c.load()
                if c.compare_and_swap(old, old + 1):
                    break

    ts = [threading.Thread(target=work) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert a.load() == n * k
    assert c.load() == n * k


def test_bool():
    b = Bool()
    assert b.load() is False
    assert Bool(True).load() is True
    b.store(True)
    assert b.load() is True
    assert b.swap(False) is True
    assert b.load() is False
    assert b.compare_and_swap(False, True)
    assert not b.compare_and_swap(False, True)
    assert b.load() is True
    assert repr(b) == "Bool(True)"


def test_value_load_store_swap_identity():
    v = Value()
    assert v.load() is None
    x = [1]
    v.store(x)
    assert v.load() is x
    y = [2]
    assert v.swap(y) is x
    assert v.load() is y
    assert Value().swap(x) is None


def test_value_compare_and_swap_by_identity():
    v = Value()
    a = [1, 2]
    # On an empty Value, None matches.
    assert v.compare_and_swap(None, a)
    assert v.load() is a
    assert not v.compare_and_swap(None, [3])
    # Equal but not identical: fails (by design, unlike Go's ==).
    assert not v.compare_and_swap([1, 2], [3])
    assert v.load() is a
    b = [3]
    assert v.compare_and_swap(a, b)
    assert v.load() is b
    # A stale value fails.
    assert not v.compare_and_swap(a, [4])


def test_value_go_rules():
    v = Value()
    with pytest.raises(ValueError, match="sync/atomic: store of nil value into Value"):
        v.store(None)
    with pytest.raises(ValueError, match="sync/atomic: swap of nil value into Value"):
        v.swap(None)
    with pytest.raises(ValueError, match="compare and swap of nil value"):
        v.compare_and_swap(None, None)
    v.store(1)
    with pytest.raises(TypeError, match="store of inconsistently typed value into Value"):
        v.store("x")
    with pytest.raises(TypeError, match="swap of inconsistently typed value into Value"):
        v.swap(1.0)
    with pytest.raises(TypeError, match="inconsistently typed values"):
        v.compare_and_swap(1, "x")
    assert v.load() == 1
    v.store(2)
    assert v.load() == 2


@pytest.mark.timeout(60)
def test_value_concurrent_swaps_lose_nothing():
    v = Value()
    v.store(0)
    n, k = 4, 2000
    seen = []
    lock = threading.Lock()

    def work(t):
        mine = []
        for i in range(k):
            mine.append(v.swap(t * k + i + 1))
        with lock:
            seen.extend(mine)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    seen.append(v.load())
    # Every stored value was swapped out exactly once (or is the last one).
    assert sorted(seen) == list(range(n * k + 1))
