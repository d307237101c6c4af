#!/usr/bin/env bash
# Installs the servers the tests start themselves, when missing: the one install step that test.sh, the benchmarks
# and the chaos soak share. Debian/Ubuntu packages through apt-get (with sudo when not root); the system services the
# packages start are stopped again, since the tests start their own servers on free loopback ports.
#
#   scripts/install-test-servers.sh                          # redis-server, postgresql, nginx, garnet, native-aot: what the tests need
#   scripts/install-test-servers.sh redis-server postgresql wrk   # only these (wrk: the end-to-end benchmarks)
#   (native-aot is not a server: clang, zlib1g-dev and curl, for scripts/aot-smoke.sh's PublishAot build and requests)
#
# The same environment variables as the tests (tests/Shared/TestServerBinaries.cs) say where a server is; when one is
# set, nothing is installed for that server, and the script fails if the path it names does not exist:
#   IDEMPOTENCY_POSTGRES_BIN   PostgreSQL's bin directory (initdb, pg_ctl)   default /usr/lib/postgresql/15/bin
#   IDEMPOTENCY_REDIS_SERVER   the redis-server binary                       default redis-server on PATH
#   IDEMPOTENCY_NGINX          the nginx binary                              default /usr/sbin/nginx, else nginx on PATH
#   IDEMPOTENCY_GARNET_SERVER  Microsoft Garnet's garnet-server              default on PATH, else ~/.dotnet/tools
# (garnet is the garnet-server dotnet tool, installed with `dotnet tool install --global`, pinned below.)
set -euo pipefail

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(redis-server postgresql nginx garnet native-aot)
garnet_version=2.2.13

packages=()
services=()
configured() { # variable, path, what: true when the variable is set; fails when it names nothing
  [ -n "$2" ] || return 1
  [ -e "$2" ] || { echo "install-test-servers: $1 is set to $2, but there is no $3 there" >&2; exit 1; }
}
for server in "${wanted[@]}"; do
  case "$server" in
    redis-server)
      configured IDEMPOTENCY_REDIS_SERVER "${IDEMPOTENCY_REDIS_SERVER:-}" redis-server && continue
      command -v redis-server >/dev/null 2>&1 || { packages+=(redis-server); services+=(redis-server); } ;;
    postgresql)
      configured IDEMPOTENCY_POSTGRES_BIN "${IDEMPOTENCY_POSTGRES_BIN:-}" "PostgreSQL bin directory" && continue
      [ -x /usr/lib/postgresql/15/bin/initdb ] || { packages+=(postgresql-15); services+=(postgresql); } ;;
    nginx)
      configured IDEMPOTENCY_NGINX "${IDEMPOTENCY_NGINX:-}" nginx && continue
      [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || { packages+=(nginx); services+=(nginx); } ;;
    wrk)
      command -v wrk >/dev/null 2>&1 || packages+=(wrk) ;;
    garnet)
      configured IDEMPOTENCY_GARNET_SERVER "${IDEMPOTENCY_GARNET_SERVER:-}" garnet-server && continue
      if ! command -v garnet-server >/dev/null 2>&1 && [ ! -x "$HOME/.dotnet/tools/garnet-server" ]; then
        echo "install-test-servers: installing garnet-server $garnet_version (dotnet tool)" >&2
        dotnet tool install --global garnet-server --version "$garnet_version" >/dev/null \
          || { echo "install-test-servers: could not install the garnet-server dotnet tool" >&2; exit 1; }
      fi ;;
    native-aot)
      # The AOT compiler links with clang, or with a versioned clang-NN when there is no plain clang.
      command -v clang >/dev/null 2>&1 || compgen -c clang- | grep -qE '^clang-[0-9]+$' || packages+=(clang)
      [ -e /usr/include/zlib.h ] || packages+=(zlib1g-dev)
      command -v curl >/dev/null 2>&1 || packages+=(curl) ;;
    *)
      echo "install-test-servers: unknown server '$server' (redis-server, postgresql, nginx, garnet, native-aot or wrk)" >&2; exit 2 ;;
  esac
done
[ ${#packages[@]} -gt 0 ] || exit 0

echo "install-test-servers: installing ${packages[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }; then
  echo "install-test-servers: could not install ${packages[*]}; install them with apt-get (or set the IDEMPOTENCY_* variables) and run again" >&2
  exit 1
fi
for service in "${services[@]}"; do $SUDO service "$service" stop >/dev/null 2>&1 || true; done
