"""Replication options with real processes on 127.0.0.1: min-replicas-to-write /
min-replicas-max-lag (-NOREPLICAS), replica-serve-stale-data no (-MASTERDOWN), repl-timeout on both sides of a link, repl-backlog-ttl, repl-diskless-sync-delay / repl-diskless-sync-max-replicas (several
replicas sharing one image). With FERRITE_TEST_TARGET=redis every server is a redis-server,
which proves the tests test Redis's behaviour.
"""
import queue
import re
import subprocess
import threading
import time

import pytest
import redis

from conftest import poll
from test_replication import Node, assert_same, repl_info, wait_synced, workload

NOREPLICAS = "NOREPLICAS Not enough good replicas to write."


@pytest.fixture
def nodes():
    started = []

    def make(**kw):
        n = Node("ferrite", **kw)  # a redis-server under FERRITE_TEST_TARGET=redis
        started.append(n)
        return n

    yield make
    for n in started:
        n.stop()


def error_of(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


def attach(primary, replica):
    primary.client().config_set("repl-diskless-sync-delay", 0)
    assert replica.client().execute_command("REPLICAOF", "127.0.0.1", primary.port) in ("OK", True)
    wait_synced(primary, replica)


def test_min_replicas_to_write(nodes):
    primary = nodes()
    p = primary.client()
    p.set("before", "1")
    p.config_set("min-replicas-to-write", 1)
    assert error_of(lambda: p.set("a", "b")) == NOREPLICAS
    assert p.get("before") == "1"  # reads go on
    assert repl_info(p)["min_slaves_good_slaves"] == 0
    # Scripts: a declared write script is refused before it runs; an undeclared one at
    # its first write.
    assert error_of(lambda: p.eval("#!lua\nreturn redis.call('set','a','b')", 0)) == NOREPLICAS
    assert error_of(lambda: p.eval("return redis.call('set','a','b')", 0)).startswith(
        NOREPLICAS + " script:")
    assert p.eval("#!lua flags=no-writes\nreturn redis.call('get','before')", 0) == "1"
    # In a transaction the refused write aborts EXEC.
    tx = p.pipeline(transaction=True)
    tx.set("a", "b")
    with pytest.raises(redis.ResponseError, match="EXECABORT|NOREPLICAS"):
        tx.execute()
    assert p.exists("a") == 0
    # max-lag 0 turns the check off.
    p.config_set("min-replicas-max-lag", 0)
    assert p.set("a", "b")
    p.config_set("min-replicas-max-lag", 2)
    assert error_of(lambda: p.set("a", "c")) == NOREPLICAS

    # A replica that acknowledges: writes are accepted.
    replica = nodes()
    attach(primary, replica)
    assert poll(lambda: repl_info(p)["min_slaves_good_slaves"] == 1, 10)
    assert p.set("a", "d")
    wait_synced(primary, replica)
    assert replica.client().get("a") == "d"
    # Two needed, one there: refused again.
    p.config_set("min-replicas-to-write", 2)
    assert error_of(lambda: p.set("a", "e")) == NOREPLICAS
    p.config_set("min-replicas-to-write", 1)
    assert p.set("a", "e")
    # The replica stops acknowledging (it is gone): refused once its lag passes max-lag.
    replica.stop()
    assert poll(lambda: repl_info(p)["min_slaves_good_slaves"] == 0, 10)
    assert error_of(lambda: p.set("a", "f")) == NOREPLICAS
    assert p.get("a") == "e"


def test_repl_backlog_ttl(nodes):
    primary, replica = nodes(), nodes()
    p = primary.client()
    p.config_set("repl-backlog-ttl", 1)
    workload(primary, 200, seed=51)
    attach(primary, replica)
    before = repl_info(p)
    assert before["repl_backlog_active"] == 1
    time.sleep(2.5)  # with a replica attached the backlog stays
    assert repl_info(p)["repl_backlog_active"] == 1
    assert replica.client().execute_command("REPLICAOF", "NO", "ONE") in ("OK", True)
    assert poll(lambda: repl_info(p)["repl_backlog_active"] == 0, 10)
    after = repl_info(p)
    assert after["master_replid"] != before["master_replid"]  # a new history
    assert str(after["master_replid2"]).strip("0") == "" and after["second_repl_offset"] == -1
    assert after["repl_backlog_histlen"] == 0
    # The replica cannot continue: a full sync.
    full = p.info("stats")["sync_full"]
    p.set("after-ttl", "1")
    attach(primary, replica)
    assert p.info("stats")["sync_full"] == full + 1
    assert replica.client().get("after-ttl") == "1"
    assert_same(primary, replica)


def full_sync_starts(node):
    return len(re.findall(r"Starting BGSAVE for SYNC with target: replicas sockets",
                          node.proc.logs()))


def test_diskless_sync_shares_one_image(nodes):
    """repl-diskless-sync-delay keeps a sync waiting for more replicas; with
    repl-diskless-sync-max-replicas of them there it starts at once, one image streamed to
    all of them."""
    primary = nodes()
    p = primary.client()
    workload(primary, 500, seed=52)
    p.config_set("repl-diskless-sync-delay", 60)
    p.config_set("repl-diskless-sync-max-replicas", 3)
    reps = [nodes() for _ in range(3)]
    for rep in reps[:2]:
        rep.client().execute_command("REPLICAOF", "127.0.0.1", primary.port)
    time.sleep(2)  # the delay holds the first two
    assert all(repl_info(rep.client())["master_link_status"] == "down" for rep in reps[:2])
    assert full_sync_starts(primary) == 0
    reps[2].client().execute_command("REPLICAOF", "127.0.0.1", primary.port)
    for rep in reps:
        wait_synced(primary, rep, timeout=30)  # far less than the 60 s delay
    assert full_sync_starts(primary) == 1
    assert p.info("stats")["sync_full"] == 3
    for rep in reps:
        assert_same(primary, rep)


def test_redis_cli_replica(nodes):
    """`redis-cli --replica` (SYNC, then the command stream printed) works against the
    server."""
    primary = nodes()
    p = primary.client()
    p.set("before", "1")
    proc = subprocess.Popen(["redis-cli", "-h", "127.0.0.1", "-p", str(primary.port), "--replica"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()

    def wait_for(pattern, timeout=30):
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if re.search(pattern, line, re.I):
                return line
        raise AssertionError(f"{pattern!r} not printed; got {seen}")

    try:
        wait_for(r"sync done")
        p.set("hello", "world")
        wait_for(r'"set","hello","world"')
        p.lpush("list", "x")
        wait_for(r'"lpush","list","x"')
        assert [c for c in p.client_list() if "S" in c["flags"]]  # counted as a replica
    finally:
        proc.kill()
        proc.wait(10)


def test_repl_timeout_both_sides(nodes):
    """repl-timeout: a primary drops a replica that stops acknowledging; a replica drops a
    link that goes silent. Both come back with a partial resync."""
    primary, replica = nodes(), nodes()
    p, r = primary.client(), replica.client()
    workload(primary, 300, seed=53)
    attach(primary, replica)
    for c in (p, r):
        c.config_set("repl-timeout", 2)
    p.config_set("repl-ping-replica-period", 1)
    full, partial = p.info("stats")["sync_full"], p.info("stats")["sync_partial_ok"]

    def asleep(node):
        t = threading.Thread(target=lambda: node.client().execute_command("DEBUG", "SLEEP", 5))
        t.start()
        time.sleep(0.3)
        return t

    t = asleep(replica)  # no ACKs from it
    assert poll(lambda: repl_info(p)["connected_slaves"] == 0, 8)
    t.join()
    p.set("after-replica-timeout", "1")
    wait_synced(primary, replica)
    assert poll(lambda: p.info("stats")["sync_partial_ok"] == partial + 1, 10)
    t = asleep(primary)  # no data nor PING from it
    assert poll(lambda: repl_info(r)["master_link_status"] == "down", 8)
    t.join()
    p.set("after-master-timeout", "1")
    wait_synced(primary, replica)
    assert poll(lambda: p.info("stats")["sync_partial_ok"] == partial + 2, 10)
    assert p.info("stats")["sync_full"] == full
    assert r.get("after-replica-timeout") == "1" and r.get("after-master-timeout") == "1"
    assert_same(primary, replica)


MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."


def test_replica_serve_stale_data_no(nodes):
    """A replica whose primary is gone: with replica-serve-stale-data no, commands without
    the stale flag (GET, PING, DBSIZE, EXEC of such) get -MASTERDOWN; INFO, CONFIG, REPLICAOF
    still answer; with yes (the default) it serves its data again."""
    primary = nodes()
    replica = nodes()
    primary.client().set("k", "v")
    attach(primary, replica)
    r = replica.client()
    assert r.get("k") == "v"
    primary.stop()
    poll(lambda: repl_info(r)["master_link_status"] == "down", timeout=30)
    assert r.get("k") == "v"  # stale data served by default
    r.config_set("replica-serve-stale-data", "no")
    for cmd in (("GET", "k"), ("PING",), ("DBSIZE",), ("EXISTS", "k")):
        assert error_of(lambda: r.execute_command(*cmd)) == MASTERDOWN, cmd
    assert repl_info(r)["role"] == "slave"  # INFO answers
    assert r.config_get("replica-serve-stale-data") == {"replica-serve-stale-data": "no"}
    p = r.pipeline(transaction=True)
    p.get("k")
    with pytest.raises(redis.ResponseError) as e:
        p.execute()
    assert MASTERDOWN in str(e.value)
    r.config_set("replica-serve-stale-data", "yes")
    assert r.get("k") == "v"
    r.config_set("replica-serve-stale-data", "no")
    assert r.execute_command("REPLICAOF", "NO", "ONE") in ("OK", True)
    assert r.get("k") == "v"  # a primary is never stale
