#!/usr/bin/env bash
# Benchmark of issue 12 "Speed" (not a test; never run by CI): every row of the issue's table,
# each next to its peers in the same run, on the same input, interleaved run by run (ours,
# then each peer) so that load from other processes hits both sides alike. Prints the table
# with the median wall time and the largest peak RSS (`/usr/bin/time -f %M`) over the runs.
#
#   bench/all.sh ADVISORY_DB [RUNS]          (default RUNS: 5; SIZE_MIB=1024 for the big rows)
#   ROWS="big small lockfile" bench/all.sh … (a subset; `big` covers `package` and `verify`)
#   PLUGPACK=/path/to/cargo-plugpack bench/all.sh …   (measure that binary, e.g. an older build)
#   BASELINE=/path/to/older/cargo-plugpack bench/all.sh …  (also run that binary, interleaved
#            with the current one in every row, and print its medians as "before")
#
# Rows:
#  big:      `package --artifact` of a SIZE_MIB real ELF (the release build of the cdylib-plugin
#            fixture, padded with a non-loaded `.plugpack_bench_pad` section by
#            `objcopy --add-section`, so it stays a valid ELF the fingerprint stage accepts)
#            vs `openssl dgst -sha256` and `tar cf` of the same file; then `verify` of the
#            signed bundle vs `openssl dgst -sha256` of the bundle.
#  small:    `package` of an up-to-date small cdylib with full DWARF (bench/fixtures/regex-capi,
#            a C API over regex, release profile `debug = true`) vs `cargo cyclonedx` plus
#            `cargo audit --no-fetch --no-yanked` on its Cargo.lock (the sum per run): each
#            binary started directly, then each as typed through `cargo` (second row).
#  lockfile: `audit --lockfile` on bench/fixtures/big-plugin/Cargo.lock vs
#            `cargo audit --no-fetch --no-yanked`.
# Needs: GNU time, openssl, objcopy, cargo-audit; cargo-cyclonedx for the small row (skipped
# with a note when missing). Work files go to target/bench-all (about 3 × SIZE_MIB of disk at
# the peak; the big files are removed at the end unless KEEP_BIG=1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
DB=$(realpath "${1:?usage: bench/all.sh ADVISORY_DB [RUNS]}")
RUNS=${2:-5}
SIZE_MIB=${SIZE_MIB:-1024}
ROWS=${ROWS:-big small lockfile}
for tool in /usr/bin/time openssl objcopy cargo-audit; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 2; }
done
if [ -z "${PLUGPACK:-}" ]; then
  cargo build --release --locked -q -p cargo-plugpack
fi
pp=$(realpath "${PLUGPACK:-target/release/cargo-plugpack}")
base_pp=${BASELINE:+$(realpath "$BASELINE")}
work=$root/target/bench-all
mkdir -p "$work"
samples=$work/samples
rm -rf "$samples"
mkdir -p "$samples"
export SOURCE_DATE_EPOCH=1700000000 CARGO_TERM_COLOR=never

# run LABEL COMMAND… — one timed run; appends "seconds kib" to $samples/LABEL.
run() {
  local label=$1; shift
  local t0 t1 kib
  t0=$(date +%s%N)
  if ! /usr/bin/time -f '%M' -o "$work/time" "$@" >/dev/null 2>"$work/err"; then
    echo "bench: '$label' failed: $*" >&2
    cat "$work/err" >&2
    exit 1
  fi
  t1=$(date +%s%N)
  kib=$(tail -1 "$work/time")
  echo "$(( (t1 - t0) / 1000 )) $kib" >> "$samples/$label"
}
# median LABEL → seconds (3 decimals); peak LABEL → largest peak RSS in MiB.
median() { sort -n "$samples/$1" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.3f", m / 1e6}'; }
peak() { awk 'BEGIN {m = 0} $2 > m {m = $2} END {printf "%.0f", m / 1024}' "$samples/$1"; }
# sum_median A B → median over runs of A[i] + B[i] (peers run one after the other).
sum_median() { paste -d' ' "$samples/$1" "$samples/$2" | awk '{print $1 + $3}' | sort -n |
  awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.3f", m / 1e6}'; }
# before LABEL → " (before: X s, Y MiB)" when a baseline ran.
before() { [ -f "$samples/$1-before" ] && printf ' (before: %s s, %s MiB)' "$(median "$1-before")" "$(peak "$1-before")"; true; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

rows=()
notes=()
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

if [[ " $ROWS " == *" big "* ]]; then
  fixture=tests/fixtures/cdylib-plugin
  cargo build -q --release --offline --locked --manifest-path "$fixture/Cargo.toml" \
    --target-dir "$work/cdylib-target"
  base=$work/cdylib-target/release/libcdylib_plugin.so
  art=$work/big/libcdylib_plugin.so
  mkdir -p "$work/big"
  # Reused when within 1 MiB of the size (objcopy's alignment moves it by a few bytes).
  if [ ! -f "$art" ] || [ "$(stat -c %s "$art")" -lt $(((SIZE_MIB - 1) * 1048576)) ] ||
     [ "$(stat -c %s "$art")" -gt $(((SIZE_MIB + 1) * 1048576)) ]; then
    pad=$((SIZE_MIB * 1048576 - $(stat -c %s "$base")))
    head -c "$pad" /dev/urandom > "$work/big/pad"
    objcopy --add-section .plugpack_bench_pad="$work/big/pad" \
      --set-section-flags .plugpack_bench_pad=contents,readonly "$base" "$art"
    rm -f "$work/big/pad"
  fi
  rm -rf "$work/big/keys"
  "$pp" plugpack keygen -o "$work/big/keys/" >/dev/null 2>&1
  bundle=$work/big/b.oci.tar
  echo "big: $(stat -c %s "$art") bytes, ELF with a $(objdump -h "$art" | awk '$2 == ".plugpack_bench_pad" {print $3}')-byte (hex) pad section" >&2
  for i in $(seq "$RUNS"); do
    rm -f "$bundle"
    if [ -n "$base_pp" ]; then
      rm -f "$bundle"
      run package-big-before "$base_pp" plugpack package --manifest-path "$fixture/Cargo.toml" \
        --offline --artifact "$art" --db "$DB" --no-sign -o "$bundle"
      rm -f "$bundle"
    fi
    run package-big "$pp" plugpack package --manifest-path "$fixture/Cargo.toml" --offline \
      --artifact "$art" --db "$DB" --no-sign -o "$bundle"
    run openssl-art openssl dgst -sha256 "$art"
    run tar-art tar cf "$work/big/peer.tar" -C "$work/big" libcdylib_plugin.so
    rm -f "$work/big/peer.tar"
    echo "  big run $i/$RUNS done" >&2
  done
  "$pp" plugpack sign "$bundle" --key "$work/big/keys/signing.key" >/dev/null 2>&1
  for i in $(seq "$RUNS"); do
    run verify-big "$pp" plugpack verify "$bundle" --key "$work/big/keys/signing.pub"
    [ -n "$base_pp" ] && run verify-big-before "$base_pp" plugpack verify "$bundle" --key "$work/big/keys/signing.pub"
    run openssl-bundle openssl dgst -sha256 "$bundle"
  done
  o=$(median package-big); s=$(median openssl-art); t=$(median tar-art)
  goal=$(awk -v s="$s" 'BEGIN { printf "%.3f", 1.67 * s }')
  met=no; le "$o" "$goal" && met=yes
  rows+=("| \`package\` of a ${SIZE_MIB} MiB artifact (\`--artifact\`) | $o s, $(peak package-big) MiB$(before package-big) | \`openssl dgst -sha256\` $s s, \`tar cf\` $t s | $(ratio "$o" "$s") × openssl | ≤ 1.67 × openssl ($goal s), memory flat | $met |")
  v=$(median verify-big); vs=$(median openssl-bundle)
  # Throughput ratio: openssl's time over ours (≥ 0.9 means ours is at least 90 % as fast).
  thr=$(ratio "$vs" "$v")
  met=no; le 0.9 "$thr" && met=yes
  rows+=("| \`verify\` of the ${SIZE_MIB} MiB bundle | $v s, $(peak verify-big) MiB$(before verify-big) | \`openssl dgst -sha256\` $vs s | $thr × openssl throughput | ≥ 0.9 × openssl throughput | $met |")
  # Disk is often shared: the big files go unless KEEP_BIG=1 (they are rebuilt next time).
  rm -f "$bundle"
  [ "${KEEP_BIG:-0}" = 1 ] || rm -f "$art"
fi

if [[ " $ROWS " == *" small "* ]]; then
  src=$work/regex-capi
  rm -rf "$src"
  cp -r bench/fixtures/regex-capi "$src"
  export CARGO_TARGET_DIR=$work/regex-target
  manifest=$src/Cargo.toml
  # Warm up (not timed): the build, the debuginfo companion if any, cargo's caches.
  "$pp" plugpack package --manifest-path "$manifest" --offline --locked --db "$DB" \
    -o "$work/small.oci.tar" >/dev/null 2>"$work/small-warm.log" ||
    { cat "$work/small-warm.log" >&2; exit 1; }
  # Up to date means built a while ago: plugpack's digest cache trusts a file's entry only
  # when the file had not changed for 2 s when it was hashed (racy-git rule), so the artifact
  # settles, and one more untimed run records its digests, as a second `package` of the same
  # build minutes later would find them.
  sleep 2.1
  "$pp" plugpack package --manifest-path "$manifest" --offline --locked --db "$DB" \
    -o "$work/small.oci.tar" >/dev/null 2>>"$work/small-warm.log"
  have_cdx=no
  if command -v cargo-cyclonedx >/dev/null; then
    have_cdx=yes
    (cd "$src" && cargo-cyclonedx cyclonedx >/dev/null 2>&1)
  else
    notes+=("cargo-cyclonedx is not installed: the small row's peer is cargo audit alone.")
  fi
  for i in $(seq "$RUNS"); do
    run package-small "$pp" plugpack package --manifest-path "$manifest" --offline --locked \
      --db "$DB" -o "$work/small.oci.tar"
    if [ -n "$base_pp" ]; then
      run package-small-before "$base_pp" plugpack package --manifest-path "$manifest" --offline \
        --locked --db "$DB" -o "$work/small.oci.tar"
    fi
    if [ "$have_cdx" = yes ]; then
      run cyclonedx-small bash -c "cd '$src' && exec cargo-cyclonedx cyclonedx"
    fi
    run audit-small cargo-audit audit --no-fetch --no-yanked --db "$DB" --file "$src/Cargo.lock"
  done
  # The same work as users type it, through cargo (the rustup proxy, then cargo's dispatch to
  # the subcommand): `cargo plugpack package` against `cargo cyclonedx` + `cargo audit`. Under
  # cargo, `$CARGO` names the real cargo, so a subcommand's own cargo runs skip the proxy.
  mkdir -p "$work/bin"
  ln -sf "$pp" "$work/bin/cargo-plugpack"
  for i in $(seq "$RUNS"); do
    run package-small-cargo env PATH="$work/bin:$PATH" bash -c "cd '$src' && exec cargo plugpack package --offline --locked --db '$DB' -o '$work/small.oci.tar'"
    if [ "$have_cdx" = yes ]; then
      run cyclonedx-small-cargo bash -c "cd '$src' && exec cargo cyclonedx"
    fi
    run audit-small-cargo bash -c "cd '$src' && exec cargo audit --no-fetch --no-yanked --db '$DB' --file Cargo.lock"
  done
  unset CARGO_TARGET_DIR
  o=$(median package-small); a=$(median audit-small)
  if [ "$have_cdx" = yes ]; then
    c=$(median cyclonedx-small); both=$(sum_median cyclonedx-small audit-small)
    peers="\`cargo cyclonedx\` $c s + \`cargo audit --no-fetch --no-yanked\` $a s = $both s"
  else
    both=$a
    peers="\`cargo audit --no-fetch --no-yanked\` $a s (cargo-cyclonedx missing)"
  fi
  met=no; le "$o" "$both" && met=yes
  companion=no
  grep -q "debuginfo companion" "$work/small-warm.log" && companion=yes
  rows+=("| \`package\` of an up-to-date small cdylib (bench/fixtures/regex-capi, $(($(stat -c %s "$work/regex-target/release/libregex_capi_bench.so") / 1048576)) MiB with DWARF) | $o s, $(peak package-small) MiB$(before package-small) | $peers | $(ratio "$o" "$both") × peers | ≤ 1.0 × the peers together | $met |")
  notes+=("small row: the warm-up run built the debuginfo companion: $companion.")
  o=$(median package-small-cargo); a=$(median audit-small-cargo)
  if [ "$have_cdx" = yes ]; then
    c=$(median cyclonedx-small-cargo); both=$(sum_median cyclonedx-small-cargo audit-small-cargo)
    peers="\`cargo cyclonedx\` $c s + \`cargo audit --no-fetch --no-yanked\` $a s = $both s"
  else
    both=$a
    peers="\`cargo audit --no-fetch --no-yanked\` $a s (cargo-cyclonedx missing)"
  fi
  met=no; le "$o" "$both" && met=yes
  rows+=("| the same, as typed: \`cargo plugpack package\` (through rustup's \`cargo\`) | $o s, $(peak package-small-cargo) MiB | $peers, each through \`cargo\` | $(ratio "$o" "$both") × peers | ≤ 1.0 × the peers together | $met |")
fi

if [[ " $ROWS " == *" lockfile "* ]]; then
  lock=bench/fixtures/big-plugin/Cargo.lock
  n=$(grep -c '^\[\[package\]\]' "$lock")
  # Warm the page cache for both.
  "$pp" plugpack audit --lockfile "$lock" --db "$DB" >/dev/null 2>&1 || true
  cargo-audit audit --no-fetch --no-yanked --db "$DB" --file "$lock" >/dev/null 2>&1 || true
  for i in $(seq $((RUNS * 4))); do
    # Both exit 1 when the lockfile has findings: that is a result, not a failure.
    run audit-lock bash -c "'$pp' plugpack audit --lockfile '$lock' --db '$DB' >/dev/null || [ \$? = 1 ]"
    if [ -n "$base_pp" ]; then
      run audit-lock-before bash -c "'$base_pp' plugpack audit --lockfile '$lock' --db '$DB' >/dev/null || [ \$? = 1 ]"
    fi
    run cargo-audit-lock bash -c "cargo-audit audit --no-fetch --no-yanked --db '$DB' --file '$lock' >/dev/null || [ \$? = 1 ]"
  done
  o=$(median audit-lock); p=$(median cargo-audit-lock)
  met=no; le "$o" "$p" && met=yes
  rows+=("| \`audit --lockfile\` ($n-package lockfile) | $o s, $(peak audit-lock) MiB$(before audit-lock) | \`cargo audit --no-fetch --no-yanked\` $p s, $(peak cargo-audit-lock) MiB | $(ratio "$o" "$p") × | ≤ 1.0 × | $met |")
fi

echo
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD) with $pp"
echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "Runs: $RUNS per row ($((RUNS * 4)) for the lockfile row); median wall time, largest peak RSS"
echo
echo "| work | plugpack (median, peak RSS) | peers in the same run (median) | ratio | goal | met |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
for n in "${notes[@]}"; do echo; echo "Note: $n"; done
