#!/usr/bin/env bash
# End-to-end cost of the idempotency middleware: a Kestrel app on 127.0.0.1 under wrk, each scenario measured in
# warmed, alternating, repeated pairs: the app without the middleware (or the hand-written transaction), then ours,
# ROUNDS times, and the medians reported. A single cold run gives very different ratios on a shared machine (tier-up
# under load takes seconds, and the cores drift by 20-40 % within a minute); pairs taken back to back do not.
#
#   scripts/benchmark-e2e.sh                 # default: 3 rounds of 5 s pairs after a 5 s warm-up of every side, wrk -t2 -c32
#   ROUNDS=5 DURATION=10s scripts/benchmark-e2e.sh
#   SCENARIOS_MATCHING=Redis scripts/benchmark-e2e.sh   # only the scenarios whose label matches the (grep -E) pattern
#   BASE=7319065 scripts/benchmark-e2e.sh      # also the servers built from a base git ref ("before"), in the same rounds
#
# The two "Redis floor" rows send the Redis store's own scripts through StackExchange.Redis on the store's multiplexer,
# without the library (a replay's claim; a new key's claim, the response, then the completion): the best ratio to the
# bare app that any code making those round trips with this client reaches here (scripts/benchmark-redis-floor.sh).
#
# Besides req/s, the app's CPU time per request (user + system from /proc/<pid>/stat, the app's process only: wrk,
# Redis and PostgreSQL are not in it) and wrk's p99 latency. Ratios are medians of the per-pair ratios: req/s ours
# / bare, and CPU bare / ours per request (1.00: as cheap as the bare app; higher is better in both).
# Needs wrk, redis-server and PostgreSQL 15, installed by scripts/install-test-servers.sh when missing; the same
# IDEMPOTENCY_REDIS_SERVER and IDEMPOTENCY_POSTGRES_BIN as the tests say where they are.
# With BASE, each round measures the bare app, then the base build's server and ours in alternating order, and each
# scenario gets a second line: the base build's medians, its ratios to the bare app, and ours / base in CPU per request
# (below 1.00: ours is cheaper). The base build's servers use Redis database 1 and PostgreSQL database "base".
# Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/replay-key.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-5s}

scripts/install-test-servers.sh redis-server postgresql wrk
PG_BIN=${IDEMPOTENCY_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}

dotnet build tests/Idempotency.Benchmarks -c Release -nologo -v q >/dev/null
BIN=tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
WORK=$(mktemp -d)
PIDS=()
source scripts/lib/throwaway-postgres.sh
cleanup() {
  for p in "${PIDS[@]}" $(cat "$WORK"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true; stop_pg
  [ -n "${BASE:-}" ] && git worktree remove --force "$WORK/base" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ -n "${BASE:-}" ]; then
  git worktree add -q --detach "$WORK/base" "$BASE"
  dotnet build "$WORK/base/tests/Idempotency.Benchmarks" -c Release -nologo -v q >/dev/null
  BASE_BIN=$WORK/base/tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
fi

source scripts/lib/wrk-pairs.sh

source scripts/lib/throwaway-redis.sh
start_throwaway_redis "$WORK"
start_throwaway_postgres "$WORK" -c shared_preload_libraries=pg_stat_statements
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

bare=$(start_server bare --middleware false)
memory=$(start_server memory --middleware true --store memory)
redis=$(start_server redis --middleware true --store redis --redis "127.0.0.1:$redis_port")
postgres=$(start_server postgres --middleware true --store postgres --postgres "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Maximum Pool Size=64")
declare -A BEFORE=()
if [ -n "${BASE:-}" ]; then
  psql_q "CREATE DATABASE base" >/dev/null
  BEFORE[$memory]=$(BIN=$BASE_BIN start_server base-memory --middleware true --store memory)
  BEFORE[$redis]=$(BIN=$BASE_BIN start_server base-redis --middleware true --store redis --redis "127.0.0.1:$redis_port,defaultDatabase=1")
  BEFORE[$postgres]=$(BIN=$BASE_BIN start_server base-postgres --middleware true --store postgres --postgres "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=base;Maximum Pool Size=64")
fi
# The base build's URL for one of ours (the same path on the base build's server of the same store), or nothing; the
# Redis floor's rows (the store's scripts sent without the library, scripts/benchmark-redis-floor.sh) have no "before".
before_of() {
  case $1 in */redis-floor/*) return 0 ;; esac
  local origin; origin=$(sed -E 's#^(http://[^/]+).*#\1#' <<<"$1"); [ -n "${BEFORE[$origin]:-}" ] && echo "${BEFORE[$origin]}${1#"$origin"}"; return 0
}
for server in "$memory" "$redis" "$postgres" "${BEFORE[@]}"; do
  store_replay_key "$server"
done

# label | bare URL | bare script | our URL | our script | what to count (redis, pg or nothing)
SCENARIOS=(
  "GET pass-through, no metadata|$bare/plain||$memory/plain||"
  "POST, memory store, new key|$bare/bare|post.lua|$memory/keyed|new-key.lua|"
  "POST, memory store, replay|$bare/bare|post.lua|$memory/keyed|replay.lua|"
  "POST, Redis store, new key|$bare/bare|post.lua|$redis/keyed|new-key.lua|redis"
  "POST, Redis store, replay|$bare/bare|post.lua|$redis/keyed|replay.lua|redis"
  "POST, Redis floor: the claim script alone, no library|$bare/bare|post.lua|$redis/redis-floor/1|post.lua|redis"
  "POST, Redis floor: claim, response, completion alone|$bare/bare|post.lua|$redis/redis-floor/2/around|post.lua|redis"
  "POST, PostgreSQL store, new key|$bare/bare|post.lua|$postgres/keyed|new-key.lua|"
  "POST, PostgreSQL store, replay|$bare/bare|post.lua|$postgres/keyed|replay.lua|"
  "ledger insert: hand-written tx vs transactional mode|$postgres/ledger/manual|post.lua|$postgres/ledger/transactional|new-key.lua|pg"
)

if [ -n "${SCENARIOS_MATCHING:-}" ]; then
  KEPT=()
  for s in "${SCENARIOS[@]}"; do grep -Eq -- "$SCENARIOS_MATCHING" <<<"${s%%|*}" && KEPT+=("$s"); done
  [ ${#KEPT[@]} -gt 0 ] || { echo "no scenario's label matches '$SCENARIOS_MATCHING'" >&2; exit 2; }
  SCENARIOS=("${KEPT[@]}")
fi

echo "$ROUNDS rounds of pairs (bare, then ours), wrk -t$THREADS -c$CONNECTIONS -d$DURATION each, after a $WARMUP warm-up of every side; $(nproc) cores, $(dotnet --version) SDK"
echo "warming every side of every scenario..."
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r _ bare_url bare_script our_url our_script _ <<<"$s"
  measure "$bare_url" "$bare_script" "$WARMUP" >/dev/null
  measure "$our_url" "$our_script" "$WARMUP" >/dev/null
  before_url=$(before_of "$our_url")
  [ -n "$before_url" ] && measure "$before_url" "$our_script" "$WARMUP" >/dev/null
done

printf '%-52s %9s %9s %6s %8s %8s %6s %9s %9s\n' "scenario (medians of $ROUNDS pairs)" "bare r/s" "ours r/s" "ratio" "bare us" "ours us" "cpu" "bare p99" "ours p99"
COUNTS=()
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r label bare_url bare_script our_url our_script count <<<"$s"
  : >"$WORK/bare.txt"; : >"$WORK/ours.txt"; : >"$WORK/pairs.txt"; : >"$WORK/before.txt"; : >"$WORK/before-pairs.txt"
  calls=0; requests=0; statements=0; statement_list=""
  before_url=$(before_of "$our_url")
  for round in $(seq 1 "$ROUNDS"); do
    read -r b_rps b_cpu b_p99 _ < <(measure "$bare_url" "$bare_script" "$DURATION")
    measure_before() {
      read -r f_rps f_cpu f_p99 _ < <(measure "$before_url" "$our_script" "$DURATION")
      echo "$f_rps $f_cpu $f_p99" >>"$WORK/before.txt"
      awk -v br="$b_rps" -v bc="$b_cpu" -v fr="$f_rps" -v fc="$f_cpu" 'BEGIN {printf "%.4f %.4f\n", fr / br, bc / fc}' >>"$WORK/before-pairs.txt"
    }
    [ -n "$before_url" ] && [ $((round % 2)) -eq 1 ] && measure_before
    case $count in
      redis) before=$(evalsha_calls) ;;
      pg) psql_q "SELECT pg_stat_statements_reset()" >/dev/null ;;
    esac
    read -r o_rps o_cpu o_p99 o_n < <(measure "$our_url" "$our_script" "$DURATION")
    case $count in
      redis) calls=$((calls + $(evalsha_calls) - before)); requests=$((requests + o_n)) ;;
      pg) statements=$((statements + $(pg_statements))); requests=$((requests + o_n)); statement_list=$(pg_statement_list "$o_n") ;;
    esac
    [ -n "$before_url" ] && [ $((round % 2)) -eq 0 ] && measure_before
    echo "$b_rps $b_cpu $b_p99" >>"$WORK/bare.txt"
    echo "$o_rps $o_cpu $o_p99" >>"$WORK/ours.txt"
    awk -v br="$b_rps" -v bc="$b_cpu" -v or="$o_rps" -v oc="$o_cpu" 'BEGIN {printf "%.4f %.4f\n", or / br, bc / oc}' >>"$WORK/pairs.txt"
  done
  printf '%-52s %9.0f %9.0f %6.2f %8.1f %8.1f %6.2f %7.2fms %7.2fms\n' "$label" \
    "$(column_of 1 "$WORK/bare.txt" | median)" "$(column_of 1 "$WORK/ours.txt" | median)" "$(column_of 1 "$WORK/pairs.txt" | median)" \
    "$(column_of 2 "$WORK/bare.txt" | median)" "$(column_of 2 "$WORK/ours.txt" | median)" "$(column_of 2 "$WORK/pairs.txt" | median)" \
    "$(column_of 3 "$WORK/bare.txt" | median)" "$(column_of 3 "$WORK/ours.txt" | median)"
  echo "    per pair (req/s ratio, cpu ratio): $(tr '\n' ';' <"$WORK/pairs.txt")"
  if [ -n "$before_url" ]; then
    printf '    before (%s): %.0f req/s, %.1f us/req, p99 %.2fms; to the bare app: req/s %.2f, cpu %.2f; ours / before, CPU per request: %.3f\n' "$BASE" \
      "$(column_of 1 "$WORK/before.txt" | median)" "$(column_of 2 "$WORK/before.txt" | median)" "$(column_of 3 "$WORK/before.txt" | median)" \
      "$(column_of 1 "$WORK/before-pairs.txt" | median)" "$(column_of 2 "$WORK/before-pairs.txt" | median)" \
      "$(awk -v o="$(column_of 2 "$WORK/ours.txt" | median)" -v f="$(column_of 2 "$WORK/before.txt" | median)" 'BEGIN {print o / f}')"
    echo "    before, per pair (req/s ratio, cpu ratio): $(tr '\n' ';' <"$WORK/before-pairs.txt")"
    # The two builds side by side: each round measures them one right after the other (the order alternating).
    paste -d' ' <(column_of 2 "$WORK/ours.txt") <(column_of 2 "$WORK/before.txt") | awk '{print $1 / $2}' >"$WORK/ours-before.txt"
    echo "    ours / before, CPU per request in the same round: $(awk '{printf "%.3f ", $1}' "$WORK/ours-before.txt")(median $(median <"$WORK/ours-before.txt"))"
  fi
  case $count in
    redis) COUNTS+=("$label: $calls EVALSHA / $requests requests = $(awk -v a="$calls" -v b="$requests" 'BEGIN {printf "%.2f", a / b}') round trips per request (INFO commandstats)") ;;
    pg) COUNTS+=("$label, transactional mode: $statements statements / $requests requests = $(awk -v a="$statements" -v b="$requests" 'BEGIN {printf "%.2f", a / b}') per request ($statement_list; pg_stat_statements, without the pool reset; a COMMIT sent as a prepared statement is not recorded there)") ;;
  esac
done
echo
for c in "${COUNTS[@]}"; do echo "$c"; done
