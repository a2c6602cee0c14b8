"""gocurrent's PEP 517 build backend: maturin's, failing fast without Rust.

``pip install .`` builds the extension with maturin. When ``cargo`` is not on
PATH, maturin's backend does not fail: it quietly downloads a whole Rust
toolchain (about 700 MB) into a temporary directory and builds with it. This
wrapper stops at once instead, and says what to do: install Rust (rustup), or
install a prebuilt wheel. ``GOCURRENT_ALLOW_RUST_DOWNLOAD=1`` lets maturin
download the toolchain as it would.

Every hook is maturin's; only the ones that build check for cargo first.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

NO_RUST = (
    "gocurrent: cargo (Rust) is not on PATH, and building gocurrent from source needs it.\n"
    "  - install Rust >= 1.85 with rustup, then run this command again; or\n"
    "  - install a prebuilt wheel instead (scripts/build-wheel.sh makes one; it needs no\n"
    "    Rust to install): pip install gocurrent-<version>-cp310-abi3-manylinux_2_28_x86_64.whl\n"
    "  - or set GOCURRENT_ALLOW_RUST_DOWNLOAD=1 to let maturin download a temporary\n"
    "    Rust toolchain (about 700 MB) and build with it."
)


def check_rust() -> None:
    """Raise SystemExit with ``NO_RUST`` unless cargo is on PATH (or the download is allowed)."""
    if os.environ.get("GOCURRENT_ALLOW_RUST_DOWNLOAD") == "1" or shutil.which("cargo"):
        return
    raise SystemExit(NO_RUST)


def _checked(name: str) -> Any:
    def hook(*args: Any, **kwargs: Any) -> Any:
        check_rust()
        import maturin

        return getattr(maturin, name)(*args, **kwargs)

    hook.__name__ = name
    return hook


get_requires_for_build_wheel = _checked("get_requires_for_build_wheel")
prepare_metadata_for_build_wheel = _checked("prepare_metadata_for_build_wheel")
build_wheel = _checked("build_wheel")
build_editable = _checked("build_editable")


def get_requires_for_build_sdist(config_settings: Any = None) -> list[str]:
    """maturin's: an sdist needs no Rust."""
    import maturin

    return maturin.get_requires_for_build_sdist(config_settings)


def build_sdist(sdist_directory: str, config_settings: Any = None) -> str:
    """maturin's: an sdist needs no Rust."""
    import maturin

    return maturin.build_sdist(sdist_directory, config_settings)
