#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the servers the tests start themselves (redis-server,
# nginx, PostgreSQL 15; scripts/install-test-servers.sh, which honours the IDEMPOTENCY_* variables that say where
# they are), runs `dotnet test` for every test project, and ends with one line: "N passed, M failed".
#
#   ./test.sh           # the complete suite (CI runs this)
#   ./test.sh --fast    # skips the tests marked [Trait("Lane", "Full")]: the chaos suite, the end-to-end nginx
#                       # mirroring tests, the sample-wide fuzzer and the other tests that take over ~10 s
set -uo pipefail
cd "$(dirname "$0")"

filter=()
case "${1:-}" in
  "") ;;
  --fast) filter=(--filter "Lane!=Full") ;;
  *) echo "usage: ./test.sh [--fast]" >&2; exit 2 ;;
esac

scripts/install-test-servers.sh || { echo "0 passed, 1 failed"; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results_dir="$(mktemp -d)"
trap 'rm -rf "$results_dir"' EXIT

dotnet build Idempotency.sln -c Release -warnaserror 2>&1 | tail -n 3
build_status=${PIPESTATUS[0]}
if [ "$build_status" -ne 0 ]; then
  dotnet build Idempotency.sln -c Release 2>&1 | grep -E "error" | sort -u | head -n 50
  echo "0 passed, 1 failed"
  exit 1
fi

dotnet test Idempotency.sln -c Release --no-build "${filter[@]}" --logger "trx" --results-directory "$results_dir" 2>&1 \
  | grep -vE '^\s*$'
test_status=${PIPESTATUS[0]}

passed=0; failed=0
for trx in "$results_dir"/*.trx; do
  [ -e "$trx" ] || continue
  p=$(grep -o 'passed="[0-9]*"' "$trx" | head -n1 | grep -o '[0-9]*')
  f=$(grep -o 'failed="[0-9]*"' "$trx" | head -n1 | grep -o '[0-9]*')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$test_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a test host crashed or a project did not run
echo "$passed passed, $failed failed"
[ "$test_status" -eq 0 ] && [ "$failed" -eq 0 ]
