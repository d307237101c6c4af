#!/usr/bin/env bash
# Native AOT smoke test: publishes samples/AotSmoke (the middleware with the Redis or the PostgreSQL store, chosen at
# start-up; PublishAot) once for this machine, then runs the native binary twice: against a redis-server of its own on
# a free loopback port, and against a throwaway PostgreSQL 15 (initdb/pg_ctl in a temporary directory, trust auth, a
# free loopback port). Each time it sends a keyed POST and its retry with curl and checks that the retry is the replay:
# the same status and byte-identical body, with the Idempotent-Replayed header, and the handler ran once. A third
# request with the same key and another body must be refused with 422. On PostgreSQL the same checks run on an endpoint
# in transactional mode (Idempotency.PostgreSql.AspNetCore) too, and the conditional writes (versioned records, streams)
# run once each and must answer as expected. Any trimming or AOT warning in the publish fails it.
# Takes one to three minutes, mostly the native compilation. tests/Idempotency.Packages.Tests runs it (AotSmokeTests),
# so its result counts in ./test.sh.
#
#   scripts/aot-smoke.sh           # needs clang, zlib1g-dev, curl (scripts/install-test-servers.sh native-aot), redis-server and PostgreSQL 15
#
# IDEMPOTENCY_REDIS_SERVER names the redis-server binary, IDEMPOTENCY_POSTGRES_BIN the directory of initdb and pg_ctl,
# as for the tests (defaults: redis-server on PATH, /usr/lib/postgresql/15/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# No build server or node left behind by the script (it may run inside a test).
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER=1 UseSharedCompilation=false

redis_server="${IDEMPOTENCY_REDIS_SERVER:-redis-server}"
pg_bin="${IDEMPOTENCY_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}"
work="$(mktemp -d)"
# PostgreSQL's own directory: under /tmp (its Unix socket path must stay short) and reachable by the postgres user.
pg_dir=""
pids=()
# PostgreSQL refuses to run as root: then initdb and pg_ctl run as the postgres user, as in the tests.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_dir" ]; then
    [ ! -f "$pg_dir/data/postmaster.pid" ] || as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { # message, [log file]
  echo "aot smoke FAILED: $1" >&2
  [ -z "${2:-}" ] || { echo "--- $2" >&2; tail -n 60 "$2" >&2; }
  exit 1
}
free_port() { # a port nothing listens on, from the ephemeral range
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  return 1
}

case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) fail "no Native AOT runtime identifier for $(uname -m)" ;;
esac

# 1. Publish. Every project's bin/obj go to the temporary directory, so the repository's are left as they were.
echo "aot smoke: publishing samples/AotSmoke for $rid (Native AOT)"
if ! dotnet publish samples/AotSmoke/AotSmoke.csproj -c Release -r "$rid" -o "$work/publish" \
       --artifacts-path "$work/artifacts" >"$work/publish.log" 2>&1; then
  fail "dotnet publish failed" "$work/publish.log"
fi
if grep -E "warning (IL[0-9]+|AOT)" "$work/publish.log" >/dev/null; then
  grep -E "warning (IL[0-9]+|AOT)" "$work/publish.log" | sort -u | head -n 20 >&2
  fail "the native publish has trimming/AOT warnings (above)"
fi
binary="$work/publish/AotSmoke"
[ -x "$binary" ] || fail "no native binary at $binary" "$work/publish.log"
file_size=$(($(stat -c %s "$binary") / 1024 / 1024))

# 2. The native app against a store, on a port the OS chooses; it prints the address once it accepts requests. Then,
# on each of the given paths, a keyed POST, its retry, and the key reused for another body.
check_app() { # store, address, label, path...
  local store="$1" address="$2" label="$3"
  shift 3
  "$binary" "$store" "$address" --urls "http://127.0.0.1:0" >"$work/app-$store.log" 2>&1 &
  local app_pid=$!
  pids+=("$app_pid")
  local url=""
  for _ in $(seq 1 200); do
    url="$(sed -n 's/^listening on //p' "$work/app-$store.log" | head -n 1)"
    [ -n "$url" ] && break
    kill -0 "$app_pid" 2>/dev/null || fail "the native app exited ($label)" "$work/app-$store.log"
    sleep 0.1
  done
  [ -n "$url" ] || fail "the native app did not start listening ($label)" "$work/app-$store.log"
  local path
  for path in "$@"; do
    check_orders "$url" "$path" "$label${path%/orders}" "$work/app-$store.log"
  done
  [ "$store" != postgresql ] || check_conditional_writes "$url" "$work/app-$store.log"
  kill "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
}
check_orders() { # app url, orders path, label, app log
  local url="$1" path="$2" label="$3" log="$4"
  local key="aot-smoke-$$-$RANDOM" name="${label//[^a-z]/-}"
  post() { # body, name
    curl -sS -o "$work/$2.body" -D "$work/$2.headers" -w '%{http_code}' -X POST "$url$path" \
      -H "Idempotency-Key: $key" -H "Content-Type: application/json" --data "$1"
  }
  local first_status retry_status reuse_status executions
  first_status="$(post '{"item":"book","quantity":2}' "$name-first")" || fail "the first POST failed ($label)" "$log"
  retry_status="$(post '{"item":"book","quantity":2}' "$name-retry")" || fail "the retry failed ($label)" "$log"
  reuse_status="$(post '{"item":"pen","quantity":9}' "$name-reuse")" || fail "the reused key's POST failed ($label)" "$log"
  executions="$(curl -sS "$url${path%/orders}/executions")" || fail "GET executions failed ($label)" "$log"

  local first="$work/$name-first" retry="$work/$name-retry" reuse="$work/$name-reuse"
  [ "$first_status" = 201 ] || fail "the first POST answered $first_status, not 201 ($label): $(cat "$first.body")" "$log"
  grep -qi '^Idempotent-Replayed:' "$first.headers" && fail "the first POST carries Idempotent-Replayed ($label)" "$first.headers"
  [ "$retry_status" = 201 ] || fail "the retry answered $retry_status, not the stored 201 ($label)" "$retry.headers"
  grep -qi '^Idempotent-Replayed: true' "$retry.headers" || fail "the retry has no 'Idempotent-Replayed: true' header ($label)" "$retry.headers"
  cmp -s "$first.body" "$retry.body" || fail "the replayed body differs ($label): $(cat "$first.body") / $(cat "$retry.body")"
  local first_location retry_location
  first_location="$(grep -i '^Location:' "$first.headers" | tr -d '\r')"
  retry_location="$(grep -i '^Location:' "$retry.headers" | tr -d '\r')"
  [ "$first_location" = "$retry_location" ] || fail "the replayed Location differs ($label): $first_location / $retry_location"
  [ "$reuse_status" = 422 ] || fail "the key reused for another body answered $reuse_status, not 422 ($label)" "$reuse.headers"
  [ "$executions" = 1 ] || fail "the handler ran $executions times, not once ($label)"
  echo "aot smoke: $label: the keyed POST ran once, its retry was replayed byte for byte, the reused key got 422"
}

check_conditional_writes() { # app url, app log: every conditional write once (create, update, append, read) on PostgreSQL
  local expected="Applied/1 VersionConflict/1 Applied/2 VersionConflict/2 NotFound/0 2:c Applied/1 Applied/2 VersionConflict/2 2 1:x,2:y"
  local summary
  summary="$(curl -sS -X POST "$1/conditional-writes")" || fail "POST /conditional-writes failed" "$2"
  [ "$summary" = "$expected" ] || fail "the conditional writes answered '$summary', not '$expected'" "$2"
  echo "aot smoke: postgresql: the conditional writes (create, compare-and-set update, append, read) answered as expected"
}

# 3. Redis on a free loopback port, nothing persisted.
redis_port="$(free_port)" || fail "no free port for redis-server"
"$redis_server" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --maxmemory-policy noeviction >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null || fail "redis-server did not listen on $redis_port" "$work/redis.log"
check_app redis "127.0.0.1:$redis_port" "redis" /orders

# 4. A throwaway PostgreSQL 15 on a free loopback port (a port found free may be taken before it binds: try a few).
[ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/pg_ctl" ] || fail "no initdb/pg_ctl in $pg_bin (set IDEMPOTENCY_POSTGRES_BIN)"
pg_dir="$(mktemp -d /tmp/aot-smoke-pg-XXXXXX)"
[ "$(id -u)" -ne 0 ] || { chown postgres:postgres "$pg_dir"; chmod 700 "$pg_dir"; }
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1 \
  || fail "initdb failed" "$work/initdb.log"
pg_started=""
for _ in 1 2 3; do
  pg_port="$(free_port)" || fail "no free port for PostgreSQL"
  if as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
       -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off" start >"$work/pg_ctl.log" 2>&1; then
    pg_started=1
    break
  fi
done
[ -n "$pg_started" ] || fail "PostgreSQL did not start" "$pg_dir/server.log"
check_app postgresql "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Timeout=5;Command Timeout=30" \
  "postgresql" /orders /transactional/orders

echo "aot smoke: the native binary (${file_size} MB) ran the keyed POST once, replayed its retry byte for byte with Idempotent-Replayed, and refused the reused key with 422, on Redis and on PostgreSQL (plain and transactional), and ran the conditional writes"
