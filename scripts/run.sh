#!/usr/bin/env bash
# Builds Ferrite (Release) and starts it in the foreground on the embedded defaults:
# 127.0.0.1:6379, data in ./data. Extra arguments go to the server (e.g. --port 7000).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRITE_TESTS=OFF >/dev/null
cmake --build build-release -j2 --target ferrite
exec ./build-release/src/server/ferrite "$@"
