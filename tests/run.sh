#!/usr/bin/env bash
# The whole test suite, set-up included: installs what the tests need (real
# BGP/BFD daemons, tshark, Prometheus) when it is missing, then runs the
# format and lint gates and every test. Run as root (the interop tests create
# network namespaces). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v bird >/dev/null || need+=(bird2)
command -v gobgpd >/dev/null || need+=(gobgpd)
[ -x /usr/lib/frr/bfdd ] || need+=(frr)
command -v tshark >/dev/null || need+=(tshark)
command -v promtool >/dev/null || need+=(prometheus)
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
command -v stayrtr >/dev/null || need+=(stayrtr)
command -v pmbmpd >/dev/null || need+=(pmacct)
command -v exabgp >/dev/null || need+=(exabgp)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v c++ >/dev/null || need+=(g++)   # libFuzzer, for fuzz/smoke.sh
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
  # Not root: nothing is installed; every test that needs a missing tool
  # fails below, naming itself and the tool.
  echo "tests/run.sh: missing ${need[*]}; run as root (or apt-get install -y ${need[*]})" >&2
elif [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian packages start their daemons; our tests start their own copies.
for svc in bird frr gobgpd prometheus stayrtr exabgp; do
  systemctl stop "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
done

# A CI clone builds once and is thrown away: incremental state (2.1 GB of
# the test build) only costs disk there.
if [ "${CI:-}" = true ]; then
  export CARGO_INCREMENTAL=0
fi

cargo fmt --check
cargo clippy --all-targets -- -D warnings

# Under this script a test whose tool or root is missing fails instead of
# skipping (tests/common: `need`); SKIPPED lines are counted all the same.
export COLDPOTATO_TESTS_STRICT=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --no-fail-fast -- --test-threads=1 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# Every fuzz target for 30 s on its kept corpus (installs nightly and
# cargo-fuzz when missing); a crash fails the run.
if ! bash fuzz/smoke.sh; then
  rc=1
fi
grep '^SKIPPED ' "$log" || true
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^SKIPPED / { s++ }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$rc"
