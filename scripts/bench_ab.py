#!/usr/bin/python3
"""A/B of server configurations with redis-benchmark, reporting what the client pays.

At pipeline 1 one redis-benchmark process (one core) is the ceiling on this 2-vCPU
machine, so throughput alone hides where time goes. This script runs the same workload
against several servers, round-robin, server pinned to CPU 0 and client to CPU 1, and
prints per configuration the median requests/s, the client's CPU time per request and
the server's (user + system time of the whole process; a busy-polling loop counts its
polling too).

Each configuration is NAME=SPEC:
  SPEC = "redis" or "redis:<extra redis-server flags>"   Debian's redis-server
  SPEC = TOML for Ferrite with ";" for newlines, e.g.
         '[server];busy_poll_us=0;[persistence];checkpoint_rules=[]'
  NAME@BINARY=SPEC runs that configuration on another Ferrite binary (an A/B of builds).

Example (the busy-polling figures in docs/benchmarks.md):
  /usr/bin/python3 scripts/bench_ab.py --rounds 5 --tests get,set \\
      'poll=[server];busy_poll_us=100;[persistence];checkpoint_rules=[]' \\
      'sleep=[server];busy_poll_us=0;[persistence];checkpoint_rules=[]' redis=redis
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchutil import FILLS, free_port

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(spec, binary):
    port = free_port()
    d = tempfile.mkdtemp(prefix="bench-ab-")
    if spec.startswith("redis"):
        extra = spec.split(":", 1)[1].split() if ":" in spec else []
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", d, "--logfile", os.path.join(d, "log")] + extra
    else:
        with open(os.path.join(d, "ferrite.toml"), "w") as f:
            f.write(spec.replace(";", "\n") + "\n")
        cmd = [binary, "--config", os.path.join(d, "ferrite.toml"), "--port", str(port),
               "--bind", "127.0.0.1", "--dir", d]
    proc = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port, d
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server did not start: {cmd}")


def run_bench(args, port, test, pid):
    """One redis-benchmark run: (requests/s, client us per request, server us per request)."""
    s0 = cpu_seconds(pid)
    r0 = os.times()
    out = subprocess.run(
        ["taskset", "-c", "1", "redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
         "-c", str(args.clients), "-n", str(args.requests), "-r", str(args.keyspace),
         "-d", str(args.size), "-P", str(args.pipeline), "-t", test, "--csv"],
        capture_output=True, text=True, timeout=600).stdout
    r1 = os.times()
    client = (r1.children_user + r1.children_system - r0.children_user - r0.children_system)
    server = cpu_seconds(pid) - s0
    rps = float(out.strip().splitlines()[-1].split(",")[1].strip('"'))
    return rps, client / args.requests * 1e6, server / args.requests * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="+", help="NAME=SPEC")
    ap.add_argument("--ferrite", default="build-release/src/server/ferrite")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tests", default="get,set")
    ap.add_argument("--requests", type=int, default=300000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keyspace", type=int, default=1000000)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--pipeline", type=int, default=1)
    args = ap.parse_args()
    configs, binaries = [], []
    for c in args.configs:
        name, spec = c.split("=", 1)
        name, _, binary = name.partition("@")
        configs.append((name, spec))
        binaries.append(binary or args.ferrite)
    servers = []
    try:
        for (_, spec), binary in zip(configs, binaries):
            servers.append(start(spec, binary))
        results = {name: {} for name, _ in configs}
        for _ in range(args.rounds):
            for test in args.tests.split(","):
                for (name, _), (proc, port, _) in zip(configs, servers):
                    if test in FILLS:  # the pops and LRANGE need data first
                        subprocess.run(["redis-cli", "-p", str(port), "flushall"], capture_output=True)
                        run_bench(args, port, FILLS[test], proc.pid)
                    results[name].setdefault(test, []).append(run_bench(args, port, test, proc.pid))
        print(f"# redis-benchmark -c {args.clients} -n {args.requests} -r {args.keyspace} "
              f"-d {args.size} -P {args.pipeline}, {args.rounds} rounds, medians")
        print(f"{'config':<14} {'test':<11} {'rps':>9} {'client us/req':>14} {'server us/req':>14}  rounds (rps)")
        for name, per_test in results.items():
            for test, runs in per_test.items():
                med = [statistics.median(r[i] for r in runs) for i in range(3)]
                rounds = " ".join(f"{r[0]:.0f}" for r in runs)
                print(f"{name:<14} {test:<11} {med[0]:>9.0f} {med[1]:>14.2f} {med[2]:>14.2f}  {rounds}")
    finally:
        for proc, _, d in servers:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
