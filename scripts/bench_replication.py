#!/usr/bin/python3
"""Replication figures beside Redis in one run: Ferrite -> Ferrite and redis-server 7.0 ->
redis-server 7.0, the same steps for each:

  1. the primary gets N keys (DEBUG POPULATE, 100-byte values);
  2. base write speed: redis-benchmark SET (50 clients, pipeline 1, 100-byte values) in
     short rounds (--round requests each; rps averaged, p99 the worst round's); the
     primary's memory after them is its base;
  3. a replica (repl-diskless-sync yes, delay 0: Redis forks a child that streams the RDB
     to the socket; Ferrite streams its fork-less frozen image) is attached with REPLICAOF;
     while the full sync runs, the same redis-benchmark rounds run against the primary, and
     the primary's memory (PSS of the process and its children, so Redis's forked child
     counts for the pages it really holds) is sampled every 20 ms;
  4. full sync time: REPLICAOF until the replica's link is up with all N keys;
  5. steady state: redis-benchmark SET with the replica attached (rounds 4 x as long).
The last round during the sync may end after it: the sync's figures are a little diluted.

Both primaries are pinned to CPU 0; the replica and redis-benchmark to CPU 1. A shared
machine makes absolute numbers noisy: the ratios between the two columns are the figures.

Usage: /usr/bin/python3 scripts/bench_replication.py [--keys 3000000] [--ferrite PATH]
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time

import redis

from benchutil import free_port

HERE = os.path.dirname(os.path.abspath(__file__))


def default_binary():
    for b in ("build-release", "build"):
        p = os.path.join(HERE, "..", b, "src", "server", "ferrite")
        if os.path.exists(p):
            return os.path.abspath(p)
    return "ferrite"


class Node:
    def __init__(self, kind, binary, cpu):
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"bench-repl-{kind}-")
        if kind == "redis":
            cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--dir", self.dir, "--save", "", "--appendonly", "no",
                   "--enable-debug-command", "yes", "--repl-diskless-sync", "yes",
                   "--repl-diskless-sync-delay", "0",
                   "--client-output-buffer-limit", "replica 0 0 0"]
        else:
            conf = os.path.join(self.dir, "ferrite.toml")
            with open(conf, "w") as f:
                f.write(f'[server]\nport = {self.port}\nbind = "127.0.0.1"\ndir = "{self.dir}"\n'
                        'enable_debug_command = "yes"\n[persistence]\naof_enabled = false\n'
                        'checkpoint_enabled = false\n[replication]\n'
                        'output_buffer_hard_limit = 0\n'
                        'output_buffer_soft_limit = 0\n[redis]\n"repl-diskless-sync" = "yes"\n'
                        '"repl-diskless-sync-delay" = 0\n')
            cmd = [binary, "--config", conf]
        self.proc = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.c = redis.Redis(port=self.port, socket_timeout=600, decode_responses=True)
        for _ in range(400):
            try:
                self.c.ping()
                return
            except (redis.ConnectionError, redis.exceptions.BusyLoadingError):
                time.sleep(0.05)
        raise RuntimeError(f"{kind} did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def server_pid(node):
    """The server's PID (taskset execs it, so it is the Popen's PID)."""
    return node.proc.pid


def pss_kb(pid):
    """PSS of pid and its children (kB): the memory the process tree really holds."""
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def bench_round(port, n):
    """One redis-benchmark SET round: (requests per second, p99 ms)."""
    out = subprocess.run(
        ["taskset", "-c", "1", "redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "50",
         "-n", str(n), "-P", "1", "-r", "1000000", "-d", "100", "-t", "set", "--csv"],
        capture_output=True, text=True, timeout=600).stdout
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) >= 7 and parts[0] == "SET":
            return float(parts[1]), float(parts[6])
    raise RuntimeError(f"no result: {out!r}")


def rounds(port, n, count=None, until=None):
    """Benchmark rounds: `count` of them, or as long as until() is false (at least one)."""
    res = []
    while True:
        res.append(bench_round(port, n))
        if count is not None and len(res) >= count:
            break
        if until is not None and until():
            break
    return res


def run(kind, binary, keys, round_n):
    p = Node(kind, binary, 0)
    r = Node(kind, binary, 1)
    try:
        t = time.time()
        p.c.execute_command("DEBUG", "POPULATE", keys, "key", 100)
        populate_s = time.time() - t
        base = rounds(p.port, round_n, count=5)
        # The benchmark's keys (key:000000123456) are other keys: the dataset grew a little.
        n_before = p.c.dbsize()
        base_pss = pss_kb(server_pid(p))

        peak = [base_pss]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], pss_kb(server_pid(p)))
                time.sleep(0.02)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        synced = threading.Event()
        sync_s = [None]

        def watch():
            t0 = time.time()
            r.c.execute_command("REPLICAOF", "127.0.0.1", p.port)
            while time.time() - t0 < 1800:
                try:
                    i = r.c.info("replication")
                    if i.get("master_link_status") == "up" and r.c.dbsize() >= n_before:
                        sync_s[0] = time.time() - t0
                        break
                except (redis.exceptions.BusyLoadingError, redis.ConnectionError):
                    pass
                time.sleep(0.01)
            synced.set()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        during = rounds(p.port, round_n, until=synced.is_set)
        watcher.join()
        done.set()
        sampler.join()
        # Let the replica catch up with the writes made during the sync, then steady state.
        time.sleep(1)
        steady = rounds(p.port, round_n * 4, count=3)
        return {
            "populate_s": populate_s,
            "sync_s": sync_s[0],
            "base_mb": base_pss / 1024,
            "peak_mb": peak[0] / 1024,
            "base_rps": sum(x[0] for x in base) / len(base),
            "base_p99": max(x[1] for x in base),
            "during_rps": sum(x[0] for x in during) / len(during),
            "during_p99": max(x[1] for x in during),
            "during_rounds": len(during),
            "steady_rps": sum(x[0] for x in steady) / len(steady),
            "steady_p99": max(x[1] for x in steady),
        }
    finally:
        r.stop()
        p.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=3_000_000)
    ap.add_argument("--round", type=int, default=10_000,
                    help="requests per benchmark round (short: several rounds fit in a sync)")
    ap.add_argument("--ferrite", default=default_binary())
    a = ap.parse_args()
    print(f"keys={a.keys} ferrite={a.ferrite} load={os.getloadavg()[0]:.2f}")
    res = {k: run(k, a.ferrite, a.keys, a.round) for k in ("ferrite", "redis")}
    f, r = res["ferrite"], res["redis"]
    rows = [
        ("full sync time (s)", "sync_s", "{:.2f}", "lower is better"),
        ("primary memory before the sync (MB, PSS)", "base_mb", "{:.0f}", ""),
        ("primary peak memory during the sync (MB, PSS)", "peak_mb", "{:.0f}", ""),
        ("SET rps, no replica", "base_rps", "{:.0f}", ""),
        ("SET p99 ms, no replica", "base_p99", "{:.3f}", ""),
        ("SET rps during the full sync", "during_rps", "{:.0f}", ""),
        ("SET p99 ms during the full sync", "during_p99", "{:.3f}", ""),
        ("SET rps, one replica attached", "steady_rps", "{:.0f}", ""),
        ("SET p99 ms, one replica attached", "steady_p99", "{:.3f}", ""),
    ]
    print(f"| {'':48} | {'Ferrite':>9} | {'Redis':>9} | Ferrite / Redis |")
    print(f"|{'-' * 50}|{'-' * 11}|{'-' * 11}|-----------------|")
    for name, k, fmt, _ in rows:
        ratio = f[k] / r[k] if r[k] else float("nan")
        print(f"| {name:48} | {fmt.format(f[k]):>9} | {fmt.format(r[k]):>9} | {ratio:15.2f} |")
    for kind, x in res.items():
        print(f"{kind}: peak / base memory {x['peak_mb'] / x['base_mb']:.2f}; p99 during the "
              f"sync / base p99 {x['during_p99'] / x['base_p99']:.2f}; "
              f"{x['during_rounds']} benchmark rounds during the sync; populate {x['populate_s']:.1f} s")


if __name__ == "__main__":
    main()
