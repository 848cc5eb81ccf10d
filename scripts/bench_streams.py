#!/usr/bin/python3
"""Streams side by side with Redis, in one run (issue 18's XADD, XREADGROUP+XACK and
stream-memory bars).

redis-benchmark runs arbitrary commands against Ferrite and Redis alternately (A, B, A, B,
...), the server pinned to CPU 0 and the client to CPU 1; median requests/s per side and
the ratio Ferrite / Redis, at pipeline 1 and 32:

  xadd        XADD bench:add * field value            (the stream grows by --requests)
  xreadgroup  XREADGROUP GROUP g c COUNT 1 STREAMS bench:rg >
              (bench:rg is refilled with --requests entries 1-1 .. 1-N and the group reset
              before each round: every call delivers one new entry into the PEL)
  xack        XACK bench:rg g 1-<rand>                  (right after xreadgroup: the PEL
              holds 1-1 .. 1-N; -r N picks IDs in it, an ID acknowledged already counts 0)
  pair        one XREADGROUP plus one XACK: 1 / (1/xreadgroup + 1/xack) per side

Memory: a 1 M-entry stream (`XADD bench:mem * field value`, pipelined) in each server
(no other keys), used_memory and RSS before and after, the stream's share = the difference.

Usage (after a Release build into build-release):
  /usr/bin/python3 scripts/bench_streams.py [--rounds 5] [--requests 200000]
      [--ferrite build-release/src/server/ferrite] [--skip-speed] [--skip-memory]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

from benchutil import Srv, redis_benchmark

RG_KEY = "bench:rg"
TESTS = {
    "xadd": ["XADD", "bench:add", "*", "field", "value"],
    "xreadgroup": ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", RG_KEY, ">"],
    # redis-benchmark puts a 12-digit zero-padded number below -r in place of __rand_int__:
    # "1-000000001234" is the ID 1-1234 for both servers (string2ull/strtoull).
    "xack": ["XACK", RG_KEY, "g", "1-__rand_int__"],
}


def refill_group_stream(c, n):
    """bench:rg with entries 1-1 .. 1-n and group g at 0 (no PEL)."""
    c.delete(RG_KEY)
    pipe = c.pipeline(transaction=False)
    for i in range(1, n + 1):
        pipe.execute_command("XADD", RG_KEY, f"1-{i}", "field", "value")
        if i % 1000 == 0:
            pipe.execute()
    pipe.execute()
    c.execute_command("XGROUP", "CREATE", RG_KEY, "g", "0")
    assert c.xlen(RG_KEY) == n


def bench(port, argv, n, clients, pipeline, keyspace):
    return redis_benchmark(port, argv, n, clients, pipeline, keyspace)


def speed(servers, args):
    print(f"{'test':<12} {'pipe':>4} {'ferrite rps':>12} {'redis rps':>12} {'ratio':>7}  rounds")
    for pipeline in (int(p) for p in args.pipelines.split(",")):
        res = {t: {"ferrite": [], "redis": []} for t in ("xadd", "xreadgroup", "xack", "pair")}
        for _ in range(args.rounds):
            for kind in ("ferrite", "redis"):
                s = servers[kind]
                s.client.delete("bench:add")
                res["xadd"][kind].append(bench(s.port, TESTS["xadd"], args.requests, args.clients,
                                               pipeline, args.requests))
                refill_group_stream(s.client, args.requests)
                rg = bench(s.port, TESTS["xreadgroup"], args.requests, args.clients, pipeline,
                           args.requests)
                pending = s.client.xpending(RG_KEY, "g")["pending"]
                assert pending == args.requests, f"{kind}: {pending} pending after xreadgroup"
                ack = bench(s.port, TESTS["xack"], args.requests, args.clients, pipeline,
                            args.requests)
                res["xreadgroup"][kind].append(rg)
                res["xack"][kind].append(ack)
                res["pair"][kind].append(1 / (1 / rg + 1 / ack))
        for test, r in res.items():
            f, rd = statistics.median(r["ferrite"]), statistics.median(r["redis"])
            rounds = " ".join(f"{a / b:.2f}" for a, b in zip(r["ferrite"], r["redis"]))
            print(f"{test:<12} {pipeline:>4} {f:>12.0f} {rd:>12.0f} {f / rd:>7.3f}  {rounds}",
                  flush=True)


def memory_info(c):
    info = c.info("memory")
    return int(info["used_memory"]), int(info["used_memory_rss"])


def memory(args):
    """On a fresh pair of servers: freed memory an allocator keeps (RSS) would blur it."""
    print(f"# memory of a {args.entries}-entry stream (XADD bench:mem * field value), fresh servers")
    out = {}
    servers = {k: Srv(k, args.ferrite, "streams-") for k in ("ferrite", "redis")}
    for kind, s in servers.items():
        time.sleep(0.5)
        base = memory_info(s.client)
        left = args.entries
        while left:
            n = min(left, 200000)
            bench(s.port, ["XADD", "bench:mem", "*", "field", "value"], n, 50, 32, 1)
            left -= n
        assert s.client.xlen("bench:mem") == args.entries
        time.sleep(0.5)
        after = memory_info(s.client)
        nodes = s.client.xinfo_stream("bench:mem")["radix-tree-keys"]
        out[kind] = (after[0] - base[0], after[1] - base[1], nodes)
        print(f"{kind:<8} used_memory +{out[kind][0] / 2**20:8.2f} MiB "
              f"({out[kind][0] / args.entries:6.2f} B/entry)   RSS +{out[kind][1] / 2**20:8.2f} MiB "
              f"({out[kind][1] / args.entries:6.2f} B/entry)   nodes {nodes}", flush=True)
        s.stop()
    f, r = out["ferrite"], out["redis"]
    print(f"ratio ferrite/redis: used_memory {f[0] / r[0]:.3f}   RSS {f[1] / r[1]:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferrite", default="build-release/src/server/ferrite")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,32")
    ap.add_argument("--entries", type=int, default=1000000)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(args.ferrite):
        sys.exit(f"no ferrite binary at {args.ferrite}: build it first")
    print(subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip())
    print(f"# redis-benchmark -c {args.clients} -n {args.requests}, {args.rounds} rounds each, "
          f"alternating")
    if not args.skip_memory:
        memory(args)
    if args.skip_speed:
        return
    servers = {k: Srv(k, args.ferrite, "streams-") for k in ("ferrite", "redis")}
    try:
        speed(servers, args)
    finally:
        for s in servers.values():
            s.stop()


if __name__ == "__main__":
    main()
