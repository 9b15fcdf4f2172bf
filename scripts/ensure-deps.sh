#!/usr/bin/env bash
# Installs the system packages smrt-jobs needs (libuv, SQLite and libpq headers, pkg-config, python3 for the
# example worker; for the tests: a PostgreSQL server, faketime, iproute2, Chromium with its WebDriver, and the
# Python packages selenium and prometheus_client of the dashboard's browser and metrics tests) when they are
# missing. SMRT_DEPS_FOR_BROWSER=1 adds only Chromium (scripts/screenshots.sh). Sourced by the other scripts;
# safe to run on its own.
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
if [ "${SMRT_DEPS_FOR_TESTS:-0}" = 1 ] || [ "${SMRT_DEPS_FOR_BROWSER:-0}" = 1 ]; then
    command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
if [ "${SMRT_DEPS_FOR_TESTS:-0}" = 1 ]; then
    command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fi
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The tests' Python packages come from PyPI (Debian's are older than these): pip, when it is missing, from apt.
smrt_python_packages=(selenium==4.51.0 prometheus_client==0.26.0)
smrt_need_pip=0
if [ "${SMRT_DEPS_FOR_TESTS:-0}" = 1 ] && ! python3 -c 'import selenium, prometheus_client' >/dev/null 2>&1; then
    smrt_need_pip=1
    python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "smrt-jobs: installing ${need[*]}" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "$smrt_need_pip" = 1 ]; then
    echo "smrt-jobs: installing ${smrt_python_packages[*]} with pip" >&2
    pip_args=(--quiet --disable-pip-version-check)
    [ "$(id -u)" -eq 0 ] || pip_args+=(--user)
    # Debian's python3 is "externally managed" (PEP 668): pip then refuses unless told it may write there.
    if python3 -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
        pip_args+=(--break-system-packages)
    fi
    python3 -m pip install "${pip_args[@]}" "${smrt_python_packages[@]}"
fi
unset smrt_python_packages smrt_need_pip
