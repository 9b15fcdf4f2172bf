#!/usr/bin/env bash
# A private, throwaway PostgreSQL server for tests and benchmarks: initdb into a folder of its own, listening on
# 127.0.0.1 on a free port (and a socket in that folder), trust authentication (but for the role
# smrt_password_test, which needs its password), fsync and synchronous_commit on, pg_stat_statements loaded.
#
#   scripts/pg-server.sh start DIR    starts it; prints its URL (postgresql://postgres@127.0.0.1:PORT/postgres)
#   scripts/pg-server.sh stop DIR     stops it (fast shutdown) and removes DIR
#   scripts/pg-server.sh restart DIR  restarts it on the same port (what the outage tests do by hand)
#   scripts/pg-server.sh halt DIR     stops it, keeping its data (an outage); `resume DIR` starts it again
#
# The server refuses to run as root, so as root it runs as the `postgres` user (created by Debian's package).
# SMRT_PG_LISTEN (default 127.0.0.1) and SMRT_PG_TRUST_NET (a CIDR also trusted, e.g. 10.77.0.0/16) open it to
# other network namespaces (scripts/cluster.sh).
set -euo pipefail

usage() { echo "usage: pg-server.sh start|stop|restart|halt|resume DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
command="$1"
dir="$2"

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ]; then bindir="$candidate"; break; fi
done
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then bindir="$(dirname "$(command -v initdb)")"; fi
if [ -z "$bindir" ]; then echo "pg-server.sh: no PostgreSQL server found (Debian: apt-get install postgresql)" >&2; exit 1; fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
    start)
        mkdir -p "$dir"
        if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
        chmod 700 "$dir"
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
        port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        preload=""
        if [ -f "$("$bindir/pg_config" --pkglibdir 2>/dev/null || echo /nonexistent)/pg_stat_statements.so" ] \
            || ls /usr/lib/postgresql/*/lib/pg_stat_statements.so >/dev/null 2>&1; then
            preload="shared_preload_libraries = 'pg_stat_statements'"
        fi
        cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '${SMRT_PG_LISTEN:-127.0.0.1}'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = on
synchronous_commit = on
$preload
CONF
        # One role authenticates by password (scram), for the wrong-password tests; every other role is trusted.
        {
            echo "host all smrt_password_test 127.0.0.1/32 scram-sha-256"
            cat "$dir/data/pg_hba.conf"
            if [ -n "${SMRT_PG_TRUST_NET:-}" ]; then echo "host all all $SMRT_PG_TRUST_NET trust"; fi
        } >"$dir/hba.tmp"
        mv "$dir/hba.tmp" "$dir/data/pg_hba.conf"
        if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir/data/pg_hba.conf"; fi
        echo "$port" >"$dir/port"
        as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
            || { cat "$dir/server.log" >&2; exit 1; }
        # The password role's password, through the socket in $dir (trusted).
        as_owner psql -X -q -h "$dir" -p "$port" -U postgres -d postgres \
            -c "CREATE ROLE smrt_password_test LOGIN PASSWORD 'right'" >/dev/null \
            || { echo "pg-server.sh: cannot create the role smrt_password_test" >&2; exit 1; }
        echo "postgresql://postgres@127.0.0.1:$port/postgres"
        ;;
    stop)
        if [ -d "$dir/data" ]; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
        rm -rf "$dir"
        ;;
    restart)
        as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
        ;;
    halt)
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
        ;;
    resume)
        as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
        ;;
    *) usage ;;
esac
