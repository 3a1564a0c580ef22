#!/usr/bin/env bash
# Builds and runs Warden with its embedded defaults (SQLite in ./data, SIP on 5060, the API and
# dashboard on 9000; no configuration file needed). On a fresh Debian machine it first
# installs what the build needs beside Rust: cmake and pkg-config (the opus crate builds its
# bundled libopus). Node.js, when present, builds the dashboard that the binary embeds.
#
#   scripts/run.sh                       embedded defaults
#   scripts/run.sh --config warden.yaml  any warden arguments
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v cc >/dev/null 2>&1 || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  scripts/apt-install.sh "${need[@]}"
fi

# The media plane's io_uring buffers are locked memory: raise the soft limit where allowed.
ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -H -l)" 2>/dev/null || true

exec cargo run --release --locked --bin warden -- "$@"
