#!/usr/bin/env bash
# Installs the system packages smrt-jobs needs (libuv, SQLite and libpq headers, pkg-config, python3 for the
# example worker; for the tests: a PostgreSQL server, faketime, iproute2) when they are missing. Sourced by the
# other scripts; safe to run on its own.
need=()
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libuv 2>/dev/null || need+=(libuv1-dev)
pkg-config --exists sqlite3 2>/dev/null || need+=(libsqlite3-dev)
pkg-config --exists libpq 2>/dev/null || need+=(libpq-dev)
if [ "${SMRT_DEPS_FOR_TESTS:-0}" = 1 ]; then
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql postgresql-contrib)
    command -v faketime >/dev/null 2>&1 || need+=(faketime)
    command -v ip >/dev/null 2>&1 || need+=(iproute2)
fi
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    echo "smrt-jobs: installing ${need[*]}" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
