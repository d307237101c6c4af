#!/usr/bin/env bash
# Native AOT smoke test: publishes samples/AotSmoke (the middleware and the Redis store, PublishAot) for this machine,
# starts a redis-server of its own on a free loopback port and the native binary against it, then sends a keyed POST
# and its retry with curl and checks that the retry is the replay: the same status and byte-identical body, with the
# Idempotent-Replayed header, and the handler ran once. A third request with the same key and another body must be
# refused with 422. Any trimming or AOT warning in the publish fails it too. Takes one to three minutes, mostly the
# native compilation. tests/Idempotency.Packages.Tests runs it (AotSmokeTests), so its result counts in ./test.sh.
#
#   scripts/aot-smoke.sh           # needs clang, zlib1g-dev, curl (scripts/install-test-servers.sh native-aot) and redis-server
#
# IDEMPOTENCY_REDIS_SERVER names the redis-server binary, as for the tests (default: redis-server on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# No build server or node left behind by the script (it may run inside a test).
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER=1 UseSharedCompilation=false

redis_server="${IDEMPOTENCY_REDIS_SERVER:-redis-server}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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

# 2. Redis on a free loopback port, nothing persisted.
redis_port="$(free_port)" || fail "no free port for redis-server"
"$redis_server" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --maxmemory-policy noeviction >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null || fail "redis-server did not listen on $redis_port" "$work/redis.log"

# 3. The native app, on a port the OS chooses; it prints the address once it accepts requests.
"$binary" "127.0.0.1:$redis_port" --urls "http://127.0.0.1:0" >"$work/app.log" 2>&1 &
pids+=($!)
url=""
for _ in $(seq 1 200); do
  url="$(sed -n 's/^listening on //p' "$work/app.log" | head -n 1)"
  [ -n "$url" ] && break
  kill -0 "${pids[-1]}" 2>/dev/null || fail "the native app exited" "$work/app.log"
  sleep 0.1
done
[ -n "$url" ] || fail "the native app did not start listening" "$work/app.log"

# 4. A keyed POST, its retry, and the key reused for another body.
key="aot-smoke-$$-$RANDOM"
post() { # body, name
  curl -sS -o "$work/$2.body" -D "$work/$2.headers" -w '%{http_code}' -X POST "$url/orders" \
    -H "Idempotency-Key: $key" -H "Content-Type: application/json" --data "$1"
}
first_status="$(post '{"item":"book","quantity":2}' first)" || fail "the first POST failed" "$work/app.log"
retry_status="$(post '{"item":"book","quantity":2}' retry)" || fail "the retry failed" "$work/app.log"
reuse_status="$(post '{"item":"pen","quantity":9}' reuse)" || fail "the reused key's POST failed" "$work/app.log"
executions="$(curl -sS "$url/executions")" || fail "GET /executions failed" "$work/app.log"

[ "$first_status" = 201 ] || fail "the first POST answered $first_status, not 201: $(cat "$work/first.body")" "$work/app.log"
grep -qi '^Idempotent-Replayed:' "$work/first.headers" && fail "the first POST carries Idempotent-Replayed" "$work/first.headers"
[ "$retry_status" = 201 ] || fail "the retry answered $retry_status, not the stored 201" "$work/retry.headers"
grep -qi '^Idempotent-Replayed: true' "$work/retry.headers" || fail "the retry has no 'Idempotent-Replayed: true' header" "$work/retry.headers"
cmp -s "$work/first.body" "$work/retry.body" || fail "the replayed body differs: $(cat "$work/first.body") / $(cat "$work/retry.body")"
first_location="$(grep -i '^Location:' "$work/first.headers" | tr -d '\r')"
retry_location="$(grep -i '^Location:' "$work/retry.headers" | tr -d '\r')"
[ "$first_location" = "$retry_location" ] || fail "the replayed Location differs: $first_location / $retry_location"
[ "$reuse_status" = 422 ] || fail "the key reused for another body answered $reuse_status, not 422" "$work/reuse.headers"
[ "$executions" = 1 ] || fail "the handler ran $executions times, not once"

echo "aot smoke: the native binary (${file_size} MB) ran the keyed POST once, replayed its retry byte for byte with Idempotent-Replayed, and refused the reused key with 422"
