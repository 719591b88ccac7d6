#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from the test fixtures into fuzz/corpus/<target>/
# (ignored by git; the fuzzer adds what it finds there). Needs only the workspace, the fixtures'
# fetched crates and tests/data; runs offline. Usage: bash fuzz/seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
corpus=$root/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# PLUGPACK_BIN: a built cargo-plugpack to use instead of building this checkout's.
if [ -z "${PLUGPACK_BIN:-}" ]; then
  cargo build -q --locked -p cargo-plugpack
  PLUGPACK_BIN=$root/target/debug/cargo-plugpack
fi
pp() { "$PLUGPACK_BIN" plugpack "$@"; }
export SOURCE_DATE_EPOCH=1704164645 CARGO_TERM_COLOR=never
# The committed test-only key; a private copy with mode 0600 (git checks files out 0644, which
# plugpack rightly refuses for a private key).
cp "$root/fuzz/fuzz-test-only.key" "$work/fuzz-test-only.key"
chmod 600 "$work/fuzz-test-only.key"
cp "$root/fuzz/fuzz-test-only.pub" "$work/fuzz-test-only.pub"
key=$work/fuzz-test-only.key

for t in bundle_read bundle_extract index_json dsse_envelope trust_policy trust_state keys_pem fingerprint abi_document dep_v0; do
  mkdir -p "$corpus/$t"
done
cp fuzz/static/trust_policy/* "$corpus/trust_policy/"
cp "$key" "${key%.key}.pub" "$corpus/keys_pem/"
cp tests/data/keys/*.key tests/data/keys/*.pub "$corpus/keys_pem/"

# Artifacts: the recorded Mach-O/PE/ELF-object libraries, a minimal wasm module, and the
# fixture builds the e2e tests left behind (under 1 MiB: a multi-MiB seed slows the fingerprint target to a few runs a second).
cp tests/data/abi/libnocore.dylib tests/data/abi/nocore.dll tests/data/abi/nocore.o "$corpus/fingerprint/"
printf '\0asm\1\0\0\0' > "$work/empty.wasm"
cp "$work/empty.wasm" "$corpus/fingerprint/"
# (PLUGPACK_FIXTURE_TARGET: where the e2e tests built the fixtures; default target/e2e-fixtures.)
fixtures=${PLUGPACK_FIXTURE_TARGET:-target/e2e-fixtures}
if [ -d "$fixtures" ]; then
  find "$fixtures" -path '*/plugpack/embedded/*' -type f \( -name '*.so' -o -name '*.wasm' \) -size -1024k \
    | head -n 12 | while read -r f; do
      n=$(basename "$(dirname "$f")")-$(basename "$f")
      cp "$f" "$corpus/fingerprint/$n"
      cp "$f" "$corpus/dep_v0/$n"
      # The bare zlib payload of an ELF's .dep-v0 section, for auditable::decode.
      objcopy --dump-section ".dep-v0=$corpus/dep_v0/$n.dep-v0" "$f" /dev/null 2>/dev/null || true
    done
fi
ls "$corpus"/dep_v0/* >/dev/null 2>&1 || printf 'x' > "$corpus/dep_v0/empty"

# Bundles: a signed one-target bundle of the wasm fixture (empty module as the artifact), and a
# two-target one, each verified once with --state so there is a state file to seed from.
for targets in "wasm32-wasip1" "wasm32-wasip1 wasm32-unknown-unknown"; do
  args=(); for t in $targets; do args+=(--target "$t" --artifact "$work/empty.wasm"); done
  out=$work/b-${targets// /-}.oci.tar
  pp package --manifest-path tests/fixtures/wasm-plugin/Cargo.toml --offline --locked \
    --db tests/data/advisory-db "${args[@]}" --key "$key" -o "$out" -q >/dev/null
  cp "$out" "$corpus/bundle_read/"
  cp "$out" "$corpus/bundle_extract/"
  pp verify "$out" --key "${key%.key}.pub" --state "$work/state" -q >/dev/null || true
  # Every JSON blob: envelopes, ABI documents; index.json + the tagged manifest for index_json.
  mkdir -p "$work/x"; tar -xf "$out" -C "$work/x"
  for blob in "$work"/x/blobs/sha256/*; do
    if head -c 1 "$blob" | grep -q '{'; then
      n=$(basename "$blob")
      if grep -q '"payloadType"' "$blob"; then cp "$blob" "$corpus/dsse_envelope/$n"; fi
      if grep -q '"plugpack-abi/1"' "$blob"; then cp "$blob" "$corpus/abi_document/$n"; fi
      if grep -q '"schemaVersion"' "$blob"; then
        digest=$n
        sed "s/sha256:$digest/@M@/g" "$work/x/index.json" > "$work/idx"
        { cat "$work/idx"; printf '\377'; cat "$blob"; } > "$corpus/index_json/$n"
      fi
    fi
  done
  rm -rf "$work/x"
done
# TUF metadata: every file of a repository with the signed one-target bundle added (roots,
# targets, snapshot, timestamp, all canonical JSON signed with the test key).
mkdir -p "$corpus/tuf_metadata"
pp repo init "$work/tuf" --root-key "$key" --targets-key "$key" --snapshot-key "$key" \
  --timestamp-key "$key" -q >/dev/null
pp repo add "$work/tuf" "$work/b-wasm32-wasip1.oci.tar" --targets-key "$key" --snapshot-key "$key" \
  --timestamp-key "$key" --key "${key%.key}.pub" -q >/dev/null
find "$work/tuf" -maxdepth 1 -name '*.json' -exec cp {} "$corpus/tuf_metadata/" \;
find "$work/state" -name '*.json' -exec cp {} "$corpus/trust_state/" \; 2>/dev/null || true
ls "$corpus"/trust_state/*.json >/dev/null 2>&1 || printf '{}' > "$corpus/trust_state/empty.json"
for t in "$corpus"/*; do echo "seeds: $(basename "$t"): $(ls "$t" | wc -l) files"; done
