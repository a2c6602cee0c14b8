"""examples/deadlock.py: its output shows the DeadlockError with Go's dump."""

from __future__ import annotations

import re

import pytest
from ex_support import EXAMPLES, run_example

pytestmark = pytest.mark.timeout(60)


def test_the_deadlock_example_prints_the_error_and_the_dump() -> None:
    out = run_example("deadlock").stdout
    script = str(EXAMPLES / "deadlock.py")
    blocks = out.rstrip("\n").split("\n\n")
    assert blocks[0] == "DeadlockError: all goroutines are asleep - deadlock!"
    main, *workers = blocks[1:]
    assert main.splitlines()[:2] == ["goroutine 1 [sync.WaitGroup.Wait]:", "__main__.main(...)"]
    assert len(workers) == 3
    go_line = next(i for i, s in enumerate(open(script), 1) if "go(worker" in s)
    for i, w in enumerate(workers):
        lines = w.splitlines()
        assert lines[0] == f"goroutine {i + 2} [chan receive]:"
        assert lines[1] == "__main__.worker(...)"
        assert re.fullmatch(rf"\t{re.escape(script)}:\d+", lines[2])
        assert lines[3] == f"created by main at {script}:{go_line}"
