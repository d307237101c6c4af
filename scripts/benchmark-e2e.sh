#!/usr/bin/env bash
# End-to-end throughput of the idempotency middleware: a Kestrel app on 127.0.0.1 under wrk, every scenario
# side by side in one run, so the ratios compare like with like on the same machine at the same moment.
#
#   scripts/benchmark-e2e.sh                 # default: 5 s warm-up and 10 s per scenario, wrk -t2 -c32
#   DURATION=30s CONNECTIONS=64 scripts/benchmark-e2e.sh
#
# Needs wrk, redis-server and PostgreSQL 15, installed by scripts/install-test-servers.sh when missing; the same
# IDEMPOTENCY_REDIS_SERVER and IDEMPOTENCY_POSTGRES_BIN as the tests say where they are.
# Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-5s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}

scripts/install-test-servers.sh redis-server postgresql wrk
REDIS_SERVER=${IDEMPOTENCY_REDIS_SERVER:-redis-server}
PG_BIN=${IDEMPOTENCY_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}

dotnet build tests/Idempotency.Benchmarks -c Release -nologo -v q >/dev/null
BIN=tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
WORK=$(mktemp -d)
PIDS=()
stop_pg() { :; }
cleanup() {
  for p in "${PIDS[@]}" $(cat "$WORK"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true; stop_pg; rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_for() { # url
  for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server at $1 did not start" >&2; exit 1
}

# Runs in a command substitution (a subshell), so the server's PID goes to a file that cleanup and rps read.
start_server() { # name, extra args...
  local name=$1; shift
  local port; port=$(free_port)
  dotnet "$BIN" serve --urls "http://127.0.0.1:$port" "$@" >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$port.pid"
  wait_for "http://127.0.0.1:$port/plain"
  echo "http://127.0.0.1:$port"
}

# CPU time (user + system, in clock ticks) the server behind a URL has used so far, from /proc/<pid>/stat.
server_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$WORK/$1.pid")/stat"; }
TICKS_PER_SECOND=$(getconf CLK_TCK)

# Requests per second of the measured run; also leaves the server's CPU microseconds per request in $WORK/cpu.txt
# (the app's process only: wrk, Redis and PostgreSQL are not in it).
rps() { # url, script-or-empty
  local url=$1 script=${2:-}
  local port; port=$(sed -E 's#^http://[^:/]+:([0-9]+).*#\1#' <<<"$url")
  local args=(-t"$THREADS" -c"$CONNECTIONS")
  [ -n "$script" ] && args+=(-s "scripts/wrk/$script")
  wrk "${args[@]}" -d"$WARMUP" "$url" >"$WORK/warmup.txt"
  local before; before=$(server_ticks "$port")
  wrk "${args[@]}" -d"$DURATION" "$url" >"$WORK/last.txt"
  local after; after=$(server_ticks "$port")
  awk -v t=$((after - before)) -v hz="$TICKS_PER_SECOND" '/requests in/ {printf "%.1f", t * 1000000 / hz / $1}' "$WORK/last.txt" >"$WORK/cpu.txt"
  awk '/Requests\/sec/ {print $2}' "$WORK/last.txt"
}

# Requests sent by the last scenario, warm-up included (the store sees both).
requests_of_last() { cat "$WORK/warmup.txt" "$WORK/last.txt" | awk '/requests in/ {n += $1} END {print n}'; }

redis_port=$(free_port)
"$REDIS_SERVER" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --maxmemory-policy noeviction --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
# A throw-away PostgreSQL cluster on a free port (as the postgres user when run as root: PostgreSQL refuses root).
pg_port=$(free_port)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$WORK/pg"; [ "$(id -u)" -eq 0 ] && chown -R postgres "$WORK" && chmod 755 "$WORK"
as_pg "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres -A trust --no-sync >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start \
  -o "-p $pg_port -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c shared_preload_libraries=pg_stat_statements -c max_connections=200" >/dev/null
stop_pg() { as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true; }
psql_q() { "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -Atqc "$1"; }
psql_q "CREATE EXTENSION pg_stat_statements" >/dev/null
# Statements the application ran, from the server's own statistics (the script's own queries excluded).
# Npgsql's pool reset (DISCARD ALL, or on connections with prepared statements the list of resets that keeps them)
# travels in front of the next command, in the same network write: counted apart.
POOL_RESET="('DISCARD ALL', 'CLOSE ALL', 'UNLISTEN *', 'SELECT pg_advisory_unlock_all()', 'DISCARD SEQUENCES', 'DISCARD TEMP', 'SET SESSION AUTHORIZATION DEFAULT', 'RESET ALL')"
pg_statements() { psql_q "SELECT coalesce(sum(calls),0) FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%' AND query NOT IN $POOL_RESET"; }
pg_statement_list() { # requests: statements per request by first word, those run at least once per 100 requests
  psql_q "SELECT string_agg(verb || ' ' || round(n / $1.0, 2), ', ' ORDER BY n DESC, verb) FROM (
            SELECT upper(split_part(regexp_replace(ltrim(query), '\s+', ' ', 'g'), ' ', 1)) AS verb, sum(calls) AS n
            FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%' AND query NOT IN $POOL_RESET
            GROUP BY 1 HAVING sum(calls) * 100 >= $1) AS s"
}
pg_commits() { psql_q "SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'"; }

evalsha_calls() { redis-cli -p "$redis_port" info commandstats | awk -F'[=,]' '/^cmdstat_evalsha:/ {print $2}' | tr -d '\r' | grep . || echo 0; }

bare=$(start_server bare --middleware false)
memory=$(start_server memory --middleware true --store memory)
redis=$(start_server redis --middleware true --store redis --redis "127.0.0.1:$redis_port")
curl -fs -X POST "$memory/keyed" -H 'Content-Type: application/json' -H 'Idempotency-Key: "benchmark-replay-key"' -d '{"amount":10000}' >/dev/null
postgres=$(start_server postgres --middleware true --store postgres --postgres "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Maximum Pool Size=64")
for server in "$redis" "$postgres"; do
  curl -fs -X POST "$server/keyed" -H 'Content-Type: application/json' -H 'Idempotency-Key: "benchmark-replay-key"' -d '{"amount":10000}' >/dev/null
done

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up), $(nproc) cores, $(dotnet --version) SDK"
printf '%-58s %12s %8s %12s\n' "scenario" "req/s" "ratio" "app CPU/req"
row() { printf '%-58s %12s %8s %9s us\n' "$1" "$2" "$3" "$(cat "$WORK/cpu.txt")"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

get_bare=$(rps "$bare/plain")
get_mw=$(rps "$memory/plain")
row "1. GET, no metadata, without UseIdempotency()" "$get_bare" "1.00"
row "1. GET, no metadata, with UseIdempotency()" "$get_mw" "$(ratio "$get_mw" "$get_bare")"

post_bare=$(rps "$bare/bare" post.lua)
row "2. POST, no middleware (baseline)" "$post_bare" "1.00"
mem_new=$(rps "$memory/keyed" new-key.lua)
row "2. POST, memory store, new key per request" "$mem_new" "$(ratio "$mem_new" "$post_bare")"
mem_replay=$(rps "$memory/keyed" replay.lua)
row "2. POST, memory store, replay" "$mem_replay" "$(ratio "$mem_replay" "$post_bare")"

before=$(evalsha_calls)
redis_new=$(rps "$redis/keyed" new-key.lua)
new_calls=$(( $(evalsha_calls) - before )); new_requests=$(requests_of_last)
row "2. POST, Redis store, new key per request" "$redis_new" "$(ratio "$redis_new" "$post_bare")"
before=$(evalsha_calls)
redis_replay=$(rps "$redis/keyed" replay.lua)
replay_calls=$(( $(evalsha_calls) - before )); replay_requests=$(requests_of_last)
row "2. POST, Redis store, replay" "$redis_replay" "$(ratio "$redis_replay" "$post_bare")"
echo
echo "4. Redis round trips, from the server's INFO commandstats (EVALSHA calls / requests wrk sent, warm-up included):"
echo "   new key: $new_calls / $new_requests = $(ratio "$new_calls" "$new_requests") per request"
echo "   replay:  $replay_calls / $replay_requests = $(ratio "$replay_calls" "$replay_requests") per request"

pg_new=$(rps "$postgres/keyed" new-key.lua)
row "2. POST, PostgreSQL store, new key per request" "$pg_new" "$(ratio "$pg_new" "$post_bare")"
pg_replay=$(rps "$postgres/keyed" replay.lua)
row "2. POST, PostgreSQL store, replay" "$pg_replay" "$(ratio "$pg_replay" "$post_bare")"

psql_q "SELECT pg_stat_statements_reset()" >/dev/null
manual=$(rps "$postgres/ledger/manual" post.lua)
manual_statements=$(pg_statements); manual_requests=$(requests_of_last); manual_list=$(pg_statement_list "$manual_requests")
row "3. POST, ledger insert in a hand-written transaction" "$manual" "1.00"
psql_q "SELECT pg_stat_statements_reset()" >/dev/null
commits_before=$(pg_commits)
transactional=$(rps "$postgres/ledger/transactional" new-key.lua)
tx_statements=$(pg_statements); tx_requests=$(requests_of_last); tx_list=$(pg_statement_list "$tx_requests"); tx_commits=$(( $(pg_commits) - commits_before ))
row "3. POST, the same insert, transactional idempotency mode" "$transactional" "$(ratio "$transactional" "$manual")"
echo
echo "4. PostgreSQL statements per request, from pg_stat_statements (calls / requests wrk sent, warm-up included; without"
echo "   the pool reset; a COMMIT sent as a prepared statement, as transactional mode does, is not recorded there):"
echo "   hand-written transaction: $manual_statements / $manual_requests = $(ratio "$manual_statements" "$manual_requests") ($manual_list)"
echo "   transactional mode:       $tx_statements / $tx_requests = $(ratio "$tx_statements" "$tx_requests") ($tx_list)"
echo "   commits in transactional mode (pg_stat_database, which also counts each pool reset): $tx_commits"
