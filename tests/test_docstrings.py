"""What ``help()`` says: the docstrings of the native functions (from the Rust
``///`` comments) and of their stubs (python/gocurrent/_native.pyi, which the
documentation site renders)."""

from __future__ import annotations

import ast
from pathlib import Path

import gocurrent
import pytest
from gocurrent import Chan, select

STUB = Path(gocurrent.__file__).with_name("_native.pyi")


def stub_docstring(name: str) -> str:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_docstring(node) or ""
    raise AssertionError(f"{name} not in {STUB}")


SELECT_FACTS = [
    "ch.recv",
    "ch.recv_ok",
    "(ch.send, v)",  # the send case
    "(-1, None)",  # what default=True returns
    "TimeoutError",  # what timeout= raises
    "no case has been performed",
    "nilchan",
    "TypeError",
]


@pytest.mark.parametrize("fact", SELECT_FACTS)
def test_select_says_what_a_case_is_what_default_and_timeout_do(fact: str) -> None:
    assert fact in (select.__doc__ or "")
    assert fact in stub_docstring("select").replace("``", "`").replace("`", "")


def test_select_does_what_its_docstring_says() -> None:
    ch: Chan[int] = Chan()
    assert select(ch.recv, default=True) == (-1, None)
    with pytest.raises(TimeoutError):
        select(ch.recv, timeout=0.01)
    closed: Chan[int] = Chan(1)
    closed.close()
    assert select(closed.recv) == (0, None)
    assert select(ch.recv, closed.recv_ok) == (1, (None, False))


def test_select_async_says_default_and_timeout() -> None:
    doc = gocurrent.select_async.__doc__ or ""
    for fact in ("default=", "TimeoutError", "no case has been performed"):
        assert fact in doc
        assert fact in stub_docstring("select_async").replace("``", "")
