#!/usr/bin/env bash
# Build cost of the kwire crate next to kafka-protocol's, measured back to
# back (interleaved, repeated) so that machine load hits both alike.
#   scripts/build-time.sh [ROUNDS]
# Needs a scratch crate depending on `kafka-protocol = "0.18"` in $KP_CRATE
# (default /tmp/kp-scratch). Uses fresh target dirs /tmp/bt-kwire and
# /tmp/bt-kp (deleted at the end). Prints one line per build: what, the
# crate's own unit time from `--timings` (seconds), the command's wall time.
set -euo pipefail
export CARGO_INCREMENTAL=0
kw=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kp=${KP_CRATE:-/tmp/kp-scratch}
rounds=${1:-1}
bkw=/tmp/bt-kwire bkp=/tmp/bt-kp
rm -rf "$bkw" "$bkp"
trap 'rm -rf "$bkw" "$bkp"' EXIT

# unit time of crate $2 in the newest timings report under target dir $1
unit() {
  local html; html=$(ls -t "$1"/cargo-timings/cargo-timing-2*.html | head -1)
  python3 - "$html" "$2" <<'PY'
import json, re, sys
html, name = open(sys.argv[1]).read(), sys.argv[2]
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);", html, re.S).group(1))
# the library unit only (not its build script nor running it)
print(sum(u["duration"] for u in units if u["name"] == name and "build" not in u["target"]))
PY
}

# $1 label, $2 dir, $3 target dir, $4 crate name, rest: cargo args
run() {
  local label=$1 dir=$2 tdir=$3 crate=$4; shift 4
  local t0 t1
  t0=$(date +%s.%N)
  (cd "$dir" && CARGO_TARGET_DIR=$tdir cargo "$@" --timings --offline -q) 2>/dev/null
  t1=$(date +%s.%N)
  printf '%-44s crate %7.1f s   wall %7.1f s   load %s\n' "$label" "$(unit "$tdir" "$crate")" \
    "$(echo "$t1 - $t0" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "# clean builds (all dependencies), $(date -u +%FT%TZ), $(nproc) cores"
run "kwire release (default features)" "$kw" "$bkw" kwire build --release -p kwire
run "kafka-protocol release (default)" "$kp" "$bkp" kafka-protocol build --release
run "kwire check" "$kw" "$bkw" kwire check -p kwire
run "kafka-protocol check" "$kp" "$bkp" kafka-protocol check

echo "# one side only: the kwire crate alone (dependencies built)"
for f in client broker client,broker; do
  (cd "$kw" && CARGO_TARGET_DIR=$bkw cargo clean -q --release -p kwire)
  run "kwire release --features $f" "$kw" "$bkw" kwire build --release -p kwire --no-default-features --features "$f"
done

echo "# the crate alone (dependencies built), interleaved, $rounds rounds"
for i in $(seq "$rounds"); do
  (cd "$kw" && CARGO_TARGET_DIR=$bkw cargo clean -q --release -p kwire)
  run "kwire release [$i]" "$kw" "$bkw" kwire build --release -p kwire
  (cd "$kp" && CARGO_TARGET_DIR=$bkp cargo clean -q --release -p kafka-protocol)
  run "kafka-protocol release [$i]" "$kp" "$bkp" kafka-protocol build --release
  (cd "$kw" && CARGO_TARGET_DIR=$bkw cargo clean -q -p kwire)
  run "kwire check [$i]" "$kw" "$bkw" kwire check -p kwire
  (cd "$kp" && CARGO_TARGET_DIR=$bkp cargo clean -q -p kafka-protocol)
  run "kafka-protocol check [$i]" "$kp" "$bkp" kafka-protocol check
done
