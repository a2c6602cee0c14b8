"""``gocurrent.__version__`` comes from the package's metadata."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import gocurrent
from gocurrent._version import read_version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_version_is_the_installed_distributions() -> None:
    assert gocurrent.__version__ == metadata.version("gocurrent")
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", gocurrent.__version__)


def test_version_matches_the_checkouts_pyproject() -> None:
    assert gocurrent.__version__ == read_version("gocurrent-no-such-dist", PYPROJECT)
    assert f'\nversion = "{gocurrent.__version__}"\n' in PYPROJECT.read_text()


def test_without_metadata_a_checkout_reads_its_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[build-system]\nrequires = ["maturin"]\n\n[project]\nname = "x"\nversion = "9.8.7"\n'
        '\n[tool.x]\nversion = "1.0"\n'
    )
    assert read_version("gocurrent-no-such-dist", pyproject) == "9.8.7"


def test_without_metadata_or_checkout_it_says_unknown(tmp_path: Path) -> None:
    assert read_version("gocurrent-no-such-dist", tmp_path / "absent.toml") == "0+unknown"
    (tmp_path / "other.toml").write_text('[tool.x]\nversion = "1.0"\n')
    assert read_version("gocurrent-no-such-dist", tmp_path / "other.toml") == "0+unknown"
