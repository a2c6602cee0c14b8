"""``python -m gocurrent.tour``: the README's first command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gocurrent
import pytest
from ex_support import EXAMPLES, REPO
from gocurrent import tour

# True when gocurrent is imported from an installed wheel, not from this checkout
# (./test.sh installs the wheel; `maturin develop` points into python/).
INSTALLED = REPO / "python" not in Path(gocurrent.__file__).resolve().parents


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


def test_the_tour_lists_every_example_script(monkeypatch: pytest.MonkeyPatch) -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    assert {name for name, *_ in tour.EXAMPLES} == scripts
    assert tour.find_examples(str(EXAMPLES)) == EXAMPLES
    monkeypatch.chdir(REPO)
    assert tour.find_examples() == EXAMPLES  # found in the current directory


@pytest.mark.timeout(150)
def test_the_whole_tour_runs_every_example() -> None:
    proc = run_tour("--fast", cwd=REPO)  # the README's first command, in a checkout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    positions = [out.index(f"(examples/{name}.py) ===") for name, *_ in tour.EXAMPLES]
    assert positions == sorted(positions)  # in turn, one heading each
    assert "Hello from a goroutine!" in out
    assert "✓ Deleted keys: 3000" in out
    assert "dead-lettered" in out
    assert "with singleflight:     backend called 2 times" in out
    assert out.rstrip().endswith("Tour complete.")
    assert "level=WARN" not in proc.stderr  # the TLS pipeline's log: only with -v


@pytest.mark.timeout(60)
def test_only_some_examples(tmp_path: Path) -> None:
    proc = run_tour(
        "--fast", "--only", "channels,once.py", "--examples", str(EXAMPLES), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" ===") == 2
    assert "Hello from a goroutine!\n" in proc.stdout
    assert "Initializing...\n" in proc.stdout


@pytest.mark.timeout(60)
def test_the_tls_section_logs_only_when_asked() -> None:
    quiet = run_tour("--fast", "--only", "tls_pipeline", cwd=REPO)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "dead-lettered" in quiet.stdout
    assert "level=" not in quiet.stderr
    loud = run_tour("--fast", "--only", "tls_pipeline", "-v", cwd=REPO)
    assert loud.returncode == 0, loud.stdout + loud.stderr
    assert "level=WARN" in loud.stderr


@pytest.mark.timeout(60)
def test_builtin_demos(tmp_path: Path) -> None:
    proc = run_tour("--builtin", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "=== producer / consumer ===" in proc.stdout
    assert "job 4 squared is 16" in proc.stdout
    assert "Timeout! No message received." in proc.stdout
    assert "nothing on done: True" in proc.stdout
    assert "not installed" not in proc.stdout  # asked for, not a fallback
    assert proc.stdout.rstrip().endswith("Tour complete.")


def test_a_directory_without_examples_is_an_error(tmp_path: Path) -> None:
    proc = run_tour("--examples", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"no examples in {tmp_path}" in proc.stderr
    assert "===" not in proc.stdout


# Without the examples (a wheel install run outside a checkout), in-process.


@pytest.fixture
def no_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tour, "find_examples", lambda explicit=None: None)


@pytest.mark.usefixtures("no_examples")
def test_without_examples_list_says_they_are_not_installed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tour.main(["--list"]) == 0
    out, err = capsys.readouterr()
    assert "are not installed" in err
    assert not any(name in out for name, *_ in tour.EXAMPLES)
    assert all(title in out for title in tour.BUILTIN_TITLES)


@pytest.mark.usefixtures("no_examples")
def test_without_examples_only_fails_instead_of_running_demos(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tour.main(["--only", "goroutines"]) == 2
    out, err = capsys.readouterr()
    assert "are not installed" in err
    assert out == ""  # nothing ran


@pytest.mark.usefixtures("no_examples")
@pytest.mark.timeout(30)
def test_without_examples_the_tour_runs_the_demos_and_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tour.main([]) == 0
    out, _ = capsys.readouterr()
    assert "=== producer / consumer ===" in out
    assert "are not installed" in out
    assert out.rstrip().endswith("Tour complete.")


@pytest.mark.skipif(not INSTALLED, reason="gocurrent is imported from the checkout, not a wheel")
@pytest.mark.timeout(60)
def test_in_a_wheel_install_outside_a_checkout(tmp_path: Path) -> None:
    listed = run_tour("--list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "are not installed" in listed.stderr
    assert "goroutines" not in listed.stdout
    only = run_tour("--only", "goroutines", cwd=tmp_path)
    assert only.returncode == 2
    assert "are not installed" in only.stderr
    assert only.stdout == ""
    # From a checkout's directory, the installed tour finds its examples.
    assert "goroutines " in run_tour("--list", cwd=REPO).stdout


def test_unknown_example_is_an_error(tmp_path: Path) -> None:
    proc = run_tour("--only", "nope", cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown example(s): nope" in proc.stderr
