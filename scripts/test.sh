#!/usr/bin/env bash
# Runs the whole test suite. Installs the system libraries it needs when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

# Executables first: the integration tests start the real binaries from the build folder.
swift build --build-tests "$@"
swift test --skip-build "$@"
