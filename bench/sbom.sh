#!/usr/bin/env bash
# Benchmark (issue 4 "Performance"): `cargo plugpack sbom` next to `cargo cyclonedx` on a
# plugin with a realistic dependency tree (bench/fixtures/big-plugin: 200+ packages in its
# committed Cargo.lock). Not a test and never run by CI (.ci/run).
#
#   bash bench/sbom.sh            (RUNS=10 by default; RUNS=N to change)
#   PROFILE=release bash bench/sbom.sh   (build the plugin with --release: a smaller artifact,
#                                         no debuginfo, less to hash and rewrite)
#
# It installs cargo-cyclonedx (pinned) into target/bench-tools — here only, never in CI —,
# fetches and builds the fixture once, so that every timed `plugpack sbom` is what a user
# sees after a build: a no-op `cargo build`, the SBOM from the build's data, the
# embedded dependency list (objcopy of the artifact) and the artifact's SHA-256. Then it
# times, with hyperfine if installed (else a loop with GNU time):
#   - cargo build (no-op)            the floor our step cannot go under (it calls cargo build)
#   - plugpack sbom                  the full step, default options
#   - plugpack sbom --no-build       the SBOM step alone: the artifacts of the last build, read
#                                    from its build record (no cargo run at all)
#   - plugpack sbom --no-embed-deps  without rewriting the artifact
#   - cargo cyclonedx --format json  (host target, its default)
#   - cargo cyclonedx --target all   (the mode issue 4 quotes for over-reporting)
# and prints component counts of each SBOM with the crates only theirs lists.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
PROFILE=${PROFILE:-dev}
case "$PROFILE" in dev) prof=() ;; release) prof=(--release) ;; *) echo "PROFILE must be dev or release" >&2; exit 2 ;; esac
CYCLONEDX_VERSION=0.5.9
manifest=bench/fixtures/big-plugin/Cargo.toml
fixture_dir=$(dirname "$manifest")
target_dir=$PWD/target/bench-big-plugin
tools=$PWD/target/bench-tools
work=$(mktemp -d)
trap 'rm -rf "$work" "$fixture_dir"/*.cdx.json' EXIT

cargo build --release --locked -p cargo-plugpack -q
plugpack="$PWD/target/release/cargo-plugpack plugpack"
if [ ! -x "$tools/bin/cargo-cyclonedx" ] || ! "$tools/bin/cargo-cyclonedx" cyclonedx --version 2>/dev/null | grep -q "$CYCLONEDX_VERSION"; then
  echo "bench: installing cargo-cyclonedx $CYCLONEDX_VERSION into $tools"
  cargo install --locked --quiet --root "$tools" cargo-cyclonedx --version "$CYCLONEDX_VERSION"
fi
cyclonedx="$tools/bin/cargo-cyclonedx cyclonedx"

echo "bench: fetching and building $manifest once (not timed)"
cargo fetch --locked --manifest-path "$manifest" -q
export CARGO_TARGET_DIR=$target_dir SOURCE_DATE_EPOCH=1704164645
$plugpack sbom --manifest-path "$manifest" "${prof[@]}" --locked --offline -o "$work/ours.cdx.json" -q >/dev/null
$cyclonedx --manifest-path "$manifest" --format json -q
mv "$fixture_dir/big-plugin.cdx.json" "$work/theirs-host.cdx.json"
$cyclonedx --manifest-path "$manifest" --format json --target all -q
mv "$fixture_dir/big-plugin.cdx.json" "$work/theirs-all.cdx.json"
# What cargo really compiles for this build (independent of plugpack), to check both lists.
cargo build --manifest-path "$manifest" "${prof[@]}" --locked --offline -q --message-format json > "$work/build.jsonl"

lock_packages=$(grep -c '^name = ' "$fixture_dir/Cargo.lock")
echo
echo "## $manifest: $lock_packages packages in Cargo.lock; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
artifact=$target_dir/plugpack/embedded/$(rustc -vV | sed -n 's/^host: //p')/libbig_plugin.so
echo "## $(rustc --version); profile $PROFILE (embedded artifact $(($(stat -c %s "$artifact") / 1024 / 1024)) MiB); cargo-cyclonedx $CYCLONEDX_VERSION; $RUNS runs each"
echo

names=("cargo build (no-op)" "plugpack sbom" "plugpack sbom --no-build" "plugpack sbom --no-embed-deps" "cargo cyclonedx --format json" "cargo cyclonedx --format json --target all")
cmds=(
  "cargo build --manifest-path $manifest ${prof[*]} --locked --offline -q"
  "$plugpack sbom --manifest-path $manifest ${prof[*]} --locked --offline -o $work/ours.cdx.json -q"
  "$plugpack sbom --manifest-path $manifest ${prof[*]} --locked --offline --no-build -o $work/ours-recorded.cdx.json -q"
  "$plugpack sbom --manifest-path $manifest ${prof[*]} --locked --offline --no-embed-deps -o $work/ours-plain.cdx.json -q"
  "$cyclonedx --manifest-path $manifest --format json -q"
  "$cyclonedx --manifest-path $manifest --format json --target all -q"
)
if command -v hyperfine >/dev/null; then
  args=()
  for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  hyperfine --style basic --warmup 1 --runs "$RUNS" --export-markdown "$work/times.md" "${args[@]}" >&2
  cat "$work/times.md"
else
  command -v /usr/bin/time >/dev/null || { echo "needs hyperfine or GNU time" >&2; exit 2; }
  echo "| Command | mean wall [s] over $RUNS runs |"
  echo "|:---|---:|"
  for i in "${!names[@]}"; do
    total=0
    for _ in $(seq "$RUNS"); do
      /usr/bin/time -f "%e" -o "$work/t" ${cmds[$i]} >/dev/null 2>&1
      total=$(echo "$total + $(cat "$work/t")" | bc -l)
    done
    printf '| `%s` | %.3f |\n' "${names[$i]}" "$(echo "$total / $RUNS" | bc -l)"
  done
fi

echo
# The timed runs ran in this order, so the recorded build is the embedded one of `plugpack sbom`.
if cmp -s "$work/ours.cdx.json" "$work/ours-recorded.cdx.json"; then
  echo "plugpack sbom --no-build wrote the same bytes as plugpack sbom."
else
  echo "plugpack sbom --no-build DIFFERS from plugpack sbom."
fi
echo
python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
def comps(path):
    doc = json.load(open(f"{work}/{path}"))
    out = set()
    def walk(cs):
        for c in cs:
            out.add((c["name"], c.get("version", "")))
            walk(c.get("components", []))
    walk(doc.get("components", []))
    return doc, out
ours_doc, ours = comps("ours.cdx.json")
compiled = set()
for line in open(f"{work}/build.jsonl"):
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact":
        continue
    url, frag = m["package_id"].split("#", 1)
    name, ver = frag.rsplit("@", 1) if "@" in frag else (url.rstrip("/").rsplit("/", 1)[-1], frag)
    if name != "big-plugin":
        compiled.add((name, ver))
print(f"cargo build compiled {len(compiled)} packages besides the plugin; "
      f"plugpack's list {'equals' if compiled == ours else 'DIFFERS FROM'} that set.\n")
scopes = {}
for c in ours_doc["components"]:
    scopes[c.get("scope", "required")] = scopes.get(c.get("scope", "required"), 0) + 1
print(f"| SBOM | components |")
print(f"|:---|---:|")
print(f"| plugpack sbom (x86_64-unknown-linux-gnu) | {len(ours)} ({', '.join(f'{v} {k}' for k, v in sorted(scopes.items()))}) |")
for label, path in [("cargo cyclonedx (host)", "theirs-host.cdx.json"), ("cargo cyclonedx --target all", "theirs-all.cdx.json")]:
    _, theirs = comps(path)
    extra = sorted(theirs - compiled)
    missing = sorted(compiled - theirs)
    print(f"| {label} | {len(theirs)} ({len(extra)} not compiled for this artifact, {len(missing)} compiled but missing) |")
    if extra:
        print(f"\n{label}, listed but never compiled: " + ", ".join(f"{n} {v}" for n, v in extra))
    if missing:
        print(f"\n{label}, compiled but not listed: " + ", ".join(f"{n} {v}" for n, v in missing))
    print()
EOF
