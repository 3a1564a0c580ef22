#!/usr/bin/env bash
# Runs Warden's whole test suite on this machine: installs what the tests need, starts a
# throwaway PostgreSQL, then runs format and lint gates, unit/integration/end-to-end tests on
# SQLite and PostgreSQL, and a short run of every fuzz target.
#
#   scripts/test.sh              everything
#   WARDEN_FUZZ_SECONDS=0 ...    skip the fuzz smoke runs
#   WARDEN_TEST_PG_URL=...       use an existing PostgreSQL instead of starting one
#   WARDEN_REQUIRE_BPF=0|1       whether in-kernel forwarding tests may skip (default: they
#                                must run as root on Linux 6.6 or later)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzz_seconds=${WARDEN_FUZZ_SECONDS:-15}
artifacts="$root/test-artifacts"
mkdir -p "$artifacts"

step() { printf '\n==> %s\n' "$*"; }

# --- system packages -----------------------------------------------------------------------
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
# libopus is built from source by the opus crate (cmake); prompts are made with espeak-ng and sox.
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
# The in-kernel forwarding test into a network namespace: ip (netns, veth) and a Python listener.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ -f admin/test.sh ]; then
  # Dashboard end-to-end tests drive Debian's Chromium (no browser downloads).
  [ -x /usr/bin/chromium ] || need+=(chromium)
  [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
fi
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  scripts/apt-install.sh "${need[@]}"
fi

# io_uring (the media plane) pins buffers in locked memory.
ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -H -l)" 2>/dev/null || true
echo "locked-memory limit: $(ulimit -l)"

# In-kernel RTP forwarding (eBPF, TCX) needs root and Linux 6.6. Where both are present its
# tests must run, not skip: a refused program then fails the suite.
if [ -z "${WARDEN_REQUIRE_BPF:-}" ]; then
  kernel=$(uname -r | awk -F. '{ printf "%d%03d", $1, $2 }')
  if [ "$(id -u)" = 0 ] && [ "$kernel" -ge 6006 ]; then WARDEN_REQUIRE_BPF=1; else WARDEN_REQUIRE_BPF=0; fi
fi
export WARDEN_REQUIRE_BPF
echo "in-kernel forwarding tests required: $WARDEN_REQUIRE_BPF (uid $(id -u), Linux $(uname -r))"

# --- PostgreSQL ----------------------------------------------------------------------------
if [ -z "${WARDEN_TEST_PG_URL:-}" ]; then
  step "starting a throwaway PostgreSQL"
  if [ -z "${WARDEN_PG_PORT:-}" ]; then
    # The first free port from 55432 (another server may hold the default).
    for p in $(seq 55432 55532); do
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then export WARDEN_PG_PORT=$p; break; fi
    done
  fi
  WARDEN_TEST_PG_URL=$(scripts/pg-test-server.sh start "$root/target/pg-test")
  trap 'scripts/pg-test-server.sh stop "$root/target/pg-test" >/dev/null 2>&1 || true' EXIT
fi
export WARDEN_TEST_PG_URL
echo "PostgreSQL: $WARDEN_TEST_PG_URL"

# --- gates ---------------------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings

# --- tests ---------------------------------------------------------------------------------
step "cargo build (binaries used by the end-to-end tests)"
cargo build --locked --workspace --bins
step "cargo test (unit, integration and end-to-end; SQLite and PostgreSQL)"
# pipefail makes a failing cargo test fail the pipeline despite tee.
WARDEN_TEST_ARTIFACTS="$artifacts" cargo test --locked --workspace --no-fail-fast 2>&1 | tee "$artifacts/cargo-test.log"

# --- dashboard -----------------------------------------------------------------------------
if [ -f admin/test.sh ]; then
  step "dashboard: type-check, unit tests, build, browser tests"
  WARDEN_TEST_ARTIFACTS="$artifacts" bash admin/test.sh
fi

# --- fuzz smoke ----------------------------------------------------------------------------
if [ "$fuzz_seconds" -gt 0 ]; then
  if cargo +nightly --version >/dev/null 2>&1; then
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
      step "installing cargo-fuzz"
      cargo install cargo-fuzz --locked
    fi
    step "fuzz smoke: every target for ${fuzz_seconds}s"
    (cd fuzz && for t in $(cargo +nightly fuzz list); do
      echo "--- fuzz $t"
      cargo +nightly fuzz run "$t" -- -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 2>&1 | tail -n 3
    done)
  else
    echo "fuzz smoke skipped: no nightly toolchain (rustup toolchain install nightly)"
  fi
fi

step "all tests passed"
