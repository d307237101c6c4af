#!/usr/bin/env bash
# The PostgreSQL transactional mode without HTTP: the hand-written transaction (2 round trips), the unit of work
# (3 round trips) and the unit of work's own statements written directly against Npgsql (3 round trips, no library),
# in alternating rounds in one process, by the process's CPU time and allocations per operation
# (tests/Idempotency.Benchmarks, PostgreSqlUnitOfWorkProbe). Separates what the store costs from what the middleware costs.
#
#   scripts/benchmark-pg-unit-of-work.sh            # 5 rounds of 5 s per operation, after an 8 s warm-up of each
#   ROUNDS=9 SECONDS_EACH=3 scripts/benchmark-pg-unit-of-work.sh
#
# Needs PostgreSQL 15 (scripts/install-test-servers.sh installs it; IDEMPOTENCY_POSTGRES_BIN says where it is). Results:
# docs/performance.md, "PostgreSQL transactional mode: the third round trip".
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
SECONDS_EACH=${SECONDS_EACH:-5}

scripts/install-test-servers.sh postgresql
PG_BIN=${IDEMPOTENCY_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}

dotnet build tests/Idempotency.Benchmarks -c Release -nologo -v q >/dev/null
BIN=tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
WORK=$(mktemp -d)
stop_pg() { :; }
cleanup() { stop_pg; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# A throw-away PostgreSQL cluster on a free port (as the postgres user when run as root: PostgreSQL refuses root).
pg_port=$(free_port)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$WORK/pg"; [ "$(id -u)" -eq 0 ] && chown -R postgres "$WORK" && chmod 755 "$WORK"
as_pg "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres -A trust --no-sync >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start \
  -o "-p $pg_port -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null
stop_pg() { as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true; }

echo "$ROUNDS rounds, ${SECONDS_EACH} s per operation, 32 concurrent loops; $(nproc) cores, $(dotnet --version) SDK"
dotnet "$BIN" pg-unit-of-work "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Maximum Pool Size=64" "$SECONDS_EACH" "$ROUNDS"
