#!/usr/bin/env bash
# Smoke-runs every fuzz target for FUZZ_SECONDS (default 30) on its corpus
# (fuzz/corpus/TARGET, kept in the repository), as CI does. Installs the
# nightly toolchain and cargo-fuzz when missing. Exits non-zero when a
# target crashes (its input is left in fuzz/artifacts/TARGET).
set -euo pipefail
cd "$(dirname "$0")"
secs=${FUZZ_SECONDS:-30}
if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo +nightly fuzz build
status=0
for t in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$t"
  log=$(mktemp)
  if cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" >"$log" 2>&1; then
    echo "fuzz $t: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)"
  else
    echo "fuzz $t: FAILED" >&2
    tail -40 "$log" >&2
    status=1
  fi
  rm -f "$log"
done
exit "$status"
