#!/usr/bin/env bash
# Installs every peer library the benchmark compares gocurrent with, into
# the active Python environment: the anchors of requirements.txt, then
# pygolang 0.1, which builds with Cython < 3 and without build isolation
# (its setup needs setuptools_dso and gevent at build time).
set -euo pipefail
cd "$(dirname "$0")"
python -m pip install -r requirements.txt
python -m pip install "cython<3" setuptools wheel "setuptools_dso>=1.7" gevent
python -m pip install --no-build-isolation pygolang==0.1
python -c "import golang; print('pygolang', golang.__version__)"
