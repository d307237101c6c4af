#!/usr/bin/env bash
# Redis beside Garnet behind the same benchmark server (tests/Idempotency.Benchmarks, --store redis): a Redis and a
# Garnet (--lua --lua-transaction-mode, memory only) on free loopback ports, one app on each, both warmed on each
# scenario, then ROUNDS alternating rounds of wrk -t2 -c32; prints medians of req/s and of the app's CPU per request
# (from /proc), then one redis-benchmark PING line per server (Redis first) for the round trip.
#
#   scripts/benchmark-garnet.sh                    # ROUNDS=3 DURATION=5s WARMUP=10s by default
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/replay-key.sh
scripts/install-test-servers.sh redis-server garnet wrk
dotnet build tests/Idempotency.Benchmarks -c Release -nologo -v q >/dev/null
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-5s}; WARMUP=${WARMUP:-10s}
WORK=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
RP=$(free_port); GP=$(free_port)
redis-server --port $RP --save '' --appendonly no --daemonize no >/dev/null 2>&1 & echo $! > $WORK/redis.pid
GARNET=${IDEMPOTENCY_GARNET_SERVER:-$(command -v garnet-server || echo $HOME/.dotnet/tools/garnet-server)}
$GARNET --port $GP --bind 127.0.0.1 --lua --lua-transaction-mode >$WORK/garnet.log 2>&1 & echo $! > $WORK/garnet.pid
sleep 3
DLL=tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
start() { local name=$1 port=$2; local p; p=$(free_port)
  dotnet $DLL serve --urls http://127.0.0.1:$p --middleware true --store redis --redis 127.0.0.1:$port >$WORK/$name.log 2>&1 & echo $! >$WORK/$name.pid
  for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$p/plain >/dev/null 2>&1 && break; sleep 0.1; done
  store_replay_key http://127.0.0.1:$p
  echo http://127.0.0.1:$p >$WORK/$name.url; }
cleanup() { for f in $WORK/*.pid; do kill $(cat $f) 2>/dev/null || true; done; rm -rf $WORK; }
trap cleanup EXIT
start appredis $RP; start appgarnet $GP
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' /proc/$(cat $WORK/$1.pid)/stat; }
measure() { local name=$1 script=$2 d=$3; local b a; b=$(ticks $name)
  wrk -t2 -c32 -d$d -s scripts/wrk/$script $(cat $WORK/$name.url)/keyed >$WORK/wrk.txt; a=$(ticks $name)
  awk -v t=$((a-b)) -v hz=$HZ '/requests in/ {n=$1} /Requests\/sec/ {r=$2} END {printf "%s %.2f\n", r, t*1000000/hz/n}' $WORK/wrk.txt; }
for s in new-key.lua replay.lua; do for n in appredis appgarnet; do measure $n $s $WARMUP >/dev/null; done; done
for s in new-key.lua replay.lua; do : >$WORK/appredis.txt; : >$WORK/appgarnet.txt
  for r in $(seq 1 $ROUNDS); do if [ $((r%2)) -eq 1 ]; then o="appredis appgarnet"; else o="appgarnet appredis"; fi
    for n in $o; do measure $n $s $DURATION >>$WORK/$n.txt; done; done
  med() { sort -n | awk '{v[NR]=$1} END {print (NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2}'; }
  printf '%-12s Redis %8.0f req/s %6.2f us/req   Garnet %8.0f req/s %6.2f us/req\n' $s \
    $(awk '{print $1}' $WORK/appredis.txt | med) $(awk '{print $2}' $WORK/appredis.txt | med) \
    $(awk '{print $1}' $WORK/appgarnet.txt | med) $(awk '{print $2}' $WORK/appgarnet.txt | med)
done
# The round trip of one PING, one connection: redis-benchmark's CSV (requests/s, avg, min, p50, p95, p99, max ms).
for p in $RP $GP; do redis-benchmark -p $p -n 20000 -c 1 -t ping --csv 2>/dev/null | tail -1; done
