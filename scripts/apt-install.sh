#!/usr/bin/env bash
# Installs the named Debian packages (after one `apt-get update`), as root or through sudo.
# Used by scripts/run.sh and scripts/test.sh for what they find missing.
set -euo pipefail
[ $# -gt 0 ] || exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found: install these packages (Debian names) by hand: $*" >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
