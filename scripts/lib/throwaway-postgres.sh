# Sourced by the benchmark scripts that need PostgreSQL (scripts/benchmark-e2e.sh, scripts/benchmark-pg-unit-of-work.sh):
# a throw-away cluster on a free loopback port, inside a directory of the caller's.
#
#   source scripts/lib/throwaway-postgres.sh
#   start_throwaway_postgres "$WORK" [-c name=value ...]   # sets pg_port; the caller's cleanup calls stop_pg
#
# Needs PG_BIN (PostgreSQL's bin directory). Run as root, the cluster runs as the postgres user (PostgreSQL refuses
# root), which then owns the directory.

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_throwaway_postgres() { # directory, extra server settings...
  local dir=$1; shift
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  PG_DIR=$dir/pg
  mkdir -p "$PG_DIR"; [ "$(id -u)" -eq 0 ] && chown -R postgres "$dir" && chmod 755 "$dir"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w start \
    -o "-p $pg_port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 $*" >/dev/null
}

# Stops the cluster, if one was started; does nothing otherwise.
stop_pg() { if [ -n "${PG_DIR:-}" ]; then as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true; fi; }
