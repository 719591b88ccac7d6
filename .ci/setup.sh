#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine (idempotent). Every step fails loudly:
# a failed install stops the script with its error, it never prints "done" after one.
#
#  1. Debian packages (.ci/apt-packages.txt) through .ci/setup-apt.sh (root or sudo).
#  2. Python tools (.ci/requirements.txt) into a virtual environment, never into the system
#     Python (stock Debian/Ubuntu refuse that: PEP 668 "externally-managed-environment"):
#     $PLUGPACK_VENV, default ~/.cache/plugpack/venv. .ci/test puts its bin/ first on PATH.
#  3. The wasm targets pinned in rust-toolchain.toml, and the nightly toolchain the
#     unit-graph ground-truth test compares against (test-only).
#  4. cargo-audit (interop) and cargo-fuzz, built once into ~/.cargo/bin (a cache CI may keep).
#  5. The fixture crates' dependencies (crates.io is the only network the tests use).
#  6. The tough TUF client of the interop test, built once into ~/.cache/plugpack/tough-target.
#  7. The wasmtime component host of the interop test, built once into
#     ~/.cache/plugpack/wasmtime-host-target.
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
step "rust targets (rust-toolchain.toml) and the test-only nightly toolchain"
rustup show active-toolchain >/dev/null
rustup target add wasm32-wasip1 wasm32-wasip2 wasm32-unknown-unknown >/dev/null
# Nightly cargo, test-only: its `--unit-graph` is the ground truth of the dependency-set
# interop tests (plugpack-core/tests/depset_classes.rs; PLUGPACK_NIGHTLY names another one).
if ! rustup run "${PLUGPACK_NIGHTLY:-nightly}" cargo -V >/dev/null 2>&1; then
  step "installing the ${PLUGPACK_NIGHTLY:-nightly} toolchain (test-only)"
  rustup toolchain install "${PLUGPACK_NIGHTLY:-nightly}" --profile minimal >/dev/null
fi

# 4. cargo-audit: a one-time build of several minutes; cargo's own progress is shown.
if ! command -v cargo-audit >/dev/null 2>&1; then
  step "installing cargo-audit into ${CARGO_HOME:-$HOME/.cargo}/bin (one-time build, about 5-10 minutes on 2 cores; cargo's progress follows)"
  cargo install cargo-audit --locked
fi

# 4b. cargo-fuzz for the bounded fuzzing run of .ci/run (docs/fuzzing.md).
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  step "installing cargo-fuzz into ${CARGO_HOME:-$HOME/.cargo}/bin (one-time build)"
  cargo install cargo-fuzz --locked
fi

# 4c. wasm-tools for the component interop tests (docs/components.md): only its `component`
# subcommands (wit, semver-check): about 4 CPU-minutes with `--features component` instead
# of all default features. The version matches the wasmparser/wit-parser plugpack uses.
if ! wasm-tools --version 2>/dev/null | grep -q '^wasm-tools 1\.263\.'; then
  step "installing wasm-tools 1.263 (component subcommands) into ${CARGO_HOME:-$HOME/.cargo}/bin (one-time build)"
  cargo install wasm-tools@1.263.0 --locked --no-default-features --features component
fi

# 5. Fixture crates' dependencies. The bench plugin's crates too: the dependency-set interop
# test reads its metadata and unit graph (it is never built by CI).
step "fetching the fixture crates' dependencies"
for m in tests/fixtures/*/Cargo.toml bench/fixtures/big-plugin/Cargo.toml; do
  cargo fetch --locked --manifest-path "$m" >/dev/null
done

# 6. The tough interop client (cargo-plugpack/tests/e2e/tuf_tough.rs): awslabs' TUF client in
# a crate of its own workspace, so its aws-lc-sys (C, built with cc; no cmake needed) and
# tokio stay out of the main build. Built once (a few minutes on 2 cores), then a no-op.
tough_target="$HOME/.cache/plugpack/tough-target"
step "building the tough interop client into $tough_target (first time: a few minutes)"
cargo build --release --locked --quiet --manifest-path tests/interop/tough-client/Cargo.toml \
  --target-dir "$tough_target"
# 7. The wasmtime test host (cargo-plugpack/tests/e2e/component_host.rs): wasmtime with only
# component-model + cranelift, wasmtime-wasi (WASI 0.2) and plugpack-core's guard, in a crate
# of its own workspace so none of it enters the main build. Built once, then a no-op.
wasmtime_host_target="$HOME/.cache/plugpack/wasmtime-host-target"
step "building the wasmtime test host into $wasmtime_host_target (first time: about 10 minutes)"
cargo build --release --locked --quiet --manifest-path tests/interop/wasmtime-host/Cargo.toml \
  --target-dir "$wasmtime_host_target"
if [ -x .ci/setup-extra.sh ]; then .ci/setup-extra.sh; fi
step "done (Python tools: $venv/bin)"
