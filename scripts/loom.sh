#!/usr/bin/env bash
# Model-checks the core with loom: the channel (src/core/chan/loom_tests.rs),
# the mutex, rwmutex and wait group (src/core/loom_sync.rs), and the goroutine
# pool's job queue (src/core/pool/loom_tests.rs).
#
#   scripts/loom.sh            # preemption bound 2 (LOOM_MAX_PREEMPTIONS)
#   LOOM_MAX_PREEMPTIONS=3 scripts/loom.sh
#   scripts/loom.sh loom_close # only the models whose name contains this
#
# Each model prints how many executions loom explored and how long it took.
# The loom build uses its own target directory (RUSTFLAGS differ, so sharing
# target/ would rebuild everything on every switch) and no LTO (faster to
# build; the models are checked the same).
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg loom ${RUSTFLAGS:-}"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-target/loom}"
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

filter="${1:-loom}"
exec cargo test --release --lib "$filter" -- --nocapture --test-threads=1
