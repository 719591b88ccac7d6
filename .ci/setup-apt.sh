#!/usr/bin/env bash
# Installs the Debian packages the tests need (.ci/apt-packages.txt). Needs root: run it as
# root or through sudo (GitHub's runner: `sudo bash .ci/setup-apt.sh`); `.ci/setup.sh` calls it
# (with sudo when not root) only when a package is missing. Fails loudly: any apt error stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t apt_pkgs < <(grep -v '^\s*#' .ci/apt-packages.txt | grep -v '^\s*$')
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-apt: missing Debian packages: ${missing[*]}; run: sudo bash .ci/setup-apt.sh" >&2
  exit 1
fi
echo "setup: installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
