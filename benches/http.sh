#!/usr/bin/env bash
# Runs the HTTP load benchmark on SQLite, then on a throwaway PostgreSQL
# cluster started on loopback (as CI does). Each run prints its figures next
# to their ceilings, measured in the same run: /healthz for reads, a plain
# single-insert loop (SQLite) or pgbench (PostgreSQL) for booking creation.
# Usage: benches/http.sh [BENCH] where BENCH is http_load (default) or webhooks.
# Knobs: BENCH_CLIENTS (8), BENCH_SECONDS (10), BENCH_HISTORY (1000000), BENCH_RUNS
# (reads,bookings,history: the parts to run; /healthz always runs);
# BENCH_BINARY and BENCH_SERVER run already-built bench and server binaries
# (e.g. an earlier commit's, copied aside) instead of `cargo bench`;
# BENCH_ONLY=sqlite or BENCH_ONLY=postgres runs one database.
set -euo pipefail
cd "$(dirname "$0")/.."
bench="${1:-http_load}"
echo "command: benches/http.sh $* (BENCH_CLIENTS=${BENCH_CLIENTS:-8} BENCH_SECONDS=${BENCH_SECONDS:-10} BENCH_HISTORY=${BENCH_HISTORY:-1000000}), $(nproc) CPUs, $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

run_bench() { if [ -n "${BENCH_BINARY:-}" ]; then "$BENCH_BINARY" --bench; else cargo bench --bench "$bench"; fi; }
[ "${BENCH_ONLY:-sqlite}" = sqlite ] && run_bench
[ "${BENCH_ONLY:-postgres}" = postgres ] || exit 0

bindir="$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | tail -1)"
dir="$(mktemp -d /tmp/slotwise-bench-pg.XXXXXX)"
chmod 755 "$dir"
# A free port, so the run never meets a test cluster on a fixed one.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chown postgres "$dir" 2>/dev/null || true
as_postgres "$bindir/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
trap 'as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null; rm -rf "$dir"' EXIT
as_postgres "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
pgbench="$bindir/pgbench"
[ -x "$pgbench" ] || pgbench="$(command -v pgbench || echo pgbench)"
BENCH_PGBENCH="$pgbench" SLOTWISE_BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$port/bench" run_bench
