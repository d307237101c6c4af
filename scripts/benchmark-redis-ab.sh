#!/usr/bin/env bash
# A/B of the Redis store end to end: the benchmark server built from a base git ref ("A") beside the one built from
# the working tree ("B"), optionally B again under extra environment variables, all on one redis-server, in warmed
# rounds (every server once per round, back to back, A and B in alternating order), with a bare POST server measured
# first in every round as the reference.
#
#   scripts/benchmark-redis-ab.sh <base-ref>                       # e.g. scripts/benchmark-redis-ab.sh main
#   ROUNDS=7 scripts/benchmark-redis-ab.sh main 'nospin=DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0'
#   SYSCALLS=1 scripts/benchmark-redis-ab.sh main                  # also syscalls and context switches per request
#
# Per scenario (new key: 2 EVALSHA, replay: 1) and server: medians over ROUNDS of req/s and of the app's CPU time per
# request (user + system from /proc/<pid>/stat, the app's process only: wrk and Redis are not in it), the median of
# the per-round ratios to the bare POST (CPU bare / ours, req/s ours / bare), and the EVALSHA calls per request
# counted by Redis (INFO commandstats). With SYSCALLS=1, one more run per server and scenario under
# `perf stat -e syscalls:sys_enter_*,context-switches` (needs perf and tracepoint access). Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/replay-key.sh
BASE=${1:?usage: scripts/benchmark-redis-ab.sh <base-ref> [name=VAR=value[,VAR=value]]...}
shift
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
scripts/install-test-servers.sh redis-server wrk

source scripts/lib/ab-builds.sh
ab_builds "$BASE"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
source scripts/lib/throwaway-redis.sh
start_throwaway_redis "$WORK"

start() { # name, dll, environment (VAR=value,VAR=value or empty), args...
  local name=$1 dll=$2 environment=$3; shift 3
  local port; port=$(free_port)
  # shellcheck disable=SC2086 # the environment is a list of words
  env ${environment//,/ } dotnet "$dll" serve --urls "http://127.0.0.1:$port" "$@" >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$name.pid"
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/plain" >/dev/null 2>&1 && break; sleep 0.1; done
  store_replay_key "http://127.0.0.1:$port" || true
  echo "http://127.0.0.1:$port" >"$WORK/$name.url"
}
REDIS_ARGS=(--middleware true --store redis --redis "127.0.0.1:$redis_port")
start bare "$B_BIN" "" --middleware false
start A "$A_BIN" "" "${REDIS_ARGS[@]}"
start B "$B_BIN" "" "${REDIS_ARGS[@]}"
SERVERS=(bare A B)
for variant in "$@"; do
  start "${variant%%=*}" "$B_BIN" "${variant#*=}" "${REDIS_ARGS[@]}"
  SERVERS+=("${variant%%=*}")
done

ticks() { awk '{print $14 + $15}' "/proc/$(cat "$WORK/$1.pid")/stat"; }
HZ=$(getconf CLK_TCK)
target() { # server, scenario script -> "path script": the bare server answers the same POST without the middleware
  if [ "$1" = bare ]; then echo "/bare post.lua"; else echo "/keyed $2"; fi
}
measure() { # server, scenario script, duration -> "req/s cpu-us-per-request requests evalsha-calls"
  local path script; read -r path script < <(target "$1" "$2")
  local before; before=$(ticks "$1"); local calls; calls=$(evalsha_calls)
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" -s "scripts/wrk/$script" "$(cat "$WORK/$1.url")$path" >"$WORK/wrk.txt"
  local after; after=$(ticks "$1")
  awk -v t=$((after - before)) -v hz="$HZ" -v e=$(($(evalsha_calls) - calls)) \
    '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {printf "%s %.2f %d %d\n", r, t * 1000000 / hz / n, n, e}' "$WORK/wrk.txt"
}

SCENARIOS=(new-key.lua replay.lua)
echo "warming every server on every scenario ($WARMUP each)..."
for s in "${SCENARIOS[@]}"; do for name in "${SERVERS[@]}"; do measure "$name" "$s" "$WARMUP" >/dev/null; done; done
: >"$WORK/results.txt"
for s in "${SCENARIOS[@]}"; do
  for r in $(seq 1 "$ROUNDS"); do
    # The bare POST first, then ours in the listed order in odd rounds and in reverse in even ones: a server measured
    # after another (a Redis holding more keys, a warmer or hotter machine) is not always the same one.
    order=("${SERVERS[@]:1}")
    if [ $((r % 2)) -eq 0 ]; then for ((i = ${#order[@]} - 1, j = 0; i >= 0; i--, j++)); do reversed[j]=${order[i]}; done; order=("${reversed[@]}"); fi
    for name in bare "${order[@]}"; do echo "$s $r $name $(measure "$name" "$s" "$DURATION")" >>"$WORK/results.txt"; done
  done
done

python3 - "$WORK/results.txt" <<'EOF'
import collections, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
runs = collections.defaultdict(dict)
for scenario, rnd, name, rps, cpu, n, calls in rows:
    runs[scenario, name][rnd] = (float(rps), float(cpu), int(n), int(calls))
names = list(dict.fromkeys(r[2] for r in rows))
print(f"{'scenario':12} {'server':10} {'req/s':>8} {'CPU us/req':>10} {'CPU bare/ours':>13} {'req/s ours/bare':>15} {'EVALSHA/req':>11}   CPU us/req per round")
for scenario in dict.fromkeys(r[0] for r in rows):
    bare = runs[scenario, 'bare']
    for name in names:
        x = runs[scenario, name]
        cpu_ratio = statistics.median(bare[k][1] / x[k][1] for k in x)
        rps_ratio = statistics.median(x[k][0] / bare[k][0] for k in x)
        calls = sum(v[3] for v in x.values()) / sum(v[2] for v in x.values()) if name != 'bare' else 0
        print(f"{scenario:12} {name:10} {statistics.median(v[0] for v in x.values()):8.0f} {statistics.median(v[1] for v in x.values()):10.1f} "
              f"{cpu_ratio:13.2f} {rps_ratio:15.2f} {calls:11.3f}   {' '.join(str(x[k][1]) for k in sorted(x))}")
EOF
echo "(A = $BASE, B = working tree$( [ $# -gt 0 ] && echo ", and B under: $*"); bare = POST /bare without the middleware; $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d$DURATION after a $WARMUP warm-up per server and scenario; medians)"

if [ "${SYSCALLS:-0}" = 1 ]; then
  EVENTS=syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_sched_yield,context-switches
  echo; echo "per request, under perf stat, one ${DURATION} run each:"
  for s in "${SCENARIOS[@]}"; do
    for name in "${SERVERS[@]}"; do
      read -r path script < <(target "$name" "$s")
      perf stat -x, -e "$EVENTS" -p "$(cat "$WORK/$name.pid")" -o "$WORK/stat.txt" -- sleep "${DURATION%s}" &
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "scripts/wrk/$script" "$(cat "$WORK/$name.url")$path" >"$WORK/wrk.txt"
      wait $!
      n=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
      echo "$s $name: $(awk -F, -v n="$n" '$1 ~ /^[0-9]+$/ {e = $3; sub("syscalls:sys_enter_", "", e); printf "%s %.2f  ", e, $1 / n}' "$WORK/stat.txt")"
    done
  done
fi
