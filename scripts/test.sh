#!/usr/bin/env bash
# Builds Ferrite with warnings as errors and runs every test (unit + integration) with
# CTest. The integration suite runs against Ferrite and, as a check of the tests
# themselves, against Debian's redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
./scripts/setup-test-tools.sh
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRITE_WERROR=ON >/dev/null
cmake --build "$BUILD" -j2
cd "$BUILD"
ctest --output-on-failure -j2 "$@"
