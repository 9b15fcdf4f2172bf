#!/usr/bin/env bash
# Runs the whole test suite. Installs the system libraries it needs when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
pkg-config --exists libuv 2>/dev/null || need+=(libuv1-dev)
pkg-config --exists sqlite3 2>/dev/null || need+=(libsqlite3-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    echo "test.sh: installing ${need[*]}" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" pkg-config >/dev/null
fi

# Executables first: the integration tests start the real binaries from the build folder.
swift build --build-tests "$@"
swift test --skip-build "$@"
