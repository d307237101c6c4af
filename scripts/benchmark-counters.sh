#!/usr/bin/env bash
# What a request costs the runtime, beside its CPU time: thread-pool work items, bytes allocated, collections,
# contended locks and the collector's pause time per request, read from the benchmark server's GET /runtime-counters
# around one wrk run of each scenario (after a warm-up of the same length plus 7 s). The in-memory store grows (up to
# 10 million records) unless MAX_ENTRIES=N holds it at N records.
#
#   scripts/benchmark-counters.sh
#   MAX_ENTRIES=200000 DURATION=10s scripts/benchmark-counters.sh
#
# Needs wrk (scripts/install-test-servers.sh installs it when missing). Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/replay-key.sh
DURATION=${DURATION:-5s}
scripts/install-test-servers.sh wrk
source scripts/lib/wrk-pairs.sh
build_server_and_workdir

bare=$(start_server bare --middleware false)
ours=$(start_server ours --middleware true --store memory ${MAX_ENTRIES:+--max-entries "$MAX_ENTRIES"})
store_replay_key "$ours"

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION per scenario; store $([ -n "${MAX_ENTRIES:-}" ] && echo "held at $MAX_ENTRIES records" || echo "growing"); per request:"
printf '%-30s %8s %11s %9s %13s %6s %6s %11s %10s\n' scenario "us CPU" "work items" bytes "gen0 per 1k" gen1 gen2 contended "us paused"
# label | URL | wrk script
for s in "bare POST|$bare/bare|post.lua" "memory new key|$ours/keyed|new-key.lua" "memory replay|$ours/keyed|replay.lua" \
  "GET, bare app|$bare/plain|" "GET pass-through|$ours/plain|"; do
  IFS='|' read -r label url script <<<"$s"
  origin=$(sed -E 's#^(http://[^/]+).*#\1#' <<<"$url")
  # A held store evicts the replayed key once enough new keys follow it: stored again (a replay if still there).
  [ "$script" = replay.lua ] && store_replay_key "$origin"
  measure "$url" "$script" "$((${DURATION%s} + 7))s" >/dev/null
  read -r -a before < <(curl -fs "$origin/runtime-counters"; echo)
  read -r _ cpu _ n < <(measure "$url" "$script" "$DURATION")
  read -r -a after < <(curl -fs "$origin/runtime-counters"; echo)
  awk -v label="$label" -v cpu="$cpu" -v n="$n" -v b="${before[*]}" -v a="${after[*]}" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    printf "%-30s %8.1f %11.3f %9.0f %13.3f %6d %6d %11.4f %10.2f\n", label, cpu, (y[1] - x[1]) / n, (y[2] - x[2]) / n,
      (y[3] - x[3]) * 1000 / n, y[4] - x[4], y[5] - x[5], (y[6] - x[6]) / n, (y[7] - x[7]) / n }'
done
