#!/usr/bin/env bash
# Runs every fuzz target for SECONDS_EACH (default 300) each, JOBS (default 2) at a time, seeded with the
# shared corpus records of its format. Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable
# toolchain RUSTC_BOOTSTRAP=1 lets it use the sanitizer flags. Logs: fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${SECONDS_EACH:-300}
JOBS=${JOBS:-2}
CORPUS=../../shared/corpus
# Seeds per target; `aws_format` (every registered format) is seeded by the `seed` binary from
# the registry's corpus folders, so a new format is fuzzed without editing this file.
declare -A SEEDS=(
  [json_records_splitter]=cloudtrail
  [aws_parse_auto]=.
)
mkdir -p logs
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
cargo run --release --bin seed
run_one() {
  local target=$1
  mkdir -p "corpus/$target"
  [[ -n "${SEEDS[$target]:-}" ]] && find "$CORPUS/${SEEDS[$target]}" -type f ! -name '*.md' -size -64k -exec cp {} "corpus/$target/" \; 2>/dev/null || true
  # The binaries built above, run directly: a rebuild mid-run (the tree changing) cannot interfere.
  "target/x86_64-unknown-linux-gnu/release/$target" "corpus/$target" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
    > "logs/$target.log" 2>&1 && echo "ok      $target" || echo "FAILED  $target (see fuzz/logs/$target.log)"
}
export -f run_one
export SECONDS_EACH CORPUS
export SEEDS_DECL="$(declare -p SEEDS)"
ls fuzz_targets | sed 's/\.rs$//' | xargs -P "$JOBS" -I{} bash -c 'eval "$SEEDS_DECL"; run_one {}'
