#!/usr/bin/env bash
# Benchmark (issue 12, defect 3): `cargo plugpack verify` on bundles with many referrers.
# Referrers used to be looked up by a linear scan per `index.json` entry (10,000 referrers:
# 7 s, 30,000: 82 s); they are now indexed by digest, so the time should grow linearly
# with the bundle. Not a test and never run by CI (.ci/run).
#
#   bash bench/verify-referrers.sh                  (1000 10000 30000 100000 referrers)
#   bash bench/verify-referrers.sh 5000 50000       (other counts)
#   PLUGPACK_BIN=target/debug/cargo-plugpack bash bench/verify-referrers.sh   (no release build)
#
# For each count N it builds, without cargo or a fixture build: a small valid plugin bundle
# (Python's tarfile), signs it with a fresh key, then adds N more signature referrers (each
# a distinct manifest pointing at the same, valid envelope, listed in a canonical
# `index.json`), and times `verify --key` on it (wall time and peak RSS with GNU time when
# installed). Every run must print `verified`.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 30000 100000)
if [ -n "${PLUGPACK_BIN:-}" ]; then
  plugpack="$PLUGPACK_BIN plugpack"   # e.g. PLUGPACK_BIN=target/debug/cargo-plugpack
else
  cargo build --release --locked -p cargo-plugpack -q
  plugpack="$PWD/target/release/cargo-plugpack plugpack"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1704164645

python3 - "$work/base.oci.tar" <<'EOF'
import hashlib, io, json, sys, tarfile
def canon(v): return json.dumps(v, sort_keys=True, separators=(",", ":")).encode()
def digest(b): return "sha256:" + hashlib.sha256(b).hexdigest()
blobs = {}
def add(b):
    blobs[digest(b)] = b
    return {"digest": digest(b), "size": len(b)}
config = add(canon({"architecture": "amd64", "os": "linux"}))
layer = add(b"\x7fELF bench plugin " * 64)
manifest = canon({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": dict(config, mediaType="application/vnd.plugpack.config.v1+json"),
    "layers": [dict(layer, mediaType="application/vnd.plugpack.cdylib.v1",
                    annotations={"org.opencontainers.image.title": "libbench.so"})],
    "annotations": {"dev.plugpack.target": "x86_64-unknown-linux-gnu",
                    "dev.plugpack.kind": "cdylib", "dev.plugpack.plugin": "bench"},
})
entry = dict(add(manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
             annotations={"org.opencontainers.image.ref.name": "0.1.0"})
index = canon({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": [entry]})
with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as tar:
    def put(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    for d, b in sorted(blobs.items()):
        put("blobs/sha256/" + d[7:], b)
    put("index.json", index)
    put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
EOF

$plugpack keygen -o "$work/bench" -q >/dev/null
$plugpack sign "$work/base.oci.tar" --key "$work/bench.key" -q >/dev/null

echo
echo "## verify with N extra signature referrers; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %10s | %12s | %10s | %14s |\n' referrers "bundle (MiB)" "verify (s)" "peak RSS (MiB)"
printf '|-----------:|-------------:|-----------:|---------------:|\n'
for n in "${counts[@]}"; do
  bundle="$work/bench-$n.oci.tar"
  python3 - "$work/base.oci.tar" "$bundle" "$n" <<'EOF'
import hashlib, io, json, sys, tarfile
def canon(v): return json.dumps(v, sort_keys=True, separators=(",", ":")).encode()
src, dest, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
members = {}
with tarfile.open(src) as tar:
    for m in tar.getmembers():
        if m.isfile():
            members[m.name] = tar.extractfile(m).read()
index = json.loads(members["index.json"])
sig = next(e for e in index["manifests"]
           if e.get("artifactType") == "application/vnd.dsse.envelope.v1+json")
referrer = json.loads(members["blobs/sha256/" + sig["digest"][7:]])
for i in range(n):
    copy = dict(referrer, annotations=dict(referrer.get("annotations", {}),
                                           **{"dev.plugpack.bench": str(i)}))
    data = canon(copy)
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    members["blobs/sha256/" + d[7:]] = data
    index["manifests"].append({"artifactType": sig["artifactType"], "digest": d,
                               "mediaType": sig["mediaType"], "size": len(data)})
members["index.json"] = canon(index)
with tarfile.open(dest, "w", format=tarfile.USTAR_FORMAT) as tar:
    for name in sorted(members):
        info = tarfile.TarInfo(name); info.size = len(members[name]); info.mode = 0o644
        tar.addfile(info, io.BytesIO(members[name]))
EOF
  size=$(( $(stat -c %s "$bundle") / 1024 / 1024 ))
  state="$work/state-$n"
  if command -v /usr/bin/time >/dev/null; then
    /usr/bin/time -f '%e %M' -o "$work/time" $plugpack verify "$bundle" --key "$work/bench.pub" --state "$state" > "$work/out" 2>&1
    read -r secs kib < "$work/time"
  else
    start=$(date +%s.%N)
    $plugpack verify "$bundle" --key "$work/bench.pub" --state "$state" > "$work/out" 2>&1
    secs=$(echo "$(date +%s.%N) - $start" | bc); kib=0
  fi
  grep -q "^ *Verified bench" "$work/out" || { echo "verify did not pass for $n referrers:" >&2; cat "$work/out" >&2; exit 1; }
  printf '| %10s | %12s | %10s | %14s |\n' "$n" "$size" "$secs" "$((kib / 1024))"
done
