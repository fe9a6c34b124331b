#!/usr/bin/env bash
# Runs every fuzz target for N seconds (default 60) with cargo-fuzz
# (libFuzzer, nightly), installing cargo-fuzz and nightly if missing.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# The corpora (fuzz/corpus/<target>) are kept in the repository, minimized
# after each run (`cargo fuzz cmin`): the memory-budget tests replay them
# (tests/memory_budget.rs, tests/records_memory.rs), so commit them after a
# run that found something new.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
secs=${1:-60}; shift || true
# Exit 3 means "no fuzzing tools could be had here" (nightly comes from
# rustup's server, which not every machine reaches); a crash exits 1.
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal ||
  { echo "fuzz: no nightly toolchain and rustup could not install one" >&2; exit 3; }
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked ||
  { echo "fuzz: cargo-fuzz could not be installed" >&2; exit 3; }
targets=("$@")
((${#targets[@]})) || mapfile -t targets < <(cargo +nightly fuzz list)
# Memory limits per target.
# * messages, frames: the decode memory budget (16 bytes per input byte +
#   64 KiB, ARCHITECTURE.md "Limits") allows at most 128 KiB for a 4 KiB
#   input, so any single allocation of 1 MiB (libFuzzer's smallest limit) is
#   a budget bug in the message decoders and fails the run.
# * records: every field decodes under a records budget of RECORDS_BUDGET_MB
#   (BUDGET in fuzz_targets/records.rs), charged before each allocation, and
#   the target checks each decode's peak heap against it with a counting
#   allocator. No single allocation may pass the budget plus 1 MiB (zstd's
#   context, the input repeated into a field), and the process may not grow
#   past the sanitizer's footprint (SANITIZER_RSS_MB; about 100 MB after a
#   minute here with ASan's quarantine held to 16 MB) plus a few budgets.
# Memory a budget did not bound is then a crash ("malloc limit" /
# "out-of-memory"), not a pass.
RECORDS_BUDGET_MB=1
SANITIZER_RSS_MB=256
limits() {
  case $1 in
    records) echo "-malloc_limit_mb=$((RECORDS_BUDGET_MB + 1)) -rss_limit_mb=$((SANITIZER_RSS_MB + 8 * RECORDS_BUDGET_MB))" ;;
    messages|frames) echo "-malloc_limit_mb=1 -rss_limit_mb=1024" ;;
    *) echo "-rss_limit_mb=2048" ;;
  esac
}
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${secs}s ($(limits "$t"))"
  asan=${ASAN_OPTIONS:-}
  [ "$t" = records ] && asan=${ASAN_OPTIONS:-quarantine_size_mb=16}
  # shellcheck disable=SC2046 # the limits are separate words
  ASAN_OPTIONS=$asan cargo +nightly fuzz run "$t" -- -max_total_time="$secs" $(limits "$t") -max_len=4096
  # Keep the committed corpus small: only inputs that add coverage.
  # shellcheck disable=SC2046
  ASAN_OPTIONS=$asan cargo +nightly fuzz cmin "$t" -- $(limits "$t") -max_len=4096 >/dev/null 2>&1 ||
    echo "fuzz: minimizing the $t corpus failed (the corpus is left as the run made it)" >&2
done
