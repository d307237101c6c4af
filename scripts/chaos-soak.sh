#!/usr/bin/env bash
# The chaos suite as a long soak: the same tests as in the normal run (tests/Idempotency.Chaos.Tests), scaled up, with
# every figure appended to a Markdown report. Everything runs on 127.0.0.1; the tests start and stop their own
# redis-server, PostgreSQL 15 clusters and ledger processes.
#
#   scripts/chaos-soak.sh                          # CHAOS_SCALE=10: 20,000 operations per retry storm, 80 SIGKILLs per store, ...
#   CHAOS_SCALE=3 scripts/chaos-soak.sh            # shorter
#   CHAOS_SEED=12345 scripts/chaos-soak.sh         # one seed for every test (each test has its own fixed seed otherwise)
#   scripts/chaos-soak.sh --filter "FullyQualifiedName~Crash"   # extra arguments go to `dotnet test`
#
# Needs redis-server and PostgreSQL 15: scripts/install-test-servers.sh installs them when missing (or set
# IDEMPOTENCY_REDIS_SERVER and IDEMPOTENCY_POSTGRES_BIN, as for the tests).
set -euo pipefail
cd "$(dirname "$0")/.."

scale="${CHAOS_SCALE:-10}"
report="${CHAOS_REPORT:-artifacts/chaos/soak-$(date -u +%Y%m%dT%H%M%SZ)-x${scale}.md}"
mkdir -p "$(dirname "$report")"

scripts/install-test-servers.sh redis-server postgresql

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
{
  echo "# Chaos soak, scale ${scale}"
  echo
  echo "- started: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- machine: $(nproc) cores, $(uname -srm), .NET SDK $(dotnet --version)"
  echo "- seed: ${CHAOS_SEED:-the fixed seed of each test}"
  echo
} > "$report"

dotnet build tests/Idempotency.Chaos.Tests -c Release -warnaserror -v quiet -nologo
started=$(date +%s)
status=0
CHAOS_SCALE="$scale" CHAOS_REPORT="$(realpath "$report")" \
  dotnet test tests/Idempotency.Chaos.Tests -c Release --no-build --logger "console;verbosity=normal" "$@" || status=$?
echo "- finished in $(( $(date +%s) - started )) s, dotnet test exit code ${status}" >> "$report"

echo "chaos-soak: report in ${report}"
exit "$status"
