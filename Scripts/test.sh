#!/usr/bin/env bash
# The test suite, built in release mode (numerics in debug Swift are very slow).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --build-tests
swift test -c release --skip-build --disable-swift-testing "$@"
