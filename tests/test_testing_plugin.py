"""gocurrent.testing, the pytest plugin (API.md, "testing"), tested with
child pytest runs: leaks found and not, goroutine exceptions failing the
test that started them (also late, never another test), and the plugin
doing nothing unless enabled."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import run_python

ENABLE = ["-p", "gocurrent.testing"]


def pytest_run(tmp_path: Path, tests: str, *args: str, conftest: str = "") -> tuple[int, str]:
    (tmp_path / "test_it.py").write_text(textwrap.dedent(tests))
    (tmp_path / "conftest.py").write_text(textwrap.dedent(conftest))
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return r.returncode, r.stdout + r.stderr


LEAKY = """
    from gocurrent import Chan, go

    def test_leaks(goroutine_leaks):
        parked = Chan()
        def stuck():
            parked.recv()
        go(stuck)

    def test_does_not_leak(goroutine_leaks):
        ch = Chan()
        go(ch.send, 1)
        assert ch.recv() == 1
"""


def test_goroutine_leaks_fixture(tmp_path: Path) -> None:
    code, out = pytest_run(tmp_path, LEAKY, *ENABLE)
    assert code == 1, out
    assert "ERROR test_it.py::test_leaks - Failed: found 1 unexpected goroutine(s)" in out
    assert "PASSED test_it.py::test_does_not_leak" in out
    # The leaked goroutine, as stack() shows it.
    # Frames are named by their code's qualified name, which CPython 3.10's
    # code objects do not have (co_qualname came in 3.11).
    frame = "test_leaks.<locals>.stuck" if sys.version_info >= (3, 11) else "stuck"
    assert "[chan receive]:" in out and f"test_it.{frame}(...)" in out
    assert "created by test_leaks at " in out


def test_leak_timeout_waits_for_goroutines_about_to_end(tmp_path: Path) -> None:
    code, out = pytest_run(
        tmp_path,
        """
        import time
        from gocurrent import go

        def test_slow_to_end(goroutine_leaks):
            go(time.sleep, 0.3)
        """,
        *ENABLE,
    )
    assert code == 0, out


def test_gocurrent_leaks_option_applies_to_every_test(tmp_path: Path) -> None:
    tests = """
        from gocurrent import Chan, go

        def test_leaks():
            go(Chan().recv)

        async def coro(ch):
            await ch.recv_async()

        def test_leaks_a_coroutine():
            go(coro, Chan())

        def test_clean():
            pass
    """
    code, out = pytest_run(tmp_path, tests, *ENABLE, "--gocurrent-leaks")
    assert code == 1, out
    assert "ERROR test_it.py::test_leaks - Failed: found 1" in out
    assert "ERROR test_it.py::test_leaks_a_coroutine - Failed: found 1" in out
    assert "PASSED test_it.py::test_clean" in out
    # Without the option the same tests pass.
    code, out = pytest_run(tmp_path, tests, *ENABLE)
    assert code == 0, out


def test_a_goroutine_exception_fails_its_test(tmp_path: Path) -> None:
    code, out = pytest_run(
        tmp_path,
        """
        from gocurrent import WaitGroup, go

        def boom():
            raise ValueError("boom in a goroutine")

        def test_thread():
            wg = WaitGroup()
            wg.go(boom)
            wg.wait()

        async def aboom():
            raise KeyError("boom in a coroutine")

        def test_through_goroutines_it_started():
            wg = WaitGroup()
            def parent():
                wg.go(aboom)  # a coroutine started by a goroutine of the test
            wg.go(parent)
            wg.wait()

        def test_other():
            pass
        """,
        *ENABLE,
    )
    assert code == 1, out
    assert "FAILED test_it.py::test_thread" in out
    assert "FAILED test_it.py::test_through_goroutines_it_started" in out
    assert "PASSED test_it.py::test_other" in out
    # The goroutine's traceback.
    assert 'raise ValueError("boom in a goroutine")' in out
    assert 'raise KeyError("boom in a coroutine")' in out


# The test after the one that started the goroutine `late` (which raises
# once `gate` is closed), and the one after that.
LATE = """
    def test_while_it_escapes():
        gate.close()
        # The exception escapes now, during this test.
        deadline = time.monotonic() + 10
        while runtime.num_goroutine() and time.monotonic() < deadline:
            time.sleep(0.01)

    def test_after():
        pass
"""


def assert_reported_on_test_starts_it(code: int, out: str) -> None:
    assert code == 1, out
    assert "FAILED test_it.py::test_starts_it" in out
    assert "PASSED test_it.py::test_while_it_escapes" in out
    assert "FAILED test_it.py::test_while_it_escapes" not in out
    assert "FAILED test_it.py::test_after" not in out
    assert 'raise RuntimeError("escaped after its test")' in out
    assert "escaped goroutines after the test ended" in out


def test_a_late_exception_is_reported_on_the_test_that_started_it(tmp_path: Path) -> None:
    code, out = pytest_run(
        tmp_path,
        """
    import time
    from gocurrent import Chan, go, runtime

    gate = Chan()

    def late():
        gate.recv()
        raise RuntimeError("escaped after its test")

    def test_starts_it():
        go(late)
    """
        + LATE,
        *ENABLE,
    )
    assert_reported_on_test_starts_it(code, out)


def test_a_late_exception_after_the_last_test(tmp_path: Path) -> None:
    code, out = pytest_run(
        tmp_path,
        """
        from gocurrent import Chan, go

        gate = Chan()

        def late():
            gate.recv()
            raise RuntimeError("escaped at the end")

        def test_starts_it():
            go(late)

        def test_last():
            gate.close()
        """,
        *ENABLE,
    )
    # It may escape during test_last or after it: either way it is
    # test_starts_it's failure, and the run fails.
    assert code == 1, out
    assert "FAILED test_it.py::test_starts_it" in out
    assert "FAILED test_it.py::test_last" not in out


# A trio run for the whole session, in a plain thread: tests run coroutines
# in it (trio.from_thread), so trio goroutines they start outlive them.
TRIO_RUN = """
    import threading
    import trio
    from gocurrent import Chan, go, runtime

    _token = []
    _ready = threading.Event()

    async def _serve():
        _token.append(trio.lowlevel.current_trio_token())
        _ready.set()
        await trio.sleep_forever()

    threading.Thread(target=trio.run, args=(_serve,), daemon=True).start()
    _ready.wait(10)

    def in_trio(fn, *args):
        return trio.from_thread.run(fn, *args, trio_token=_token[0])
"""


def test_trio_goroutine_leaks(tmp_path: Path) -> None:
    code, out = pytest_run(
        tmp_path,
        TRIO_RUN
        + """
    async def leak():
        parked = Chan()
        async def stuck():
            await parked.recv_async()
        go(stuck)

    def test_leaks(goroutine_leaks):
        in_trio(leak)

    async def clean():
        ch = Chan()
        async def sender():
            await ch.send_async(1)
        go(sender)
        assert await ch.recv_async() == 1

    def test_does_not_leak(goroutine_leaks):
        in_trio(clean)
    """,
        *ENABLE,
    )
    assert code == 1, out
    assert "ERROR test_it.py::test_leaks - Failed: found 1 unexpected goroutine(s)" in out
    assert "PASSED test_it.py::test_does_not_leak" in out
    frame = "leak.<locals>.stuck" if sys.version_info >= (3, 11) else "stuck"
    assert "[chan receive]:" in out and f"test_it.{frame}(...)" in out
    assert "created by leak at " in out


def test_trio_goroutine_exceptions_fail_the_test_that_started_them(tmp_path: Path) -> None:
    code, out = pytest_run(
        tmp_path,
        TRIO_RUN
        + """
    import time
    from gocurrent import WaitGroup

    async def boom():
        raise ValueError("boom in a trio goroutine")

    def test_in_its_own_run():
        async def main():
            wg = WaitGroup()
            wg.go(boom)
            await wg.wait_async()
        trio.run(main)

    gate = Chan()

    async def start_late():
        async def late():
            await gate.recv_async()
            raise RuntimeError("escaped after its test")
        go(late)

    def test_starts_it():
        in_trio(start_late)
    """
        + LATE,
        *ENABLE,
    )
    assert "FAILED test_it.py::test_in_its_own_run" in out
    assert 'raise ValueError("boom in a trio goroutine")' in out
    assert_reported_on_test_starts_it(code, out)


def test_enabled_from_a_conftest(tmp_path: Path) -> None:
    code, out = pytest_run(tmp_path, LEAKY, conftest='pytest_plugins = ["gocurrent.testing"]\n')
    assert code == 1, out
    assert "ERROR test_it.py::test_leaks - Failed: found 1" in out


def test_inactive_unless_enabled(tmp_path: Path) -> None:
    # Installing gocurrent changes no test run: no fixture, no option, and a
    # goroutine's exception stays pytest's usual thread-exception warning.
    code, out = pytest_run(tmp_path, LEAKY)
    assert code == 1 and "fixture 'goroutine_leaks' not found" in out, out
    code, out = pytest_run(
        tmp_path,
        """
        from gocurrent import WaitGroup

        def boom():
            raise ValueError("boom")

        def test_thread():
            wg = WaitGroup()
            wg.go(boom)
            wg.wait()
        """,
    )
    assert code == 0 and "PASSED test_it.py::test_thread" in out, out
    code, out = pytest_run(tmp_path, "def test_x(): pass\n", "--gocurrent-leaks")
    assert code != 0 and "unrecognized arguments: --gocurrent-leaks" in out, out


VERIFY = """
import time
from gocurrent import Chan, go
from gocurrent.testing import verify_none
verify_none()  # nothing started yet
ch = Chan()
go(time.sleep, 0.2)
verify_none(timeout=10)  # waits for it to end
parked = Chan()
def stuck():
    parked.recv()
go(stuck)
t = time.monotonic()
try:
    verify_none(timeout=0.3)
except AssertionError as e:
    print("waited", time.monotonic() - t >= 0.3)
    print(e)
"""


def test_verify_none() -> None:
    r = run_python(VERIFY)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "waited True"
    assert lines[1] == "found 1 unexpected goroutine(s):"
    assert lines[3].endswith("[chan receive]:")
    assert "__main__.stuck(...)" in lines
