"""The small examples print what their Go programs print (up to the order
that Go leaves open)."""

from __future__ import annotations

import re

import pytest
from ex_support import run_example

pytestmark = pytest.mark.timeout(60)


def lines(name: str, *args: str, **kwargs) -> list[str]:
    return run_example(name, *args, **kwargs).stdout.splitlines()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("channels", ["Hello from a goroutine!"]),
        ("select_two_channels", ["Received: result from ch2"]),
        ("select_timeout", ["Timeout! No message received."]),
        ("mutex_counter", ["Final Counter: 10"]),
        ("atomic_counter", ["Final Counter: 10"]),
        ("once", ["Initializing..."]),
        ("context_timeout", ["Work cancelled"]),
        ("cond_signal", ["Ready is true, proceeding."]),
        (
            "range_channel",
            ["0", "1", "1", "2", "3", "5", "8", "13", "21", "34", "after close: None False"],
        ),
        (
            "buffered_channel",
            ["1", "2", "len: 2 cap: 2", "buffer full: a send would block", "1", "2", "3"],
        ),
    ],
)
def test_deterministic_output(name: str, expected: list[str]) -> None:
    assert lines(name) == expected


def test_goroutines_both_lines_either_order() -> None:
    out = lines("goroutines")
    assert sorted(out) == ["Hello from a goroutine!", "Hello from main!"]


def test_goroutines_fast_flag_without_env() -> None:
    # --fast alone (scale 0.1) is honoured; the environment's scale is 1 here.
    out = run_example("goroutines", "--fast", scale=1.0).stdout.splitlines()
    assert sorted(out) == ["Hello from a goroutine!", "Hello from main!"]


def test_waitgroup_each_worker_starts_then_finishes() -> None:
    out = lines("waitgroup")
    assert out[-1] == "All workers done."
    body = out[:-1]
    assert sorted(body) == sorted(
        [f"Worker {i} starting" for i in range(3)] + [f"Worker {i} done" for i in range(3)]
    )
    for i in range(3):
        assert body.index(f"Worker {i} starting") < body.index(f"Worker {i} done")


def test_waitgroup_go() -> None:
    out = lines("waitgroup_go")
    assert sorted(out[:2]) == ["cats are cute", "go is awesome"]
    assert out[2:] == ["done"]


def test_cond_signal_wakes_one_then_broadcast_the_rest() -> None:
    out = lines("cond_broadcast", scale=0.3)
    assert sorted(out[:3]) == [f"Worker {i} is waiting" for i in range(3)]
    assert out[3] == "Notifying one worker"
    first = out[4]
    assert re.fullmatch(r"Worker [012] is proceeding", first)
    assert out[5] == "Broadcasting to all remaining workers"
    rest = sorted(out[6:8])
    others = sorted(f"Worker {i} is proceeding" for i in range(3) if f"Worker {i}" not in first)
    assert rest == others
    assert out[8:] == ["Main function exiting."]


def test_sync_map_use_cases() -> None:
    out = lines("sync_map")
    assert out[0].startswith("1. a cache that only grows")
    computing = sorted(line.strip() for line in out if "computing" in line)
    assert computing == ["computing 2*2", "computing 3*3", "computing 5*5"]
    assert "10 goroutines x 100 lookups: 3 entries, 3 computations, sums match: True" in out[4]
    assert out[5].startswith("2. goroutines reading, writing and overwriting disjoint")
    values: dict[str, int] = {}
    for line in out[6:]:
        key, _, value = line.strip().partition(" = ")
        values[key] = int(value)
    assert values == {
        f"worker-{w}/{k}": (334 if k == 0 else 333) for w in range(4) for k in range(3)
    }


def test_rwmutex_counts_every_write() -> None:
    out = lines("rwmutex")
    assert out[0] == "hits: 200"
    assert out[1] in ("readers overlapped: True", "readers overlapped: False")
