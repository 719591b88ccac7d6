#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 30 s each, two at a time on two cores):
#   bash fuzz/run.sh [SECONDS] [TARGET…]
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz --locked`). Seeds come from
# fuzz/seeds.sh. A crash or a timeout fails the run; the reproducer is in fuzz/artifacts/<target>/
# and must become a regression test (cargo-plugpack/tests or plugpack-core/tests).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}; shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
[ -d fuzz/corpus ] || bash fuzz/seeds.sh
# The fuzz build (nightly, sanitizers) keeps its own target dir outside the checkout, so a fresh
# clone (CI) reuses the compiled dependencies.
tdir=${PLUGPACK_FUZZ_TARGET_DIR:-$HOME/.cache/plugpack/fuzz-target}
cargo +nightly fuzz build -O --target-dir "$tdir"
logs=$(mktemp -d)
status=0
run_one() {
  local t=$1
  mkdir -p "fuzz/corpus/$t"
  if cargo +nightly fuzz run -O --target-dir "$tdir" "$t" "fuzz/corpus/$t" -- -max_total_time="$secs" -timeout=10 \
      -rss_limit_mb=2048 -max_len=1048576 >"$logs/$t.log" 2>&1; then
    # libFuzzer's last line: "Done N runs in S second(s)" (a "#N" may also stand in the
    # recommended dictionary it prints before it).
    echo "fuzz: $t: ok ($(grep -Eo '^Done [0-9]+ runs' "$logs/$t.log" | tail -n 1 | tr -dc '0-9') runs in ${secs}s)"
  else
    echo "fuzz: $t: FAILED"; tail -n 40 "$logs/$t.log"; return 1
  fi
}
i=0; pids=()
for t in "${targets[@]}"; do
  run_one "$t" & pids+=($!)
  i=$((i + 1))
  if [ $((i % 2)) -eq 0 ]; then
    for p in "${pids[@]}"; do wait "$p" || status=1; done; pids=()
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
rm -rf "$logs"
exit $status
