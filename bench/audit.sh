#!/usr/bin/env bash
# Benchmark for issue 5 (not a test; never run by CI):
#  1. lockfile mode: `plugpack audit --lockfile` next to `cargo audit --no-fetch` (with and
#     without --no-yanked) on one real lockfile and one full advisory database;
#  2. artifact mode (when PLUGIN_MANIFEST is set): `plugpack audit --no-build` (the exact set of
#     the last `cargo plugpack build`, read from its build record) and `plugpack audit` (which
#     runs a no-op cargo build and cargo metadata first) next to cargo-audit on the plugin's
#     Cargo.lock.
# Usage: bench/audit.sh ADVISORY_DB LOCKFILE [RUNS]   (needs cargo-audit on PATH)
#        PLUGIN_MANIFEST=bench/fixtures/big-plugin/Cargo.toml [PROFILE=release] bench/audit.sh DB LOCKFILE
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:?advisory-db directory}; LOCK=${2:?Cargo.lock}; RUNS=${3:-20}
cargo build --release -q -p cargo-plugpack
PP=target/release/cargo-plugpack
mean_ms() {
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$RUNS"); do "$@" >/dev/null 2>&1 || true; done
  end=$(date +%s%N)
  echo "$(( (end - start) / RUNS / 1000000 )) ms"
}
echo "lockfile: $LOCK ($(grep -c '^\[\[package\]\]' "$LOCK") packages), runs: $RUNS"
echo "plugpack audit --lockfile            $(mean_ms "$PP" audit --lockfile "$LOCK" --db "$DB" --format json)"
echo "cargo audit --no-fetch               $(mean_ms cargo-audit audit --no-fetch --stale --json --db "$DB" --file "$LOCK")"
echo "cargo audit --no-fetch --no-yanked   $(mean_ms cargo-audit audit --no-fetch --stale --no-yanked --json --db "$DB" --file "$LOCK")"

if [ -n "${PLUGIN_MANIFEST:-}" ]; then
  plugin_lock=$(dirname "$PLUGIN_MANIFEST")/Cargo.lock
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/bench-big-plugin}
  flags=(--manifest-path "$PLUGIN_MANIFEST" --locked --offline)
  [ "${PROFILE:-dev}" = release ] && flags+=(--release)
  echo
  echo "artifact mode (${PROFILE:-dev} profile): $PLUGIN_MANIFEST ($(grep -c '^\[\[package\]\]' "$plugin_lock") packages in its Cargo.lock)"
  "$PP" plugpack build "${flags[@]}" -q >/dev/null   # writes the build record (not timed)
  compiled=$("$PP" plugpack audit --no-build "${flags[@]}" --db "$DB" --format json | python3 -c \
    'import json,sys; r=json.load(sys.stdin); print(r.get("packages_scanned", r.get("crates", "?")))' 2>/dev/null || echo "?")
  echo "crates in the plugin's exact set: $compiled"
  echo "plugpack audit --no-build            $(mean_ms "$PP" plugpack audit --no-build "${flags[@]}" --db "$DB" --format json)"
  echo "plugpack audit (no-op build)         $(mean_ms "$PP" plugpack audit "${flags[@]}" --db "$DB" --format json)"
  echo "cargo audit --no-fetch               $(mean_ms cargo-audit audit --no-fetch --stale --json --db "$DB" --file "$plugin_lock")"
  echo "cargo audit --no-fetch --no-yanked   $(mean_ms cargo-audit audit --no-fetch --stale --no-yanked --json --db "$DB" --file "$plugin_lock")"
fi
