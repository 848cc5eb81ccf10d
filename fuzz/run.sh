#!/usr/bin/env bash
# fuzz/run.sh BUILD_DIR TARGET SECONDS [libFuzzer flags...]
# Runs one fuzz target for SECONDS under ASan+UBSan (any UBSan report stops it), starting
# from its seed corpus and its regression inputs. New inputs go to a scratch directory
# (printed), not into the tree. Allocation limits: a single allocation over 64 MB (512 MB
# for segments, whose zstd frames may legitimately expand ~30000x) or 2 GB of RSS is a
# finding: no reader may allocate what its input does not justify.
set -euo pipefail
build=$1 target=$2 seconds=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
case $target in
  resp_parser_fuzz) corpus=resp ;;
  aof_reader_fuzz) corpus=aof ;;
  checkpoint_reader_fuzz) corpus=checkpoint ;;
  redis_rdb_fuzz) corpus=redis_rdb ;;
  restore_payload_fuzz) corpus=restore_payload ;;
  segment_fuzz) corpus=segment ;;
  config_fuzz) corpus=config ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
malloc_mb=64
[ "$target" = segment_fuzz ] && malloc_mb=512
work=${FUZZ_WORK:-$(mktemp -d)}
mkdir -p "$work/corpus" "$work/artifacts"
dirs=("$work/corpus" "$here/corpus/$corpus")
[ -d "$here/regressions/$corpus" ] && dirs+=("$here/regressions/$corpus")
echo "== $target for ${seconds}s (scratch: $work)"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
  "$build/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
  -malloc_limit_mb=$malloc_mb -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
  "$@" "${dirs[@]}"
