"""``python -m gocurrent.tour``: the README's first command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ex_support import EXAMPLES
from gocurrent import tour


def run_tour(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("GOCURRENT_EXAMPLE_SCALE", None)
    return subprocess.run(
        [sys.executable, "-m", "gocurrent.tour", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


def test_the_tour_lists_every_example_script() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    assert {name for name, *_ in tour.EXAMPLES} == scripts
    assert tour.find_examples() == EXAMPLES  # found next to the package's repository


@pytest.mark.timeout(150)
def test_the_whole_tour_runs_every_example(tmp_path: Path) -> None:
    proc = run_tour("--fast", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    positions = [out.index(f"(examples/{name}.py) ===") for name, *_ in tour.EXAMPLES]
    assert positions == sorted(positions)  # in turn, one heading each
    assert "Hello from a goroutine!" in out
    assert "✓ Deleted keys: 3000" in out
    assert "dead-lettered" in out
    assert "with singleflight:     backend called 2 times" in out
    assert out.rstrip().endswith("Tour complete.")


@pytest.mark.timeout(60)
def test_only_some_examples(tmp_path: Path) -> None:
    proc = run_tour("--fast", "--only", "channels,once.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" ===") == 2
    assert "Hello from a goroutine!\n" in proc.stdout
    assert "Initializing...\n" in proc.stdout


@pytest.mark.timeout(60)
def test_without_examples_it_runs_the_builtin_demos(tmp_path: Path) -> None:
    proc = run_tour("--examples", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "=== producer / consumer ===" in proc.stdout
    assert "job 4 squared is 16" in proc.stdout
    assert "examples/ directory of the" in proc.stdout
    assert proc.stdout.rstrip().endswith("Tour complete.")


def test_unknown_example_is_an_error(tmp_path: Path) -> None:
    proc = run_tour("--only", "nope", cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown example(s): nope" in proc.stderr
