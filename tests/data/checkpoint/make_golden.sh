#!/bin/sh
# Writes tests/data/checkpoint/v<N>.ckpt with the checkpoint writer of the commit that
# introduced format version N (see make_golden.cc for what each file holds). Each commit's
# src/ is exported with `git archive` and only the files the writer needs are compiled:
# checkpoint_format.cc and base/status.cc (plus, from version 5 on, the stream type and
# what it links). Run from the repository root; needs the commits in the history.
#   v1 71d9743  fork-less checkpoints (format 1)
#   v2 d99f21d  lz4 entries blocks, the AOF link block
#   v3 49c1b57  tier references
#   v4 62ed4b8  streamed values (value chunks)
#   v5 26300c3  stream values
#   v6 2ea79af  function libraries
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for pair in 1:71d9743 2:d99f21d 3:49c1b57 4:62ed4b8 5:26300c3 6:2ea79af; do
  v=${pair%%:*}
  c=${pair#*:}
  mkdir -p "$work/$v"
  git -C "$root" archive "$c" src | tar -x -C "$work/$v"
  srcs="$work/$v/src/persistence/checkpoint/checkpoint_format.cc $work/$v/src/base/status.cc"
  if [ "$v" -ge 5 ]; then
    for f in types/stream.cc types/stream_listpack.cc types/value.cc types/collections.cc \
             types/pack.cc types/str_table.cc types/zindex.cc base/strutil.cc base/memory.cc; do
      [ -f "$work/$v/src/$f" ] && srcs="$srcs $work/$v/src/$f"
    done
  fi
  g++ -std=c++20 -O1 -DGOLDEN_VERSION="$v" -I"$work/$v/src" -o "$work/$v/make_golden" \
    "$here/make_golden.cc" $srcs -lxxhash -llz4 -lfmt -lspdlog -lpthread
  "$work/$v/make_golden" "$here/v$v.ckpt"
done
