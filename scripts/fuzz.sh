#!/usr/bin/env bash
# Longer fuzz runs of the input parsers (cron, delay, priority, args JSON, batch lines, protocol frames):
# the same Swift tests as in the suite (Tests/SmrtSupervisorTests/InputFuzzTests.swift), with more inputs.
#
#   scripts/fuzz.sh [--iterations N] [--seed S]     (defaults: 200000 inputs per parser, a random seed)
#
# A failure prints the seed and the offending inputs; rerun with --seed S to reproduce it.
set -euo pipefail
cd "$(dirname "$0")/.."
ITERATIONS=200000
SEED="$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --iterations) ITERATIONS="$2"; shift 2 ;;
        --seed) SEED="$2"; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
source scripts/ensure-deps.sh
swift build --build-tests >&2
echo "fuzz: iterations=$ITERATIONS seed=$SEED" >&2
SMRT_FUZZ_ITERATIONS="$ITERATIONS" SMRT_FUZZ_SEED="$SEED" swift test --skip-build --filter InputFuzzTests
