#!/usr/bin/env bash
# CI smoke of the fuzz targets. With cargo-fuzz and a nightly toolchain: every target fuzzed for
# SMOKE_SECONDS (default 5) seconds (run-all.sh). Without them (CI has only stable): every
# target's body over its seed corpus, `cargo test` of this crate (tests/seeds.rs).
set -euo pipefail
cd "$(dirname "$0")"
if cargo fuzz --version >/dev/null 2>&1 && cargo +nightly --version >/dev/null 2>&1 && [[ -z "${SMOKE_STABLE:-}" ]]; then
  SECONDS_EACH=${SMOKE_SECONDS:-5} exec ./run-all.sh "$@"
fi
exec cargo test --manifest-path Cargo.toml
