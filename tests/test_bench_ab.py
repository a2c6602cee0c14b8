"""benches/ab.py interleaves builds' runs of one workload and reports each."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import run_script

AB = Path(__file__).resolve().parent.parent / "benches" / "ab.py"


@pytest.mark.timeout(120)
def test_two_labels_each_get_every_round(tmp_path: Path) -> None:
    out = tmp_path / "times.json"
    r = run_script(
        AB,
        "pingpong_threads",
        *("--rounds", "3", "--n", "2000", "--json", str(out)),
        f"one={sys.executable}",
        f"two={sys.executable}",
        timeout=110,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pingpong_threads, n=2,000, 3 interleaved rounds" in r.stdout
    data = json.loads(out.read_text())
    assert data["n"] == 2000
    assert sorted(data["times"]) == ["one", "two"]
    for label, times in data["times"].items():
        assert len(times) == 3 and all(t > 0 for t in times)
        assert f"{label}  min " in r.stdout


@pytest.mark.timeout(60)
def test_a_label_without_an_interpreter_is_refused() -> None:
    r = run_script(AB, "pingpong_threads", "justalabel", timeout=50)
    assert r.returncode == 2
    assert "'justalabel' is not LABEL=PYTHON" in r.stderr
