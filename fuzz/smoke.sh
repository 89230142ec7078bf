#!/usr/bin/env bash
# Fuzz smoke test (issue 11): builds the fuzz crate and runs every target of
# `cargo fuzz list` for FUZZ_SECONDS (default 30) seconds, starting from
# its committed corpus fuzz/corpus/<target>/ (read only: new inputs go to a
# temporary directory) with fuzz/dict/<target>.dict when there is one.
# Prints each target's exec count; exits non-zero if a build or any target
# fails (the crashing input is kept under fuzz/artifacts/<target>/).
#
# Needs rustup; installs the nightly toolchain (minimal profile) and
# cargo-fuzz when they are missing, and a C++ compiler (libFuzzer is built
# from source) with apt-get when running as root on Debian.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SECS="${FUZZ_SECONDS:-30}"
cd "$HERE" || exit 1

log() { printf 'fuzz smoke: %s\n' "$*"; }

if ! command -v rustup >/dev/null 2>&1; then
  log "rustup is needed (https://rustup.rs)"
  exit 1
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal || exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi
if ! command -v c++ >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing g++"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ || exit 1
  else
    log "a C++ compiler (c++) is needed to build libFuzzer"
    exit 1
  fi
fi

start=$SECONDS
log "building (cargo +nightly fuzz build)"
if ! cargo +nightly fuzz build; then
  log "build FAILED"
  exit 1
fi
log "built in $((SECONDS - start)) s"

targets=$(cargo +nightly fuzz list) || exit 1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for t in $targets; do
  mkdir -p "$work/$t"
  seeds=()
  [ -d "corpus/$t" ] && seeds=("corpus/$t")
  extra=()
  [ -f "dict/$t.dict" ] && extra=("-dict=dict/$t.dict")
  t0=$SECONDS
  cargo +nightly fuzz run "$t" "$work/$t" "${seeds[@]}" -- \
    -max_total_time="$SECS" -timeout=10 -print_final_stats=1 "${extra[@]}" \
    >"$work/$t.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    log "$t: ok, ${execs:-?} execs in $((SECONDS - t0)) s"
  else
    log "$t: FAILED (exit $rc) after ${execs:-?} execs; end of its log:"
    tail -n 40 "$work/$t.log"
    failed+=("$t")
  fi
done
log "done in $((SECONDS - start)) s"
if [ "${#failed[@]}" -gt 0 ]; then
  log "failed: ${failed[*]}"
  exit 1
fi
