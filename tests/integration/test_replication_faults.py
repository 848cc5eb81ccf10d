"""Replication faults and restarts with real processes on 127.0.0.1.

A restarted replica continues with PSYNC from the replication ID and offset its checkpoint
(Redis: its dump.rdb's repl-id / repl-offset aux fields) recorded; a restarted primary that
saved its position lets its replicas continue too (+CONTINUE with its new ID). Every case
compares the datasets key by key afterwards. With FERRITE_TEST_TARGET=redis every "Ferrite"
below is a redis-server, which proves the tests test Redis's behaviour.
"""
import random
import shutil
import threading
import time

import pytest
import redis

from conftest import IS_REDIS, RedisServer, Server, poll
from test_replication import Node, assert_same, repl_info, wait_synced, workload


def stats(node):
    s = node.client().info("stats")
    return s["sync_full"], s["sync_partial_ok"]


def shutdown_save(node):
    """SHUTDOWN SAVE: the process writes its checkpoint (dump.rdb) and exits; the data
    directory is kept for the restart."""
    node.proc.keep = True
    try:
        node.client().shutdown(save=True)
    except (redis.ConnectionError, redis.ResponseError):
        pass
    node.proc.proc.wait(30)
    node.proc.log.close()


def restart(node, replicaof=None):
    """The same server again: same kind, data directory and port."""
    n = Node.__new__(Node)
    n.kind = node.kind
    n.tmp = None
    if node.kind == "ferrite":
        n.proc = Server(dir=node.proc.dir, port=node.port,
                        replication={"replicaof": replicaof} if replicaof else None)
    else:
        args = ["--replicaof", *replicaof.split()] if replicaof else []
        n.proc = RedisServer(node.proc.dir, port=node.port, args=args)
    n.port = n.proc.port
    return n


@pytest.fixture
def cluster():
    """Nodes started by a test and their restarted incarnations, all stopped at the end
    (their data directories removed)."""
    nodes, dirs = [], set()

    def add(n):
        nodes.append(n)
        dirs.add(n.proc.dir)
        return n

    yield add
    for n in nodes:
        if n.proc.proc.poll() is None:
            n.proc.terminate(10)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def make(cluster, kind, **kw):
    if kind == "redis":  # a redis-server whatever the target
        n = Node.__new__(Node)
        n.kind, n.tmp = "redis", None
        import tempfile
        n.proc = RedisServer(tempfile.mkdtemp(prefix="ferrite-it-redis-"))
        n.port = n.proc.port
        return cluster(n)
    return cluster(Node(kind, **kw))


def attach(primary, replica):
    primary.client().config_set("repl-diskless-sync-delay", 0)
    assert replica.client().execute_command("REPLICAOF", "127.0.0.1", primary.port) in ("OK", True)
    wait_synced(primary, replica)


PAIRS = [("ferrite", "ferrite"), ("ferrite", "redis"), ("redis", "ferrite")]
IDS = ["ferrite-ferrite", "ferrite-redis", "redis-ferrite"]


@pytest.mark.parametrize("pk,rk", PAIRS, ids=IDS)
def test_restarted_replica_continues_with_psync(cluster, pk, rk):
    """The replica saves (SHUTDOWN SAVE), writes go on without it, it restarts from its
    checkpoint: the primary counts a partial resync and no new full sync; data equal."""
    primary, replica = make(cluster, pk), make(cluster, rk)
    workload(primary, 1500, seed=11)
    attach(primary, replica)
    workload(primary, 500, seed=12)
    wait_synced(primary, replica)
    replid = repl_info(primary.client())["master_replid"]
    full, partial = stats(primary)
    shutdown_save(replica)
    # Writes while the replica is down: the backlog must carry them to it.
    workload(primary, 500, seed=13)
    primary.client().set("while-down", "1")
    replica = cluster(restart(replica, replicaof=f"127.0.0.1 {primary.port}"))
    wait_synced(primary, replica)
    assert poll(lambda: stats(primary)[1] == partial + 1, 10), stats(primary)
    assert stats(primary)[0] == full
    ri = repl_info(replica.client())
    assert ri["master_replid"] == replid
    assert replica.client().get("while-down") == "1"
    assert_same(primary, replica)
    # And the stream goes on from there.
    workload(primary, 500, seed=14)
    wait_synced(primary, replica)
    assert_same(primary, replica)
    assert stats(primary)[0] == full


@pytest.mark.parametrize("pk,rk", PAIRS, ids=IDS)
def test_restarted_primary_lets_replica_continue(cluster, pk, rk):
    """The primary saves at shutdown (its replication ID and offset in the checkpoint /
    dump.rdb) and restarts on the same port: the replica, which had everything, continues
    with +CONTINUE and learns the primary's new ID (the old one is its replid2)."""
    primary, replica = make(cluster, pk), make(cluster, rk)
    workload(primary, 1500, seed=21)
    attach(primary, replica)
    workload(primary, 500, seed=22)
    wait_synced(primary, replica)
    old = repl_info(primary.client())
    shutdown_save(primary)
    primary = cluster(restart(primary))
    p = primary.client()
    pi = repl_info(p)
    assert pi["master_replid2"] == old["master_replid"]
    # Redis 7.0 sends REPLCONF GETACK at shutdown (waiting for its replicas): a few bytes
    # more in the saved offset.
    assert 0 <= pi["second_repl_offset"] - (old["master_repl_offset"] + 1) <= 64
    assert pi["master_replid"] != old["master_replid"]
    wait_synced(primary, replica)
    assert poll(lambda: stats(primary) == (0, 1), 10), stats(primary)
    assert repl_info(replica.client())["master_replid"] == repl_info(p)["master_replid"]
    assert_same(primary, replica)
    workload(primary, 500, seed=23)
    p.set("after-restart", "1")
    wait_synced(primary, replica)
    assert replica.client().get("after-restart") == "1"
    assert_same(primary, replica)
    assert stats(primary)[0] == 0


@pytest.mark.skipif(IS_REDIS, reason="Redis restores no replication position with the AOF on")
@pytest.mark.parametrize("who", ["primary", "replica"])
def test_restart_with_aof_on_continues(cluster, who):
    """With the AOF on, SHUTDOWN SAVE leaves a checkpoint the AOF continues with no tail
    after it (hybrid recovery loads exactly the checkpoint): the position is restored, and
    the restarted side continues with a partial resync where Redis 7.0 would full-sync."""
    primary = cluster(Node("ferrite", aof="everysec"))
    replica = cluster(Node("ferrite", aof="everysec"))
    workload(primary, 800, seed=101)
    attach(primary, replica)
    workload(primary, 300, seed=102)
    wait_synced(primary, replica)
    full, partial = stats(primary)
    node = primary if who == "primary" else replica
    shutdown_save(node)
    if who == "primary":
        n = Node.__new__(Node)
        n.kind, n.tmp = "ferrite", None
        n.proc = Server(dir=node.proc.dir, port=node.port, aof="everysec")
        n.port = n.proc.port
        primary = cluster(n)
        wait_synced(primary, replica)
        assert poll(lambda: stats(primary) == (0, 1), 10), stats(primary)
    else:
        primary.client().set("while-down", "1")
        replica = cluster(restart_aof(replica, primary, policy="everysec"))
        wait_synced(primary, replica)
        assert poll(lambda: stats(primary)[1] == partial + 1, 10), stats(primary)
        assert stats(primary)[0] == full
    assert "Replication position restored" in node_log(primary if who == "primary" else replica)
    workload(primary, 300, seed=103)
    wait_synced(primary, replica)
    assert_same(primary, replica)


def node_log(node):
    return node.proc.logs()


def test_restarted_replica_that_missed_too_much_full_syncs(cluster):
    """The restarted replica's offset is no longer in the primary's backlog: a full sync
    (sync_full counts it, sync_partial_err too), data equal."""
    primary, replica = make(cluster, "ferrite"), make(cluster, "ferrite")
    p = primary.client()
    p.config_set("repl-backlog-size", 16384)
    workload(primary, 500, seed=31)
    attach(primary, replica)
    full, _ = stats(primary)
    err = p.info("stats")["sync_partial_err"]
    shutdown_save(replica)
    for i in range(200):  # far more than the backlog holds
        p.set(f"fill{i}", "x" * 500)
    replica = cluster(restart(replica, replicaof=f"127.0.0.1 {primary.port}"))
    wait_synced(primary, replica)
    assert poll(lambda: stats(primary)[0] == full + 1, 10)
    assert p.info("stats")["sync_partial_err"] == err + 1
    assert_same(primary, replica)


@pytest.mark.skipif(IS_REDIS, reason="Ferrite's hybrid recovery: the AOF tail after the "
                    "checkpoint (Redis restores no position with the AOF on)")
def test_replica_with_aof_tail_after_checkpoint_full_syncs(cluster):
    """A position is restored only when the loaded data is exactly the checkpoint's: with
    AOF records replayed after it, the replica asks for a full sync instead of continuing
    from a stale offset (which would apply those commands twice)."""
    primary = make(cluster, "ferrite")
    replica = cluster(Node("ferrite", aof="always"))  # recovery_priority "checkpoint"
    workload(primary, 500, seed=41)
    attach(primary, replica)
    r = replica.client()
    r.save()  # the checkpoint holds the position at this point
    p = primary.client()
    for i in range(50):
        p.incr("counter")  # replayed twice would show
    wait_synced(primary, replica)
    full, partial = stats(primary)
    replica.proc.kill()  # a crash: the AOF holds the 50 INCRs after the checkpoint
    replica = cluster(restart_aof(replica, primary))
    wait_synced(primary, replica)
    assert poll(lambda: stats(primary)[0] == full + 1, 10), stats(primary)
    assert replica.client().get("counter") == "50"
    assert_same(primary, replica)
    log = replica.proc.logs()
    assert "Loading checkpoint" in log  # hybrid recovery: checkpoint, then the AOF's tail
    assert "Replication position restored" not in log


def restart_aof(node, primary, policy="always"):
    n = Node.__new__(Node)
    n.kind, n.tmp = node.kind, None
    n.proc = Server(dir=node.proc.dir, port=node.port, aof=policy,
                    replication={"replicaof": f"127.0.0.1 {primary.port}"})
    n.port = n.proc.port
    return n


@pytest.mark.parametrize("pk,rk", PAIRS, ids=IDS)
def test_link_killed_during_full_sync(cluster, pk, rk):
    """The primary drops the replica while the image streams (slowed down with
    rdb-key-save-delay): the replica starts over with a new full sync; writes made during
    both syncs arrive; no divergence."""
    primary, replica = make(cluster, pk), make(cluster, rk)
    p = primary.client()
    workload(primary, 2500, seed=61)
    p.config_set("repl-diskless-sync-delay", 0)
    p.config_set("rdb-key-save-delay", 3000)  # microseconds per key: seconds for the image
    full = stats(primary)[0]
    replica.client().execute_command("REPLICAOF", "127.0.0.1", primary.port)
    assert poll(lambda: repl_info(replica.client())["master_sync_in_progress"] == 1, 20)
    for i in range(100):
        p.set(f"during-sync-{i}", i)
    assert p.execute_command("CLIENT", "KILL", "TYPE", "replica") == 1
    p.config_set("rdb-key-save-delay", 0)
    for i in range(100):
        p.set(f"after-kill-{i}", i)
    wait_synced(primary, replica, timeout=90)
    assert stats(primary)[0] == full + 2
    assert replica.client().get("after-kill-99") == "99"
    assert_same(primary, replica)


@pytest.mark.parametrize("pk,rk", PAIRS, ids=IDS)
def test_links_killed_while_streaming_lose_no_acknowledged_write(cluster, pk, rk):
    """Writes go on while the link is killed again and again (from either side); every
    write WAIT reported as acknowledged is on the replica, and the datasets are equal;
    each reconnection is a partial resync."""
    primary, replica = make(cluster, pk), make(cluster, rk)
    p, r = primary.client(), replica.client()
    workload(primary, 300, seed=71)
    attach(primary, replica)
    full, partial = stats(primary)
    acked = []
    kills = 0
    for rnd in range(8):
        keys = [f"w{rnd}:{i}" for i in range(300)]
        pipe = p.pipeline(transaction=False)
        for i, k in enumerate(keys):
            pipe.set(k, i)
            pipe.incr("total")
        pipe.execute()
        if p.execute_command("WAIT", 1, 3000) == 1:
            acked += keys
        if rnd % 2 == 0:
            kills += p.execute_command("CLIENT", "KILL", "TYPE", "replica")
        else:
            kills += r.execute_command("CLIENT", "KILL", "TYPE", "master")
        workload(primary, 100, seed=72 + rnd)
    wait_synced(primary, replica)
    assert kills >= 6
    assert len(acked) >= 300
    pipe = r.pipeline(transaction=False)
    for k in acked:
        pipe.get(k)
    assert all(v is not None for v in pipe.execute())
    assert r.get("total") == str(8 * 300)
    assert_same(primary, replica)
    assert stats(primary)[0] == full
    assert stats(primary)[1] >= partial + kills - 1


def bulk_workload(node, n, seed, batch=1000):
    """n mixed writes of every type with TTLs, pipelined (batches in one database; some
    batches are MULTI/EXEC transactions)."""
    rnd = random.Random(seed)
    short_ttl = set()
    clients = {db: node.client(db) for db in (0, 1)}
    done = 0
    while done < n:
        db = rnd.choice((0, 1))
        pipe = clients[db].pipeline(transaction=rnd.random() < 0.1)
        m = min(batch, n - done)
        for i in range(m):
            k = f"b{rnd.randrange(2000)}"
            v = f"v{rnd.randrange(10 ** 6)}" * rnd.choice((1, 1, 4, 30))
            op = rnd.randrange(24)
            if op == 0:
                pipe.set(k, v)
            elif op == 1:
                pipe.set(k, v, ex=2000 + rnd.randrange(1000))
            elif op == 2:
                pipe.set(k, v, px=3_000_000 + rnd.randrange(1000))
            elif op == 3:
                pipe.incrby(f"n{rnd.randrange(100)}", rnd.randrange(-5, 100))
            elif op == 4:
                pipe.rpush(f"l{k}", *[f"{v}{j}" for j in range(rnd.randrange(1, 4))])
            elif op == 5:
                pipe.lpop(f"l{k}")
            elif op == 6:
                pipe.sadd(f"s{k}", f"m{rnd.randrange(200)}", f"m{rnd.randrange(200)}")
            elif op == 7:
                pipe.srem(f"s{k}", f"m{rnd.randrange(200)}")
            elif op == 8:
                pipe.zadd(f"z{k}", {f"m{rnd.randrange(200)}": rnd.randrange(10 ** 6) / 8})
            elif op == 9:
                pipe.zincrby(f"z{k}", 2.5, f"m{rnd.randrange(200)}")
            elif op == 10:
                pipe.hset(f"h{k}", f"f{rnd.randrange(30)}", v)
            elif op == 11:
                pipe.hdel(f"h{k}", f"f{rnd.randrange(30)}")
            elif op == 12:
                pipe.xadd(f"x{rnd.randrange(50)}", {"a": v[:20]}, maxlen=30, approximate=False)
            elif op == 13:
                pipe.expire(f"{rnd.choice('lszh')}{k}", 1000 + rnd.randrange(1000))
            elif op == 14:
                pipe.pexpireat(k, int(time.time() * 1000) + 5_000_000 + rnd.randrange(1000))
            elif op == 15:
                pipe.persist(k)
            elif op == 16:
                pipe.delete(k)
            elif op == 17:
                pipe.append(k, "+")
            elif op == 18:
                pipe.hincrby(f"h{k}", "cnt", 1)
            elif op == 19:
                pipe.ltrim(f"l{k}", 0, 10)
            elif op == 20:
                t = f"t{rnd.randrange(100)}"
                pipe.set(t, v, px=30)  # expires on the primary: its DEL is replicated
                short_ttl.add((db, t))
            elif op == 21:
                pipe.getex(k, ex=4000)
            elif op == 22:
                pipe.setrange(k, rnd.randrange(5), "xy")
            else:
                pipe.smove(f"s{k}", f"s{k}x", f"m{rnd.randrange(200)}")
        for res in pipe.execute(raise_on_error=False):
            if isinstance(res, Exception):
                assert "WRONGTYPE" in str(res) or "not an integer" in str(res), res
        done += m
    time.sleep(0.1)
    for db, key in short_ttl:  # expired on the primary before comparing
        clients[db].exists(key)


@pytest.mark.parametrize("pk,rk", PAIRS, ids=IDS)
def test_hundred_thousand_mixed_writes(cluster, pk, rk):
    primary, replica = make(cluster, pk), make(cluster, rk)
    bulk_workload(primary, 5_000, seed=81)
    attach(primary, replica)  # a full sync of what is there
    assert_same(primary, replica)
    bulk_workload(primary, 100_000, seed=82)  # the stream
    wait_synced(primary, replica, timeout=120)
    assert_same(primary, replica)


def test_replica_output_limit_then_backlog_overrun(cluster):
    """A replica that stops reading (DEBUG SLEEP) while 30 MB are written: the primary drops
    it at `client-output-buffer-limit replica` (1 MB hard), the 1 MB backlog no longer holds
    its offset, so it comes back with a full sync; no divergence."""
    primary, replica = make(cluster, "ferrite"), make(cluster, "ferrite")
    p = primary.client()
    workload(primary, 300, seed=91)
    attach(primary, replica)
    p.config_set("client-output-buffer-limit", "replica 1048576 0 0")
    p.config_set("repl-backlog-size", 1048576)
    full = stats(primary)[0]
    sleeper = threading.Thread(
        target=lambda: replica.client().execute_command("DEBUG", "SLEEP", 4))
    sleeper.start()
    time.sleep(0.5)
    value = "v" * 100_000
    pipe = p.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"big{i % 50}", f"{i}:{value}")
    pipe.execute()
    assert poll(lambda: p.info("replication")["connected_slaves"] == 0 or
                stats(primary)[0] > full, 10)
    sleeper.join()
    wait_synced(primary, replica, timeout=60)
    assert stats(primary)[0] == full + 1
    assert_same(primary, replica)


@pytest.mark.skipif(IS_REDIS, reason="tiered storage is Ferrite's")
def test_full_sync_of_tiered_values(cluster):
    """A primary whose values moved to warm and cold segments (hot tier 4 MB, ~24 MB
    written): the full sync reads each from its segment into the image; the replica has
    every value, byte for byte."""
    tiers = {"enabled": True, "hot_tier_size": "4MB", "warm_tier_size": "8MB",
             "segment_size": "2MB", "compaction_rate": "256MB"}
    primary = cluster(Node("ferrite", storage=tiers))
    replica = make(cluster, "ferrite")
    p = primary.client()
    for lo in range(0, 8000, 500):
        pipe = p.pipeline(transaction=False)
        for i in range(lo, lo + 500):
            pipe.set(f"s{i}", f"{i}:" + "x" * 2000 + str(i * 7919))
            if i % 20 == 0:
                pipe.hset(f"h{i}", mapping={f"f{j}": f"{i}-{j}" * 20 for j in range(30)})
                pipe.rpush(f"l{i}", *[f"{i}/{j}" * 10 for j in range(30)])
                pipe.expire(f"h{i}", 100_000)
        pipe.execute()
    tiering = p.info("tiering")
    assert tiering["tier_demotions"] > 1000, tiering
    attach(primary, replica)
    assert_same(primary, replica)
    p.set("after", "1")
    wait_synced(primary, replica)
    assert replica.client().get("after") == "1"
