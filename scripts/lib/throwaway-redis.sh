# Sourced by the benchmark scripts that need Redis (scripts/benchmark-e2e.sh, scripts/benchmark-redis-ab.sh,
# scripts/benchmark-redis-floor.sh): a throw-away redis-server without persistence on a free loopback port, inside a
# directory of the caller's, and the count of the script calls it has run.
#
#   source scripts/lib/throwaway-redis.sh
#   start_throwaway_redis "$WORK"   # sets redis_port; its PID goes to $WORK/redis.pid, which the caller's cleanup stops
#   evalsha_calls                   # EVALSHA calls so far (INFO commandstats), 0 before the first
#
# IDEMPOTENCY_REDIS_SERVER names the redis-server binary, as for the tests (default: redis-server on PATH).

start_throwaway_redis() { # directory
  local dir=$1
  redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  "${IDEMPOTENCY_REDIS_SERVER:-redis-server}" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --maxmemory-policy noeviction --dir "$dir" >"$dir/redis.log" 2>&1 &
  echo $! >"$dir/redis.pid"
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "redis-server did not start on port $redis_port: $dir/redis.log" >&2; return 1
}

evalsha_calls() { redis-cli -p "$redis_port" info commandstats | awk -F'[=,]' '/^cmdstat_evalsha:/ {print $2}' | tr -d '\r' | grep . || echo 0; }
