#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the servers the tests start themselves
# (redis-server, nginx; PostgreSQL 15 is expected from the machine image, installed here if missing),
# runs `dotnet test` for every test project, and ends with one line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")"

need_packages=()
command -v redis-server >/dev/null 2>&1 || need_packages+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_packages+=(nginx)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_packages+=(postgresql-15)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "test.sh: installing ${need_packages[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null \
    || { echo "test.sh: could not install ${need_packages[*]}; install them with apt-get and run again" >&2; exit 1; }
  # The Debian packages start system services; the tests start their own servers on free ports.
  for svc in redis-server nginx; do $SUDO service "$svc" stop >/dev/null 2>&1 || true; done
fi

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

dotnet test Idempotency.sln -c Release --no-build --logger "trx" --results-directory "$results_dir" 2>&1 \
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
