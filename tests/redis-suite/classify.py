#!/usr/bin/python3
"""Lists the tests of Redis 7.0's TCL suite (the units scripts/redis_suite.py runs) that
exercise a family Ferrite has not built yet (ACL users,
replication, cluster), one `family<TAB>unit<TAB>test name` line each.

Those tests are not counted against the implemented families, and they are skipped in a
run (scripts/redis_suite.py --skipfile) because the first one to fail with an unknown
command ends its whole unit file, hiding every test after it. The classification reads
each test's body for the commands it uses, so it follows the suite as it is:

    tests/redis-suite/classify.py --redis-src /work/redis-7.0.15 > tests/redis-suite/other-families.tsv
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from redis_suite import IMPLEMENTED  # noqa: E402

# A command sent by a test: `r cmd`, `$rd cmd`, `[r cmd`, `$r2 cmd` …
CALL = r"(?:(?<![\w$])r|\$\w+)\s+"

FAMILIES = [
    ("replication", [r"attach_to_replication_stream", r"assert_replication_stream",
                     CALL + r"(replicaof|slaveof|sync|psync)\b", r"needs:repl",
                     r"min-(replicas|slaves)-to-write"]),
    ("acl", [CALL + r"acl\b"]),
    ("cluster", [CALL + r"cluster\b"]),
]

# Tests whose names a loop generates, or whose family shows only in an argument: listed by
# hand (family, unit, name).
MANUAL = [
    ("cluster", "unit/introspection-2", "COMMAND LIST FILTERBY PATTERN - list all commands/subcommands"),
]


def braced(text, i):
    """text[i] == '{': the index after the matching '}'."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def quoted(text, i):
    i += 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def tests_of(text):
    for m in re.finditer(r"(?m)^\s*test\s+", text):
        i = m.end()
        if i >= len(text):
            continue
        if text[i] == "{":
            j = braced(text, i)
            name = text[i + 1:j - 1]
        elif text[i] == '"':
            j = quoted(text, i)
            name = text[i + 1:j - 1]
        else:
            continue
        k = j
        while k < len(text) and text[k] in " \t":
            k += 1
        if k < len(text) and text[k] == "{":
            end = braced(text, k)
            yield name, text[k:end]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--redis-src", required=True)
    args = ap.parse_args()
    for family, unit, name in MANUAL:
        print(f"{family}\t{unit}\t{name}")
    for unit in IMPLEMENTED:
        path = os.path.join(args.redis_src, "tests", unit + ".tcl")
        if not os.path.exists(path):
            continue
        text = open(path).read()
        for name, body in tests_of(text):
            for family, pats in FAMILIES:
                if any(re.search(p, body, re.I) for p in pats):
                    print(f"{family}\t{unit}\t{name}")
                    break


if __name__ == "__main__":
    main()
