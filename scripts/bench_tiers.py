#!/usr/bin/python3
"""Tiered storage benchmark (#7), Ferrite and Redis in one run.

N keys x SIZE bytes of incompressible data. Ferrite runs with tiering on and
hot_tier_size = HOT (the rest of the values in warm mmap segments and cold lz4 files);
Redis keeps everything in RAM (the reference for speed, and for what the data costs in RAM).

Prints, per server: load time, RSS (anonymous + file-backed) after the load, GET
throughput and p50/p99 latency (redis-benchmark) for
  hot-set:  90 % of reads to the first 10 % of the keys (two redis-benchmark processes at
            once, 45 + 5 clients: one over the hot 10 %, one over all keys), and
  uniform:  reads spread over every key;
and Ferrite's cold-read latency (INFO tiering) next to the disk's own 4 KiB random-read
latency measured by fio (O_DIRECT, queue depth 1): the physical limit.

Usage: /usr/bin/python3 scripts/bench_tiers.py [--keys 10000000] [--size 1024] [--hot 1GB]
       [--requests 2000000]   (after a Release build in build-release; needs redis-server,
       redis-benchmark and fio: apt-get install redis-server redis-tools fio)
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FERRITE = os.environ.get("FERRITE_BIN", os.path.join(ROOT, "build-release", "src", "server", "ferrite"))


def parse_size(s):
    units = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
    for u, m in units.items():
        if s.upper().endswith(u):
            return int(float(s[:-2]) * m)
    return int(s)


def wait_ready(port, timeout=600):
    r = redis.Redis(port=port, socket_timeout=60)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if r.ping() and int(r.info("persistence").get("loading", 0)) == 0:
                return r
        except (redis.ConnectionError, redis.BusyLoadingError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def load(port, n, size, pool):
    """SET key:%012d (redis-benchmark's key names) to distinct incompressible values."""
    s = socket.create_connection(("127.0.0.1", port))
    batch = 4000
    header = f"${size}\r\n".encode()
    t0 = time.time()
    for lo in range(0, n, batch):
        hi = min(n, lo + batch)
        parts = []
        for i in range(lo, hi):
            off = (i * 7919) % (len(pool) - size)
            parts.append(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n" % i + header + pool[off:off + size] + b"\r\n")
        s.sendall(b"".join(parts))
        want = 5 * (hi - lo)
        got = 0
        while got < want:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("connection closed while loading")
            if b"-" in chunk:
                raise RuntimeError(f"error while loading: {chunk[:200]!r}")
            got += len(chunk)
    s.close()
    return time.time() - t0


def expected(pool, i, size):
    off = (i * 7919) % (len(pool) - size)
    return pool[off:off + size]


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) * 1024
    return out


def bench(port, n_keys, requests, clients, rand, pipeline=16):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "get", "-n", str(requests), "-r", str(rand),
                          "-c", str(clients), "-P", str(pipeline), "--csv"], capture_output=True, text=True,
                         timeout=1800)
    line = [l for l in out.stdout.splitlines() if l.startswith('"GET"')][-1]
    f = [x.strip('"') for x in line.split(",")]
    return {"rps": float(f[1]), "p50": float(f[4]), "p99": float(f[6])}


def hot_set(port, n, requests):
    """90 % of the reads to the first 10 % of the keys: two benchmark processes at once."""
    procs = []
    t0 = time.time()
    for clients, reqs, rand in ((45, requests * 9 // 10, max(1, n // 10)), (5, requests // 10, n)):
        procs.append(subprocess.Popen(["redis-benchmark", "-p", str(port), "-t", "get", "-n", str(reqs), "-r",
                                       str(rand), "-c", str(clients), "-P", "16", "--csv"],
                                      stdout=subprocess.PIPE, text=True))
    res = []
    for p in procs:
        out, _ = p.communicate(timeout=1800)
        line = [l for l in out.splitlines() if l.startswith('"GET"')][-1]
        f = [x.strip('"') for x in line.split(",")]
        res.append({"rps": float(f[1]), "p50": float(f[4]), "p99": float(f[6])})
    wall = time.time() - t0
    return {"rps": requests / wall, "hot_p50": res[0]["p50"], "hot_p99": res[0]["p99"],
            "all_p50": res[1]["p50"], "all_p99": res[1]["p99"]}


def fio_latency(directory):
    path = os.path.join(directory, "fio.test")
    out = subprocess.run(["fio", "--name=randread", f"--filename={path}", "--size=2G", "--rw=randread", "--bs=4k",
                          "--direct=1", "--ioengine=psync", "--iodepth=1", "--runtime=15", "--time_based",
                          "--output-format=json"], capture_output=True, text=True, timeout=600)
    os.unlink(path)
    job = json.loads(out.stdout)["jobs"][0]["read"]
    pct = job["clat_ns"]["percentile"]
    return {"p50_us": pct["50.000000"] / 1000, "p99_us": pct["99.000000"] / 1000,
            "mean_us": job["clat_ns"]["mean"] / 1000, "iops": job["iops"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=10_000_000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--hot", default="1GB")
    ap.add_argument("--requests", type=int, default=2_000_000)
    ap.add_argument("--warmup", type=int, default=0, help="hot-set reads, then a second measured hot-set run")
    ap.add_argument("--dir", default="/var/tmp/ferrite-tierbench")
    ap.add_argument("--skip-redis", action="store_true")
    a = ap.parse_args()
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    results = {}
    pool = os.urandom(8 << 20)
    print(f"dataset: {a.keys} keys x {a.size} B = {a.keys * a.size / 1e9:.1f} GB of incompressible values")

    # Ferrite with tiers.
    fdir = os.path.join(a.dir, "ferrite")
    os.makedirs(fdir)
    conf = os.path.join(fdir, "ferrite.toml")
    with open(conf, "w") as f:
        f.write(f'[server]\nport = 7801\ndir = "{fdir}"\n[persistence]\naof_enabled = false\n'
                f'checkpoint_enabled = true\ncheckpoint_rules = []\ncheckpoint_interval = 0\n[storage]\nenabled = true\nhot_tier_size = "{a.hot}"\n'
                f'warm_tier_size = "2GB"\ncold_tier_compression = "lz4"\n')
    fp = subprocess.Popen([FERRITE, "--config", conf], stdout=open(os.path.join(fdir, "log"), "w"),
                          stderr=subprocess.STDOUT)
    import random
    try:
        r = wait_ready(7801)
        t = load(7801, a.keys, a.size, pool)
        time.sleep(5)  # let the background moves settle
        info = r.info("tiering")
        results["ferrite"] = {"load_s": t, "rss": rss(fp.pid), "used_memory": r.info("memory")["used_memory"],
                              "tiers": {k: info[k] for k in ("tier_hot_bytes", "tier_warm_keys", "tier_cold_keys")}}
        print("ferrite loaded:", results["ferrite"])
        results["ferrite"]["hot_set_cold_start"] = hot_set(7801, a.keys, a.requests)
        print("ferrite hot-set, first run (hot keys still on disk):", results["ferrite"]["hot_set_cold_start"])
        # Warm-up (optional): the hot keys are read often enough to move back to RAM.
        if a.warmup:
            t0 = time.time()
            hot_set(7801, a.keys, a.warmup)
            print(f"ferrite warm-up: {a.warmup} hot-set reads in {time.time() - t0:.0f} s")
            results["ferrite"]["hot_set"] = hot_set(7801, a.keys, a.requests)
            print("ferrite hot-set, warmed:", results["ferrite"]["hot_set"])
        else:
            results["ferrite"]["hot_set"] = results["ferrite"]["hot_set_cold_start"]
        results["ferrite"]["uniform"] = bench(7801, a.keys, a.requests // 4, 50, a.keys)
        print("ferrite uniform:", results["ferrite"]["uniform"])
        info = r.info("tiering")
        results["ferrite"]["cold_read"] = {k: info[k] for k in ("tier_cold_read_count", "tier_cold_read_avg_usec",
                                                                "tier_cold_read_p50_usec", "tier_cold_read_p99_usec")}
        results["ferrite"]["moves"] = {k: info[k] for k in ("tier_promotions", "tier_demotions", "tier_lent_reads",
                                                            "tier_reads_warm", "tier_recompressions",
                                                            "tier_compactions", "tier_warm_keys", "tier_cold_keys")}
        print("ferrite tier moves:", results["ferrite"]["moves"])
        results["ferrite"]["rss_after"] = rss(fp.pid)
        print("ferrite cold reads:", results["ferrite"]["cold_read"], "rss after:", results["ferrite"]["rss_after"])
        # Restart from a checkpoint that references the segments: time to loading:0, then
        # a sample of values checked byte for byte.
        t0 = time.time()
        r.save()
        save_s = time.time() - t0
        ckpt = os.path.getsize(os.path.join(fdir, "ferrite.rdb"))
        fp.terminate()
        fp.wait(120)
        t0 = time.time()
        fp = subprocess.Popen([FERRITE, "--config", conf], stdout=open(os.path.join(fdir, "log"), "a"),
                              stderr=subprocess.STDOUT)
        r = wait_ready(7801)
        restart_s = time.time() - t0
        sample = random.sample(range(a.keys), 2000)
        p = r.pipeline(transaction=False)
        for i in sample:
            p.get(b"key:%012d" % i)
        bad = sum(1 for i, v in zip(sample, p.execute()) if v != expected(pool, i, a.size))
        results["ferrite"]["restart"] = {"save_s": save_s, "checkpoint_bytes": ckpt, "restart_s": restart_s,
                                         "rss": rss(fp.pid), "sample_mismatches": bad}
        print("ferrite save + restart:", results["ferrite"]["restart"])
        if bad:
            raise SystemExit(f"{bad} values differ after the restart")
    finally:
        fp.terminate()
        fp.wait(60)
    shutil.rmtree(fdir, ignore_errors=True)
    results["fio"] = fio_latency(a.dir)
    print("fio 4k random read (O_DIRECT, qd1):", results["fio"])

    if not a.skip_redis:
        rdir = os.path.join(a.dir, "redis")
        os.makedirs(rdir)
        rp = subprocess.Popen(["redis-server", "--port", "7802", "--bind", "127.0.0.1", "--dir", rdir, "--save", "",
                               "--appendonly", "no"], stdout=open(os.path.join(rdir, "log"), "w"),
                              stderr=subprocess.STDOUT)
        try:
            r = wait_ready(7802)
            t = load(7802, a.keys, a.size, pool)
            results["redis"] = {"load_s": t, "rss": rss(rp.pid), "used_memory": r.info("memory")["used_memory"]}
            print("redis loaded:", results["redis"])
            results["redis"]["hot_set"] = hot_set(7802, a.keys, a.requests)
            print("redis hot-set:", results["redis"]["hot_set"])
            results["redis"]["uniform"] = bench(7802, a.keys, a.requests // 4, 50, a.keys)
            print("redis uniform:", results["redis"]["uniform"])
        finally:
            rp.terminate()
            rp.wait(120)
        shutil.rmtree(rdir, ignore_errors=True)
        fr, rr = results["ferrite"], results["redis"]
        print("\nratios Ferrite / Redis:")
        print(f"  RSS after load: {fr['rss']['VmRSS'] / rr['rss']['VmRSS']:.3f} "
              f"(anonymous {fr['rss']['RssAnon'] / rr['rss']['RssAnon']:.3f})")
        print(f"  hot-set GET rps: {fr['hot_set']['rps'] / rr['hot_set']['rps']:.3f}, "
              f"hot p99 {fr['hot_set']['hot_p99'] / max(rr['hot_set']['hot_p99'], 1e-9):.2f}x")
        print(f"  uniform GET rps: {fr['uniform']['rps'] / rr['uniform']['rps']:.3f}, "
              f"p99 {fr['uniform']['p99'] / max(rr['uniform']['p99'], 1e-9):.2f}x")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
