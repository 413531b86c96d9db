#!/usr/bin/env bash
# Runs the HTTP load benchmark on SQLite, then on a throwaway PostgreSQL
# cluster started on loopback (as CI does). Usage: benches/http.sh [BENCH]
# where BENCH is http_load (default) or webhooks.
# Knobs: BENCH_CLIENTS (8), BENCH_SECONDS (10), BENCH_HISTORY (1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
bench="${1:-http_load}"

cargo bench --bench "$bench"

bindir="$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | tail -1)"
dir="$(mktemp -d /tmp/slotwise-bench-pg.XXXXXX)"
chmod 755 "$dir"
port=55432
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chown postgres "$dir" 2>/dev/null || true
as_postgres "$bindir/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
trap 'as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null; rm -rf "$dir"' EXIT
as_postgres "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
SLOTWISE_BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$port/bench" cargo bench --bench "$bench"
