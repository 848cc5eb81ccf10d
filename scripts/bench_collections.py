#!/usr/bin/python3
"""Collections side by side with Redis, in one run (issue #3).

  speed:  redis-benchmark's LPUSH, LPOP, SADD, HSET, SPOP, ZADD, ZPOPMIN, LRANGE_100 against
          Ferrite and Redis alternately (A, B, A, B, ...), server pinned to CPU 0 and client
          to CPU 1, median requests/s per side and the ratio Ferrite / Redis.
  memory: used_memory after loading a 1 M-field hash, a 1 M-member set, a 1 M-member sorted
          set, and 100 k small hashes of 10 fields, each in a fresh server; ratio Ferrite /
          Redis (lower is better).

Usage (after a Release build into build-release):
  /usr/bin/python3 scripts/bench_collections.py [--rounds 3] [--requests 300000]
      [--only speed|memory] [--ferrite build-release/src/server/ferrite]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

from benchutil import FILLS, Srv, redis_benchmark

# The shipped redis.conf's hash limit, on both servers.
HASH_LIMIT = ["--hash-max-listpack-entries", "128"]

TESTS = ["lpush", "lpop", "sadd", "hset", "spop", "zadd", "zpopmin", "lrange_100"]


def bench(port, test, n, clients, pipeline, keyspace):
    return redis_benchmark(port, ["-t", test], n, clients, pipeline, keyspace, timeout=300)


def speed(args):
    print(f"# speed: redis-benchmark -c {args.clients} -n {args.requests} -P {args.pipeline} "
          f"-r {args.keyspace}, {args.rounds} rounds each, alternating")
    print(f"{'test':<12} {'ferrite rps':>12} {'redis rps':>12} {'ratio':>7}  rounds")
    servers = {k: Srv(k, args.ferrite, "", HASH_LIMIT) for k in ("ferrite", "redis")}
    try:
        for test in TESTS:
            res = {"ferrite": [], "redis": []}
            for _ in range(args.rounds):
                for kind in ("ferrite", "redis"):
                    s = servers[kind]
                    s.client.flushall()
                    # LPOP/SPOP/ZPOPMIN/LRANGE need data: run the matching fill first.
                    fill = FILLS.get(test)
                    if fill:
                        bench(s.port, fill, args.requests, args.clients, args.pipeline, args.keyspace)
                    res[kind].append(bench(s.port, test, args.requests, args.clients,
                                           args.pipeline, args.keyspace))
            f, r = statistics.median(res["ferrite"]), statistics.median(res["redis"])
            rounds = " ".join(f"{a / b:.2f}" for a, b in zip(res["ferrite"], res["redis"]))
            print(f"{test:<12} {f:>12.0f} {r:>12.0f} {f / r:>7.3f}  {rounds}", flush=True)
    finally:
        for s in servers.values():
            s.stop()


def fill(c, kind):
    pipe = c.pipeline(transaction=False)
    if kind == "hash_1m":
        for i in range(1_000_000):
            pipe.hset("h", f"field:{i}", f"v{i}")
            if i % 10000 == 9999:
                pipe.execute()
    elif kind == "set_1m":
        for i in range(0, 1_000_000, 100):
            pipe.sadd("s", *[f"member:{j}" for j in range(i, i + 100)])
            if i % 100000 == 0:
                pipe.execute()
    elif kind == "zset_1m":
        for i in range(0, 1_000_000, 100):
            m = {}
            for j in range(i, i + 100):
                m[f"member:{j}"] = (j * 7919) % 1000003
            pipe.zadd("z", m)
            if i % 100000 == 0:
                pipe.execute()
    elif kind == "small_hashes_100k":
        for i in range(100_000):
            pipe.hset(f"hash:{i}", mapping={f"f{k}": f"value-{i}-{k}" for k in range(10)})
            if i % 1000 == 999:
                pipe.execute()
    pipe.execute()


def memory(args):
    print("# memory: used_memory after the load minus before it (bytes), fresh server each")
    print(f"{'dataset':<18} {'ferrite':>12} {'redis':>12} {'ratio':>7}  encodings")
    for kind in ("hash_1m", "set_1m", "zset_1m", "small_hashes_100k"):
        row = {}
        enc = {}
        for side in ("ferrite", "redis"):
            s = Srv(side, args.ferrite, "", HASH_LIMIT)
            try:
                base = int(s.client.info("memory")["used_memory"])
                fill(s.client, kind)
                time.sleep(0.2)
                row[side] = int(s.client.info("memory")["used_memory"]) - base
                key = {"hash_1m": "h", "set_1m": "s", "zset_1m": "z"}.get(kind, "hash:0")
                enc[side] = s.client.object("encoding", key).decode()
            finally:
                s.stop()
        print(f"{kind:<18} {row['ferrite']:>12} {row['redis']:>12} "
              f"{row['ferrite'] / row['redis']:>7.3f}  {enc['ferrite']}/{enc['redis']}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferrite", default="build-release/src/server/ferrite")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--keyspace", type=int, default=100000)
    ap.add_argument("--only", choices=["speed", "memory"])
    args = ap.parse_args()
    if not os.path.exists(args.ferrite):
        sys.exit(f"no ferrite binary at {args.ferrite}: build it first")
    print(subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip())
    if args.only != "memory":
        speed(args)
    if args.only != "speed":
        memory(args)


if __name__ == "__main__":
    main()
