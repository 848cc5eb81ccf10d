#!/usr/bin/python3
"""Hybrid recovery side by side (issue #6): 3 M keys x 100 B in a snapshot plus an AOF tail
of 300 k writes, SIGKILL, restart, time until the whole dataset answers.

  Ferrite: checkpoint (BGSAVE) + AOF tail replayed from the checkpoint's position.
  Redis:   AOF with its RDB preamble (BGREWRITEAOF) + the incremental AOF after it.

Both with appendfsync everysec; servers pinned to CPU 0, the writer to CPU 1. The clock starts
when the restarted process is spawned and stops when DBSIZE answers the expected count.

Usage (after a Release build into build-release):
  /usr/bin/python3 scripts/bench_recovery.py [--keys 3000000] [--tail 300000] [--rounds 2]
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

import redis

from benchutil import free_port

HERE = os.path.dirname(os.path.abspath(__file__))


def command(kind, port, d):
    if kind == "redis":
        return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
                "--aof-use-rdb-preamble", "yes", "--auto-aof-rewrite-percentage", "0",
                "--enable-debug-command", "yes"]
    conf = os.path.join(d, "ferrite.toml")
    with open(conf, "w") as f:
        f.write(f'[server]\nport = {port}\nbind = "127.0.0.1"\ndir = "{d}"\n'
                'enable_debug_command = "yes"\n[persistence]\naof_enabled = true\n'
                'aof_sync_policy = "everysec"\naof_rewrite_percentage = 0\n'
                'checkpoint_enabled = true\ncheckpoint_rules = []\n')
    return [os.path.join(HERE, "..", "build-release", "src", "server", "ferrite"), "--config", conf]


def spawn(kind, port, d):
    return subprocess.Popen(["taskset", "-c", "0"] + command(kind, port, d),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_dbsize(port, expect, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = redis.Redis(port=port, socket_timeout=30)
            while time.time() < deadline:
                try:
                    if c.dbsize() == expect:
                        return True
                except redis.exceptions.BusyLoadingError:
                    pass
                time.sleep(0.005)
        except (redis.ConnectionError, OSError):
            time.sleep(0.005)
    return False


def wait_idle(c, fields, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        p = c.info("persistence")
        if all(int(p.get(f, 0)) == 0 for f in fields):
            return
        time.sleep(0.05)
    raise RuntimeError("background work did not finish")


def one_round(kind, keys, tail):
    d = tempfile.mkdtemp(prefix=f"recov-{kind}-")
    port = free_port()
    p = spawn(kind, port, d)
    try:
        assert wait_dbsize(port, 0, 30)
        c = redis.Redis(port=port, socket_timeout=600)
        c.execute_command("DEBUG", "POPULATE", str(keys), "key", "100")
        if kind == "redis":
            c.bgrewriteaof()  # base = RDB preamble
            wait_dbsize(port, keys, 10)
            time.sleep(0.2)
            wait_idle(c, ["aof_rewrite_in_progress", "aof_rewrite_scheduled"])
        else:
            c.bgsave()  # the checkpoint the AOF tail continues
            time.sleep(0.2)
            wait_idle(c, ["rdb_bgsave_in_progress"])
        subprocess.run(["taskset", "-c", "1", "redis-benchmark", "-p", str(port), "-c", "50",
                        "-n", str(tail), "-r", str(keys * 2), "-d", "100", "-t", "set", "-q"],
                       stdout=subprocess.DEVNULL, check=True)
        expect = c.dbsize()
        time.sleep(1.5)  # everysec: the tail is on disk
        p.send_signal(signal.SIGKILL)
        p.wait()
        t0 = time.time()
        p = spawn(kind, port, d)
        ok = wait_dbsize(port, expect)
        secs = time.time() - t0
        if not ok:
            raise RuntimeError(f"{kind}: DBSIZE never reached {expect}")
        return secs, expect
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=3_000_000)
    ap.add_argument("--tail", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    res = {"ferrite": [], "redis": []}
    for _ in range(a.rounds):
        for kind in ("ferrite", "redis"):
            secs, n = one_round(kind, a.keys, a.tail)
            res[kind].append(secs)
            print(f"{kind:8} recovered {n} keys in {secs:.2f} s", flush=True)
    f, r = statistics.median(res["ferrite"]), statistics.median(res["redis"])
    print(f"median: ferrite {f:.2f} s, redis {r:.2f} s, ferrite/redis {f / r:.3f}")


if __name__ == "__main__":
    main()
