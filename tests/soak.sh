#!/usr/bin/env bash
# Issue 16's soak: 20 minutes of S3/SQS → Kafka load (slow and fast phases) against the release
# `weir`, its RSS sampled every 10 s (see tests/tests/soak.rs). Not part of tests/run.sh.
#   WEIR_SOAK_SECS=1200 WEIR_SOAK_PHASE_SECS=300 tests/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/services/install.sh
cargo build --release -p weir
export WEIR_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/weir"
cargo test -p weir-tests --test soak -- --ignored --nocapture
