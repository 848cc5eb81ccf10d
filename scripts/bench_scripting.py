#!/usr/bin/python3
"""Scripts and functions side by side with Redis, in one run (issue 18's EVALSHA and FCALL
bars).

redis-benchmark runs arbitrary commands against Ferrite and Redis alternately (A, B, A, B,
...), the server pinned to CPU 0 and the client to CPU 1; median requests/s per side and
the ratio Ferrite / Redis, at pipeline 1 and 32:

  evalsha_incr    EVALSHA <sha> 1 k:<rand>   script: return redis.call('incr', KEYS[1])
  evalsha_ro_get  EVALSHA_RO <sha> 1 k:<rand>   script: return redis.call('get', KEYS[1])
  fcall_incr      FCALL incr1 1 k:<rand>     the same INCR as a function
  fcall_ro_get    FCALL_RO get1 1 k:<rand>   a no-writes function reading the key

Both servers run without persistence (the script and function paths, not the disk, are
measured). Usage (after a Release build into build-release):
  /usr/bin/python3 scripts/bench_scripting.py [--rounds 5] [--requests 200000]
      [--ferrite build-release/src/server/ferrite]
"""
import argparse
import hashlib
import os
import statistics
import subprocess
import sys

from benchutil import Srv, redis_benchmark

INCR = "return redis.call('incr', KEYS[1])"
GET = "return redis.call('get', KEYS[1])"
LIB = """#!lua name=benchlib
redis.register_function('incr1', function(keys) return redis.call('incr', keys[1]) end)
redis.register_function{function_name='get1', callback=function(keys) return redis.call('get', keys[1]) end,
                        flags={'no-writes'}}
"""
TESTS = {
    "evalsha_incr": ["EVALSHA", hashlib.sha1(INCR.encode()).hexdigest(), "1", "k:__rand_int__"],
    "evalsha_ro_get": ["EVALSHA_RO", hashlib.sha1(GET.encode()).hexdigest(), "1", "k:__rand_int__"],
    "fcall_incr": ["FCALL", "incr1", "1", "k:__rand_int__"],
    "fcall_ro_get": ["FCALL_RO", "get1", "1", "k:__rand_int__"],
}


def bench(port, argv, n, clients, pipeline, keyspace):
    return redis_benchmark(port, argv, n, clients, pipeline, keyspace)


def prepare(c):
    assert c.script_load(INCR) == TESTS["evalsha_incr"][1]
    assert c.script_load(GET) == TESTS["evalsha_ro_get"][1]
    c.execute_command("FUNCTION", "LOAD", "REPLACE", LIB)
    # The same replies on both sides (a sanity check of the bench).
    c.delete("k:probe")
    return [c.evalsha(TESTS["evalsha_incr"][1], 1, "k:probe"), c.fcall("incr1", 1, "k:probe"),
            c.execute_command("FCALL_RO", "get1", 1, "k:probe")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferrite", default="build-release/src/server/ferrite")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,32")
    ap.add_argument("--keyspace", type=int, default=100000)
    args = ap.parse_args()
    if not os.path.exists(args.ferrite):
        sys.exit(f"no ferrite binary at {args.ferrite}: build it first")
    print(subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip())
    print(f"# redis-benchmark -c {args.clients} -n {args.requests} -r {args.keyspace}, "
          f"{args.rounds} rounds each, alternating")
    servers = {k: Srv(k, args.ferrite, "scr-") for k in ("ferrite", "redis")}
    try:
        probes = [prepare(s.client) for s in servers.values()]
        assert probes[0] == probes[1], "the servers disagree on the benchmark scripts"
        print(f"{'test':<16} {'pipe':>4} {'ferrite rps':>12} {'redis rps':>12} {'ratio':>7}  rounds")
        for pipeline in (int(p) for p in args.pipelines.split(",")):
            for test, argv in TESTS.items():
                res = {"ferrite": [], "redis": []}
                for _ in range(args.rounds):
                    for kind in ("ferrite", "redis"):
                        s = servers[kind]
                        res[kind].append(bench(s.port, argv, args.requests, args.clients,
                                               pipeline, args.keyspace))
                f, r = statistics.median(res["ferrite"]), statistics.median(res["redis"])
                rounds = " ".join(f"{a / b:.2f}" for a, b in zip(res["ferrite"], res["redis"]))
                print(f"{test:<16} {pipeline:>4} {f:>12.0f} {r:>12.0f} {f / r:>7.3f}  {rounds}",
                      flush=True)
    finally:
        for s in servers.values():
            s.stop()


if __name__ == "__main__":
    main()
