#!/usr/bin/env bash
# Runs every check and test of gocurrent, as CI does (.ci/run):
#
#   1. Rust: cargo fmt --check, clippy, cargo test, loom model checking;
#   2. the release wheel (scripts/build-wheel.sh: abi3, manylinux_2_28, stripped);
#   3. for each CPython 3.10, 3.11, 3.12, 3.13 found on the machine (pyenv, or
#      python3.X on PATH; an absent one is skipped with a notice): a fresh
#      virtualenv under build/ci/, the wheel installed into it with its `test`
#      and `examples` extras, with no Rust on PATH (the install must not
#      build anything), then pytest against that installed wheel;
#   4. ruff and mypy stubtest (on the installed wheel), and the documentation
#      site (scripts/build-docs.sh, mkdocs --strict).
#
# Which tests run where: the full suite (tests/ and examples/services/tests)
# on CPython $FULL_PY (3.12 by default; GOCURRENT_FULL_PY to change it); on
# the other versions the core subset: tests/ without the examples' tests
# (tests/examples/, which run the example scripts and their local servers)
# and without the long soak and stress runs (test_soak.py, test_stress.py).
# Those exercise no version-specific code of gocurrent, take as long as the
# rest together, and their servers are what a loaded machine makes flaky.
# GOCURRENT_FULL_ALL=1 runs the full suite on every version.
#
# pytest runs as the virtualenv's `pytest` script, so the checkout's python/
# directory is never on sys.path: the tests import the installed wheel
# (GOCURRENT_EXPECT_INSTALLED makes tests/conftest.py check gocurrent.__file__).
# Arguments are passed to pytest of the full run, e.g. ./test.sh -x -k select.
#
# Needs Rust (cargo), Python 3 with venv and pip, and the package registries.
# It leaves ./.venv alone: everything it makes is under build/.
set -euo pipefail # pipefail: pytest's status survives its tee
cd "$(dirname "$0")"
ROOT="$(pwd)"

VERSIONS=(3.10 3.11 3.12 3.13)
FULL_PY="${GOCURRENT_FULL_PY:-3.12}"
CI_DIR="$ROOT/build/ci"
CORE_TESTS=(tests --ignore=tests/examples --ignore=tests/test_soak.py --ignore=tests/test_stress.py)
FULL_TESTS=(tests examples/services/tests)

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS
elapsed() { printf '%dm%02ds' $(((SECONDS - $1) / 60)) $(((SECONDS - $1) % 60)); }

# The interpreter of CPython X.Y: pyenv's, else python X.Y on PATH; empty if none.
find_python() {
    local prefix
    if command -v pyenv >/dev/null && prefix="$(pyenv prefix "$1" 2>/dev/null)" &&
        [ -x "$prefix/bin/python$1" ]; then
        echo "$prefix/bin/python$1"
    elif command -v "python$1" >/dev/null; then
        command -v "python$1"
    fi
}

# The tool virtualenv of scripts/build-wheel.sh doubles as PYO3_PYTHON for
# cargo, so cargo's build of pyo3 does not change from run to run.
step "the wheel's tool virtualenv"
WHEEL_VENV="$ROOT/build/.wheel-venv"
export WHEEL_VENV
scripts/build-wheel.sh --tools-only
PYO3_PYTHON="$WHEEL_VENV/bin/python"
export PYO3_PYTHON

step "cargo fmt --check"
cargo fmt --check
step "cargo clippy"
cargo clippy --all-targets -- -D warnings
step "cargo test"
cargo test
step "loom model checking of the channel core"
scripts/loom.sh

step "the release wheel (scripts/build-wheel.sh)"
WHEEL="$(scripts/build-wheel.sh | tail -n 1)"
WHEEL="$ROOT/$WHEEL"
echo "wheel: $WHEEL ($(stat -c %s "$WHEEL") bytes)"

mkdir -p "$CI_DIR"
rm -f "$CI_DIR"/pytest-*.log
results=()
full_venv=""
for v in "${VERSIONS[@]}"; do
    py="$(find_python "$v")"
    if [ -z "$py" ]; then
        step "CPython $v: not found on this machine (pyenv or python$v on PATH): SKIPPED"
        results+=("CPython $v: skipped (not installed)")
        continue
    fi
    t0=$SECONDS
    venv="$CI_DIR/venv-$v"
    step "CPython $v ($py): a fresh virtualenv with the wheel, no Rust on PATH"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    # No Rust: PATH has only the virtualenv and the system's directories, so a
    # wheel that did not fit this Python would fail here instead of building.
    norust=(env -u CARGO_HOME -u RUSTUP_HOME -u PYO3_PYTHON "PATH=$venv/bin:/usr/bin:/bin")
    if "${norust[@]}" sh -c 'command -v cargo || command -v rustc'; then
        echo "test.sh: cargo or rustc is on the install's PATH" >&2
        exit 1
    fi
    "${norust[@]}" python -m pip install -q --upgrade pip
    "${norust[@]}" python -m pip install -q --only-binary gocurrent "$WHEEL[test,examples]"
    # The installed files, not the checkout's: asserted by tests/conftest.py too.
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    (cd "$CI_DIR" && "$venv/bin/python" -c "import gocurrent; print('gocurrent', gocurrent.__version__, 'from', gocurrent.__file__)")

    if [ "$v" = "$FULL_PY" ] || [ "${GOCURRENT_FULL_ALL:-0}" = 1 ]; then
        what="full suite"
        args=("${FULL_TESTS[@]}" "$@")
    else
        what="core subset"
        args=("${CORE_TESTS[@]}")
    fi
    step "CPython $v: pytest, $what"
    # The script, not `python -m pytest`, which would put the current
    # directory first on sys.path. A run that collects no test exits 5, which
    # fails this script like any other failure.
    GOCURRENT_EXPECT_INSTALLED="$site" "$venv/bin/pytest" -p no:cacheprovider "${args[@]}" |
        tee "$CI_DIR/pytest-$v.log"
    # pytest's closing line, e.g. "=== 700 passed, 2 skipped in 120.00s ===".
    counts="$(tail -n 1 "$CI_DIR/pytest-$v.log" | tr -d '=' | sed 's/^ *//; s/ *$//')"
    results+=("CPython $v ($what): $counts; with the install: $(elapsed "$t0")")
    # ruff and stubtest run in CPython $FULL_PY's virtualenv (else the last one).
    if [ "$v" = "$FULL_PY" ] || [ "$(basename "${full_venv:-none}")" != "venv-$FULL_PY" ]; then
        full_venv="$venv"
    fi
done
if [ -z "$full_venv" ]; then
    echo "test.sh: none of CPython ${VERSIONS[*]} is on this machine" >&2
    exit 1
fi

step "ruff"
"$full_venv/bin/ruff" check .
"$full_venv/bin/ruff" format --check .
step "mypy stubtest (the installed wheel's stubs against its module, in $(basename "$full_venv"))"
(cd "$CI_DIR" && "$full_venv/bin/python" -m mypy.stubtest gocurrent \
    --allowlist "$ROOT/stubtest-allowlist.txt")

step "documentation site (scripts/build-docs.sh)"
scripts/build-docs.sh

step "summary"
printf '%s\n' "${results[@]}"
echo "all checks passed in $(elapsed "$started")"
# One closing line for the whole run: the tests of every CPython, added up.
total() {
    for f in "$CI_DIR"/pytest-*.log; do tail -n 1 "$f"; done |
        awk -v what="$1" '{ for (i = 2; i <= NF; i++) if ($i ~ "^" what) n += $(i - 1) } END { print n + 0 }'
}
echo "pytest: $(total passed) passed, $(total failed) failed, $(total skipped) skipped"
