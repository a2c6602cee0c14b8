"""Shared test helpers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest


def run_python(
    code: str, timeout: float = 30, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Runs code in a fresh interpreter and returns the finished process."""
    return _run_interpreter(["-c", textwrap.dedent(code)], timeout, **kwargs)


def run_script(
    path: str | os.PathLike[str], *args: str, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Runs a script with `args` in a fresh interpreter and returns the
    finished process."""
    return _run_interpreter([os.fspath(path), *args], timeout)


def _run_interpreter(
    argv: list[str], timeout: float, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """This interpreter with `argv`, unbuffered, its output captured."""
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        **kwargs,  # type: ignore[arg-type]
    )


def crashed_at_exit_on_310(returncode: int) -> bool:
    """True when a child died of SIGSEGV on CPython 3.10: its own exit crash
    with threads busy in Python code (the README, "Exit"): take_gil resets
    its GIL drop request on the interpreter that Py_FinalizeEx has freed
    (the reset came with gh-96387; 3.11 and later keep the main interpreter
    in static memory). A core dump shows exactly that, and plain threading
    daemon threads crash too (on 2 busy cores: 3 of 493 exits, 6 of 493
    with goroutines). Tests run such an exit once more; a second crash
    fails them, as does any other failure, on every version."""
    return returncode == -signal.SIGSEGV and sys.version_info[:2] == (3, 10)


def start_python(code: str) -> subprocess.Popen[str]:
    """Starts code in a fresh interpreter, unbuffered, stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def python_run():
    return run_python


@pytest.fixture(params=["asyncio", "trio"])
def backend(request: pytest.FixtureRequest) -> str:
    """The async library a test runs under: every async test of gocurrent's
    own behaviour runs under both."""
    return request.param


@pytest.fixture
def arun(backend: str):
    """``arun(main, *args)``: runs the async function main(*args) to the
    end under the test's backend (asyncio.run or trio.run) and returns its
    result. Callable from any thread (one run per call)."""

    def run(fn, *args):
        if backend == "trio":
            import trio

            return trio.run(fn, *args)
        import asyncio

        return asyncio.run(fn(*args))

    return run


def pytest_report_header() -> str:
    import gocurrent

    return f"gocurrent {gocurrent.__version__} from {os.path.dirname(gocurrent.__file__)}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under ./test.sh, the tests must import the installed wheel, not the checkout."""
    expected = os.environ.get("GOCURRENT_EXPECT_INSTALLED")
    if expected:
        import gocurrent

        where = os.path.realpath(gocurrent.__file__)
        if not where.startswith(os.path.realpath(expected) + os.sep):
            raise pytest.UsageError(f"gocurrent imported from {where}, not from {expected}")
