#!/usr/bin/env bash
# Weir's whole test suite, as CI runs it (`.ci/run` calls this file).
#
# 1. Installs the real servers the tests need (moto, tansu, osmem-server; pinned, in a venv under
#    target/, idempotent). Each end-to-end test starts its own server processes on 127.0.0.1.
# 2. Checks formatting and lints (warnings are errors).
# 3. Runs every test of the workspace: unit tests, and the end-to-end tests in tests/ that drive
#    real `weir` processes.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== test services"
bash tests/services/install.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test --workspace"
# The end-to-end tests run the `weir` binary that this very `cargo test` builds.
export WEIR_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/weir"
cargo test --workspace

echo "== fuzz targets over their seed corpora (stable; the fuzzing itself: fuzz/run-all.sh)"
cargo test --manifest-path fuzz/Cargo.toml
