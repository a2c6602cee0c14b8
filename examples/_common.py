"""Helpers shared by the example scripts (not an example itself).

* ``SECOND`` / ``MILLISECOND``: Go's ``time.Second`` / ``time.Millisecond``
  in seconds, scaled by ``GOCURRENT_EXAMPLE_SCALE`` (a float, default 1) or
  by ``--fast`` on the command line (scale 0.1), so the tests can run the
  examples with the article's sleeps shrunk.  ``time.sleep(1 * SECOND)`` reads
  like Go's ``time.Sleep(1 * time.Second)``.
* ``println(*args)``: Go's ``fmt.Println``: operands joined by spaces and
  written with ONE write call, so lines printed by concurrent goroutines
  never interleave (``print`` writes the text and the newline separately).
* ``REPO``: the repository root, put on ``sys.path`` so that
  ``examples.services`` (the local servers) can be imported.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["MILLISECOND", "REPO", "SCALE", "SECOND", "heading", "println", "scale"]

FAST_SCALE = 0.1
"""The scale that ``--fast`` selects."""

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def scale(argv: list[str] | None = None) -> float:
    """The time scale: ``--fast`` wins, then ``GOCURRENT_EXAMPLE_SCALE``, else 1."""
    argv = sys.argv[1:] if argv is None else argv
    if "--fast" in argv:
        return FAST_SCALE
    raw = os.environ.get("GOCURRENT_EXAMPLE_SCALE", "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"GOCURRENT_EXAMPLE_SCALE must be a number, got {raw!r}") from None
    if not value > 0:
        raise SystemExit(f"GOCURRENT_EXAMPLE_SCALE must be > 0, got {raw!r}")
    return value


SCALE = scale()
SECOND = 1.0 * SCALE
MILLISECOND = SECOND / 1000


def println(*args: object) -> None:
    """``fmt.Println``: one line, written at once (safe from many threads)."""
    sys.stdout.write(" ".join(map(str, args)) + "\n")
    sys.stdout.flush()


def heading(title: str) -> None:
    """A section heading, for scripts that run several variants."""
    println(f"\n--- {title} ---")
