#!/usr/bin/env bash
# Runs every check and test of gocurrent: Rust (fmt, clippy, cargo test),
# the extension build, Python lint and stubs, and pytest.
# Needs only Rust, Python 3 and pip; it makes its own virtualenv.
set -euo pipefail
cd "$(dirname "$0")"

VENV="${GOCURRENT_VENV:-.venv}"
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
PYO3_PYTHON="$(cd "$VENV" && pwd)/bin/python"
export PYO3_PYTHON

step() { printf '\n==> %s\n' "$*"; }

step "installing build and test tools"
python -m pip install -q --upgrade pip
python -m pip install -q "maturin>=1.9.4,<2"

step "cargo fmt --check"
cargo fmt --check
step "cargo clippy"
cargo clippy --all-targets -- -D warnings
step "cargo test"
cargo test
step "loom model checking of the channel core"
scripts/loom.sh

step "building the extension (release) with the test and examples extras"
maturin develop --release --extras test,examples

step "ruff"
ruff check .
ruff format --check .
step "mypy stubtest"
python -m mypy.stubtest gocurrent --allowlist stubtest-allowlist.txt

step "pytest"
python -m pytest "$@"
