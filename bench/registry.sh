#!/usr/bin/env bash
# Benchmark: push and pull of a bundle with a large layer to a local registry, next to
# `skopeo copy` of the same bundle in the same run.
#
#   bash bench/registry.sh [SIZES_MIB...]      (default: 16 256)
#
# Starts Debian's `docker-registry` (distribution 2.8) on a free 127.0.0.1 port with a
# temporary storage directory, packages a synthetic cdylib artifact of each size with
# `package --artifact`, then measures wall time and peak RSS of: `plugpack push`,
# `skopeo copy oci-archive:… docker://…` (the peer push), `plugpack pull` and
# `skopeo copy docker://… oci:DIR` (the peer pull). Each push goes to a fresh repository, so
# every blob is really uploaded. Peak RSS must stay flat as the layer grows: blobs stream.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in /usr/bin/time docker-registry skopeo python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (.ci/apt-packages.txt)" >&2; exit 2; }
done
cargo build --release --locked -p cargo-plugpack -q
bin=$PWD/target/release/cargo-plugpack
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/storage"
cat > "$work/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  python3 - "$port" <<'PY' && break
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/", timeout=1)
except Exception:
    sys.exit(1)
PY
  sleep 0.1
done
reg=127.0.0.1:$port
tag=1.2.0
manifest=tests/fixtures/wasm-plugin/Cargo.toml

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  read -r secs kib < "$work/time"
  printf '  %-40s %8.2f s %10d KiB peak RSS\n' "$label" "$secs" "$kib"
}

n=0
for m in ${@:-16 256}; do
  n=$((n + 1))
  art="$work/big.wasm"
  # A valid wasm module: one custom section `x` of pseudo-random bytes (the layer size).
  python3 - "$art" "$m" <<'PY'
import os, sys
path, mib = sys.argv[1], int(sys.argv[2])
payload = mib * 1024 * 1024
n, leb = payload + 2, bytearray()
while True:
    b, n = n & 0x7F, n >> 7
    leb.append(b | (0x80 if n else 0))
    if not n:
        break
with open(path, "wb") as f:
    f.write(b"\0asm\x01\0\0\0\0" + bytes(leb) + b"\x01x")
    for _ in range(mib):
        f.write(os.urandom(1024 * 1024))
PY
  "$bin" plugpack package -q --manifest-path "$manifest" --offline --artifact "$art" >/dev/null 2>&1 \
    --target wasm32-wasip1 -o "$work/b.oci.tar"
  echo "layer: $m MiB"
  measure "plugpack push" "$bin" plugpack push --insecure "$work/b.oci.tar" "$reg/bench/p$n:latest"
  measure "peer: skopeo copy oci-archive: → docker:" skopeo copy -q --dest-tls-verify=false \
    "oci-archive:$work/b.oci.tar:$tag" "docker://$reg/bench/s$n:$tag"
  measure "plugpack pull" "$bin" plugpack pull --insecure "$reg/bench/p$n:$tag" -o "$work/pulled.oci.tar"
  cmp -s "$work/b.oci.tar" "$work/pulled.oci.tar" || { echo "pulled bundle differs" >&2; exit 1; }
  rm -rf "$work/copy"
  measure "peer: skopeo copy docker: → oci:" skopeo copy -q --src-tls-verify=false \
    "docker://$reg/bench/s$n:$tag" "oci:$work/copy:$tag"
  rm -rf "$work/copy" "$work/pulled.oci.tar" "$work/b.oci.tar"
done
