#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine (idempotent; root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

mapfile -t apt_pkgs < <(grep -v '^\s*#' .ci/apt-packages.txt | grep -v '^\s*$')
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if grep -qv '^\s*\(#\|$\)' .ci/requirements.txt; then
  python3 -m pip install -q --disable-pip-version-check -r .ci/requirements.txt 2>&1 | grep -v "Running pip as the 'root' user" || true
fi

# rust-toolchain.toml pins the wasm targets; make sure they are present.
rustup target add wasm32-wasip1 wasm32-unknown-unknown >/dev/null 2>&1 || true
# Nightly cargo, test-only: its `--unit-graph` is the ground truth of the dependency-set
# interop tests (plugpack-core/tests/depset_classes.rs; PLUGPACK_NIGHTLY names another one).
if ! rustup run "${PLUGPACK_NIGHTLY:-nightly}" cargo -V >/dev/null 2>&1; then
  echo "setup: installing the ${PLUGPACK_NIGHTLY:-nightly} toolchain (test-only)"
  rustup toolchain install "${PLUGPACK_NIGHTLY:-nightly}" --profile minimal >/dev/null
fi
# cargo-audit for the audit interop test (issue 5). Built once (about 9 minutes on 2 busy
# cores, measured 2026-11-23), then skipped while it is on PATH.
if ! command -v cargo-audit >/dev/null 2>&1; then
  echo "setup: installing cargo-audit (one-time build)"
  cargo install cargo-audit --locked --quiet
fi
# Fixture crates' dependencies (crates.io is the only network the tests use, via cargo).
# The bench plugin's crates too: the dependency-set interop test reads its metadata and unit
# graph (it is never built by CI).
for m in tests/fixtures/*/Cargo.toml bench/fixtures/big-plugin/Cargo.toml; do
  cargo fetch --locked --manifest-path "$m" >/dev/null
done
if [ -x .ci/setup-extra.sh ]; then .ci/setup-extra.sh; fi
echo "setup: done"
