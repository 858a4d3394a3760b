#!/usr/bin/env bash
# Database servers for the namespace testbed (scripts/testbed.sh): a
# PostgreSQL and a MariaDB made from scratch in a directory of the caller's,
# listening on one address of a namespace, with a throwaway certificate
# (TLS offered, never required) and password users. Nothing of the system's
# own clusters, configuration or data directories is used.
#
#   scripts/db-testbed.sh start pgsql|mariadb NS IP DIR
#       make DIR/pgsql or DIR/mariadb, start the server in namespace NS on
#       IP (5432 / 3306) in the background, wait until it takes logins
#   scripts/db-testbed.sh stop DIR
#       stop what DIR's servers' pidfiles name (idempotent; the testbed's
#       removal kills whatever is left in its namespaces too)
#
# Users (database wldb; also for the drivers' defaults):
#   PostgreSQL  wl_scram / wl-scram-pw  (scram-sha-256)
#               wl_md5   / wl-md5-pw    (md5)
#   MariaDB     wl       / wl-pw        (mysql_native_password)
#               wl_ed    / wl-ed-pw     (ed25519: an AuthSwitchRequest)
# Server logs: DIR/pgsql/log, DIR/mariadb/log.err.
set -euo pipefail

usage() { echo "usage: $0 start pgsql|mariadb NS IP DIR | stop DIR" >&2; exit 2; }

# A self-signed certificate for IP, in $1/server.{crt,key}.
cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/O=wirelog/CN=db.wirelog.test" \
    -addext "subjectAltName=DNS:db.wirelog.test,IP:$2" \
    -keyout "$1/server.key" -out "$1/server.crt" 2>/dev/null
  chmod 600 "$1/server.key"
}

# Waits until `$@` succeeds (10 s at most; $what names the server).
wait_for() {
  local i
  for i in $(seq 1 100); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "db-testbed: $what did not start; its log:" >&2
  tail -20 "$log" >&2 || true
  exit 1
}

start_pgsql() {
  local ns=$1 ip=$2 d=$3/pgsql
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$bin/postgres" ] || { echo "db-testbed: postgresql missing (scripts/setup.sh installs it)" >&2; exit 1; }
  rm -rf "$d"
  mkdir -p "$d/data" "$d/run"
  cert "$d" "$ip"
  chown -R postgres: "$d"
  # The parent directories must let the postgres user through; it runs
  # from its own directory (the caller's may be closed to it).
  chmod o+x "$3"
  cd "$d"
  runuser -u postgres -- "$bin/initdb" -D "$d/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C >"$d/initdb.log" 2>&1
  # Who may log in from the testbed's subnet, and how: per user; TLS or not.
  local net=${ip%.*}.0/24
  cat >"$d/data/pg_hba.conf" <<EOF
local all all trust
host all wl_md5 $net md5
host all all $net scram-sha-256
EOF
  log=$d/log what=postgres
  # Run by the postgres user in the namespace, detached, its output in a
  # file (a caller waiting on this script's output is never held).
  ip netns exec "$ns" setsid runuser -u postgres -- "$bin/postgres" -D "$d/data" -k "$d/run" \
    -h "$ip" -p 5432 -c ssl=on -c "ssl_cert_file=$d/server.crt" -c "ssl_key_file=$d/server.key" \
    -c fsync=off -c log_min_messages=warning -c max_connections=40 \
    </dev/null >"$log" 2>&1 &
  wait_for runuser -u postgres -- "$bin/pg_isready" -q -h "$d/run" -p 5432
  local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$d/run" -p 5432 -U postgres)
  runuser -u postgres -- "${psql[@]}" -d postgres >/dev/null <<'EOF'
SET password_encryption = 'md5';
CREATE ROLE wl_md5 LOGIN PASSWORD 'wl-md5-pw';
SET password_encryption = 'scram-sha-256';
CREATE ROLE wl_scram LOGIN PASSWORD 'wl-scram-pw';
CREATE DATABASE wldb OWNER wl_scram;
EOF
  runuser -u postgres -- "${psql[@]}" -d wldb >/dev/null <<'EOF'
GRANT ALL ON SCHEMA public TO wl_md5;
ALTER DEFAULT PRIVILEGES FOR ROLE wl_scram IN SCHEMA public GRANT ALL ON TABLES TO wl_md5;
EOF
  # And the same way the clients come in: over TCP on the address.
  wait_for ip netns exec "$ns" env PGPASSWORD=wl-scram-pw "$bin/psql" -X -At \
    "host=$ip port=5432 user=wl_scram dbname=wldb sslmode=disable" -c 'select 1'
}

start_mariadb() {
  local ns=$1 ip=$2 d=$3/mariadb
  command -v mariadbd >/dev/null || { echo "db-testbed: mariadb-server missing (scripts/setup.sh installs it)" >&2; exit 1; }
  rm -rf "$d"
  mkdir -p "$d/data"
  cert "$d" "$ip"
  mariadb-install-db --no-defaults --datadir="$d/data" --user=root --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >"$d/install.log" 2>&1
  log=$d/log.err what=mariadbd
  ip netns exec "$ns" setsid mariadbd --no-defaults --user=root --datadir="$d/data" \
    --socket="$d/sock" --pid-file="$d/mariadbd.pid" --bind-address="$ip" --port=3306 \
    --skip-name-resolve --ssl-cert="$d/server.crt" --ssl-key="$d/server.key" \
    --innodb-buffer-pool-size=16M --innodb-log-file-size=8M --skip-log-bin \
    --max-connections=40 --log-error="$log" </dev/null >/dev/null 2>&1 &
  wait_for mariadb-admin --no-defaults -S "$d/sock" -u root ping
  mariadb --no-defaults -S "$d/sock" -u root <<'EOF'
INSTALL SONAME 'auth_ed25519';
CREATE DATABASE wldb;
CREATE USER 'wl'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('wl-pw');
CREATE USER 'wl_ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('wl-ed-pw');
GRANT ALL ON wldb.* TO 'wl'@'%';
GRANT ALL ON wldb.* TO 'wl_ed'@'%';
EOF
  wait_for ip netns exec "$ns" mariadb --no-defaults -h "$ip" -P 3306 -u wl -pwl-pw --skip-ssl -e 'select 1'
}

# Stops the server whose pid is the first line of pidfile $1 with signal $2
# (then KILL after 10 s); only a process started on this directory (its
# command line names it), never another that took a stale pid.
stop_pid() {
  [ -f "$1" ] || return 0
  local pid
  pid=$(head -1 "$1")
  if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/"; then
    kill "-$2" "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

case "${1:-}" in
  start)
    [ $# = 5 ] || usage
    [ "$(id -u)" = 0 ] || { echo "db-testbed: must run as root" >&2; exit 1; }
    ip netns pids "$3" >/dev/null 2>&1 || { echo "db-testbed: no namespace $3" >&2; exit 1; }
    mkdir -p "$5"
    case "$2" in
      pgsql) start_pgsql "$3" "$4" "$5" ;;
      mariadb) start_mariadb "$3" "$4" "$5" ;;
      *) usage ;;
    esac
    ;;
  stop)
    [ $# = 2 ] || usage
    dir=$(cd "$2" 2>/dev/null && pwd) || exit 0
    # PostgreSQL's fast shutdown (INT: sessions ended, not waited for).
    stop_pid "$dir/pgsql/data/postmaster.pid" INT
    stop_pid "$dir/mariadb/mariadbd.pid" TERM
    ;;
  *) usage ;;
esac
