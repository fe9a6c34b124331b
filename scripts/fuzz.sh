#!/usr/bin/env bash
# Runs every fuzz target for N seconds (default 60) with cargo-fuzz
# (libFuzzer, nightly), installing cargo-fuzz and nightly if missing.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
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
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${secs}s"
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=4096
done
