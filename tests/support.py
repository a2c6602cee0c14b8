"""Helpers shared by the test modules (imported as ``support``)."""

from __future__ import annotations

import threading

from gocurrent import go


def spawn(fn, *args) -> tuple[threading.Event, list]:
    """Runs fn(*args) as a goroutine; returns (finished, [result or exception])."""
    done = threading.Event()
    out: list = []

    def run() -> None:
        try:
            out.append(fn(*args))
        except BaseException as e:
            out.append(e)
        finally:
            done.set()

    go(run)
    return done, out
