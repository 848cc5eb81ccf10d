#!/usr/bin/python3
"""Geo commands side by side with Redis, in one run (issue 18's GEOSEARCH bar).

redis-benchmark runs arbitrary commands against Ferrite and Redis alternately (A, B, A, B,
...), the server pinned to CPU 0 and the client to CPU 1; median requests/s per side and
the ratio Ferrite / Redis, at pipeline 1 and 32:

  geoadd          GEOADD geo:add 13.00<rand> 38.00<rand> m:<rand>  (-r 2000000000: new
                  members at distinct random points; the set grows to --requests members)
  geosearch_r1km  GEOSEARCH geo:s FROMLONLAT 13.5 38.5 BYRADIUS 1 km ASC
                  (about 30 of the 100 000 points, sorted)
  geosearch_box   GEOSEARCH geo:s FROMLONLAT 13.5 38.5 BYBOX 4 4 km COUNT 10 WITHDIST
                  WITHCOORD  (about 150 candidates, the nearest 10 with their positions)

geo:s holds --points random points in the square 13..14 E, 38..39 N, the same points in both
servers (fixed seed), loaded before the rounds.

Usage (after a Release build into build-release):
  /usr/bin/python3 scripts/bench_geo.py [--rounds 5] [--requests 200000]
      [--ferrite build-release/src/server/ferrite]
"""
import argparse
import os
import random
import statistics
import subprocess
import sys

from benchutil import Srv, redis_benchmark

SEARCH_KEY = "geo:s"
TESTS = {
    # redis-benchmark puts a 12-digit zero-padded random number below -r (an int: at most
    # 2^31) in place of each __rand_int__: with -r 2e9 the points spread over 0.002 degrees
    # (distinct scores) and nearly every member is new.
    "geoadd": ["GEOADD", "geo:add", "13.__rand_int__", "38.__rand_int__", "m:__rand_int__"],
    "geosearch_r1km": ["GEOSEARCH", SEARCH_KEY, "FROMLONLAT", "13.5", "38.5", "BYRADIUS", "1",
                       "km", "ASC"],
    "geosearch_box": ["GEOSEARCH", SEARCH_KEY, "FROMLONLAT", "13.5", "38.5", "BYBOX", "4", "4",
                      "km", "COUNT", "10", "WITHDIST", "WITHCOORD"],
}


def load_points(c, n):
    rng = random.Random(42)
    pipe = c.pipeline(transaction=False)
    batch = []
    for i in range(n):
        batch += [f"{rng.uniform(13, 14):.6f}", f"{rng.uniform(38, 39):.6f}", f"place:{i}"]
        if len(batch) >= 300:
            pipe.execute_command("GEOADD", SEARCH_KEY, *batch)
            batch = []
    if batch:
        pipe.execute_command("GEOADD", SEARCH_KEY, *batch)
    pipe.execute()
    assert c.zcard(SEARCH_KEY) == n


def bench(port, argv, n, clients, pipeline, keyspace):
    return redis_benchmark(port, argv, n, clients, pipeline, keyspace)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferrite", default="build-release/src/server/ferrite")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,32")
    ap.add_argument("--keyspace", type=int, default=100000)
    ap.add_argument("--points", type=int, default=100000)
    args = ap.parse_args()
    if not os.path.exists(args.ferrite):
        sys.exit(f"no ferrite binary at {args.ferrite}: build it first")
    print(subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip())
    print(f"# redis-benchmark -c {args.clients} -n {args.requests} -r {args.keyspace}, "
          f"{args.rounds} rounds each, alternating; {args.points} points in {SEARCH_KEY}")
    servers = {k: Srv(k, args.ferrite, "geo-") for k in ("ferrite", "redis")}
    for s in servers.values():
        s.client.set_response_callback("GEOSEARCH", lambda r, **kw: r)  # raw replies
    try:
        for s in servers.values():
            load_points(s.client, args.points)
        # The same search must give the same reply on both sides (a sanity check of the bench).
        probe = [servers[k].client.execute_command(*TESTS["geosearch_box"]) for k in servers]
        assert probe[0] == probe[1], "the servers disagree on the benchmark search"
        nres = len(servers["redis"].client.execute_command(*TESTS["geosearch_r1km"]))
        print(f"# geosearch_r1km returns {nres} members")
        print(f"{'test':<16} {'pipe':>4} {'ferrite rps':>12} {'redis rps':>12} {'ratio':>7}  rounds")
        for pipeline in (int(p) for p in args.pipelines.split(",")):
            for test, argv in TESTS.items():
                res = {"ferrite": [], "redis": []}
                for _ in range(args.rounds):
                    for kind in ("ferrite", "redis"):
                        s = servers[kind]
                        if test == "geoadd":
                            s.client.delete("geo:add")
                        keyspace = 2_000_000_000 if test == "geoadd" else args.keyspace
                        res[kind].append(bench(s.port, argv, args.requests, args.clients,
                                               pipeline, keyspace))
                f, r = statistics.median(res["ferrite"]), statistics.median(res["redis"])
                rounds = " ".join(f"{a / b:.2f}" for a, b in zip(res["ferrite"], res["redis"]))
                print(f"{test:<16} {pipeline:>4} {f:>12.0f} {r:>12.0f} {f / r:>7.3f}  {rounds}",
                      flush=True)
    finally:
        for s in servers.values():
            s.stop()


if __name__ == "__main__":
    main()
