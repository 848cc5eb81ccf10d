"""Replication with real processes on 127.0.0.1: Ferrite -> Ferrite, Ferrite primary ->
Debian's redis-server 7.0 replica, redis-server 7.0 primary -> Ferrite replica.

Each pair: the datasets are compared key by key (type, value, absolute expiry) after the
full sync and after a few thousand mixed writes of every type; the replica's link is killed
and must come back with a partial resync (sync_partial_ok); WAIT counts the replica's ACKs;
writes on the replica get -READONLY. With FERRITE_TEST_TARGET=redis every "Ferrite" below
is a redis-server, which proves the tests test Redis's behaviour.
"""
import random
import shutil
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import RedisServer, Server, free_port, poll

DBS = (0, 1)


# ---------------------------------------------------------------------------- helpers

class Node:
    """One server of a pair, Ferrite (Server) or redis-server (RedisServer)."""

    def __init__(self, kind, **kw):
        self.kind = kind
        if kind == "ferrite":
            self.proc = Server(**kw)
            self.tmp = None
        else:
            self.tmp = tempfile.mkdtemp(prefix="ferrite-it-redis-")
            self.proc = RedisServer(self.tmp)
        self.port = self.proc.port

    def client(self, db=0):
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=20,
                           decode_responses=True)

    def stop(self):
        self.proc.stop()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def nodes():
    started = []

    def make(kind, **kw):
        n = Node(kind, **kw)
        started.append(n)
        return n

    yield make
    for n in started:
        n.stop()


def repl_info(c):
    return c.info("replication")


def wait_synced(primary, replica, timeout=60):
    """The link is up and the replica has applied everything the primary has sent."""
    p, r = primary.client(), replica.client()

    def ok():
        ri = repl_info(r)
        return (ri.get("master_link_status") == "up" and
                ri.get("slave_repl_offset") == repl_info(p)["master_repl_offset"])

    assert poll(ok, timeout, 0.05), (repl_info(p), repl_info(r))


def attach(primary, replica):
    primary.client().config_set("repl-diskless-sync-delay", 0)
    assert replica.client().execute_command("REPLICAOF", "127.0.0.1", primary.port) in ("OK", True)
    wait_synced(primary, replica)


def dataset(node):
    """Every key of the tested databases: type, value and absolute expiry (ms)."""
    out = {}
    for db in DBS:
        c = node.client(db)
        for k in c.scan_iter(count=1000):
            t = c.type(k)
            if t == "string":
                v = c.get(k)
            elif t == "list":
                v = c.lrange(k, 0, -1)
            elif t == "set":
                v = sorted(c.smembers(k))
            elif t == "zset":
                v = c.zrange(k, 0, -1, withscores=True)
            elif t == "hash":
                v = sorted(c.hgetall(k).items())
            elif t == "stream":
                v = c.xrange(k)
            elif t == "none":
                continue
            else:
                raise AssertionError(f"unexpected type {t}")
            out[(db, k)] = (t, v, c.execute_command("PEXPIRETIME", k))
    return out


def assert_same(primary, replica):
    a, b = dataset(primary), dataset(replica)
    assert len(a) > 100
    missing = set(a) ^ set(b)
    assert not missing, sorted(missing)[:10]
    diff = [k for k in a if a[k] != b[k]]
    assert not diff, [(k, a[k], b[k]) for k in diff[:5]]
    if primary.kind == replica.kind:  # DEBUG DIGEST is each implementation's own
        assert primary.client().execute_command("DEBUG", "DIGEST") == \
            replica.client().execute_command("DEBUG", "DIGEST")


def workload(node, n, seed):
    """n mixed writes of every type (transactions, a script, TTLs, two databases)."""
    rnd = random.Random(seed)
    cs = {db: node.client(db) for db in DBS}
    short_ttl = set()
    for i in range(n):
        db = rnd.choice(DBS)
        c = cs[db]
        k = f"k{rnd.randrange(300)}"
        v = f"v{rnd.randrange(10 ** 6)}" * rnd.choice((1, 1, 3, 40))
        op = rnd.randrange(26)
        try:
            if op == 0:
                c.set(k, v)
            elif op == 1:
                c.set(k, v, ex=1000 + rnd.randrange(1000))
            elif op == 2:
                c.append(k, v)
            elif op == 3:
                c.incrby(f"n{rnd.randrange(50)}", rnd.randrange(-5, 100))
            elif op == 4:
                c.rpush(f"l{k}", *[f"{v}{j}" for j in range(rnd.randrange(1, 5))])
            elif op == 5:
                c.lpush(f"l{k}", v)
                c.ltrim(f"l{k}", 0, 20)
            elif op == 6:
                c.lpop(f"l{k}")
            elif op == 7:
                c.sadd(f"s{k}", *[f"m{rnd.randrange(100)}" for _ in range(3)])
            elif op == 8:
                c.srem(f"s{k}", f"m{rnd.randrange(100)}")
            elif op == 9:
                c.spop(f"s{k}")
            elif op == 10:
                c.zadd(f"z{k}", {f"m{rnd.randrange(100)}": rnd.random() * 100 for _ in range(3)})
            elif op == 11:
                c.zincrby(f"z{k}", 1.5, f"m{rnd.randrange(100)}")
            elif op == 12:
                c.zpopmin(f"z{k}")
            elif op == 13:
                c.hset(f"h{k}", mapping={f"f{rnd.randrange(20)}": v, "n": rnd.randrange(100)})
            elif op == 14:
                c.hdel(f"h{k}", f"f{rnd.randrange(20)}")
            elif op == 15:
                c.hincrbyfloat(f"h{k}", "fl", 0.25)
            elif op == 16:
                c.xadd(f"x{rnd.randrange(20)}", {"a": v[:30], "b": str(i)}, maxlen=50,
                       approximate=False)
            elif op == 17:
                c.expire(k, 500 + rnd.randrange(500))
            elif op == 18:
                c.persist(k)
            elif op == 19:
                c.delete(k)
            elif op == 20:
                p = c.pipeline(transaction=True)
                p.incr(f"n{rnd.randrange(50)}")
                p.set(k, v)
                p.rpush(f"l{k}", v)
                p.execute()
            elif op == 21:
                c.eval("redis.call('set', KEYS[1], ARGV[1]); return redis.call('incr', KEYS[2])",
                       2, k, f"n{rnd.randrange(50)}", v)
            elif op == 22:
                c.setrange(k, rnd.randrange(10), "xyz")
            elif op == 23:
                c.getdel(k)
            elif op == 24:
                key = f"t{rnd.randrange(30)}"
                c.set(key, v, px=20)  # expires during the run: a DEL reaches the replica
                short_ttl.add((db, key))
            else:
                c.smove(f"s{k}", f"s{k}x", f"m{rnd.randrange(100)}")
        except redis.ResponseError as e:
            assert "WRONGTYPE" in str(e) or "not an integer" in str(e) or "not a valid" in str(e), e
    # Keys with a short TTL: expired on the primary (its DELs are replicated) before comparing.
    time.sleep(0.05)
    for db, key in short_ttl:
        cs[db].exists(key)


# ---------------------------------------------------------------------------- pairs

PAIRS = [("ferrite", "ferrite"), ("ferrite", "redis"), ("redis", "ferrite")]


@pytest.mark.parametrize("pk,rk", PAIRS, ids=["ferrite-ferrite", "ferrite-redis", "redis-ferrite"])
def test_full_sync_stream_and_partial_resync(nodes, pk, rk):
    primary, replica = nodes(pk), nodes(rk)
    p = primary.client()
    workload(primary, 2000, seed=1)
    p.set("big", "x" * 300_000)
    p.rpush("biglist", *[f"e{i}" for i in range(5000)])
    replica.client().set("stale", "gone after the sync")
    attach(primary, replica)
    r = replica.client()
    assert r.get("stale") is None
    assert_same(primary, replica)

    # The command stream: thousands of mixed writes.
    workload(primary, 3000, seed=2)
    wait_synced(primary, replica)
    assert_same(primary, replica)

    pi, ri = repl_info(p), repl_info(r)
    assert pi["role"] == "master" and pi["connected_slaves"] == 1
    s0 = pi["slave0"]
    assert s0["state"] == "online" and s0["port"] == replica.port and s0["ip"] == "127.0.0.1"
    assert pi["repl_backlog_active"] == 1
    assert ri["role"] == "slave" and ri["master_port"] == primary.port
    assert ri["master_link_status"] == "up" and ri["master_sync_in_progress"] == 0
    assert ri["master_replid"] == pi["master_replid"]
    role = p.execute_command("ROLE")
    assert role[0] == "master" and role[2][0][:2] == ["127.0.0.1", str(replica.port)]
    rrole = r.execute_command("ROLE")
    assert rrole[:4] == ["slave", "127.0.0.1", primary.port, "connected"]
    assert replica.client().execute_command("HELLO", "2")[11] == "replica"
    assert "S" in [c for c in p.client_list() if c.get("flags") == "S"][0]["flags"]
    assert [c for c in r.client_list() if c.get("flags") == "M"]

    # WAIT: the replica acknowledges the last write.
    p.set("waited", "1")
    assert p.execute_command("WAIT", 1, 5000) == 1
    assert poll(lambda: r.get("waited") == "1", 5)

    # A read-only replica refuses writes.
    with pytest.raises(redis.ResponseError, match="^You can't write against a read only replica"):
        r.set("x", "y")
    with pytest.raises(redis.ResponseError, match="^You can't write against a read only replica"):
        r.eval("return redis.call('set', 'x', 'y')", 0)
    with pytest.raises(redis.ResponseError, match="^You can't write against a read only replica"):
        r.eval("#!lua\nreturn redis.call('set', 'x', 'y')", 0)
    assert r.eval("return redis.call('get', 'waited')", 0) == "1"

    # The link dies (killed on the replica's side, then on the primary's): both come back
    # with a partial resync, and writes made meanwhile arrive.
    full = p.info("stats")["sync_full"]
    ok = p.info("stats")["sync_partial_ok"]
    assert r.execute_command("CLIENT", "KILL", "TYPE", "master") == 1
    p.set("during-1", "a")
    wait_synced(primary, replica)
    assert poll(lambda: p.info("stats")["sync_partial_ok"] == ok + 1, 10)
    assert p.execute_command("CLIENT", "KILL", "TYPE", "replica") == 1
    p.set("during-2", "b")
    workload(primary, 300, seed=3)
    wait_synced(primary, replica)
    assert poll(lambda: p.info("stats")["sync_partial_ok"] == ok + 2, 10)
    assert p.info("stats")["sync_full"] == full
    assert r.get("during-1") == "a" and r.get("during-2") == "b"
    assert_same(primary, replica)


def test_promotion_keeps_history_for_psync(nodes):
    """REPLICAOF NO ONE: the old ID becomes replid2, so the old primary, attached to the
    promoted replica, continues with a partial resync (PSYNC2)."""
    kind = "ferrite"  # Server(): a redis-server under FERRITE_TEST_TARGET=redis
    a, b = nodes(kind, aof="everysec"), nodes(kind, aof="everysec")  # the AOF beside
    workload(a, 500, seed=4)
    attach(a, b)
    old = repl_info(a.client())
    rb = b.client()
    assert rb.execute_command("REPLICAOF", "NO", "ONE") in ("OK", True)
    bi = repl_info(rb)
    assert bi["role"] == "master"
    assert bi["master_replid2"] == old["master_replid"]
    assert bi["second_repl_offset"] == old["master_repl_offset"] + 1
    assert bi["master_replid"] != old["master_replid"]
    rb.set("after-promotion", "1")  # writable now
    ok = rb.info("stats")["sync_partial_ok"]
    attach(b, a)
    assert rb.info("stats")["sync_partial_ok"] == ok + 1
    assert a.client().get("after-promotion") == "1"
    assert_same(b, a)


def test_replicaof_in_the_configuration(nodes):
    kind = "ferrite"  # Server(): a redis-server under FERRITE_TEST_TARGET=redis
    primary = nodes(kind)
    primary.client().config_set("repl-diskless-sync-delay", 0)
    primary.client().set("k", "v")
    replica = nodes(kind, replication={"replicaof": f"127.0.0.1 {primary.port}"})
    wait_synced(primary, replica)
    r = replica.client()
    assert r.get("k") == "v"
    assert r.config_get("replicaof")["replicaof"] == f"127.0.0.1 {primary.port}"


def test_replicaof_replies_and_errors(nodes):
    kind = "ferrite"  # Server(): a redis-server under FERRITE_TEST_TARGET=redis
    primary, replica = nodes(kind), nodes(kind)
    r = replica.client()
    with pytest.raises(redis.ResponseError, match="^Invalid master port$"):
        r.execute_command("REPLICAOF", "127.0.0.1", "abc")
    with pytest.raises(redis.ResponseError, match="^Invalid master port$"):
        r.execute_command("REPLICAOF", "127.0.0.1", "70000")
    assert r.execute_command("REPLICAOF", "NO", "ONE") in ("OK", True)  # already a master
    attach(primary, replica)
    assert r.execute_command("REPLICAOF", "127.0.0.1", primary.port) == \
        "OK Already connected to specified master"
    with pytest.raises(redis.ResponseError, match="^WAIT cannot be used with replica instances"):
        r.execute_command("WAIT", 1, 10)
    # The master link down: replicas of this one can't SYNC.
    r.execute_command("REPLICAOF", "127.0.0.1", "1")  # nothing listens on port 1
    ri = repl_info(r)
    assert ri["master_link_status"] == "down" and ri["master_port"] == 1
    c = replica.client()
    with pytest.raises(redis.ResponseError, match="^NOMASTERLINK Can't SYNC while not connected with my master$"):
        c.execute_command("PSYNC", "?", "-1")
    assert r.execute_command("REPLICAOF", "NO", "ONE") in ("OK", True)
    assert repl_info(r)["role"] == "master"


def test_wait_without_replicas(nodes):
    kind = "ferrite"  # Server(): a redis-server under FERRITE_TEST_TARGET=redis
    p = nodes(kind).client()
    p.set("a", "1")
    assert p.execute_command("WAIT", 0, 0) == 0
    t0 = time.time()
    assert p.execute_command("WAIT", 1, 200) == 0
    assert time.time() - t0 >= 0.15
    with pytest.raises(redis.ResponseError, match="^timeout is negative$"):
        p.execute_command("WAIT", 1, -1)
    with pytest.raises(redis.ResponseError, match="^timeout is not an integer or out of range$"):
        p.execute_command("WAIT", 1, "x")


def test_replconf_and_sync_by_hand(nodes):
    """The wire protocol itself, as a replica speaks it: REPLCONF, PSYNC ? -1, the
    +FULLRESYNC line, an $EOF: payload ending with its mark, then the stream after an ACK."""
    kind = "ferrite"  # Server(): a redis-server under FERRITE_TEST_TARGET=redis
    primary = nodes(kind)
    p = primary.client()
    p.config_set("repl-diskless-sync-delay", 0)
    p.set("k", "v")
    import socket
    s = socket.create_connection(("127.0.0.1", primary.port), timeout=20)
    f = s.makefile("rb")

    def cmd(*args):
        s.sendall(b"".join([f"*{len(args)}\r\n".encode()] +
                           [f"${len(str(a))}\r\n{a}\r\n".encode() for a in args]))

    cmd("REPLCONF", "listening-port", "4242")
    assert f.readline() == b"+OK\r\n"
    cmd("REPLCONF", "capa", "eof", "capa", "psync2")
    assert f.readline() == b"+OK\r\n"
    cmd("REPLCONF", "bogus", "1")
    assert f.readline() == b"-ERR Unrecognized REPLCONF option: bogus\r\n"
    cmd("PSYNC", "?", "-1")
    line = f.readline()
    while line == b"\n":
        line = f.readline()
    parts = line.split()
    assert parts[0] == b"+FULLRESYNC" and len(parts[1]) == 40
    offset = int(parts[2])
    line = f.readline()
    while line == b"\n":
        line = f.readline()
    assert line.startswith(b"$EOF:") and len(line) == 5 + 40 + 2
    mark = line[5:45]
    payload = b""
    while not payload.endswith(mark):
        payload += f.read1(65536)
    assert payload.startswith(b"REDIS0010")
    assert b"k" in payload
    p.set("after", "1")
    # The stream starts after the replica's first ACK; a replica ACKs every second.
    s.settimeout(0.5)
    got = b""
    deadline = time.time() + 10
    while b"after" not in got and time.time() < deadline:
        cmd("REPLCONF", "ACK", str(offset))
        try:
            got += f.read1(65536)
        except (TimeoutError, OSError):
            f = s.makefile("rb")
    assert b"SELECT" in got and b"after" in got
    s.close()


def test_redis_cli_rdb_backup(nodes, tmp_path):
    """`redis-cli --rdb` (REPLCONF rdb-only, SYNC without capa eof: the disk-based,
    length-prefixed payload) takes a backup that redis-server loads."""
    primary = nodes("ferrite")
    workload(primary, 1500, seed=5)
    out = tmp_path / "backup.rdb"
    res = subprocess.run(["redis-cli", "-p", str(primary.port), "--rdb", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert out.read_bytes().startswith(b"REDIS00")
    copy = RedisServer(str(tmp_path), dbfilename="backup.rdb")
    try:
        a = dataset(primary)

        class R:
            kind = "redis"
            port = copy.port
            client = Node.client

        b = dataset(R())
        assert a == b
    finally:
        copy.stop()


def test_backlog_overrun_means_full_resync(nodes):
    """Writes larger than the backlog while the link is down: the replica's PSYNC cannot
    continue (sync_partial_err), it gets a full sync and ends up equal."""
    primary, replica = nodes("ferrite"), nodes("ferrite")
    workload(primary, 500, seed=6)
    attach(primary, replica)
    p = primary.client()
    stats = p.info("stats")
    r = replica.client()
    # Away (following a primary that does not exist) while 2.4 MB go through a 1 MB backlog.
    r.execute_command("REPLICAOF", "127.0.0.1", free_port())
    pipe = p.pipeline(transaction=False)
    for i in range(6):
        pipe.set(f"huge{i}", str(i) * 400_000)
    pipe.execute()
    time.sleep(1)  # redis-server trims its backlog in the background
    r.execute_command("REPLICAOF", "127.0.0.1", primary.port)
    wait_synced(primary, replica)
    assert poll(lambda: p.info("stats")["sync_full"] == stats["sync_full"] + 1, 10)
    assert p.info("stats")["sync_partial_err"] == stats["sync_partial_err"] + 1
    assert replica.client().get("huge5") == "5" * 400_000
    assert_same(primary, replica)
