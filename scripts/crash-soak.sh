#!/usr/bin/env bash
# The long crash runs of docs/testing.md ("Crash and fault tests"):
#   scripts/crash-soak.sh sigkill [CYCLES]     the SIGKILL suite (test_crash.py) under `always`
#   scripts/crash-soak.sh powerloss [CYCLES]   the in-process power-loss simulation
# Prints the figure, the duration and the date. Needs a build in build/ (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-sigkill}
cycles=${2:-1000}
start=$(date +%s)
echo "date: $(date -u +%FT%TZ)  run: $what  cycles: $cycles"
case "$what" in
  sigkill)
    CRASH_CYCLES=$cycles FERRITE_BIN=$PWD/build/src/server/ferrite \
      /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/integration/test_crash.py \
      -k sigkill_cycles 2>&1 | grep -E "SIGKILL cycles|passed|failed|Error" ;;
  powerloss)
    POWERLOSS_CYCLES=$cycles ./build/src/persistence/crash_test \
      --gtest_filter='PowerLoss*' 2>&1 | grep -E "POWERLOSS_SEED|power-loss cycles|OK|FAILED|Failure" ;;
  *) echo "usage: $0 sigkill|powerloss [cycles]" >&2; exit 2 ;;
esac
echo "duration: $(( $(date +%s) - start )) s"
