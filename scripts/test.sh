#!/usr/bin/env bash
# kwire's whole test suite, set-up included, on a fresh machine or a warm one.
#
#   scripts/test.sh            # everything CI runs
#   KWIRE_FULL_MATRIX=1 ...    # also every Kafka release of the broker matrix
#   KWIRE_LONG=1 ...           # also the long real-broker variants (#[ignore = "long: ..."])
#   KWIRE_FUZZ_SECONDS=N ...   # fuzz each target N s (default 0 here, 60 in CI when cargo-fuzz installs)
#
# It installs what it needs (Debian packages, the peers, Kafka jars from
# Maven Central) and fails, never skips, when something cannot be had.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "toolchain and system packages"
command -v cargo >/dev/null || { echo "cargo is missing: install Rust (rustup) first" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt
need=()
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
command -v python3 >/dev/null || need+=(python3)
command -v gcc >/dev/null || need+=(gcc)
if ((${#need[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

step "peers: librdkafka mock (2.0.2 and 2.16), tansu, kcat"
bash client/tests/peers/install.sh

step "Apache Kafka from Maven Central: brokers and the oracle"
testsupport/kafka/broker resolve --release 4.4.0 >/dev/null
testsupport/kafka/broker resolve --release 3.8.1 >/dev/null
testsupport/kafka/broker resolve --release 2.3.1 >/dev/null
# client/tests/rolling_upgrade.rs rolls a cluster from 3.9.2 through 4.0.2 to 4.4.0.
testsupport/kafka/broker resolve --release 3.9.2 >/dev/null
testsupport/kafka/broker resolve --release 4.0.2 >/dev/null
# tests/release_guess_brokers.rs guesses every release of the matrix (the
# others than the three above only in the long variant).
if [ -n "${KWIRE_LONG:-}${KWIRE_FULL_MATRIX:-}" ]; then
  testsupport/kafka/broker resolve --release 2.8.2 >/dev/null
fi
testsupport/kafka/oracle-run --build >/dev/null
testsupport/kafka/clients-run --build >/dev/null
testsupport/kafka/assignors/run --build >/dev/null
# Kafka's tools (ConsumerPerformance, the group and transaction clients' class path).
testsupport/kafka/broker resolve --release 4.4.0 --tools >/dev/null

step "formatting"
cargo fmt --all -- --check

step "generated code matches the pinned schemas"
cargo run -q -p kwire-codegen -- check

step "release history and support matrix match the release lines' schemas"
cargo run -q -p kwire-codegen -- history --check --lines ../shared/kafka-schemas
cargo run -q -p kwire-codegen -- matrix --check

step "upstream watch: the pinned release -> Kafka trunk (informational, never fails)"
cargo run -q -p kwire-codegen -- diff --informational pin ../shared/kafka-schemas/trunk || true

step "clippy (all targets, warnings are errors)"
cargo clippy -q --workspace --all-targets -- -D warnings

step "docs (warnings are errors; doc examples run with the tests)"
RUSTDOCFLAGS="-D warnings" cargo doc -q --workspace --no-deps

step "publish dry run: the four crates package, build from their packages alone (kwire with generated/ inside; no ../shared, no schema fetch) and pass the registry's checks (reads the crates.io index, uploads nothing)"
# Cargo unpacks the packages it verifies into $CARGO_HOME/registry/src/<hash of
# target/package/tmp-registry>/ and never unpacks the same name and version
# again, so a later run would build the previous contents. Removed: the copies
# this checkout's builds used (named in target/debug/deps/*.d) before the run,
# and those this run unpacked (newer than the marker) after it.
src="${CARGO_HOME:-$HOME/.cargo}/registry/src"
stale_unpacked() {
  # (no match is fine: a fresh clone has no such copies)
  { grep -ho "$src/[^/ ]*/kwire[a-z-]*-[0-9][0-9.]*" target/debug/deps/*.d 2>/dev/null || true; } |
    { grep -v '/index\.crates\.io-' || true; } | sort -u
}
stale_unpacked | xargs -r rm -rf
marker=$(mktemp)
rc=0
cargo publish -q --workspace --dry-run --allow-dirty || rc=$?
find "$src" -mindepth 2 -maxdepth 2 -type d -name 'kwire*' -newer "$marker" ! -path '*/index.crates.io-*' -exec rm -rf {} +
rm -f "$marker"
[ "$rc" = 0 ] || exit "$rc"

step "vendored output of the example crate against its pin and lock (as a user's CI runs it)"
cargo run -q -p kwire-codegen -- check --vendored examples/vendored-client/src/kafka

step "tests"
cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.txt
# Long variants are #[ignore = "long: ..."]: listed as ignored above, run
# here with KWIRE_LONG=1 (CI keeps to its 40-minute budget).
if [ -n "${KWIRE_LONG:-}" ]; then
  step "long variants (KWIRE_LONG)"
  cargo test --workspace --tests --no-fail-fast -- --ignored 2>&1 | tee -a target/test-output.txt
fi
grep -q "test result: FAILED" target/test-output.txt && exit 1

# The launcher's own self-test: the Rust tests above drive the same
# launcher (single brokers, clusters, SASL, Java clients), so CI leaves it
# to the long variant.
if [ -n "${KWIRE_FULL_MATRIX:-}" ]; then
  step "Kafka test support self-test, every release (real brokers, the oracle)"
  testsupport/kafka/selftest --all
elif [ -n "${KWIRE_LONG:-}" ]; then
  step "Kafka test support self-test (real brokers, the oracle)"
  testsupport/kafka/selftest
fi

fuzz_seconds=${KWIRE_FUZZ_SECONDS:-0}
if [ "$fuzz_seconds" != 0 ]; then
  step "fuzzing each target for ${fuzz_seconds}s"
  rc=0; bash scripts/fuzz.sh "$fuzz_seconds" || rc=$?
  if [ "$rc" = 3 ]; then
    # The decoders are still covered by the no-panic proptests above.
    echo "WARNING: fuzzing tools (nightly, cargo-fuzz) are not available on this machine: fuzz pass NOT run" >&2
  elif [ "$rc" != 0 ]; then
    exit "$rc"
  fi
fi

passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' target/test-output.txt | awk '{s+=$4} END {print s+0}')
step "done in $(( $(date +%s) - start ))s"
echo "disk used by target/: $(du -sh target 2>/dev/null | cut -f1)"
echo "kwire: $passed passed, 0 failed"
