#!/usr/bin/env bash
# A/B of the in-memory hot path: the benchmark server built from a base git ref ("A") beside the one built from the
# working tree ("B"), in warmed, alternating, repeated pairs, with a bare POST server as the noise reference.
#
#   scripts/benchmark-ab.sh <base-ref>              # e.g. scripts/benchmark-ab.sh 885c79d
#   ROUNDS=5 DURATION=5s scripts/benchmark-ab.sh <base-ref>
#   MAX_ENTRIES=200000 scripts/benchmark-ab.sh <base-ref>   # both stores held at 200,000 records (see below)
#
# Reports, per scenario, the median over ROUNDS of req/s and of the app's CPU time per request (user + system from
# /proc, the app's process only), for A and B, and B/A. wrk shares the two cores with the app, so CPU per request is
# the steadier figure. Needs wrk (scripts/install-test-servers.sh installs it when missing).
#
# By default both servers' stores may grow to 10 million records, so a new-key run measures a store that keeps growing
# (and, in the native layout, touches fresh memory). With MAX_ENTRIES=N both are capped at N records: the new-key
# warm-up fills them (keep WARMUP x the new-key rate above N) and every measured new key then evicts the oldest, a store
# at its steady state. A base whose benchmark server predates --max-entries gets the option patched into its copy.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/replay-key.sh
BASE=${1:?usage: scripts/benchmark-ab.sh <base-ref>}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
scripts/install-test-servers.sh wrk

STORE_ARGS=(--store memory)
if [ -n "${MAX_ENTRIES:-}" ]; then
  STORE_ARGS+=(--max-entries "$MAX_ENTRIES")
  ab_prepare_base() { # an older server hard-codes its limit: read it from --max-entries as the working tree's does
    local server=$1/tests/Idempotency.Benchmarks/BenchmarkServer.cs
    grep -q 'max-entries' "$server" && return
    grep -q 'o.MaxEntries = 10_000_000;' "$server" || { echo "cannot give $server a --max-entries option" >&2; exit 1; }
    sed -i 's/o.MaxEntries = 10_000_000;/o.MaxEntries = builder.Configuration.GetValue("max-entries", 10_000_000);/' "$server"
  }
fi
source scripts/lib/ab-builds.sh
ab_builds "$BASE"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
start() { # name, dll, args...
  local name=$1 dll=$2; shift 2
  local port; port=$(free_port)
  dotnet "$dll" serve --urls "http://127.0.0.1:$port" "$@" >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$name.pid"
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/plain" >/dev/null 2>&1 && break; sleep 0.1; done
  store_replay_key "http://127.0.0.1:$port" || true
  echo "http://127.0.0.1:$port" >"$WORK/$name.url"
}
ticks() { awk '{print $14 + $15}' "/proc/$(cat "$WORK/$1.pid")/stat"; }
HZ=$(getconf CLK_TCK)
measure() { # server-name, path, script-or-empty, duration -> "req/s cpu-us-per-request"
  local name=$1 path=$2 script=$3 duration=$4
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$duration")
  [ -n "$script" ] && args+=(-s "scripts/wrk/$script")
  # A held store evicts the replayed key once enough new keys follow it: stored again (a replay if still there).
  [ "$script" = replay.lua ] && store_replay_key "$(cat "$WORK/$name.url")"
  local before; before=$(ticks "$name")
  wrk "${args[@]}" "$(cat "$WORK/$name.url")$path" >"$WORK/wrk.txt"
  local after; after=$(ticks "$name")
  if grep -q 'Non-2xx' "$WORK/wrk.txt"; then echo "warning: $name answered $path with errors: $(grep 'Non-2xx' "$WORK/wrk.txt")" >&2; fi
  awk -v t=$((after - before)) -v hz="$HZ" '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {printf "%s %.2f\n", r, t * 1000000 / hz / n}' "$WORK/wrk.txt"
}

start bare "$B_BIN" --middleware false
start a "$A_BIN" --middleware true "${STORE_ARGS[@]}"
start b "$B_BIN" --middleware true "${STORE_ARGS[@]}"

SCENARIOS=("GET pass-through|/plain|" "memory new key|/keyed|new-key.lua" "memory replay|/keyed|replay.lua" "bare POST|/bare|post.lua")
echo "warming every server on every scenario ($WARMUP each)..."
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r label path script <<<"$s"
  for name in a b bare; do
    [ "$name" = bare ] && [ "$path" = /keyed ] && continue
    measure "$name" "$path" "$script" "$WARMUP" >/dev/null
  done
done

for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r label path script <<<"$s"
  : >"$WORK/a.txt"; : >"$WORK/b.txt"
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
    for name in $order; do
      server=$name; [ "$path" = /bare ] && server=bare
      measure "$server" "$path" "$script" "$DURATION" >>"$WORK/$name.txt"
    done
  done
  median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
  a_rps=$(awk '{print $1}' "$WORK/a.txt" | median); b_rps=$(awk '{print $1}' "$WORK/b.txt" | median)
  a_cpu=$(awk '{print $2}' "$WORK/a.txt" | median); b_cpu=$(awk '{print $2}' "$WORK/b.txt" | median)
  printf '%-18s A %9.0f req/s %6.2f us/req   B %9.0f req/s %6.2f us/req   B/A req/s %.3f, CPU/req %.3f\n' \
    "$label" "$a_rps" "$a_cpu" "$b_rps" "$b_cpu" "$(awk -v a="$a_rps" -v b="$b_rps" 'BEGIN{print b/a}')" "$(awk -v a="$a_cpu" -v b="$b_cpu" 'BEGIN{print b/a}')"
done
echo "(A = $BASE, B = working tree; stores $([ -n "${MAX_ENTRIES:-}" ] && echo "held at $MAX_ENTRIES records" || echo "growing, up to 10 million records"); $ROUNDS alternating rounds of wrk -t$THREADS -c$CONNECTIONS -d$DURATION after a $WARMUP warm-up per server and scenario; medians. The bare POST row runs the same bare server twice: its B/A shows the noise.)"
