#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `source .ci/postgres.sh` starts one on a unix
# socket in a temp folder, exports FFNN_TEST_POSTGRES_URL and sets a trap that stops it and
# deletes the folder when the calling script exits, whether it passes or fails.
# initdb refuses to run as root, so the cluster belongs to an unprivileged system user.
# Strict while it starts the server; the calling shell's own options are put back at the end.
case $- in *e*) pg_caller_e=-e ;; *) pg_caller_e=+e ;; esac
case $- in *u*) pg_caller_u=-u ;; *) pg_caller_u=+u ;; esac
case :$SHELLOPTS: in *:pipefail:*) pg_caller_pipefail=-o ;; *) pg_caller_pipefail=+o ;; esac
set -euo pipefail
if ! command -v initdb >/dev/null; then
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  export PATH="$found:$PATH"
fi
pg_user=postgres
if ! id "$pg_user" >/dev/null 2>&1; then
  pg_user=ffnn-pg
  id "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home "$pg_user"
fi
pg_root=$(mktemp -d /tmp/ffnn-pg.XXXXXX)
chown "$pg_user" "$pg_root"
chmod 755 "$pg_root"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi; }
stop_postgres() {
  as_pg pg_ctl -D "$pg_root/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_root"
}
trap stop_postgres EXIT
as_pg initdb -D "$pg_root/data" -U ffnn --auth=trust >/dev/null
as_pg pg_ctl -D "$pg_root/data" -l "$pg_root/server.log" -w \
  -o "-k $pg_root -c listen_addresses='' -c max_connections=100" start >/dev/null
as_pg createdb -h "$pg_root" -U ffnn sweeps
export FFNN_TEST_POSTGRES_URL="postgresql://ffnn@/sweeps?host=$pg_root"
echo "PostgreSQL $(as_pg postgres --version | awk '{print $3}') on $pg_root (FFNN_TEST_POSTGRES_URL)"
set "$pg_caller_e" "$pg_caller_u" "$pg_caller_pipefail" pipefail
