#!/usr/bin/env bash
# Where a request's CPU goes: the benchmark server under one wrk load, recorded by perf, summarised in microseconds of
# samples per request (scripts/lib/perf-frames.py): by kernel, JIT-compiled code and native library; inclusive per frame
# named in FRAMES; and the library's own work by innermost frame, the handler's excluded.
#
#   scripts/profile-server.sh new-key                 # the in-memory store, a new key per request (held at 200,000)
#   scripts/profile-server.sh replay                  # replays of one key
#   scripts/profile-server.sh bare                    # the bare POST, no middleware: the baseline to compare with
#   FRAMES="ReplayAsync ComputeFingerprintAsync" scripts/profile-server.sh replay
#
# The server is loaded for WARMUP seconds (15) before perf records for RECORD seconds (8) at FREQUENCY Hz (2000).
# SAVE=<file> keeps the samples with their stacks (perf script -F ip,sym,dso) for a closer look. Needs perf and wrk.
# Sample counts per request compare across runs on a quiet machine; the totals drift with it as CPU per request does
# (docs/performance.md: compare with a bare run made just before or after).
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${1:?usage: scripts/profile-server.sh new-key|replay|bare}
WARMUP=${WARMUP:-15}
RECORD=${RECORD:-8}
FREQUENCY=${FREQUENCY:-2000}
FRAMES=${FRAMES:-"IdempotencyMiddleware::InvokeAsync IdempotencyEngine RequestDelegateFactory ComputeFingerprintAsync"}
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
scripts/install-test-servers.sh wrk
source scripts/lib/replay-key.sh
source scripts/lib/wrk-pairs.sh
build_server_and_workdir

case "$SCENARIO" in
  new-key) args=(--middleware true --store memory --max-entries 200000); path=/keyed; script=new-key.lua ;;
  replay) args=(--middleware true --store memory --max-entries 200000); path=/keyed; script=replay.lua ;;
  bare) args=(--middleware false); path=/bare; script=post.lua ;;
  *) echo "unknown scenario $SCENARIO: new-key, replay or bare" >&2; exit 2 ;;
esac

export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 # JIT-compiled frames named in /tmp/perf-<pid>.map
url=$(start_server "$SCENARIO" "${args[@]}")
[ "$SCENARIO" = replay ] && store_replay_key "$url"
pid=$(cat "$WORK/$(sed -E 's#.*:([0-9]+)$#\1#' <<<"$url").pid")

wrk -t"$THREADS" -c"$CONNECTIONS" -d$((WARMUP + RECORD + 2))s -s "scripts/wrk/$script" "$url$path" >"$WORK/wrk.txt" &
wrk_pid=$!
sleep "$WARMUP"
perf record -F "$FREQUENCY" -g -p "$pid" -o "$WORK/perf.data" -- sleep "$RECORD" 2>/dev/null >/dev/null
wait "$wrk_pid"
rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
perf script -i "$WORK/perf.data" -F ip,sym,dso 2>/dev/null >"$WORK/perf.txt"
[ -n "${SAVE:-}" ] && cp "$WORK/perf.txt" "$SAVE"
echo "$SCENARIO: $rps req/s under wrk -t$THREADS -c$CONNECTIONS; $RECORD s recorded after $WARMUP s of load"
# shellcheck disable=SC2086 # FRAMES is a list of words
python3 scripts/lib/perf-frames.py "$WORK/perf.txt" "$(python3 -c "print($rps * $RECORD)")" "$FREQUENCY" $FRAMES
