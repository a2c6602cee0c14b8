"""The soak test (benches/soak.py) runs for 10 seconds without a violation."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_script

SOAK = Path(__file__).resolve().parent.parent / "benches" / "soak.py"


@pytest.mark.timeout(180)
def test_soak_ten_seconds() -> None:
    r = run_script(SOAK, "--seconds", "10", timeout=170)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no violations" in r.stdout
    assert "panicked at" not in r.stderr
    # Every kind of workload ran, and did real work.
    for workload in ("pipeline", "close_race", "mutexes", "timers", "contexts", "errgroups"):
        assert f"workload {workload}" in r.stdout, r.stdout
    total = int(r.stdout.split("total operations")[1].split()[0])
    assert total > 10_000, r.stdout
