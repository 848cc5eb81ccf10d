"""Sentinel failover with Debian's redis-sentinel 7.0 watching real servers on 127.0.0.1.

A primary with two replicas, three sentinels (quorum 2, down-after-milliseconds 1000). The
primary is SIGKILLed while clients write with `WAIT 1 <ms>`; Sentinel must promote a
replica (get-master-addr-by-name changes), reconfigure the other one (MULTI, REPLICAOF,
CONFIG REWRITE, CLIENT KILL TYPE normal/pubsub, EXEC), no write a replica acknowledged may
be lost, and the old primary, restarted from its own data, must rejoin as a replica of the
new one. Sentinel reads everything from INFO (run_id, role, slaveN lines, slave_priority,
slave_repl_offset, master_link_down_since_seconds …) and finds its peers through the
`__sentinel__:hello` channel of the monitored servers: the failover cannot happen unless
all of that behaves as in Redis. With FERRITE_TEST_TARGET=redis the servers are
redis-server 7.0, which proves the test.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from conftest import IS_REDIS, LoggedProcess, free_port, poll

SENTINEL_BIN = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"
MASTER = "mymaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 6000


def start_process(obj, cmd, name):
    obj.log_path = os.path.join(obj.dir, f"{name}-{obj.port}.log")
    obj.log = open(obj.log_path, "a")
    obj.proc = subprocess.Popen(cmd, stdout=obj.log, stderr=subprocess.STDOUT)


def wait_ping(obj, what):
    def up():
        if obj.proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {obj.logs()}")
        try:
            return obj.client().ping()
        except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError, OSError):
            return False
    if not poll(up, 30, 0.05):
        raise RuntimeError(f"{what} did not start: {obj.logs()}")


class Node(LoggedProcess):
    """A data server (Ferrite, or redis-server with FERRITE_TEST_TARGET=redis) with its own
    configuration file, which CONFIG REWRITE edits, and AOF; restartable on the same port
    (Sentinel knows servers by address)."""

    def __init__(self, root, replicaof=None):
        self.port = free_port()
        self.dir = os.path.join(root, f"node-{self.port}")
        os.makedirs(self.dir)
        if IS_REDIS:
            self.conf = os.path.join(self.dir, "redis.conf")
            lines = [f"port {self.port}", "bind 127.0.0.1", f"dir {self.dir}", 'save ""',
                     "appendonly yes", "appendfsync everysec", "enable-debug-command yes",
                     "repl-diskless-sync-delay 0"]
            if replicaof:
                lines.append(f"replicaof 127.0.0.1 {replicaof}")
        else:
            self.conf = os.path.join(self.dir, "ferrite.toml")
            lines = ["[server]", 'bind = "127.0.0.1"', f"port = {self.port}",
                     f'dir = "{self.dir}"', 'enable_debug_command = "yes"',
                     "[persistence]", "aof_enabled = true", 'aof_sync_policy = "everysec"',
                     "aof_rewrite_percentage = 0", "checkpoint_enabled = false",
                     "[redis]", '"repl-diskless-sync-delay" = 0']
            if replicaof:
                lines += ["[replication]", f'replicaof = "127.0.0.1 {replicaof}"']
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.start()

    def start(self):
        if IS_REDIS:
            cmd = ["redis-server", self.conf]
        else:
            binary = os.environ.get("FERRITE_BIN")
            if not binary:
                pytest.exit("FERRITE_BIN is not set (or set FERRITE_TEST_TARGET=redis)")
            cmd = [binary, "--config", self.conf]
        start_process(self, cmd, "server")
        wait_ping(self, f"server on {self.port}")

    def client(self, **kw):
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, **kw)

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()

    def config_text(self):
        with open(self.conf) as f:
            return f.read()


class Sentinel(LoggedProcess):
    def __init__(self, root, master_port):
        self.port = free_port()
        self.dir = os.path.join(root, f"sentinel-{self.port}")
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                f"port {self.port}", "bind 127.0.0.1", f"dir {self.dir}",
                f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 2",
                f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}",
                f"sentinel parallel-syncs {MASTER} 2"]) + "\n")
        start_process(self, [SENTINEL_BIN, self.conf], "sentinel")
        wait_ping(self, f"sentinel on {self.port}")

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5,
                           decode_responses=True)

    def master_port(self):
        try:
            addr = self.client().execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
            return int(addr[1]) if addr else None
        except (redis.exceptions.ConnectionError, OSError):
            return None

    def master_state(self):
        r = self.client().execute_command("SENTINEL", "MASTER", MASTER)
        return dict(zip(r[::2], r[1::2]))

    def replicas(self):
        return [dict(zip(r[::2], r[1::2]))
                for r in self.client().execute_command("SENTINEL", "REPLICAS", MASTER)]


def info(node):
    try:
        return node.client(socket_timeout=2).info("replication")
    except (redis.exceptions.ConnectionError, OSError):
        return {}


def replica_of(node, primary):
    """node is a replica of primary and its link is up. (Offsets are not compared: the
    sentinels' hello messages, PUBLISHed every two seconds, are replicated too.)"""
    ri = info(node)
    return (ri.get("role") == "slave" and ri.get("master_port") == primary.port and
            ri.get("master_link_status") == "up")


def digest(node):
    return node.client().execute_command("DEBUG", "DIGEST")


class Writers:
    """Threads writing unique keys to whichever server Sentinel names as the primary. A
    write counts as acknowledged when `WAIT 1 500` after it reports a replica: those are the
    writes a failover must not lose."""

    def __init__(self, sentinels, n=2):
        self.sentinels = sentinels
        self.stop = threading.Event()
        self.acked = {}  # key -> (value, port of the primary that acknowledged it)
        self.lock = threading.Lock()
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True)
                        for t in range(n)]
        for t in self.threads:
            t.start()

    def primary_port(self):
        for s in self.sentinels:
            p = s.master_port()
            if p:
                return p
        return None

    def run(self, tid):
        c, port, i = None, None, 0
        deadline = time.time() + 90  # bounded even if the test forgets to stop us
        while not self.stop.is_set() and time.time() < deadline:
            try:
                if c is None:
                    port = self.primary_port()
                    if port is None:
                        time.sleep(0.05)
                        continue
                    c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2,
                                    socket_connect_timeout=1, decode_responses=True)
                key, value = f"w{tid}:{i}", f"{port}:{i}:" + "x" * (i % 50)
                i += 1
                c.set(key, value)
                if c.execute_command("WAIT", 1, 500) >= 1:
                    with self.lock:
                        self.acked[key] = (value, port)
            except redis.exceptions.ReadOnlyError:
                c = None  # a replica now: ask Sentinel again
                time.sleep(0.05)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
                c = None  # killed (the primary) or disconnected (CLIENT KILL TYPE normal)
                time.sleep(0.05)
            except redis.exceptions.ResponseError as e:
                self.errors.append(str(e))
                c = None
                time.sleep(0.05)

    def acked_on(self, port):
        with self.lock:
            return sum(1 for v in self.acked.values() if v[1] == port)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(10)


@pytest.fixture
def cluster():
    root = tempfile.mkdtemp(prefix="ferrite-it-sentinel-")
    started = []
    yield root, started
    for p in started:  # each one by its own PID
        if getattr(p, "proc", None) is not None and p.proc.poll() is None:
            p.terminate(5)
    ok = all(p.proc.returncode is not None for p in started)
    if ok:
        shutil.rmtree(root, ignore_errors=True)


def test_sentinel_failover_under_write_load(cluster):
    root, started = cluster
    primary = Node(root)
    started.append(primary)
    replicas = [Node(root, replicaof=primary.port) for _ in range(2)]
    started.extend(replicas)
    for r in replicas:
        # Equal priorities (so Sentinel picks the replica with the highest offset), not the
        # default: Sentinel must read them from INFO's slave_priority.
        assert r.client().config_set("replica-priority", 42)
    assert poll(lambda: all(replica_of(r, primary) for r in replicas), 30), \
        [info(r) for r in replicas]
    pinfo = info(primary)
    assert pinfo["connected_slaves"] == 2
    assert {pinfo["slave0"]["port"], pinfo["slave1"]["port"]} == {r.port for r in replicas}

    sentinels = [Sentinel(root, primary.port) for _ in range(3)]
    started.extend(sentinels)

    # Each sentinel has found both replicas (INFO's slaveN lines) and the two other
    # sentinels (their hello messages on the servers' __sentinel__:hello channel).
    def discovered():
        for s in sentinels:
            m = s.master_state()
            if int(m["num-slaves"]) != 2 or int(m["num-other-sentinels"]) != 2:
                return False
            reps = s.replicas()
            if any(int(r["slave-priority"]) != 42 or r["master-link-status"] != "ok"
                   for r in reps):
                return False
        return True
    assert poll(discovered, 20, 0.1), [(s.master_state(), s.replicas()) for s in sentinels]
    names = [c["name"] for c in primary.client().client_list()]
    assert sum(n.startswith("sentinel-") and n.endswith("-cmd") for n in names) == 3, names
    assert sum(n.startswith("sentinel-") and n.endswith("-pubsub") for n in names) == 3, names
    ch = primary.client().pubsub_numsub("__sentinel__:hello")
    assert ch == [("__sentinel__:hello", 3)], ch

    writers = Writers(sentinels)
    try:
        assert poll(lambda: writers.acked_on(primary.port) >= 200, 20, 0.02), writers.errors
        primary.kill()
        t_kill = time.time()
        # down-after-milliseconds, the vote, the promotion: the new primary is a replica.
        assert poll(lambda: all(s.master_port() in {r.port for r in replicas}
                                for s in sentinels), 2 * FAILOVER_TIMEOUT_MS / 1000 + 10, 0.05), \
            [s.logs()[-3000:] for s in sentinels]
        switch_s = time.time() - t_kill
        new_port = sentinels[0].master_port()
        new = next(r for r in replicas if r.port == new_port)
        other = next(r for r in replicas if r.port != new_port)
        assert info(new)["role"] == "master"
        # Sentinel reconfigures the other replica; writes acknowledged by it continue.
        assert poll(lambda: replica_of(other, new), 20), (info(other), other.logs()[-2000:])
        assert poll(lambda: writers.acked_on(new_port) >= 100, 20, 0.02), writers.errors
    finally:
        writers.finish()
    assert not writers.errors, writers.errors[:5]

    # No acknowledged write is lost.
    c = new.client()
    keys = sorted(writers.acked)
    values = c.mget(keys)
    lost = [(k, writers.acked[k], v) for k, v in zip(keys, values) if v != writers.acked[k][0]]
    assert not lost, (len(lost), lost[:5])

    # CONFIG REWRITE ran inside Sentinel's transactions: the promoted server's file no
    # longer names a primary (Redis drops the line, Ferrite's TOML editor keeps the key,
    # empty), the other one's names the new primary.
    assert not re.search(r'^\s*replicaof(\s*=\s*"[^"\s]|\s+[^\s=])', new.config_text(), re.M), \
        new.config_text()
    assert re.search(rf'^\s*replicaof\s*=?\s*"?127\.0\.0\.1 {new_port}"?\s*$', other.config_text(),
                     re.M), other.config_text()

    # The old primary, restarted from its own data as a primary, is converted by Sentinel
    # into a replica of the new one and resynchronised (its unacknowledged tail dropped).
    primary.start()
    assert poll(lambda: replica_of(primary, new), 40, 0.1), \
        (info(primary), primary.logs()[-2000:], [s.logs()[-2000:] for s in sentinels])
    assert poll(lambda: replica_of(other, new), 10)
    assert poll(lambda: digest(other) == digest(new) == digest(primary), 10), \
        (digest(new), digest(other), digest(primary))
    assert c.dbsize() >= len(keys)
    print(f"failover in {switch_s:.1f} s; {len(keys)} acknowledged writes kept")


def test_replica_announce_and_priority(cluster):
    """What Sentinel learns about a replica comes from the primary's slaveN lines (the
    address it connects to: replica-announce-ip/-port, sent as REPLCONF ip-address /
    listening-port) and from the replica's own INFO (slave_priority, replica_announced)."""
    root, started = cluster
    primary = Node(root)
    started.append(primary)
    replica = Node(root)
    started.append(replica)
    rc = replica.client()
    assert rc.config_set("replica-announce-ip", "10.1.2.3")
    assert rc.config_set("replica-announce-port", 7777)
    assert rc.config_set("replica-priority", 7)
    assert rc.config_set("replica-announced", "no")
    rc.execute_command("REPLICAOF", "127.0.0.1", primary.port)
    assert poll(lambda: replica_of(replica, primary), 20), info(replica)
    # The replica's link is up a moment before the primary lists it as online (seen racing
    # against redis-server): wait until ROLE lists it.
    assert poll(lambda: primary.client().execute_command("ROLE")[2], 20)
    pi = info(primary)
    assert pi["slave0"]["ip"] == "10.1.2.3" and pi["slave0"]["port"] == 7777, pi
    assert [r[:2] for r in primary.client().execute_command("ROLE")[2]] == [["10.1.2.3", "7777"]]
    ri = info(replica)
    assert ri["slave_priority"] == 7 and ri["replica_announced"] == 0, ri
    assert rc.config_get("slave-priority") == {"slave-priority": "7"}
    # Without the announce settings the primary shows the connection's address and port.
    assert rc.config_set("replica-announce-ip", "")
    assert rc.config_set("replica-announce-port", 0)
    rc.execute_command("CLIENT", "KILL", "TYPE", "master")  # reconnects: a new handshake
    assert poll(lambda: info(primary).get("slave0", {}).get("port") == replica.port, 20), \
        info(primary)
    assert info(primary)["slave0"]["ip"] == "127.0.0.1"


def test_sentinel_kills_a_busy_script(cluster):
    """A primary stuck in a script answers PING with -BUSY; once it has been down for
    down-after-milliseconds, Sentinel sends SCRIPT KILL (instead of failing over a server
    that is only busy) and the script ends with Redis's error."""
    root, started = cluster
    primary = Node(root)
    started.append(primary)
    assert primary.client().config_set("busy-reply-threshold", 100)
    sentinel = Sentinel(root, primary.port)
    started.append(sentinel)
    assert poll(lambda: sentinel.master_state()["flags"] == "master", 10), sentinel.master_state()
    outcome = []

    def script():
        c = primary.client(socket_timeout=30)
        try:
            outcome.append(c.eval("local i = 0 while true do i = i + 1 end", 0))
        except redis.exceptions.ResponseError as e:
            outcome.append(e)
    t = threading.Thread(target=script, daemon=True)
    t0 = time.time()
    t.start()
    t.join(20)
    assert outcome and isinstance(outcome[0], redis.exceptions.ResponseError), outcome
    assert "Script killed by user with SCRIPT KILL" in str(outcome[0]), outcome
    assert time.time() - t0 >= DOWN_AFTER_MS / 1000  # killed by Sentinel, after the timeout
    assert primary.client().ping()
