#!/usr/bin/env bash
# Benchmark (not a test): fingerprints one large cdylib with full DWARF and reports our time
# and peak memory next to libabigail's `abidw` on the same file, in one run.
#
# Usage: bench/fingerprint.sh [path/to/lib.so]
# Without an argument it builds a large real cdylib first: a crate that links all of
# plugpack-core (cargo_metadata, oci-spec, gimli, object, wasmparser, serde, toml, tar, …)
# in release mode with debug = "full", so the DWARF covers a few hundred crates' types.
# It then measures our peak memory on inputs of very different DWARF sizes (a small fixture
# plugin, the large cdylib, the large cdylib with zlib-compressed DWARF) to show that memory
# does not follow the DWARF size.
# PLUGPACK=/path/to/cargo-plugpack measures that binary instead of a fresh release build
# (e.g. an older build, for a before/after comparison on the same file).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v abidw >/dev/null || { echo "bench: needs abidw (apt-get install abigail-tools)" >&2; exit 2; }
if [ -z "${PLUGPACK:-}" ]; then
  cargo build -q --release -p cargo-plugpack
fi
plugpack="${PLUGPACK:-$PWD/target/release/cargo-plugpack}"

lib="${1:-}"
if [ -z "$lib" ]; then
  work="$PWD/target/bench-cdylib"
  mkdir -p "$work/src"
  cat > "$work/Cargo.toml" <<TOML
[package]
name = "bench-cdylib"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
plugpack-core = { path = "$PWD/plugpack-core" }

[profile.release]
debug = "full"

[workspace]
TOML
  cat > "$work/src/lib.rs" <<'RS'
//! A large cdylib for the fingerprint benchmark.

/// Exercises enough of plugpack-core that most of it is linked in.
#[unsafe(no_mangle)]
pub extern "C" fn bench_entry(len: usize) -> usize {
    let path = camino_path(len);
    match plugpack_core::fingerprint::fingerprint_file(&path) {
        Ok(doc) => doc.exports.len(),
        Err(e) => e.to_string().len(),
    }
}

fn camino_path(len: usize) -> camino::Utf8PathBuf {
    camino::Utf8PathBuf::from("x".repeat(len))
}
RS
  # camino comes with plugpack-core; name it directly too.
  sed -i 's|^\[dependencies\]$|[dependencies]\ncamino = "1"|' "$work/Cargo.toml"
  cp Cargo.lock "$work/Cargo.lock"
  cargo build -q --release --offline --manifest-path "$work/Cargo.toml" --target-dir "$PWD/target/bench-target"
  lib="$PWD/target/bench-target/release/libbench_cdylib.so"
fi

debug_info() { # stored size of .debug_info (compressed size when compressed)
  local hex
  hex=$(objdump -h "$1" 2>/dev/null | awk '$2 == ".debug_info" {print $3}' || true)
  [ -n "$hex" ] && printf '%d' "0x$hex" || echo '?'
}
size=$(stat -c %s "$lib")
echo "file: $lib ($size bytes, .debug_info $(debug_info "$lib") bytes)"

measure() { # name, command... → prints a line on stderr, the seconds on stdout
  local name=$1; shift
  local out
  local tmp
  tmp=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$tmp" "$@" >/dev/null 2>&1 || echo "bench: $name failed" >&2
  out=$(tail -1 "$tmp")
  rm -f "$tmp"
  printf '%-28s %8ss  %8s KiB peak RSS\n' "$name" "${out% *}" "${out#* }" >&2
  echo "${out% *}"
}
ours=$(measure "cargo plugpack fingerprint" "$plugpack" plugpack fingerprint --artifact "$lib")
theirs=$(measure "abidw" abidw "$lib")
awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "ratio ours/abidw: %.3f (goal <= 0.25)\n", a / b }'

# Memory against DWARF size: our peak RSS on a small plugin, the large file, and the large file
# with compressed DWARF (inflated by a streaming decoder into a temporary file).
if [ -z "${1:-}" ]; then
  small_dir="$PWD/target/bench-target/small"
  cargo build -q --offline --manifest-path tests/fixtures/cdylib-plugin/Cargo.toml --target-dir "$small_dir"
  small="$small_dir/debug/libcdylib_plugin.so"
  zlib="$PWD/target/bench-target/libbench_cdylib.zlib.so"
  objcopy --compress-debug-sections=zlib "$lib" "$zlib"
  echo "ours against input size (file MB / .debug_info MB uncompressed):"
  for f in "$small" "$lib" "$zlib"; do
    label=$(awk -v a="$(stat -c %s "$f")" -v b="$(debug_info "$f")" \
      'BEGIN { printf "%.1f / %.1f MB", a / 1048576, b / 1048576 }')
    measure "  $label" "$plugpack" plugpack fingerprint --artifact "$f" >/dev/null
  done
fi
