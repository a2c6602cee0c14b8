#!/usr/bin/env bash
# Builds the release wheel a maintainer would upload, into dist/:
#
#   scripts/build-wheel.sh               # prints the wheel's path on its last line
#   scripts/build-wheel.sh --tools-only  # only makes the tool virtualenv
#
# - abi3: one wheel for every CPython >= 3.10 (pyo3's abi3-py310 in Cargo.toml);
# - manylinux2014 (glibc >= 2.17): linked by zig (maturin --zig) from the
#   `ziglang` package, so nothing but the package registries is needed;
# - stripped (maturin --strip), checked to be at most 1.5 MB;
# - checked with `auditwheel show` (its report goes to stderr).
#
# Its tools (maturin, ziglang, auditwheel, pinned) live in their own virtualenv,
# build/.wheel-venv (WHEEL_VENV to change it), made with python3 (PYTHON).
# Needs Rust (cargo) and Python 3 with venv and pip.
set -euo pipefail
cd "$(dirname "$0")/.."

MATURIN_VERSION=1.16.0
ZIGLANG_VERSION=0.14.1
AUDITWHEEL_VERSION=6.8.2
MAX_BYTES=$((1536 * 1024)) # 1.5 MB
VENV="${WHEEL_VENV:-build/.wheel-venv}"
OUT=dist

log() { printf '%s\n' "$*" >&2; }

if ! command -v cargo >/dev/null; then
    log "build-wheel.sh: cargo not found; building gocurrent needs a Rust toolchain (rustup)"
    exit 1
fi

pins="maturin==$MATURIN_VERSION ziglang==$ZIGLANG_VERSION auditwheel==$AUDITWHEEL_VERSION"
if [ ! -f "$VENV/.pins" ] || [ "$(cat "$VENV/.pins")" != "$pins" ]; then
    log "==> tool virtualenv $VENV ($pins)"
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/python" -m pip install -q $pins >&2
    echo "$pins" >"$VENV/.pins"
fi

[ "${1:-}" = --tools-only ] && exit 0

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
rm -f "$OUT"/gocurrent-"$version"-*.whl
log "==> maturin build --release --strip --zig --compatibility manylinux2014"
# maturin finds zig through `python -m ziglang` of the interpreter on PATH.
PATH="$(cd "$VENV" && pwd)/bin:$PATH" "$VENV/bin/maturin" build \
    --release --strip --zig --compatibility manylinux2014 \
    --interpreter "$VENV/bin/python" --out "$OUT" >&2

wheels=("$OUT"/gocurrent-"$version"-cp310-abi3-*.whl)
[ "${#wheels[@]}" -eq 1 ] && [ -f "${wheels[0]}" ] || {
    log "build-wheel.sh: expected one abi3 wheel in $OUT, found: ${wheels[*]}"
    exit 1
}
wheel="${wheels[0]}"
case "$wheel" in
*manylinux_2_17_x86_64* | *manylinux2014_x86_64* | *manylinux_2_17_aarch64*) ;;
*) log "build-wheel.sh: not a manylinux2014 wheel: $wheel"; exit 1 ;;
esac

bytes="$(stat -c %s "$wheel")"
log "==> $wheel: $bytes bytes"
if [ "$bytes" -gt "$MAX_BYTES" ]; then
    log "build-wheel.sh: the wheel is over 1.5 MB ($bytes bytes): was it stripped?"
    exit 1
fi

log "==> auditwheel show"
"$VENV/bin/auditwheel" show "$wheel" >&2
"$VENV/bin/auditwheel" show "$wheel" 2>&1 | grep -q 'is consistent with' || {
    log "build-wheel.sh: auditwheel found no manylinux tag for $wheel"
    exit 1
}
echo "$wheel"
