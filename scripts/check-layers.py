#!/usr/bin/python3
"""Fails when a file under src/ includes a header from a layer above its own.

The layers, lowest first (docs/architecture.md, "Layers"). A file may include headers of its
own layer and of the layers before it, never of a later one. A folder's files belong to the
folder's layer, except the persistence formats (Redis's RDB, the checkpoint and AOF formats),
which sit below commands/: the server's persistence (AOF writer, checkpoints, manager,
loader) sits above commands/ and the engine reaches it only through the interfaces it
declares (PersistenceControl, PropagationSink in commands/engine.h).

Usage: check-layers.py [SRC_DIR]   (default: the src/ next to this script's folder)
"""
import pathlib
import re
import sys

# (layer name, path prefixes relative to src/), lowest first. Longest prefix wins.
LAYERS = [
    ("base", ["base/"]),
    ("io", ["io/"]),
    ("protocol", ["protocol/"]),
    ("types", ["types/"]),
    ("keyspace", ["keyspace/"]),
    ("config", ["config/"]),
    ("tier", ["tier/"]),
    ("persistence formats", ["persistence/rdb/", "persistence/checkpoint/checkpoint_format.",
                             "persistence/aof/aof_format.", "persistence/aof/aof_integrity."]),
    ("commands", ["commands/"]),
    ("persistence", ["persistence/"]),
    ("scripting", ["scripting/"]),
    ("replication", ["replication/"]),
    ("net", ["net/"]),
    ("metrics", ["metrics/"]),
    ("server", ["server/"]),
]

# Tests may also build subsystems from a Config the way the server does.
TEST_EXTRA = {"server/wiring.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(rel):
    best, best_len = None, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if rel.startswith(p) and len(p) > best_len:
                best, best_len = rank, len(p)
    return best


def is_test(rel):
    name = rel.rsplit("/", 1)[-1]
    return name.endswith("_test.cc") or name == "test_util.h"


def main():
    src = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else \
        pathlib.Path(__file__).resolve().parent.parent / "src"
    errors, files = [], 0
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cc") or not path.is_file():
            continue
        rel = path.relative_to(src).as_posix()
        own = layer_of(rel)
        if own is None:
            errors.append(f"{rel}: folder not in the layer list (scripts/check-layers.py)")
            continue
        files += 1
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            if "/" not in inc:
                continue  # a header next to the file, or a third-party one
            dep = layer_of(inc)
            if dep is None:
                continue  # not one of ours (fmt/format.h is included with <>)
            if dep > own and not (is_test(rel) and inc in TEST_EXTRA):
                errors.append(f"src/{rel}:{n}: includes {inc}: layer '{LAYERS[dep][0]}' is "
                              f"above '{LAYERS[own][0]}'")
    for e in errors:
        print(e)
    print(f"check-layers: {files} files, {len(errors)} upward include(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
