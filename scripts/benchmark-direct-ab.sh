#!/usr/bin/env bash
# A/B of the middleware in process, without sockets: MiddlewareDirectBenchmarks (the middleware invoked on a
# DefaultHttpContext with the in-memory store, beside the same handler alone) built from a base git ref ("A") and from
# the working tree ("B"), measured by DirectCpuProbe: the process's CPU time per request (its threads and the garbage
# collector's) and its exact allocations per request. Processes of A and B alternate, ROUNDS times; medians.
#
#   scripts/benchmark-direct-ab.sh <base-ref>                 # e.g. scripts/benchmark-direct-ab.sh 7319065
#   ROUNDS=9 OPERATIONS=300000 scripts/benchmark-direct-ab.sh <base-ref>
#   METHOD=new-key scripts/benchmark-direct-ab.sh <base-ref>    # one method per process, nothing run before it
#
# CPU time is steadier than the wall clock on shared cores, but not immune to them (caches, frequency): compare the
# handler-alone row of A and B, which runs the same code in both, to see the noise. The new key adds a record per
# request to a store without limits, so it also measures the store's growth. Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: scripts/benchmark-direct-ab.sh <base-ref>}
ROUNDS=${ROUNDS:-7}
OPERATIONS=${OPERATIONS:-300000}
METHOD=${METHOD:-} # empty: every method, in one process each round

WORK=$(mktemp -d)
git worktree add -q --detach "$WORK/base" "$BASE"
cleanup() { git worktree remove --force "$WORK/base" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

# The probe uses only MiddlewareDirectBenchmarks' public methods, so an older build can run it as well.
if ! grep -q DirectCpuProbe "$WORK/base/tests/Idempotency.Benchmarks/Program.cs"; then
  cp tests/Idempotency.Benchmarks/DirectCpuProbe.cs "$WORK/base/tests/Idempotency.Benchmarks/"
  sed -i 's|^BenchmarkSwitcher.FromAssembly|if (args.Length > 0 \&\& args[0] == "direct-cpu") { await DirectCpuProbe.RunAsync(args[1..]); return; }\n&|' \
    "$WORK/base/tests/Idempotency.Benchmarks/Program.cs"
fi
dotnet build "$WORK/base/tests/Idempotency.Benchmarks" -c Release -nologo -v q >/dev/null
dotnet build tests/Idempotency.Benchmarks -c Release -nologo -v q >/dev/null
A_BIN=$WORK/base/tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
B_BIN=tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then order="A B"; else order="B A"; fi
  for side in $order; do
    bin=$A_BIN; [ "$side" = B ] && bin=$B_BIN
    # shellcheck disable=SC2086 # METHOD is one word or none
    dotnet "$bin" direct-cpu "$OPERATIONS" $METHOD | sed "s/^/$side /" >>"$WORK/runs.txt"
  done
done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf '%-14s %12s %12s %8s %12s %12s\n' "method" "A CPU ns" "B CPU ns" "B/A" "A bytes" "B bytes"
for method in ${METHOD:-handler-alone pass-through replay new-key}; do
  a=$(awk -v m="$method" '$1 == "A" && $2 == m {print $3}' "$WORK/runs.txt" | median)
  b=$(awk -v m="$method" '$1 == "B" && $2 == m {print $3}' "$WORK/runs.txt" | median)
  a_bytes=$(awk -v m="$method" '$1 == "A" && $2 == m {print $4}' "$WORK/runs.txt" | median)
  b_bytes=$(awk -v m="$method" '$1 == "B" && $2 == m {print $4}' "$WORK/runs.txt" | median)
  printf '%-14s %12.0f %12.0f %8.3f %12.0f %12.0f\n' "$method" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {print b / a}')" "$a_bytes" "$b_bytes"
  echo "    every run (CPU ns): A $(awk -v m="$method" '$1 == "A" && $2 == m {printf "%s ", $3}' "$WORK/runs.txt")  B $(awk -v m="$method" '$1 == "B" && $2 == m {printf "%s ", $3}' "$WORK/runs.txt")"
done
echo "(A = $BASE, B = working tree; $ROUNDS alternating rounds of one process each, $OPERATIONS requests per method after as many to warm up; medians)"
