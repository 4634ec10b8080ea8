#!/usr/bin/env bash
# Writes the seed corpora fuzz/corpus/<target>/seed-* (all targets, or those named) from
# src/seeds.rs, which builds KPL aggregates, Firehose requests, pipeline files, templates… and
# copies samples from the shared corpus (WEIR_CORPUS, default ../../shared/corpus; read only).
# Uses the binary `cargo fuzz build` made if there is one, else builds `seed` with cargo.
set -euo pipefail
cd "$(dirname "$0")"
FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-$(cd .. && pwd)/../fuzz-target}
seed="$FUZZ_TARGET_DIR/x86_64-unknown-linux-gnu/release/seed"
if [[ -x "$seed" ]]; then exec "$seed" "$@"; fi
CARGO_TARGET_DIR=$FUZZ_TARGET_DIR exec cargo run --bin seed -- "$@"
