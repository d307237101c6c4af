# Sourced by the end-to-end benchmark scripts (scripts/benchmark-e2e.sh, scripts/benchmark-store-size.sh): starting
# the benchmark server (tests/Idempotency.Benchmarks, serve mode) on free loopback ports and measuring it under wrk.
#
#   source "$repo/scripts/lib/wrk-pairs.sh"   # needs $BIN (the benchmark dll) and $WORK (a temp directory)
#   url=$(start_server <name> <serve arguments>...)   # waits until /plain answers (START_TIMEOUT seconds, 10 by default)
#   read -r rps cpu p99 n < <(measure <url> <wrk script or ""> <duration>)
#   ... | median
#
# Each server's PID goes to $WORK/<port>.pid (start_server runs in a command substitution, a subshell), which the
# caller's cleanup reads. THREADS and CONNECTIONS set wrk's -t and -c (2 and 32 by default).
#
# A script with no servers of its own to stop may instead call build_server_and_workdir: it builds the benchmark
# project, sets BIN and WORK, and on exit stops every server started and removes WORK.

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
TICKS_PER_SECOND=$(getconf CLK_TCK)

build_server_and_workdir() {
  dotnet build tests/Idempotency.Benchmarks -c Release -nologo -v q >/dev/null
  BIN=tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
  WORK=$(mktemp -d)
  trap stop_servers_and_remove_workdir EXIT
}

stop_servers_and_remove_workdir() {
  for p in $(cat "$WORK"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true; rm -rf "$WORK"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_for() { # url
  for _ in $(seq 1 $((${START_TIMEOUT:-10} * 10))); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server at $1 did not start" >&2; exit 1
}

start_server() { # name, serve arguments...
  local name=$1; shift
  local port; port=$(free_port)
  dotnet "$BIN" serve --urls "http://127.0.0.1:$port" "$@" >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$port.pid"
  wait_for "http://127.0.0.1:$port/plain"
  echo "http://127.0.0.1:$port"
}

# CPU time (user + system, in clock ticks) the server on a port has used so far, from /proc/<pid>/stat.
server_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$WORK/$1.pid")/stat"; }

# One wrk run against a URL: prints "req/s cpu-us-per-request p99-ms requests" (the app's CPU over this run only).
measure() { # url, script-or-empty, duration
  local url=$1 script=$2 duration=$3
  local port; port=$(sed -E 's#^http://[^:/]+:([0-9]+).*#\1#' <<<"$url")
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency)
  [ -n "$script" ] && args+=(-s "scripts/wrk/$script")
  local before; before=$(server_ticks "$port")
  wrk "${args[@]}" "$url" >"$WORK/last.txt"
  local after; after=$(server_ticks "$port")
  awk -v t=$((after - before)) -v hz="$TICKS_PER_SECOND" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /requests in/ {n = $1} /Requests\/sec/ {r = $2} $1 == "99%" {p = ms($2)}
    END {printf "%s %.1f %.2f %d\n", r, t * 1000000 / hz / n, p, n}' "$WORK/last.txt"
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
column_of() { awk -v c="$1" '{print $c}' "$2"; }
