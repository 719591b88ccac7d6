#!/usr/bin/env bash
# A scripted first run, as a new user on a fresh machine meets plugpack (issue 10): a fresh
# clone, an empty HOME and CARGO_HOME (no advisory database, no trust state, no Python
# packages on PATH), then the README's first command exactly as the README writes it.
# It must package the example and say plainly that advisories were not checked; `db update`
# (pointed at a local git copy of the test database: no network) is the documented next step,
# after which the same command reports a checked audit.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
fail() { echo "first-run: FAILED: $*" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
real_cargo_home=${CARGO_HOME:-$HOME/.cargo}
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}

# A fresh clone; the workspace's compiled dependencies are reused when present (speed only).
git clone -q "$repo" "$tmp/plugpack"
if [ -d "$repo/target/debug" ]; then
  mkdir -p "$tmp/plugpack/target"
  cp -a --reflink=auto "$repo/target/debug" "$tmp/plugpack/target/debug"
fi

# Fresh user: empty home and cargo home (crates already downloaded stay reachable, so this
# script needs no network), no state dir, no venv on PATH.
mkdir -p "$tmp/home" "$tmp/cargo-home"
for d in registry git; do
  [ -e "$real_cargo_home/$d" ] && ln -s "$real_cargo_home/$d" "$tmp/cargo-home/$d"
done
user_env=(env -i "HOME=$tmp/home" "CARGO_HOME=$tmp/cargo-home" "RUSTUP_HOME=$RUSTUP_HOME"
  "PATH=$real_cargo_home/bin:/usr/local/bin:/usr/bin:/bin" "TERM=dumb" "LANG=C.UTF-8")

# The README's first command, as written there.
first=$(sed -n '/^## Two commands on a fresh machine/,/^```$/p' README.md | grep -m1 '^cargo run ')
[ -n "$first" ] || fail "README has no first command under 'Two commands on a fresh machine'"
echo "first-run: \$ $first"
cd "$tmp/plugpack"
if ! "${user_env[@]}" bash -c "$first" >"$tmp/out" 2>"$tmp/err"; then
  cat "$tmp/err" >&2; fail "the README's first command failed"
fi
bundle=$(tail -n 1 "$tmp/out")
[ -f "$bundle" ] || fail "the first command did not print a bundle path (got: $bundle)"
grep -qi "not checked" "$tmp/err" || { cat "$tmp/err" >&2; fail "no plain 'not checked' warning without a database"; }
grep -q "db update" "$tmp/err" || fail "the warning does not name 'db update' as the next step"
pp() { "${user_env[@]}" "$tmp/plugpack/target/debug/cargo-plugpack" plugpack "$@"; }
pp inspect "$bundle" >"$tmp/inspect" || fail "inspect of the first bundle failed"
grep -q "dev.plugpack.audit.verdict.*unchecked" "$tmp/inspect" || { cat "$tmp/inspect"; fail "the bundle does not say the audit was unchecked"; }
set +e; pp db status >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 3 ] || fail "db status without a database exited $rc, expected 3"

# The documented next step, against a local git copy of the test database.
cp -r "$repo/tests/data/advisory-db" "$tmp/advisory-db-src"
git -C "$tmp/advisory-db-src" init -q
git -C "$tmp/advisory-db-src" add -A
git -C "$tmp/advisory-db-src" -c user.name=ci -c user.email=ci@localhost commit -qm snapshot
pp db update --url "$tmp/advisory-db-src" >/dev/null || fail "db update from a local git copy failed"
pp db status >/dev/null || fail "db status after db update failed"
"${user_env[@]}" bash -c "$first" >"$tmp/out2" 2>"$tmp/err2" || { cat "$tmp/err2" >&2; fail "second package run failed"; }
if grep -qi "not checked" "$tmp/err2"; then cat "$tmp/err2" >&2; fail "still 'not checked' after db update"; fi
pp inspect "$(tail -n 1 "$tmp/out2")" >"$tmp/inspect2"
grep -q "dev.plugpack.audit.verdict.*unchecked" "$tmp/inspect2" && fail "verdict still unchecked after db update"
echo "first-run: ok (packaged without a database: unchecked and said so; db update; packaged checked)"
