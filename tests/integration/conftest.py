"""Fixtures for the integration suite: real servers, real clients.

Target selection:
  FERRITE_TEST_TARGET=redis  -> Debian's redis-server (proves the tests test Redis behaviour)
  default                    -> the ferrite binary named by FERRITE_BIN
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import redis

TARGET = os.environ.get("FERRITE_TEST_TARGET", "ferrite")
IS_REDIS = TARGET == "redis"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REDIS_FLAG = {
    "requirepass": "--requirepass",
    "maxclients": "--maxclients",
    "databases": "--databases",
    "maxmemory": "--maxmemory",
    "maxmemory_policy": "--maxmemory-policy",
    "timeout": "--timeout",
    "client_query_buffer_limit": "--client-query-buffer-limit",
    "proto_max_bulk_len": "--proto-max-bulk-len",
}



def wait_past_lastsave(t0):
    """Sleep until a save made now would read a later LASTSAVE than t0.

    LASTSAVE has one-second resolution and servers stamp it with time(2), which on Linux
    reads the coarse clock (a tick, up to a few ms, behind gettimeofday): waiting only
    until Python's clock crosses the second let a save right after the boundary read the
    old second (seen in CI against redis-server). 150 ms past the boundary is far beyond
    one tick."""
    while time.time() < t0 + 1.15:
        time.sleep(0.05)

def poll(fn, timeout=10, interval=0.05):
    """Calls fn until it returns a truthy value (returned) or the time is up (last value)."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(interval)


class LoggedProcess:
    """A server process started by a test, its output in log_path; stopped by its own PID."""

    def logs(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def terminate(self, timeout):
        """SIGTERM, then SIGKILL if it has not exited after `timeout` seconds. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.log.close()
        return self.proc.returncode


class Server(LoggedProcess):
    """One server process on a free port in its own temporary directory."""

    def __init__(self, dir=None, aof=None, timestamps=False, persistence=None, storage=None, archive=None,
                 metrics=None, replication=None, port=None, **settings):
        """aof: None (off) or an fsync policy ("always", "everysec", "no"). dir: reuse a data
        directory (a restart); the directory is then kept when the server stops. port: reuse
        a port (a restart where peers know the address)."""
        self.own_dir = dir is None
        self.dir = dir or tempfile.mkdtemp(prefix="ferrite-it-")
        self.port = port or free_port()
        self.aof = aof
        self.settings = settings
        self.log_path = os.path.join(self.dir, f"server-{self.port}.log")
        if IS_REDIS:
            cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--dir", self.dir, "--save", "", "--appendonly", "no",
                   "--enable-debug-command", "yes"]
            for k, v in settings.items():
                cmd += [REDIS_FLAG[k], str(v)]
            if aof:
                cmd += ["--appendonly", "yes", "--appendfsync", aof,
                        "--auto-aof-rewrite-percentage", "0"]
            for k, v in (replication or {}).items():  # [replication]: Redis's names
                cmd += ["--" + k.replace("_", "-")] + str(v).split()
            for k, v in (persistence or {}).items():
                if k == "aof_use_checkpoint_preamble":
                    cmd += ["--aof-use-rdb-preamble", "yes" if v else "no"]
        else:
            binary = os.environ.get("FERRITE_BIN")
            if not binary:
                pytest.exit("FERRITE_BIN is not set (or set FERRITE_TEST_TARGET=redis)")
            conf = os.path.join(self.dir, "ferrite.toml")
            lines = ["[server]", 'bind = "127.0.0.1"', f"port = {self.port}",
                     f'dir = "{self.dir}"', 'enable_debug_command = "yes"']
            for k, v in settings.items():
                lines.append(f"{k} = {v}" if isinstance(v, int) else f'{k} = "{v}"')
            lines += ["[persistence]", f"aof_enabled = {'true' if aof else 'false'}",
                      f'aof_sync_policy = "{aof or "everysec"}"', "aof_rewrite_percentage = 0",
                      f"aof_timestamp_enabled = {'true' if timestamps else 'false'}"]
            if "checkpoint_enabled" not in (persistence or {}):
                lines.append("checkpoint_enabled = false")
            # Tests read the AOF as RESP; the preamble (on by default, as Redis's) is tested
            # where a test asks for it.
            persistence = {"aof_use_checkpoint_preamble": False, **(persistence or {})}
            for k, v in persistence.items():  # extra [persistence] keys
                lines.append(f"{k} = {str(v).lower()}" if isinstance(v, bool) else
                             f"{k} = {v}" if isinstance(v, int) else f'{k} = "{v}"')
            def toml(v):
                if isinstance(v, bool):
                    return str(v).lower()
                return str(v) if isinstance(v, (int, float)) else f'"{v}"'
            for section, keys in (("storage", storage), ("storage.archive", archive), ("metrics", metrics),
                                  ("replication", replication)):
                if keys:  # [storage] / [storage.archive] (#7 tiered storage)
                    lines.append(f"[{section}]")
                    lines += [f"{k} = {toml(v)}" for k, v in keys.items()]
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            cmd = [binary, "--config", conf]
        self.log = open(self.log_path, "w")
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                # Ferrite answers PING while it loads in the background: wait for loading:0.
                if self.client().ping() and not int(self.client().info("persistence").get("loading", 0)):
                    return
            except redis.exceptions.AuthenticationError:
                return
            except redis.exceptions.ResponseError as e:
                if "NOAUTH" in str(e):
                    return
                raise
            except (redis.exceptions.ConnectionError, OSError):
                time.sleep(0.05)
            if self.proc.poll() is not None:
                break
        raise RuntimeError(f"server did not start: {self.logs()}")

    def client(self, **kw):
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def stop(self):
        self.terminate(5)
        if self.own_dir and not getattr(self, "keep", False):
            shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self):
        """SIGKILL: a crash. The data directory is kept for a restart."""
        self.keep = True
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()

    def aof_path(self):
        return os.path.join(self.dir, "ferrite.aof")


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def r(server):
    c = server.client(decode_responses=True)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def rb(server):
    c = server.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def server_factory():
    started = []

    def make(**settings):
        s = Server(**settings)
        started.append(s)
        return s

    yield make
    for s in started:
        if s.proc.poll() is None:
            s.stop()
    for s in started:
        if s.own_dir:
            shutil.rmtree(s.dir, ignore_errors=True)


class RedisServer(LoggedProcess):
    """Debian's redis-server on a free port; stopped by its own PID only."""

    def __init__(self, dir, dbfilename="dump.rdb", port=None, args=()):
        """port: reuse a port (a restart); args: more redis-server options."""
        self.dir = dir
        self.port = port or free_port()
        self.log_path = os.path.join(dir, f"redis-{self.port}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", dir,
             "--dbfilename", dbfilename, "--save", "", "--appendonly", "no",
             "--enable-debug-command", "yes", *args],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                c = self.client()
                # The port answers LOADING while a big dump loads: wait for a real PING.
                if c.ping():
                    c.close()
                    return
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError, OSError):
                time.sleep(0.05)
            if self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("redis-server did not start: " + self.logs())

    def client(self, db=0):
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=20)

    def stop(self):
        self.terminate(10)


class Raw:
    """A raw socket speaking RESP, for protocol edge cases."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.send(out)
        return self.reply()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        d, self.buf = self.buf[:n], self.buf[n + 2:]
        return d

    def reply(self):
        """Parses one RESP2/RESP3 reply into Python values; errors become ('ERR', text)."""
        l = self.line()
        t, rest = l[:1], l[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return ("ERR", rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.exact(n)
        if t in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        if t == b"%":
            n = int(rest)
            return {self._key(self.reply()): self.reply() for _ in range(n)}
        if t == b"_":
            return "NULL3"
        if t == b",":
            return float(rest)
        if t == b"#":
            return rest == b"t"
        if t == b"(":
            return int(rest)
        if t == b"=":
            n = int(rest)
            return self.exact(n)
        raise ValueError(f"unknown reply type {l!r}")

    @staticmethod
    def _key(k):
        return k.decode() if isinstance(k, bytes) else k

    def closed(self, timeout=5):
        """True if the server closed the connection (after draining what it sent)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(server):
    conns = []

    def make():
        c = Raw(server.port)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()


def redis_cli(port, *args, stdin=None, timeout=30):
    return subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin,
                          capture_output=True, timeout=timeout)
