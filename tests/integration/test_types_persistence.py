"""Every data type survives a restart: AOF replay, AOF replay after a rewrite, and a
checkpoint load. Each test fills a server, records DEBUG DIGEST and a few values, restarts
on the same directory and compares."""
import time

import pytest

from conftest import Raw, wait_past_lastsave


def populate(c):
    """Strings, hashes, lists, sets (intset, small, large), sorted sets, TTLs, two
    databases, and some history (updates and removals) for the AOF to replay."""
    c.set("str", "hello")
    c.set("counter", 41)
    c.incr("counter")
    c.set("str:ttl", "x", ex=1000)

    c.hset("hash", mapping={"a": "1", "b": "2", "c": "3"})
    c.hincrby("hash", "a", 10)
    c.hincrbyfloat("hash", "f", 1.5)
    c.hdel("hash", "b")
    c.hset("hash:big", mapping={f"field:{i}": f"value:{i}" for i in range(1000)})
    c.hset("hash:long", "v", "x" * 100)
    c.hset("hash:ttl", "a", "1")
    c.expire("hash:ttl", 2000)

    c.rpush("list", "a", "b", "c", "d")
    c.lpop("list")
    c.lset("list", 0, "B")
    c.linsert("list", "after", "B", "b2")
    c.rpush("list:big", *[f"{i:03d}" + "x" * 97 for i in range(200)])
    c.lmove("list:big", "list:moved", "RIGHT", "LEFT")
    c.rpush("list:ttl", "a")
    c.pexpire("list:ttl", 3_000_000)

    c.sadd("set:int", 1, 2, 3, -7, 2**40)
    c.srem("set:int", 2)
    c.sadd("set:str", "a", "b", "c")
    c.sadd("set:big", *[f"m{i}" for i in range(1000)])
    c.spop("set:big", 10)
    c.sadd("set:ttl", "a")
    c.expire("set:ttl", 4000)
    c.sinterstore("set:inter", ["set:str", "set:big"])
    c.sunionstore("set:union", ["set:str", "set:int"])

    c.zadd("zset", {"a": 1.5, "b": 3, "c": float("inf"), "d": float("-inf"), "e": 0.1})
    c.zincrby("zset", 0.2, "e")
    c.zrem("zset", "b")
    c.zadd("zset:big", {f"m{i}": i / 3 for i in range(500)})
    c.zpopmin("zset:big", 5)
    c.zadd("zset:ttl", {"a": 1})
    c.expire("zset:ttl", 5000)
    c.zunionstore("zset:union", {"zset": 2, "zset:big": 1}, aggregate="MAX")

    p = c.pipeline(transaction=True)
    p.hset("tx:hash", "k", "v").rpush("tx:list", "x").sadd("tx:set", "y").zadd("tx:zset", {"z": 2})
    p.execute()
    c.execute_command("SELECT", "2")
    c.hset("db2:hash", "in", "db2")
    c.zadd("db2:zset", {"m": 7})
    c.execute_command("SELECT", "0")


def snapshot(c):
    """Values and encodings worth comparing by name, beyond the digest."""
    return {
        "digest": c.execute_command("DEBUG", "DIGEST"),
        "counter": c.get("counter"),
        "hash": c.hgetall("hash"),
        "hash:big:len": c.hlen("hash:big"),
        "hash:big:f999": c.hget("hash:big", "field:999"),
        "list": c.lrange("list", 0, -1),
        "list:big": c.lrange("list:big", 0, -1),
        "list:moved": c.lrange("list:moved", 0, -1),
        "set:int": c.smembers("set:int"),
        "set:int:enc": c.object("encoding", "set:int"),
        "set:big": c.smembers("set:big"),
        "set:union": c.smembers("set:union"),
        "zset": c.zrange("zset", 0, -1, withscores=True),
        "zset:big": c.zrange("zset:big", 0, -1, withscores=True),
        "zset:big:enc": c.object("encoding", "zset:big"),
        "zset:union": c.zrange("zset:union", 0, -1, withscores=True),
        "types": [c.type(k) for k in ("str", "hash", "list", "set:int", "zset", "tx:zset")],
    }


def check_restored(before, c):
    after = snapshot(c)
    for name in before:
        assert after[name] == before[name], name
    # A few absolute checks, so that two equally wrong snapshots cannot pass.
    assert after["hash"] == {b"a": b"11", b"c": b"3", b"f": b"1.5"}
    assert after["list"] == [b"B", b"b2", b"c", b"d"]
    assert after["set:int"] == {b"1", b"3", b"-7", str(2**40).encode()}
    assert after["set:int:enc"] == b"intset"
    assert after["zset"] == [(b"d", float("-inf")), (b"e", 0.1 + 0.2), (b"a", 1.5), (b"c", float("inf"))]
    assert after["zset:big:enc"] == b"skiplist"
    assert len(after["zset:big"]) == 495
    assert 990 <= c.ttl("str:ttl") <= 1000
    assert 1990 <= c.ttl("hash:ttl") <= 2000
    assert 2_990_000 <= c.pttl("list:ttl") <= 3_000_000
    assert 3990 <= c.ttl("set:ttl") <= 4000
    assert 4990 <= c.ttl("zset:ttl") <= 5000
    assert c.ttl("zset") == -1
    raw = Raw(c.connection_pool.connection_kwargs["port"])
    assert raw.cmd("ZSCORE", "zset", "e") == b"0.30000000000000004"  # the exact double
    assert raw.cmd("ZSCORE", "zset", "c") == b"inf"
    raw.close()
    c.execute_command("SELECT", "2")
    assert c.hget("db2:hash", "in") == b"db2"
    assert c.zscore("db2:zset", "m") == 7
    c.execute_command("SELECT", "0")


def restart(server_factory, s, **settings):
    s.keep = True
    s.stop()
    return server_factory(dir=s.dir, **settings)


def wait_rewrite_done(c, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = c.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return info
        time.sleep(0.05)
    raise AssertionError("the AOF rewrite did not finish")


def test_aof_restart_restores_every_type(server_factory):
    s = server_factory(aof="everysec")
    c = s.client()
    populate(c)
    before = snapshot(c)
    s2 = restart(server_factory, s, aof="everysec")
    check_restored(before, s2.client())


def test_aof_rewrite_then_restart_restores_every_type(server_factory):
    """The rewritten file (plus what was written after the rewrite) replays to the same
    data."""
    s = server_factory(aof="everysec")
    c = s.client()
    populate(c)
    assert c.execute_command("BGREWRITEAOF") is True  # redis-py maps the status reply
    info = wait_rewrite_done(c)
    assert info["aof_last_bgrewrite_status"] == "ok"
    c.rpush("after:rewrite", "x")
    c.hset("hash", "late", "1")
    c.hdel("hash", "late")
    before = snapshot(c)
    s2 = restart(server_factory, s, aof="everysec")
    c2 = s2.client()
    check_restored(before, c2)
    assert c2.lrange("after:rewrite", 0, -1) == [b"x"]


def test_aof_rewrite_twice_and_restart_twice(server_factory):
    """A restart from a rewritten file, then another rewrite and restart, is stable."""
    s = server_factory(aof="everysec")
    c = s.client()
    populate(c)
    c.execute_command("BGREWRITEAOF")
    wait_rewrite_done(c)
    before = snapshot(c)
    s2 = restart(server_factory, s, aof="everysec")
    c2 = s2.client()
    check_restored(before, c2)
    c2.execute_command("BGREWRITEAOF")
    wait_rewrite_done(c2)
    s3 = restart(server_factory, s2, aof="everysec")
    check_restored(before, s3.client())


def wait_lastsave_after(c, t0, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if c.lastsave().timestamp() > t0:
            return True
        time.sleep(0.05)
    return False


def test_checkpoint_restores_every_type(server_factory):
    """BGSAVE then restart without an AOF: the checkpoint holds every type; a write made
    after the save is lost (mirrors test_checkpoint.py)."""
    s = server_factory()
    c = s.client()
    populate(c)
    before = snapshot(c)
    t0 = c.lastsave().timestamp()
    wait_past_lastsave(t0)
    assert c.bgsave()
    assert wait_lastsave_after(c, t0)
    assert c.info("persistence")["rdb_last_bgsave_status"] == "ok"
    c.hset("after:save", "a", "1")
    s2 = restart(server_factory, s)
    c2 = s2.client()
    check_restored(before, c2)
    assert c2.exists("after:save") == 0


def test_save_restores_every_type(server_factory):
    s = server_factory()
    c = s.client()
    populate(c)
    before = snapshot(c)
    assert c.save()
    s2 = restart(server_factory, s)
    check_restored(before, s2.client())


@pytest.mark.parametrize("aof", [None, "everysec"])
def test_empty_collections_never_persist(server_factory, aof):
    """Collections emptied by pops and removals are gone after a restart too."""
    s = server_factory(aof=aof)
    c = s.client()
    c.rpush("l", "a")
    c.lpop("l")
    c.sadd("s", "a")
    c.srem("s", "a")
    c.hset("h", "a", "1")
    c.hdel("h", "a")
    c.zadd("z", {"a": 1})
    c.zpopmax("z")
    c.set("keep", "1")
    if aof is None:
        assert c.save()
    s2 = restart(server_factory, s, aof=aof)
    c2 = s2.client()
    assert c2.keys("*") == [b"keep"]


def test_debug_reload_round_trips_every_type(server_factory):
    """DEBUG RELOAD saves, empties and loads back: the digest is unchanged (both servers)."""
    s = server_factory()
    c = s.client()
    c.set("s", "v")
    c.set("n", 12345)
    c.rpush("l", *range(500))
    c.sadd("i", 1, 2, 3)
    c.sadd("set", *[f"m{i}" for i in range(300)])
    c.zadd("z", {f"z{i}": i / 3 for i in range(200)})
    c.hset("h", mapping={f"f{i}": i for i in range(10)})
    c.set("ttl", "x", ex=1000)
    digest = c.execute_command("DEBUG", "DIGEST")
    assert c.execute_command("DEBUG", "RELOAD") in (True, b"OK", "OK")
    assert c.execute_command("DEBUG", "DIGEST") == digest
    assert 990 <= c.ttl("ttl") <= 1000
    assert c.object("encoding", "i") == b"intset"
