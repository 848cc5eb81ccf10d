"""Generic keyspace commands, expiry, SCAN."""
import time

import pytest
import redis


def err(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


def test_del_exists_touch_type(r):
    r.mset({"a": "1", "b": "2"})
    assert r.exists("a", "a", "b", "z") == 3
    assert r.touch("a", "z") == 1
    assert r.type("a") == "string"
    assert r.type("z") == "none"
    assert r.delete("a", "z") == 1
    assert r.unlink("b") == 1
    assert r.dbsize() == 0


def test_rename_copy_move(r):
    r.set("a", "1", ex=100)
    assert r.rename("a", "b")
    assert r.get("b") == "1"
    assert 99 <= r.ttl("b") <= 100  # TTL moves with the key
    assert err(lambda: r.rename("a", "c")) == "no such key"
    r.set("c", "3")
    assert r.renamenx("b", "c") is False
    assert r.renamenx("b", "d") is True
    assert r.copy("d", "e") is True
    assert r.copy("d", "e") is False
    assert r.copy("d", "e", replace=True) is True
    assert r.copy("d", "x", destination_db=1) is True
    assert err(lambda: r.execute_command("COPY", "d", "d")) == "source and destination objects are the same"
    assert r.move("d", 2) is True
    assert r.exists("d") == 0
    r.select(2)
    assert r.get("d") == "1"
    r.select(0)
    assert err(lambda: r.execute_command("MOVE", "c", "0")) == "source and destination objects are the same"
    assert err(lambda: r.execute_command("MOVE", "c", "99")) == "DB index is out of range"


def test_keys_and_patterns(r):
    r.mset({"hello": 1, "hallo": 1, "hxllo": 1, "hllo": 1, "heeello": 1, "foo": 1})
    assert sorted(r.keys("h?llo")) == ["hallo", "hello", "hxllo"]
    assert sorted(r.keys("h*llo")) == ["hallo", "heeello", "hello", "hllo", "hxllo"]
    assert sorted(r.keys("h[ae]llo")) == ["hallo", "hello"]
    assert sorted(r.keys("h[^e]llo")) == ["hallo", "hxllo"]
    assert len(r.keys("*")) == 6
    assert r.randomkey() in r.keys("*")
    r.flushdb()
    assert r.randomkey() is None


def test_select_swapdb(r):
    assert err(lambda: r.execute_command("SELECT", "99")) == "DB index is out of range"
    assert err(lambda: r.execute_command("SELECT", "x")) == "value is not an integer or out of range"
    r.set("in0", "a")
    assert r.swapdb(0, 1)
    assert r.get("in0") is None
    r.select(1)
    assert r.get("in0") == "a"
    r.select(0)
    assert err(lambda: r.execute_command("SWAPDB", "x", "1")) == "invalid first DB index"
    assert err(lambda: r.execute_command("SWAPDB", "0", "99")) == "DB index is out of range"


def test_flush_modes(r):
    r.set("a", 1)
    assert r.execute_command("FLUSHDB", "ASYNC")
    r.set("a", 1)
    assert r.execute_command("FLUSHALL", "SYNC")
    assert r.dbsize() == 0
    assert err(lambda: r.execute_command("FLUSHALL", "SOON")) == "syntax error"


def test_expire_family(r):
    r.set("k", "v")
    assert r.expire("k", 100) is True
    assert r.expire("k", 50, gt=True) is False
    assert r.expire("k", 200, gt=True) is True
    assert r.expire("k", 300, lt=True) is False
    assert r.expire("k", 10, lt=True) is True
    assert r.expire("k", 10, nx=True) is False
    r.persist("k")
    assert r.expire("k", 10, xx=True) is False
    assert r.expire("k", 10, nx=True) is True
    assert err(lambda: r.execute_command("EXPIRE", "k", "10", "NX", "XX")) == \
        "NX and XX, GT or LT options at the same time are not compatible"
    assert err(lambda: r.execute_command("EXPIRE", "k", "10", "GT", "LT")) == \
        "GT and LT options at the same time are not compatible"
    assert r.pexpire("k", 100000) is True
    assert 99000 <= r.pttl("k") <= 100000
    at = int(time.time()) + 500
    assert r.expireat("k", at) is True
    assert r.execute_command("EXPIRETIME", "k") == at
    assert r.pexpireat("k", at * 1000 + 5) is True
    assert r.execute_command("PEXPIRETIME", "k") == at * 1000 + 5
    assert r.ttl("missing") == -2
    assert r.execute_command("EXPIRETIME", "missing") == -2
    r.set("p", "v")
    assert r.ttl("p") == -1
    assert r.expire("missing", 10) is False
    assert r.expire("p", -1) is True  # a past time deletes the key
    assert r.exists("p") == 0


def test_keys_expire_lazily_and_actively(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("lazy", "v", px=100)
        time.sleep(0.2)
        assert r.dbsize() == 1          # still there: nobody touched it
        assert r.get("lazy") is None    # lazily expired on access
        assert r.dbsize() == 0
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    for i in range(100):
        r.set(f"active:{i}", "v", px=100)
    r.set("stay", "v")
    deadline = time.time() + 5
    while time.time() < deadline and r.dbsize() > 1:
        time.sleep(0.1)
    assert r.dbsize() == 1  # removed by the active cycle, never touched
    assert r.info("stats")["expired_keys"] >= 100


def test_object_introspection(r):
    r.set("k", "v")
    assert r.object("idletime", "k") in (0, 1)  # seconds since the SET just now
    assert err(lambda: r.object("freq", "k")).startswith("An LFU maxmemory policy is not selected")
    assert r.object("refcount", "k") == 1
    assert r.object("encoding", "missing") is None


def test_scan_full_iteration(r):
    keys = {f"key:{i}" for i in range(10000)}
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, "v")
    pipe.execute()
    seen = set(r.scan_iter(count=100))
    assert seen >= keys
    seen = set(r.scan_iter(match="key:1*", count=100))
    assert seen == {k for k in keys if k.startswith("key:1")}
    assert set(r.scan_iter(_type="string", count=1000)) >= keys
    assert err(lambda: r.execute_command("SCAN", "abc")) == "invalid cursor"


def test_scan_while_keys_are_added(r):
    stable = {f"stable:{i}" for i in range(5000)}
    pipe = r.pipeline(transaction=False)
    for k in stable:
        pipe.set(k, "v")
    pipe.execute()
    seen, cursor, added = set(), 0, 0
    while True:
        cursor, batch = r.scan(cursor, count=50)
        seen.update(batch)
        pipe = r.pipeline(transaction=False)
        for _ in range(100):
            pipe.set(f"new:{added}", "v")
            added += 1
        pipe.execute()
        if cursor == 0:
            break
    assert added > 1000
    assert stable <= seen
