#!/usr/bin/env bash
# Builds every fuzz target (cargo-fuzz, nightly), writes the seed corpora (`seed` binary, from
# src/seeds.rs), then runs the targets ONE AFTER ANOTHER, each a single libFuzzer process (no
# -jobs/-workers/-fork), for SECONDS_EACH seconds (default 600), and prints per target: runs
# (libFuzzer's final execution count), seconds, corpus size, crashes.
#
#   fuzz/run-all.sh [TARGET...]          # all targets of fuzz_targets/ when none are named
#   SECONDS_EACH=60 fuzz/run-all.sh kpl template
#
# Environment: SECONDS_EACH (600), FUZZ_TARGET_DIR (build dir, default ../../fuzz-target, i.e.
# outside the repository), BUILD_JOBS (cargo -j, default 1), NO_BUILD=1 (reuse the binaries),
# FUZZ_ARGS (more libFuzzer flags). Needs `cargo install cargo-fuzz` and a nightly toolchain
# (or RUSTC_BOOTSTRAP=1 on stable). Corpora: fuzz/corpus/<target>/, crashes:
# fuzz/artifacts/<target>/, logs: fuzz/logs/<target>.log (all git-ignored).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${SECONDS_EACH:-600}
FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-$(cd .. && pwd)/../fuzz-target}
BUILD_JOBS=${BUILD_JOBS:-1}
TOOLCHAIN=${TOOLCHAIN:-+nightly}
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for f in fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi
bin_dir="$FUZZ_TARGET_DIR/x86_64-unknown-linux-gnu/release"
if [[ -z "${NO_BUILD:-}" ]]; then
  # cc-rs builds the C dependencies (zstd…) with ASan like the Rust code; librdkafka's configure
  # then links test programs against them, which needs the ASan runtime: LDFLAGS.
  CARGO_BUILD_JOBS=$BUILD_JOBS LDFLAGS="${LDFLAGS:-} -fsanitize=address" \
    cargo $TOOLCHAIN fuzz build -a --target-dir "$FUZZ_TARGET_DIR"
fi
"$bin_dir/seed" "${targets[@]}"
mkdir -p logs
summary=()
failed=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  crashes_before=$(find "artifacts/$target" -type f | wc -l)
  start=$(date +%s)
  set +e
  # shellcheck disable=SC2086
  "$bin_dir/$target" "corpus/$target" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
    -rss_limit_mb=2048 -timeout=30 -artifact_prefix="artifacts/$target/" ${FUZZ_ARGS:-} \
    > "logs/$target.log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$target.log" | tail -1)
  [[ -z "$runs" ]] && runs=$(grep -o '^#[0-9]*' "logs/$target.log" | tail -1 | tr -d '#')
  corpus=$(find "corpus/$target" -type f | wc -l)
  crashes=$(( $(find "artifacts/$target" -type f | wc -l) - crashes_before ))
  status=ok
  if [[ $rc -ne 0 || $crashes -gt 0 ]]; then status="FAILED (exit $rc, see fuzz/logs/$target.log, fuzz/artifacts/$target/)"; failed=1; fi
  line=$(printf '%-22s runs=%-10s seconds=%-5s corpus=%-6s crashes=%-3s %s' "$target" "${runs:-?}" "$elapsed" "$corpus" "$crashes" "$status")
  echo "$line"
  summary+=("$line")
done
echo "---- summary"
printf '%s\n' "${summary[@]}"
exit $failed
