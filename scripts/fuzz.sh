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
# The decode memory budget (16 bytes per input byte + 64 KiB, see
# ARCHITECTURE.md "Limits") allows at most 128 KiB for a 4 KiB input: any
# single allocation of 1 MiB (libFuzzer's smallest limit) is a budget bug
# in the message decoders and fails the run. Records decompress up to the
# target's 1 MiB limit, so they keep the RSS limit only.
max_len=4096
for t in "${targets[@]}"; do
  limits=(-rss_limit_mb=1024)
  case "$t" in messages|frames) limits+=(-malloc_limit_mb=1) ;; esac
  echo "fuzz: $t for ${secs}s (${limits[*]})"
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -max_len="$max_len" "${limits[@]}"
done
