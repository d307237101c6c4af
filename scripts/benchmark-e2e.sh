#!/usr/bin/env bash
# End-to-end throughput of the idempotency middleware: a Kestrel app on 127.0.0.1 under wrk, every scenario
# side by side in one run, so the ratios compare like with like on the same machine at the same moment.
#
#   scripts/benchmark-e2e.sh                 # default: 10 s per scenario, wrk -t2 -c32
#   DURATION=30s CONNECTIONS=64 scripts/benchmark-e2e.sh
#
# Needs wrk and redis-server (installed with apt-get when missing). Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}

for tool in wrk redis-server; do
  if ! command -v "$tool" >/dev/null; then
    apt-get update -qq >/dev/null && apt-get install -y -qq "$([ "$tool" = wrk ] && echo wrk || echo redis-server)" >/dev/null
  fi
done

dotnet build tests/Idempotency.Benchmarks -c Release -nologo -v q >/dev/null
BIN=tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_for() { # url
  for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server at $1 did not start" >&2; exit 1
}

start_server() { # name, extra args...
  local name=$1; shift
  local port; port=$(free_port)
  dotnet "$BIN" serve --urls "http://127.0.0.1:$port" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$port/plain"
  echo "http://127.0.0.1:$port"
}

rps() { # url, script-or-empty
  local url=$1 script=${2:-}
  local args=(-t"$THREADS" -c"$CONNECTIONS")
  [ -n "$script" ] && args+=(-s "scripts/wrk/$script")
  wrk "${args[@]}" -d"$WARMUP" "$url" >"$WORK/warmup.txt"
  wrk "${args[@]}" -d"$DURATION" "$url" | tee "$WORK/last.txt" | awk '/Requests\/sec/ {print $2}'
}

# Requests sent by the last scenario, warm-up included (the store sees both).
requests_of_last() { cat "$WORK/warmup.txt" "$WORK/last.txt" | awk '/requests in/ {n += $1} END {print n}'; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --maxmemory-policy noeviction --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
evalsha_calls() { redis-cli -p "$redis_port" info commandstats | awk -F'[=,]' '/^cmdstat_evalsha:/ {print $2}' | tr -d '\r' | grep . || echo 0; }

bare=$(start_server bare --middleware false)
memory=$(start_server memory --middleware true --store memory)
redis=$(start_server redis --middleware true --store redis --redis "127.0.0.1:$redis_port")
curl -fs -X POST "$memory/keyed" -H 'Content-Type: application/json' -H 'Idempotency-Key: "benchmark-replay-key"' -d '{"amount":10000}' >/dev/null
curl -fs -X POST "$redis/keyed" -H 'Content-Type: application/json' -H 'Idempotency-Key: "benchmark-replay-key"' -d '{"amount":10000}' >/dev/null

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up), $(nproc) cores, $(dotnet --version) SDK"
printf '%-58s %12s %8s\n' "scenario" "req/s" "ratio"
row() { printf '%-58s %12s %8s\n' "$1" "$2" "$3"; }
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
