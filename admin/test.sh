#!/usr/bin/env bash
# Dashboard checks: install (npm ci), type-check, unit tests (Vitest), production build, then
# the browser tests in headless Chromium against a freshly built `warden` that embeds the
# bundle just built.
#
#   admin/test.sh            everything
#   admin/test.sh --no-e2e   skip the browser tests (no cargo build, no Chromium needed)
#
# Needs Node.js 20+ and npm; the browser tests also need cargo, Debian's `chromium` and
# `sipp` (installed with apt-get when missing and running as root). Screenshots and logs go
# to $WARDEN_TEST_ARTIFACTS/dashboard (default test-artifacts/dashboard).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
e2e=1
[[ "${1:-}" == "--no-e2e" ]] && e2e=0

say() { echo "admin/test.sh: $*" >&2; }

# One npm install/build at a time in admin/ (cargo's build script takes the same lock).
lock="$here/.build-lock"
for _ in $(seq 1 600); do
    mkdir "$lock" 2>/dev/null && break
    sleep 1
done
[[ -d "$lock" ]] || { say "cannot take $lock"; exit 1; }
trap 'rmdir "$lock" 2>/dev/null || true' EXIT

cd "$here"
say "npm ci"
npm ci --no-audit --no-fund
say "type-check"
npm run --silent typecheck
say "unit tests"
npm test --silent
say "build"
npm run --silent build
rmdir "$lock" 2>/dev/null || true
trap - EXIT

[[ $e2e == 1 ]] || exit 0

need_apt=()
command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
command -v sipp >/dev/null 2>&1 || need_apt+=(sipp)
if (( ${#need_apt[@]} )); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing ${need_apt[*]} with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
    else
        say "missing ${need_apt[*]}: apt-get install ${need_apt[*]}"
        exit 1
    fi
fi

target="${CARGO_TARGET_DIR:-$repo/target}"
say "cargo build --bin warden (embeds admin/dist)"
(cd "$repo" && WARDEN_ADMIN_BUILD=skip cargo build --bin warden)

say "browser tests"
WARDEN_BIN="$target/debug/warden" node --test --test-reporter=spec e2e/
