#!/usr/bin/env bash
# Benchmark for issue 5: `plugpack audit --lockfile` next to `cargo audit --no-fetch`
# (with and without --no-yanked) on one real lockfile and one full advisory database.
# Usage: bench/audit.sh ADVISORY_DB LOCKFILE [RUNS]   (needs cargo-audit on PATH)
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
