"""Helpers for the tests of examples/: run an example script as a subprocess.

(A module of its own rather than conftest.py, whose module name "conftest"
is shared with tests/conftest.py.)

The examples run with their sleeps scaled down (GOCURRENT_EXAMPLE_SCALE) and
small sizes; every server they use is started by the example itself on
127.0.0.1 and stopped before it exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

# In-process tests import helpers such as examples/_http.py.
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def run_example(
    name: str,
    *args: str,
    scale: float = 0.2,
    timeout: float = 60,
    returncode: int | None = 0,
) -> subprocess.CompletedProcess[str]:
    """Run ``python examples/NAME.py ARGS`` and return the finished process."""
    env = {**os.environ, "GOCURRENT_EXAMPLE_SCALE": str(scale), "COLUMNS": "200"}
    env.pop("PYTHONUNBUFFERED", None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )
    if returncode is not None:
        assert proc.returncode == returncode, (
            f"{name} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc
