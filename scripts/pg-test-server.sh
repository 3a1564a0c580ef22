#!/usr/bin/env bash
# Throw-away PostgreSQL server for the storage tests.
#
#   scripts/pg-test-server.sh start [BASE_DIR]   init (first time) and start; prints the URL
#   scripts/pg-test-server.sh stop  [BASE_DIR]   stop the server (data is kept)
#   scripts/pg-test-server.sh url   [BASE_DIR]   print the URL
#   scripts/pg-test-server.sh status [BASE_DIR]  exit 0 when the server accepts connections
#
# BASE_DIR defaults to $WARDEN_PG_DIR or /tmp/warden-pg; the port to
# $WARDEN_PG_PORT or 55432. The server listens on 127.0.0.1 only, trusts
# local connections and has the superuser "postgres". Use the URL as
# WARDEN_TEST_PG_URL:
#
#   export WARDEN_TEST_PG_URL="$(scripts/pg-test-server.sh start)"
#
# "start" is idempotent. Only the URL goes to stdout; progress goes to stderr.
# PostgreSQL refuses to run as root, so as root the server runs as the
# unprivileged user $WARDEN_PG_USER (default "pgtest", created if missing).
# When no PostgreSQL binaries are found and apt-get is usable (root), the
# "postgresql" package is installed.
set -euo pipefail

cmd="${1:-}"
base="${2:-${WARDEN_PG_DIR:-/tmp/warden-pg}}"
port="${WARDEN_PG_PORT:-55432}"
os_user="${WARDEN_PG_USER:-pgtest}"
data="$base/data"
log="$base/postgres.log"
url="postgres://postgres@127.0.0.1:${port}/postgres"

say() { echo "pg-test-server: $*" >&2; }

find_bindir() {
    local d
    if [[ -n "${WARDEN_PG_BINDIR:-}" && -x "${WARDEN_PG_BINDIR}/pg_ctl" ]]; then
        echo "$WARDEN_PG_BINDIR"; return 0
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
        if [[ -x "$d/pg_ctl" && -x "$d/initdb" ]]; then echo "$d"; return 0; fi
    done
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"; return 0
    fi
    return 1
}

bindir() {
    local d
    if d="$(find_bindir)"; then echo "$d"; return 0; fi
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "PostgreSQL not found; installing the postgresql package"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        if d="$(find_bindir)"; then echo "$d"; return 0; fi
    fi
    say "no PostgreSQL binaries found (looked in /usr/lib/postgresql/*/bin and PATH)"
    return 1
}

# Runs a command as the server's OS user.
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then
        su "$os_user" -s /bin/sh -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

ensure_user() {
    [[ "$(id -u)" == 0 ]] || return 0
    if ! id "$os_user" >/dev/null 2>&1; then
        say "creating OS user $os_user"
        useradd --system --no-create-home --shell /usr/sbin/nologin "$os_user" 2>/dev/null \
            || useradd -M -s /bin/sh "$os_user"
    fi
}

ready() {
    local bin="$1"
    if [[ -x "$bin/pg_isready" ]]; then
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres
    else
        as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
    fi
}

start() {
    local bin
    bin="$(bindir)"
    ensure_user
    mkdir -p "$base"
    if [[ "$(id -u)" == 0 ]]; then chown "$os_user" "$base"; fi
    if [[ -f "$data/postmaster.pid" ]] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        if ready "$bin"; then
            say "already running on port $port"
            echo "$url"
            return 0
        fi
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
        say "initialising $data"
        as_pg "$bin/initdb" -D "$data" -A trust -U postgres --no-sync -E UTF8 >"$base/initdb.log" 2>&1 || {
            cat "$base/initdb.log" >&2; return 1; }
    fi
    say "starting on 127.0.0.1:$port (log: $log)"
    as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
        -o "-p $port -k $base -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >&2 || { tail -n 30 "$log" >&2 || true; return 1; }
    local i
    for i in $(seq 1 60); do
        if ready "$bin"; then echo "$url"; return 0; fi
        sleep 0.5
    done
    say "server did not become ready"
    tail -n 30 "$log" >&2 || true
    return 1
}

stop() {
    local bin
    bin="$(find_bindir)" || { say "no PostgreSQL binaries; nothing to stop"; return 0; }
    if [[ -f "$data/postmaster.pid" ]] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >&2
    else
        say "not running"
    fi
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    url) echo "$url" ;;
    status) bin="$(find_bindir)" && ready "$bin" ;;
    *) echo "usage: $0 start|stop|url|status [BASE_DIR]" >&2; exit 2 ;;
esac
