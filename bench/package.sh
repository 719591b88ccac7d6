#!/usr/bin/env bash
# Benchmark: packaging and validating large plugin artifacts, next to peers on the same bytes.
#
#   bash bench/package.sh [SIZES_MIB...]      (default: 64 512)
#
# For each size it packages a real ELF artifact (the release build of the cdylib-plugin
# fixture, padded to the size with a non-loaded `.plugpack_bench_pad` section added by
# `objcopy --add-section`, so the fingerprint stage accepts it) with `package --artifact`,
# then validates it with `inspect`, and runs peers on the same input: `tar cf` (writing a tar
# of the same file), `sha256sum` (one hashing pass) and `skopeo inspect`/`skopeo copy` (reading
# the bundle). It prints wall time and peak RSS of each. Peak RSS must stay flat as the artifact
# grows: artifacts are streamed, never held in memory.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
cargo build --release --locked -p cargo-plugpack -q
bin=target/release/cargo-plugpack
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
manifest=tests/fixtures/cdylib-plugin/Cargo.toml
command -v objcopy >/dev/null || { echo "needs objcopy (binutils)" >&2; exit 2; }
cargo build -q --release --offline --locked --manifest-path "$manifest" --target-dir target/bench-cdylib-plugin
base=target/bench-cdylib-plugin/release/libcdylib_plugin.so

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  read -r secs kib < "$work/time"
  printf '  %-34s %8.2f s %10d KiB peak RSS\n' "$label" "$secs" "$kib"
}

for mib in "${@:-64 512}"; do
  for m in $mib; do
    art="$work/libbig.so"
    # A real ELF with a pseudo-random pad section (incompressible, never loaded).
    head -c $((m * 1024 * 1024 - $(stat -c %s "$base"))) /dev/urandom > "$work/pad"
    objcopy --add-section .plugpack_bench_pad="$work/pad" \
      --set-section-flags .plugpack_bench_pad=contents,readonly "$base" "$art"
    rm -f "$work/pad"
    echo "artifact: $m MiB"
    measure "plugpack package --artifact" "$bin" plugpack package --manifest-path "$manifest" --offline --artifact "$art" -o "$work/b.oci.tar"
    measure "plugpack inspect (validate)" "$bin" plugpack inspect "$work/b.oci.tar"
    measure "peer: tar cf" tar cf "$work/peer.tar" -C "$work" libbig.so
    measure "peer: sha256sum" sha256sum "$art"
    if command -v skopeo >/dev/null; then
      measure "peer: skopeo inspect --raw" skopeo inspect --raw "oci-archive:$work/b.oci.tar:0.3.1"
      rm -rf "$work/copy"
      measure "peer: skopeo copy → dir:" skopeo copy -q "oci-archive:$work/b.oci.tar:0.3.1" "dir:$work/copy"
    fi
    rm -f "$work/b.oci.tar" "$work/peer.tar"
  done
done
