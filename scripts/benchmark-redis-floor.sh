#!/usr/bin/env bash
# What the Redis store costs beyond StackExchange.Redis itself: one benchmark server (--store redis) measured on six
# requests, in warmed rounds, each round every request back to back (the order reversed every other round):
#
#   bare     POST /bare                  the handler alone, no Redis
#   floor-1  POST /redis-floor/1         the store's claim script (of a completed record), then the handler
#   replay   POST /keyed, one key        the library's replay: one EVALSHA (the claim, answered with the record)
#   floor-2  POST /redis-floor/2         the store's claim and completion scripts (of a new key), then the handler
#   around-2 POST /redis-floor/2/around  the claim, the response written, then the completion (a new key's order)
#   new-key  POST /keyed, a new key      the library's new key: two EVALSHA (claim, complete)
#
#   scripts/benchmark-redis-floor.sh
#   ROUNDS=7 DURATION=5s scripts/benchmark-redis-floor.sh
#
# The floors send the store's scripts by SHA through StackExchange.Redis on the store's own multiplexer (same socket,
# socket manager and batching), without the library: no middleware, engine, fingerprint, capture or store code. So
# replay - floor-1 and new-key - around-2 (or - floor-2) are what the library adds on top of the client, and
# bare / floor-N is the best ratio to the bare POST that any code making those N calls with this client reaches here.
# Per request: medians over ROUNDS of req/s and of the app's CPU time (user + system from /proc/<pid>/stat: wrk and
# Redis are not in it), the median of the per-round ratios bare / it (CPU), the EVALSHA calls Redis counted, and
# redis-server's own CPU time per request (it shares the two cores). Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/replay-key.sh
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-10s}
scripts/install-test-servers.sh redis-server wrk

source scripts/lib/wrk-pairs.sh
build_server_and_workdir

source scripts/lib/throwaway-redis.sh
start_throwaway_redis "$WORK"
url=$(start_server redis --middleware true --store redis --redis "127.0.0.1:$redis_port")
store_replay_key "$url"

REQUESTS=("bare /bare post.lua" "floor-1 /redis-floor/1 post.lua" "replay /keyed replay.lua" "floor-2 /redis-floor/2 post.lua" "around-2 /redis-floor/2/around post.lua" "new-key /keyed new-key.lua")
redis_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$WORK/redis.pid")/stat"; }
run() { # name path script duration -> "name rps cpu n evalsha redis-cpu"
  local calls; calls=$(evalsha_calls)
  local before; before=$(redis_ticks)
  read -r rps cpu _ n < <(measure "$url$2" "$3" "$4")
  echo "$1 $rps $cpu $n $(($(evalsha_calls) - calls)) $(awk -v t=$(($(redis_ticks) - before)) -v hz="$TICKS_PER_SECOND" -v n="$n" 'BEGIN {printf "%.1f", t * 1000000 / hz / n}')"
}

echo "warming every request ($WARMUP each)..."
for r in "${REQUESTS[@]}"; do read -r name path script <<<"$r"; run "$name" "$path" "$script" "$WARMUP" >/dev/null; done
: >"$WORK/results.txt"
for round in $(seq 1 "$ROUNDS"); do
  order=("${REQUESTS[@]}")
  if [ $((round % 2)) = 0 ]; then order=(); for ((i = ${#REQUESTS[@]} - 1; i >= 0; i--)); do order+=("${REQUESTS[$i]}"); done; fi
  for r in "${order[@]}"; do read -r name path script <<<"$r"; echo "$round $(run "$name" "$path" "$script" "$DURATION")" >>"$WORK/results.txt"; done
done

echo "$ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d$DURATION per request after a $WARMUP warm-up of each; medians; $(nproc) cores"
python3 - "$WORK/results.txt" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, name, rps, cpu, n, calls, redis = line.split()
    runs[name][rnd] = (float(rps), float(cpu), int(n), int(calls), float(redis))
bare = runs['bare']
med = lambda name, i: statistics.median(v[i] for v in runs[name].values())
print(f"{'request':8} {'req/s':>8} {'CPU us/req':>10} {'CPU bare/it':>11} {'EVALSHA/req':>11} {'Redis CPU us/req':>16}   CPU us/req per round")
for name in runs:
    x = runs[name]
    ratio = statistics.median(bare[k][1] / x[k][1] for k in x)
    calls = sum(v[3] for v in x.values()) / sum(v[2] for v in x.values())
    print(f"{name:8} {med(name, 0):8.0f} {med(name, 1):10.1f} {ratio:11.2f} {calls:11.3f} {med(name, 4):16.1f}   {' '.join(str(x[k][1]) for k in sorted(x))}")
for ours, floor, calls in (('replay', 'floor-1', 1), ('new-key', 'floor-2', 2), ('new-key', 'around-2', 2)):
    extra = statistics.median(runs[ours][k][1] - runs[floor][k][1] for k in runs[ours])
    client = statistics.median(runs[floor][k][1] - bare[k][1] for k in runs[ours])
    print(f"{ours}: {extra:+.1f} us/req over {floor} (the library, per round, median); {floor}: {client:+.1f} us/req over bare "
          f"({client / calls:.1f} per StackExchange.Redis call)")
EOF
