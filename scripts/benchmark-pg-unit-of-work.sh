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
source scripts/lib/throwaway-postgres.sh
cleanup() { stop_pg; rm -rf "$WORK"; }
trap cleanup EXIT
start_throwaway_postgres "$WORK"

echo "$ROUNDS rounds, ${SECONDS_EACH} s per operation, 32 concurrent loops; $(nproc) cores, $(dotnet --version) SDK"
dotnet "$BIN" pg-unit-of-work "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Maximum Pool Size=64" "$SECONDS_EACH" "$ROUNDS"
