#!/usr/bin/env bash
# Builds smrt-jobs in release and runs the benchmark program (Sources/smrt-bench): progress on stderr, a table
# on stdout, and with --json PATH the figures as JSON. What is measured and how: docs/performance.md.
#
#   scripts/bench.sh [--quick] [--json PATH] [other smrt-bench options, e.g. --only limits,e2e --keep]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

echo "smrt-bench: building in release (swift build -c release)" >&2
# The bench starts the real supervisor and demo worker from the same folder, so build everything.
swift build -c release >&2
bin="$(swift build -c release --show-bin-path)"

swift_version="$(swift --version 2>&1 | head -n 1 | sed 's/^.*Swift version //')"
libuv_version="$(pkg-config --modversion libuv 2>/dev/null || echo unknown)"

exec "$bin/smrt-bench" run --swift-version "$swift_version" --libuv-version "$libuv_version" "$@"
