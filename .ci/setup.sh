#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine (idempotent). Every step fails loudly:
# a failed install stops the script with its error, it never prints "done" after one.
#
#  1. Debian packages (.ci/apt-packages.txt) through .ci/setup-apt.sh (root or sudo).
#  2. Python tools (.ci/requirements.txt) into a virtual environment, never into the system
#     Python (stock Debian/Ubuntu refuse that: PEP 668 "externally-managed-environment"):
#     $PLUGPACK_VENV, default ~/.cache/plugpack/venv. .ci/test puts its bin/ first on PATH.
#  3. The wasm targets pinned in rust-toolchain.toml (and a check that the nightly toolchain
#     the unit-graph ground-truth test compares against is there).
#  4. cargo-audit (interop), built once into ~/.cargo/bin (a cache CI may keep).
#  5. The fixture crates' dependencies (crates.io is the only network the tests use).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "setup: $*"; }

# 1. Debian packages.
if [ "$(id -u)" = 0 ]; then
  bash .ci/setup-apt.sh
elif ! bash .ci/setup-apt.sh 2>/dev/null; then
  sudo bash .ci/setup-apt.sh
fi

# 2. Python tools in a virtual environment.
venv="${PLUGPACK_VENV:-$HOME/.cache/plugpack/venv}"
stamp="$venv/.plugpack-requirements"
if [ ! -x "$venv/bin/python3" ]; then
  step "creating the Python virtual environment $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
if ! cmp -s .ci/requirements.txt "$stamp"; then
  step "installing Python packages (.ci/requirements.txt) into $venv"
  "$venv/bin/python3" -m pip install --disable-pip-version-check -q -r .ci/requirements.txt
  cp .ci/requirements.txt "$stamp"
fi

# 3. Toolchains and targets.
step "rust targets (rust-toolchain.toml) and nightly"
rustup show active-toolchain >/dev/null
rustup target add wasm32-wasip1 wasm32-unknown-unknown >/dev/null
# Nightly comes with the machine (no toolchain can be downloaded here); say so early.
rustup toolchain list | grep -q '^nightly' || echo "setup: warning: no nightly toolchain; the unit-graph test needs \`cargo +nightly\`" >&2

# 4. cargo-audit: a one-time build of several minutes; cargo's own progress is shown.
if ! command -v cargo-audit >/dev/null 2>&1; then
  step "installing cargo-audit into ${CARGO_HOME:-$HOME/.cargo}/bin (one-time build, about 5-10 minutes on 2 cores; cargo's progress follows)"
  cargo install cargo-audit --locked
fi

# 5. Fixture crates' dependencies.
step "fetching the fixture crates' dependencies"
for m in tests/fixtures/*/Cargo.toml; do
  cargo fetch --locked --manifest-path "$m" >/dev/null
done
if [ -x .ci/setup-extra.sh ]; then .ci/setup-extra.sh; fi
step "done (Python tools: $venv/bin)"
