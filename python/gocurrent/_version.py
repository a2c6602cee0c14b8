"""``gocurrent.__version__``: the installed distribution's version."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

# A source checkout used without installing (``PYTHONPATH=python``): the
# version in the checkout's pyproject.toml, two levels above the package.
_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def read_version(dist: str = "gocurrent", pyproject: Path = _PYPROJECT) -> str:
    """The version of the installed distribution ``dist``.

    Without one (a source checkout on ``sys.path``), the ``version`` of the
    ``[project]`` table of ``pyproject``; ``"0+unknown"`` if that is absent too.
    """
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        pass
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return "0+unknown"
    project = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    found = project and re.search(r'^version\s*=\s*"([^"]+)"', project.group(1), re.M)
    return found.group(1) if found else "0+unknown"
