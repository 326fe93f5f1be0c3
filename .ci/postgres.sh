#!/usr/bin/env bash
# Starts a PostgreSQL server for the postgres package's tests and prints the
# line that points them at it:
#
#   eval "$(bash .ci/postgres.sh)"
#
# It installs Debian's postgresql if missing, starts a cluster listening on
# 127.0.0.1 only (port 5432 unless another program holds it), and creates the
# user hookd (password hookd) and the database hookd_test. It runs as root on
# a machine without systemd (pg_ctlcluster starts the server directly), is
# idempotent (a second run reuses the running server), and every step is
# bounded in time. Progress goes to stderr; stdout carries only the export.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

# Install the server when it is missing.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null; then
  log "installing postgresql"
  timeout 300 apt-get update -qq >&2
  timeout 600 apt-get install -y -qq --no-install-recommends postgresql >&2
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
[ -n "$version" ] || die "no PostgreSQL version under /usr/lib/postgresql"
cluster=main
bin=/usr/lib/postgresql/$version/bin

# The socket directory lives on /run, which a fresh container may lack.
install -d -o postgres -g postgres -m 2775 /var/run/postgresql

if ! pg_lsclusters -h "$version" "$cluster" >/dev/null 2>&1; then
  log "creating cluster $version/$cluster"
  timeout 120 pg_createcluster "$version" "$cluster" >&2
fi

# status prints the cluster's state: "online" or "down".
status() { pg_lsclusters -h "$version" "$cluster" | awk '{print $4}'; }
# conf_port prints the port the cluster is configured for.
conf_port() { pg_lsclusters -h "$version" "$cluster" | awk '{print $3}'; }
# port_busy reports whether something accepts connections on 127.0.0.1:$1.
port_busy() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# A server that runs without our settings (the one Debian's package starts
# at install, listening on every loopback address) is restarted with them.
confd=/etc/postgresql/$version/$cluster/conf.d/hookd.conf
if [ "$(status)" = online ] && [ ! -f "$confd" ]; then
  log "restarting cluster $version/$cluster with hookd's settings"
  timeout 120 pg_ctlcluster "$version" "$cluster" stop >&2
fi

if [ "$(status)" != online ]; then
  port=5432
  while port_busy "$port"; do
    port=$((port + 1))
    [ "$port" -le 5499 ] || die "no free port in 5432-5499"
  done
  log "starting cluster $version/$cluster on 127.0.0.1:$port"
  # conf.d is read after postgresql.conf, so these settings win.
  printf "listen_addresses = '127.0.0.1'\nport = %d\n" "$port" >"$confd"
  # A stale pid file from a killed server would stop pg_ctl from starting.
  pidfile=/var/lib/postgresql/$version/$cluster/postmaster.pid
  if [ -f "$pidfile" ] && ! kill -0 "$(head -n 1 "$pidfile")" 2>/dev/null; then
    rm -f "$pidfile"
  fi
  timeout 120 pg_ctlcluster "$version" "$cluster" start >&2 || die "pg_ctlcluster start failed; see /var/log/postgresql/postgresql-$version-$cluster.log"
fi
port=$(conf_port)

# Wait until the server answers (at most 60 s).
for _ in $(seq 1 120); do
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    break
  fi
  sleep 0.5
done
"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || die "server on 127.0.0.1:$port not ready after 60 s"

# psql as the postgres superuser over the local socket (peer authentication).
psql_admin() {
  timeout 60 runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -p "$port" -d postgres "$@"
}

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'hookd'")" != 1 ]; then
  log "creating role hookd"
  psql_admin -c "CREATE ROLE hookd LOGIN PASSWORD 'hookd' CREATEDB"
else
  psql_admin -c "ALTER ROLE hookd LOGIN PASSWORD 'hookd' CREATEDB"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'hookd_test'")" != 1 ]; then
  log "creating database hookd_test"
  psql_admin -c "CREATE DATABASE hookd_test OWNER hookd"
fi

# Check the URL the tests will use, password authentication over TCP included.
url="postgres://hookd:hookd@127.0.0.1:$port/hookd_test?sslmode=disable"
timeout 30 env PGPASSWORD=hookd psql -X -q -h 127.0.0.1 -p "$port" -U hookd -d hookd_test -tAc 'SELECT 1' >/dev/null ||
  die "cannot connect as hookd to 127.0.0.1:$port/hookd_test"
log "ready on 127.0.0.1:$port"
echo "export TEST_DATABASE_URL='$url'"
