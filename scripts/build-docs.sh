#!/usr/bin/env bash
# Builds the documentation site into site/ (mkdocs, material theme,
# mkdocstrings reading the stubs and docstrings of python/gocurrent/), in
# strict mode: a warning (a broken link, a public name without a docstring,
# a missing example) fails the build.
#
#   scripts/build-docs.sh            # site/index.html
#   scripts/build-docs.sh serve      # live preview on 127.0.0.1:8000
#
# Its tools (docs/requirements.txt, pinned) live in their own virtualenv,
# build/.docs-venv (DOCS_VENV to change it). Nothing is imported from
# gocurrent, so no build of the extension is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${DOCS_VENV:-build/.docs-venv}"
REQS=docs/requirements.txt
if [ ! -f "$VENV/.requirements" ] || ! cmp -s "$REQS" "$VENV/.requirements"; then
    echo "==> documentation tools into $VENV" >&2
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q -r "$REQS" >&2
    cp "$REQS" "$VENV/.requirements"
fi

export NO_MKDOCS_2_WARNING=1
if [ "${1:-}" = serve ]; then
    exec "$VENV/bin/mkdocs" serve --strict --dev-addr 127.0.0.1:8000
fi
"$VENV/bin/mkdocs" build --strict --clean
echo "site/index.html"
