#!/usr/bin/env bash
# The shell half of the composite action (action.yml). Inputs arrive only as environment
# variables; each becomes separate arguments, never evaluated:
#   PLUGPACK_COMMAND  one subcommand name ([a-z][a-z-]*)
#   PLUGPACK_ARGS     split on spaces/tabs/newlines; when it contains a newline, each
#                     non-empty line is one argument (spaces kept). No quotes, globbing or
#                     expansion of any kind.
#   PLUGPACK_PUSH     REGISTRY/REPO[:TAG] (release: --push; package: `push` per bundle)
#   PLUGPACK_SARIF    "true": audit writes SARIF for upload (audit: --format sarif -o FILE)
#   PLUGPACK_SUMMARY  "false": no job summary
#   PLUGPACK_VERSION  (install) crates.io version, empty = build from the action's checkout
set -euo pipefail
set -f # no globbing anywhere

die() {
  echo "::error title=plugpack action::$1"
  exit 2
}

install() {
  if [ -n "${PLUGPACK_VERSION:-}" ]; then
    [[ "$PLUGPACK_VERSION" =~ ^[0-9A-Za-z.+-]+$ ]] || die "version must be a version number"
    cargo install --locked cargo-plugpack --version "$PLUGPACK_VERSION"
  else
    cargo install --locked --path "$GITHUB_ACTION_PATH/cargo-plugpack"
  fi
}

# Splits PLUGPACK_ARGS into the array ARGS by the documented rule.
split_args() {
  ARGS=()
  local value="${PLUGPACK_ARGS:-}" line
  if [[ "$value" == *$'\n'* ]]; then
    while IFS= read -r line || [ -n "$line" ]; do
      line="${line%$'\r'}"
      if [ -n "$line" ]; then ARGS+=("$line"); fi
    done <<<"$value"
  else
    IFS=$' \t' read -r -a ARGS <<<"$value" || true
  fi
}

output() { # name value: one multi-line output with a random delimiter
  local delim
  delim="ghadelimiter_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  [[ "$2" != *"$delim"* ]] || die "output delimiter collision"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delim" "$2" "$delim" >>"$GITHUB_OUTPUT"
}

has_arg() {
  local a
  for a in "${ARGS[@]}"; do
    [ "$a" = "$1" ] && return 0
  done
  return 1
}

run() {
  local command="${PLUGPACK_COMMAND:-release}"
  [[ "$command" =~ ^[a-z][a-z-]*$ ]] || die "command must be a cargo plugpack subcommand name"
  split_args
  export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
  if [ "${PLUGPACK_SUMMARY:-true}" != "true" ]; then
    export GITHUB_STEP_SUMMARY=""
  fi
  if [ -z "${PLUGPACK_SIGNING_KEY:-}" ]; then unset PLUGPACK_SIGNING_KEY; fi
  local sarif=""
  local extra=()
  case "$command" in
    audit)
      if [ "${PLUGPACK_SARIF:-true}" = "true" ] && ! has_arg --format && ! has_arg --message-format; then
        sarif="${RUNNER_TEMP:-/tmp}/plugpack-audit.sarif"
        extra+=(--format sarif -o "$sarif")
      fi
      ;;
    release)
      if [ -n "${PLUGPACK_PUSH:-}" ]; then extra+=(--push "$PLUGPACK_PUSH"); fi
      ;;
  esac
  local rc=0
  cargo plugpack "$command" "${ARGS[@]}" "${extra[@]}" || rc=$?
  if [ "$command" = release ] && [ "${PLUGPACK_SARIF:-true}" = "true" ]; then
    # The release directory's audit report (see docs/release.md), if the release wrote one.
    local dir
    for dir in target/plugpack/release; do
      if [ -f "$dir/audit.sarif" ]; then sarif="$dir/audit.sarif"; fi
    done
  fi
  if [ "$command" = package ] && [ -n "${PLUGPACK_PUSH:-}" ] && [ "$rc" = 0 ]; then
    local bundle pushed=""
    while IFS= read -r bundle; do
      if [ -z "$bundle" ]; then continue; fi
      cargo plugpack push "$bundle" "$PLUGPACK_PUSH" || { rc=$?; break; }
      pushed+="$PLUGPACK_PUSH"$'\n'
    done < <(sed -n '/^bundles<<\(ghadelimiter_[0-9a-f]*\)$/,/^ghadelimiter_/{/^bundles<</d;/^ghadelimiter_/d;p}' "$GITHUB_OUTPUT")
    output pushed "${pushed%$'\n'}"
  fi
  if [ -n "$sarif" ] && [ -f "$sarif" ]; then
    output sarif-file "$sarif"
  fi
  output exit-code "$rc"
}

case "${1:-}" in
  install) install ;;
  run) run ;;
  *) die "usage: run.sh install|run" ;;
esac
