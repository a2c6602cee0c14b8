#!/usr/bin/env bash
# Builds the release wheel a maintainer would upload, into dist/:
#
#   scripts/build-wheel.sh               # prints the wheel's path on its last line
#   scripts/build-wheel.sh --tools-only  # only makes the tool virtualenv
#
# - abi3: one wheel for every CPython >= 3.10 (pyo3's abi3-py310 in Cargo.toml);
# - manylinux_2_28 (glibc >= 2.28): linked by zig (maturin --zig) from the
#   `ziglang` package, so nothing but the package registries is needed;
# - unwinding through the system's libgcc_s.so.1, as a native build does.
#   cargo-zigbuild links zig's own static libunwind in place of libgcc_s;
#   but CPython ends a thread that touches the interpreter during
#   finalization with pthread_exit, whose forced unwind runs in glibc's
#   libgcc_s and calls our frames' personality routine, which then called
#   the static libunwind with libgcc's context: a segfault at exit
#   (tests/test_exit.py). Linking libgcc_s.so.1 (present on every glibc
#   system, allowed by every manylinux policy) before it makes every
#   _Unwind_* symbol come from libgcc_s; the script checks that it did;
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

# The system's libgcc_s.so.1 (any version: the wheel needs only GCC_4.2.0).
libgcc_s=""
for candidate in "$(gcc -print-file-name=libgcc_s.so.1 2>/dev/null || true)" \
    /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 /lib/x86_64-linux-gnu/libgcc_s.so.1 \
    /usr/lib64/libgcc_s.so.1 /lib64/libgcc_s.so.1; do
    if [ -f "$candidate" ]; then
        libgcc_s="$(readlink -f "$candidate")"
        break
    fi
done
if [ -z "$libgcc_s" ]; then
    log "build-wheel.sh: libgcc_s.so.1 not found (Debian: libgcc-s1; Fedora: libgcc)"
    exit 1
fi
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C link-arg=$libgcc_s"

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
rm -f "$OUT"/gocurrent-"$version"-*.whl
log "==> maturin build --release --strip --zig --compatibility manylinux_2_28"
# maturin finds zig through `python -m ziglang` of the interpreter on PATH.
PATH="$(cd "$VENV" && pwd)/bin:$PATH" "$VENV/bin/maturin" build \
    --release --strip --zig --compatibility manylinux_2_28 \
    --interpreter "$VENV/bin/python" --out "$OUT" >&2

wheels=("$OUT"/gocurrent-"$version"-cp310-abi3-*.whl)
[ "${#wheels[@]}" -eq 1 ] && [ -f "${wheels[0]}" ] || {
    log "build-wheel.sh: expected one abi3 wheel in $OUT, found: ${wheels[*]}"
    exit 1
}
wheel="${wheels[0]}"
case "$wheel" in
*manylinux_2_28_x86_64* | *manylinux_2_28_aarch64*) ;;
*) log "build-wheel.sh: not a manylinux_2_28 wheel: $wheel"; exit 1 ;;
esac

bytes="$(stat -c %s "$wheel")"
log "==> $wheel: $bytes bytes"
if [ "$bytes" -gt "$MAX_BYTES" ]; then
    log "build-wheel.sh: the wheel is over 1.5 MB ($bytes bytes): was it stripped?"
    exit 1
fi

log "==> the extension unwinds through libgcc_s.so.1"
so_dir="$(mktemp -d)"
trap 'rm -rf "$so_dir"' EXIT
"$VENV/bin/python" -m zipfile -e "$wheel" "$so_dir"
so="$(find "$so_dir" -name '_native*.so' | head -n 1)"
if ! readelf -d "$so" | grep -q 'NEEDED.*\[libgcc_s\.so\.1\]' ||
    nm -D --defined-only "$so" | grep -q ' _Unwind_RaiseException'; then
    log "build-wheel.sh: $so does not take _Unwind_* from libgcc_s.so.1"
    exit 1
fi

log "==> auditwheel show"
report="$("$VENV/bin/auditwheel" show "$wheel" 2>&1)"
printf '%s\n' "$report" >&2
# auditwheel wraps its lines: join them before looking for the tag.
printf '%s' "$report" | tr -s '\n ' '  ' |
    grep -q 'is consistent with the following platform tag: "manylinux_2_28_' || {
    log "build-wheel.sh: auditwheel does not find manylinux_2_28 for $wheel"
    exit 1
}
echo "$wheel"
