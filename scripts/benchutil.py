"""Helpers shared by the bench_*.py scripts (imported from this folder)."""
import shutil
import socket
import subprocess
import tempfile
import time

import redis

# redis-benchmark tests that need data first, and the test that puts it there.
FILLS = {"lpop": "lpush", "spop": "sadd", "zpopmin": "zadd", "lrange_100": "lpush"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Srv:
    """A ferrite or redis-server on a free loopback port, pinned to core 0 (redis-benchmark
    runs on core 1), in a temporary directory; `extra` flags go to both servers."""

    def __init__(self, kind, binary, prefix, extra=()):
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"bench-{prefix}{kind}-")
        if kind == "redis":
            cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--dir", self.dir, "--save", "", "--appendonly", "no", *extra]
        else:
            cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                   *extra]
        self.proc = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"{kind} did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_benchmark(port, argv, n, clients, pipeline, keyspace, timeout=600):
    """Requests per second of one redis-benchmark run (argv: a command line, or -t <test>)."""
    out = subprocess.run(
        ["taskset", "-c", "1", "redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
         "-c", str(clients), "-n", str(n), "-P", str(pipeline), "-r", str(keyspace), "--csv",
         *argv], capture_output=True, text=True, timeout=timeout).stdout
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) >= 2 and parts[0] != "test":
            return float(parts[1])
    raise RuntimeError(f"no result for {argv}: {out!r}")
