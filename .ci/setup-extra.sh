#!/usr/bin/env bash
# Extra test tools that are not Debian/pip packages (called by .ci/setup.sh; idempotent).
set -euo pipefail

# cargo-audit: the `cargo audit bin` interop test of the embedded dependency list (issue 4).
# A one-time build of several minutes; skipped when already on PATH.
if ! command -v cargo-audit >/dev/null 2>&1; then
  echo "setup: installing cargo-audit 0.22.2 (one-time build)"
  cargo install cargo-audit --locked --version 0.22.2 --quiet
fi
