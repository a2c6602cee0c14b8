"""gocurrent's pytest plugin: Uber's goleak for goroutines, and goroutine
exceptions that fail the test that started the goroutine.

Enable it with ``pytest -p gocurrent.testing`` or, in a ``conftest.py``,
``pytest_plugins = ["gocurrent.testing"]``; installing gocurrent changes no
test run by itself (the plugin has no entry point).

- ``verify_none(timeout=1.0)``: goleak's ``VerifyNone`` (usable without
  the plugin too).
- The ``goroutine_leaks`` fixture fails a test whose goroutines (started by
  it, directly or through goroutines it started) are still alive
  ``timeout`` seconds after it ended (ini option ``gocurrent_leak_timeout``,
  default 1.0); ``--gocurrent-leaks`` applies it to every test.
- An exception escaping a goroutine fails the test that started it, with
  the goroutine's traceback. When it escapes after that test has ended, it
  is reported as a failure of that test's node id (never of another test)
  before the next test starts, or at the end of the session.
"""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from . import _native, _runtime, runtime

__all__ = ["goroutine_leaks", "verify_none"]


def verify_none(*, timeout: float = 1.0) -> None:
    """Uber's goleak.VerifyNone: waits up to ``timeout`` seconds (polling,
    with ``time.sleep``) for every goroutine to finish; raises
    AssertionError listing those still alive, each with its ``stack()``
    entry, if some are left."""
    _wait_gone(lambda: runtime.num_goroutine() > 0, timeout)
    if runtime.num_goroutine() == 0:
        return
    entries = runtime._entries(include_main=False)
    raise AssertionError(_leak_message(runtime.num_goroutine(), entries))


def _wait_gone(alive: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        time.sleep(0.005)


def _leak_message(count: int, entries: list[Any]) -> str:
    dump = "\n\n".join(runtime._format(e) for e in entries)
    return f"found {count} unexpected goroutine(s):\n\n{dump}"


class _Tracker:
    """Who started each goroutine: the test running when it was started,
    or the owner of the goroutine that started it (``_runtime.track``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.test: str | None = None  # node id of the test in progress
        self.owner: dict[int, str] = {}  # goroutine id -> node id, until it ends
        self._thread_gid: dict[int, int] = {}  # pool thread -> goroutine it runs
        self._failures: dict[str, list[str]] = {}  # node id -> tracebacks to report
        self.locations: dict[str, tuple[str, int | None, str]] = {}

    def _current(self) -> int | None:
        """The id of the goroutine calling, if it is one."""
        loop = asyncio._get_running_loop()
        if loop is not None:
            gid = _native._task_goroutine(asyncio.current_task(loop))
            if gid is not None:
                return gid
        elif _runtime.trio_tasks:  # a trio goroutine, perhaps
            trio_rec = _runtime.trio_tasks.get(_runtime.current_trio_task())
            if trio_rec is not None:
                return trio_rec[0]
        return self._thread_gid.get(threading.get_ident())

    # Called by gocurrent._runtime:

    def spawned(self, gid: int) -> None:
        parent = self._current()
        owner = self.test if parent is None else self.owner.get(parent)
        if owner is not None:
            self.owner[gid] = owner

    def started(self, gid: int) -> None:
        self._thread_gid[threading.get_ident()] = gid

    def finished(self, gid: int) -> None:
        self.owner.pop(gid, None)

    def failed(self, exc: BaseException, gid: int | None) -> bool:
        if gid is None:
            gid = self._current()
        owner = self.owner.get(gid) if gid is not None else None
        if owner is None:
            return False  # not started by a test: threading.excepthook
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        with self._lock:
            self._failures.setdefault(owner, []).append(
                f"exception escaped goroutine {gid}:\n{text}"
            )
        return True

    # Called by the hooks below:

    def take(self, nodeid: str) -> list[str]:
        with self._lock:
            return self._failures.pop(nodeid, [])

    def take_all(self) -> dict[str, list[str]]:
        with self._lock:
            failures, self._failures = self._failures, {}
        return failures

    def alive_of(self, nodeid: str) -> list[int]:
        return [gid for gid, owner in list(self.owner.items()) if owner == nodeid]


_tracker: _Tracker | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gocurrent")
    group.addoption(
        "--gocurrent-leaks",
        action="store_true",
        default=False,
        help="fail every test whose goroutines outlive it (the goroutine_leaks fixture)",
    )
    parser.addini(
        "gocurrent_leak_timeout",
        "seconds a test's goroutines may take to finish after it (default 1.0)",
        default="1.0",
    )


def pytest_configure(config: pytest.Config) -> None:
    global _tracker
    _tracker = _Tracker()
    _runtime.track = _tracker
    _native._set_tracking(True)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _tracker
    _native._set_tracking(False)
    _runtime.track = None
    _tracker = None


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("gocurrent_leaks"):
        return
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is not None and "goroutine_leaks" not in names:
            names.insert(0, "goroutine_leaks")


def _report_late(session: pytest.Session) -> bool:
    """Reports the exceptions of goroutines whose test has ended, each as a
    failure of that test's node id. Returns whether there were any."""
    if _tracker is None:
        return False
    late = _tracker.take_all()
    for nodeid, texts in late.items():
        location = _tracker.locations.get(nodeid, (nodeid, None, nodeid))
        report = pytest.TestReport(
            nodeid,
            location,
            {},
            "failed",
            "exception(s) escaped goroutines after the test ended\n\n" + "\n".join(texts),
            "call",
        )
        session.config.hook.pytest_runtest_logreport(report=report)
    return bool(late)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _report_late(item.session)
    if _tracker is not None:
        _tracker.locations[item.nodeid] = item.location
        _tracker.test = item.nodeid
    try:
        yield
    finally:
        if _tracker is not None:
            _tracker.test = None
        _report_late(item.session)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    texts = _tracker.take(item.nodeid) if _tracker is not None else []
    if texts:
        report.outcome = "failed"
        shown = "\n".join(texts)
        if report.longrepr is not None and not isinstance(report.longrepr, tuple):
            shown = f"{report.longrepr}\n\n{shown}"
        report.longrepr = shown


def _busy_goroutines_of_tests() -> bool:
    """True while a goroutine started by a test is running (not asleep in
    a gocurrent wait without timeout): it may still raise."""
    owned = set(_tracker.owner) if _tracker is not None else set()
    asleep = {e.g.id for e in runtime._entries(include_main=False) if e.asleep}
    # Not listed: about to end.
    return bool(owned - asleep)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Goroutines of the last tests may be about to raise: give them a
    # moment (goroutines asleep for ever are not waited for).
    _wait_gone(_busy_goroutines_of_tests, 1.0)
    if _report_late(session) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def goroutine_leaks(request: pytest.FixtureRequest) -> Generator[None, None, None]:
    """Fails the test if goroutines it started (directly or through
    goroutines it started) are still alive ``gocurrent_leak_timeout``
    seconds (default 1.0) after it ended, listing each with its ``stack()``
    entry."""
    yield
    tracker = _tracker
    if tracker is None:
        return
    nodeid = request.node.nodeid
    timeout = float(request.config.getini("gocurrent_leak_timeout"))
    _wait_gone(lambda: tracker.alive_of(nodeid), timeout)
    left = set(tracker.alive_of(nodeid))
    if left:
        entries = [e for e in runtime._entries(include_main=False) if e.g.id in left]
        pytest.fail(_leak_message(len(left), entries), pytrace=False)
