"""``pip install .`` without Rust stops at once and says why (build_backend/)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[1] / "build_backend" / "gocurrent_build.py"


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch):
    spec = importlib.util.spec_from_file_location("gocurrent_build_under_test", BACKEND)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.delenv("GOCURRENT_ALLOW_RUST_DOWNLOAD", raising=False)
    return module


@pytest.mark.parametrize(
    "hook", ["get_requires_for_build_wheel", "prepare_metadata_for_build_wheel", "build_wheel"]
)
def test_without_cargo_each_build_hook_stops_with_an_explanation(
    backend, hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    # If the check let it through, maturin would be imported and called:
    # make that fail loudly instead of building anything.
    monkeypatch.setitem(sys.modules, "maturin", None)
    with pytest.raises(SystemExit) as info:
        getattr(backend, hook)("unused-directory")
    message = str(info.value)
    assert "cargo (Rust) is not on PATH" in message
    assert "rustup" in message and "wheel" in message
    assert "GOCURRENT_ALLOW_RUST_DOWNLOAD=1" in message


def test_with_cargo_or_when_allowed_maturin_is_called(
    backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    class FakeMaturin:
        @staticmethod
        def get_requires_for_build_wheel(config_settings=None):
            calls.append(config_settings)
            return ["puccinialin"]

    monkeypatch.setitem(sys.modules, "maturin", FakeMaturin)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/cargo")
    assert backend.get_requires_for_build_wheel({"a": 1}) == ["puccinialin"]
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("GOCURRENT_ALLOW_RUST_DOWNLOAD", "1")
    assert backend.get_requires_for_build_wheel(None) == ["puccinialin"]
    assert calls == [{"a": 1}, None]


def test_an_sdist_needs_no_rust(backend, monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeMaturin:
        @staticmethod
        def get_requires_for_build_sdist(config_settings=None):
            return []

    monkeypatch.setitem(sys.modules, "maturin", FakeMaturin)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert backend.get_requires_for_build_sdist() == []
