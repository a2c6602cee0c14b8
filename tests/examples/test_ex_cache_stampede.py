"""examples/cache_stampede.py: 200 goroutines (threads and coroutines) miss
the cache at once; singleflight makes the backend run once per key."""

from __future__ import annotations

import re

import pytest
from ex_support import run_example

pytestmark = pytest.mark.timeout(90)


def test_singleflight_calls_the_backend_once_per_key() -> None:
    out = run_example("cache_stampede", scale=1.0).stdout
    lines = out.splitlines()
    assert lines[0] == (
        "200 goroutines (100 threads, 100 coroutines) miss the cache for 2 keys at once"
    )
    without = re.fullmatch(
        r"without singleflight: +backend called (\d+) times \(user:1: (\d+), user:2: (\d+)\)",
        lines[1],
    )
    assert without, out
    total, one, two = map(int, without.groups())
    assert total == one + two
    # Every caller that missed went to the backend: many calls per key
    # (200 when all 200 missed at once, as they do unless the machine
    # is so loaded that some woke after the first fill).
    assert one > 1 and two > 1
    with_sf = re.fullmatch(
        r"with singleflight: +backend called 2 times \(user:1: 1, user:2: 1\); "
        r"(\d+) callers got a shared result",
        lines[2],
    )
    assert with_sf, out
    assert 2 < int(with_sf.group(1)) <= 200


def test_other_sizes() -> None:
    out = run_example("cache_stampede", "--goroutines", "31", "--keys", "3").stdout
    assert "31 goroutines (16 threads, 15 coroutines) miss the cache for 3 keys at once" in out
    assert re.search(
        r"with singleflight: +backend called 3 times \(user:1: 1, user:2: 1, user:3: 1\)", out
    )
