#!/usr/bin/env bash
# Instruction counts of the codec benchmarks (benches/codecs.rs), kwire next
# to kafka-protocol, under callgrind: unlike wall-clock time these do not
# move with the machine's load. One iteration's count is the difference of
# two runs (ITERS and 1 iterations), which cancels the setup.
#   scripts/bench-instructions.sh [CASE-REGEX]
# Prints: case op side instructions-per-iteration, and the ratio
# kafka-protocol / kwire per row.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
filter=${1:-.}
iters=${ITERS:-6}
bin=${BIN:-}
[[ -n "$bin" ]] || bin=$(cargo bench --bench codecs --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*codecs-[^"]*\)".*/\1/p' | tail -1)
[[ -x "$bin" ]] || { echo "bench binary not found" >&2; exit 1; }
cases=(MetadataResponse-v12-100x10 FetchResponse-v16-100x64KiB FetchResponse-v16-1000x1KiB
  ProduceRequest-v11-100x16KiB ApiVersionsResponse-v4-all MetadataRequest-v12-3topics
  JoinGroupResponse-v9-100members SyncGroupRequest-v5-100members
  DescribeConfigsResponse-v4-1000configs)
total() {
  local out; out=$(mktemp -d)
  KWIRE_COUNT="$1" valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" >/dev/null 2>"$out/log" ||
    { cat "$out/log" >&2; rm -rf "$out"; return 1; }
  sed -n 's/^summary: //p' "$out/cg"
  rm -rf "$out"
}
printf '%-40s %-7s %14s %14s %7s\n' case op kwire kafka-protocol ratio
for c in "${cases[@]}"; do
  [[ "$c" =~ $filter ]] || continue
  for op in decode encode; do
    declare -A per=()
    for side in kwire kafka-protocol; do
      one=$(total "$c,$op,$side,1"); many=$(total "$c,$op,$side,$iters")
      per[$side]=$(( (many - one) / (iters - 1) ))
    done
    printf '%-40s %-7s %14d %14d %6.2fx\n' "$c" "$op" "${per[kwire]}" "${per[kafka-protocol]}" \
      "$(echo "${per[kafka-protocol]} / ${per[kwire]}" | bc -l)"
  done
done
