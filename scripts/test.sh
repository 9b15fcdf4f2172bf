#!/usr/bin/env bash
# Runs the whole test suite. Installs the system libraries it needs when they are missing.
#
#   scripts/test.sh [--repeat N] [swift test arguments...]
#
# --repeat N builds once, then runs the tests up to N times and stops at the first failing run (to catch
# flaky tests). Other arguments go to both `swift build` and `swift test` (e.g. `--filter PrefetchTests` goes to
# `swift test` only).
set -euo pipefail
cd "$(dirname "$0")/.."

repeat=1
build_args=()
test_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --repeat)
            if [ $# -lt 2 ]; then echo "test.sh: --repeat needs a number" >&2; exit 2; fi
            repeat="$2"
            shift 2
            ;;
        --repeat=*)
            repeat="${1#--repeat=}"
            shift
            ;;
        --filter|--skip)
            # Test selection: for `swift test` only (`swift build` does not know them).
            if [ $# -lt 2 ]; then echo "test.sh: $1 needs a value" >&2; exit 2; fi
            test_args+=("$1" "$2")
            shift 2
            ;;
        --filter=*|--skip=*)
            test_args+=("$1")
            shift
            ;;
        *)
            build_args+=("$1")
            test_args+=("$1")
            shift
            ;;
    esac
done
if ! [[ "$repeat" =~ ^[1-9][0-9]*$ ]]; then
    echo "test.sh: --repeat needs a positive number, got '$repeat'" >&2
    exit 2
fi

source scripts/ensure-deps.sh

# Executables first: the integration tests start the real binaries from the build folder.
swift build --build-tests ${build_args[@]+"${build_args[@]}"}
for ((run = 1; run <= repeat; run++)); do
    if [ "$repeat" -gt 1 ]; then echo "test.sh: run $run of $repeat" >&2; fi
    status=0
    swift test --skip-build ${test_args[@]+"${test_args[@]}"} || status=$?
    if [ "$status" -ne 0 ]; then
        if [ "$repeat" -gt 1 ]; then echo "test.sh: run $run of $repeat failed (exit $status)" >&2; fi
        exit "$status"
    fi
done
if [ "$repeat" -gt 1 ]; then echo "test.sh: all $repeat runs passed" >&2; fi
