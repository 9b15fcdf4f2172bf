#!/usr/bin/env bash
# Runs the whole test suite. Installs the system libraries it needs when they are missing.
#
#   scripts/test.sh [--repeat N] [swift test arguments...]
#
# --repeat N builds once, then runs the tests up to N times and stops at the first failing run (to catch
# flaky tests). Other arguments go to both `swift build` and `swift test` (e.g. `--filter PrefetchTests` goes to
# `swift test` only). Without arguments the suites run in two processes side by side (see run_once).
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

SMRT_DEPS_FOR_TESTS=1 source scripts/ensure-deps.sh

# The PostgreSQL tests read the server's URL from SMRT_TEST_POSTGRES_URL. Without one, a private throwaway
# server is started here (scripts/pg-server.sh) and stopped at the end. In CI (CI=true) a server that cannot
# start is a failure; elsewhere the PostgreSQL tests then skip and say why.
pg_dir=""
stop_pg() { if [ -n "$pg_dir" ]; then bash scripts/pg-server.sh stop "$pg_dir"; fi; }
trap stop_pg EXIT
if [ -z "${SMRT_TEST_POSTGRES_URL:-}" ]; then
    pg_dir="$(mktemp -d /tmp/smrt-pg.XXXXXX)"
    if SMRT_TEST_POSTGRES_URL="$(bash scripts/pg-server.sh start "$pg_dir")"; then
        export SMRT_TEST_POSTGRES_URL
        echo "test.sh: PostgreSQL for the tests at $SMRT_TEST_POSTGRES_URL" >&2
    else
        if [ "${CI:-}" = true ]; then echo "test.sh: cannot start PostgreSQL, and CI=true needs it" >&2; exit 1; fi
        echo "test.sh: no PostgreSQL server; the PostgreSQL tests will skip" >&2
        pg_dir=""
    fi
fi

# Executables first: the integration tests start the real binaries from the build folder.
swift build --build-tests ${build_args[@]+"${build_args[@]}"}
tests="$(swift build --show-bin-path ${build_args[@]+"${build_args[@]}"})/smrt-jobsPackageTests.xctest"

# The suites that start processes (supervisors, CLI commands, the dashboard binary, a browser) wait for them on
# their test's thread; Swift's cooperative pool has one thread per core (two here), so in one process they would
# hold it for minutes while the suites that wait cooperatively (runners, stores, dashboard routes) miss their
# deadlines. Without a selection of your own the two kinds run side by side, each in a process of its own (the
# test binary is run directly: two `swift test` would wait for each other's lock on the build folder).
spawning='^(SmrtSupervisorTests|SmrtCLITests)\.|^SmrtDashboardTests\.(BrowserTests|DashboardCommandTests|MetricsParserTests)/'

run_group() {  # run_group LABEL ARGS...: the test binary's output, each line prefixed with LABEL
    local label="$1"
    shift
    set -o pipefail
    NO_COLOR=1 "$tests" --testing-library swift-testing "$@" 2>&1 | sed -u "s/^/[$label] /"
}

run_once() {
    if [ ${#test_args[@]} -gt 0 ]; then
        swift test --skip-build "${test_args[@]}"
        return
    fi
    run_group spawning --filter "$spawning" &
    local spawning_pid=$!
    run_group in-process --skip "$spawning" &
    local in_process_pid=$!
    local spawning_status=0 in_process_status=0
    wait "$spawning_pid" || spawning_status=$?
    wait "$in_process_pid" || in_process_status=$?
    echo "test.sh: suites that start processes: exit $spawning_status; the others: exit $in_process_status" >&2
    [ "$spawning_status" -eq 0 ] && [ "$in_process_status" -eq 0 ]
}

for ((run = 1; run <= repeat; run++)); do
    if [ "$repeat" -gt 1 ]; then echo "test.sh: run $run of $repeat" >&2; fi
    status=0
    run_once || status=$?
    if [ "$status" -ne 0 ]; then
        if [ "$repeat" -gt 1 ]; then echo "test.sh: run $run of $repeat failed (exit $status)" >&2; fi
        exit "$status"
    fi
done
if [ "$repeat" -gt 1 ]; then echo "test.sh: all $repeat runs passed" >&2; fi
