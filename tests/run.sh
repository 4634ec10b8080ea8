#!/usr/bin/env bash
# Weir's whole test suite, as CI runs it (`.ci/run` calls this file).
#
# 1. Installs and starts the services the tests need, on 127.0.0.1 only (none yet: the AWS, Kafka
#    and Elasticsearch test servers join here with the issues that need them).
# 2. Checks formatting and lints (warnings are errors).
# 3. Runs every test of the workspace: unit tests, and the end-to-end tests in tests/ that drive
#    real `weir` processes.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test --workspace"
cargo test --workspace
