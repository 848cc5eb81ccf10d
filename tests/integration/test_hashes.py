"""Hash commands, with Redis's exact replies, error texts and encodings."""
import contextlib

import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def err(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


@contextlib.contextmanager
def config(c, name, value):
    """CONFIG SET for the duration of a block (the server is shared by the session)."""
    old = c.config_get(name)[name]
    c.config_set(name, value)
    try:
        yield
    finally:
        c.config_set(name, old)


def hscan_all(c, key, **kw):
    """Follows HSCAN to cursor 0 (bounded), returning every field -> value seen."""
    cursor, seen = 0, {}
    for _ in range(10000):
        cursor, page = c.hscan(key, cursor, **kw)
        seen.update(page)
        if cursor == 0:
            return seen
    raise AssertionError("HSCAN did not return to cursor 0")


def test_hset_returns_the_number_of_new_fields(r):
    assert r.execute_command("HSET", "h", "a", "1", "b", "2") == 2
    assert r.execute_command("HSET", "h", "a", "10", "c", "3") == 1  # a updated, c added
    assert r.hgetall("h") == {"a": "10", "b": "2", "c": "3"}
    assert r.type("h") == "hash"


def test_hset_and_hmset_arity(r):
    assert err(lambda: r.execute_command("HSET", "h", "a")) == "wrong number of arguments for 'hset' command"
    assert err(lambda: r.execute_command("HSET", "h", "a", "1", "b")) == \
        "wrong number of arguments for 'hset' command"
    assert err(lambda: r.execute_command("HMSET", "h", "a")) == "wrong number of arguments for 'hmset' command"
    assert r.exists("h") == 0


def test_hmset_replies_ok(r, raw):
    assert raw().cmd("HMSET", "h", "a", "1", "b", "2") == "OK"
    assert r.hmget("h", "a", "b") == ["1", "2"]


def test_hsetnx(r):
    assert r.hsetnx("h", "a", "1") == 1
    assert r.hsetnx("h", "a", "2") == 0
    assert r.hget("h", "a") == "1"


def test_hget_hmget_missing(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    assert r.hget("h", "zz") is None
    assert r.hget("nokey", "a") is None
    assert r.hmget("h", "a", "zz", "b") == ["1", None, "2"]
    assert r.hmget("nokey", "a", "b") == [None, None]


def test_hdel_removes_fields_and_the_empty_key(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hdel("h", "a", "zz", "a") == 1
    assert r.hlen("h") == 2
    assert r.hdel("h", "b", "c") == 2
    assert r.exists("h") == 0
    assert r.hdel("nokey", "a") == 0


def test_hexists_hlen_hstrlen(r):
    r.hset("h", mapping={"a": "hello", "n": 12345})
    assert r.hexists("h", "a") is True
    assert r.hexists("h", "zz") is False
    assert r.hexists("nokey", "a") is False
    assert r.hlen("h") == 2
    assert r.hlen("nokey") == 0
    assert r.hstrlen("h", "a") == 5
    assert r.hstrlen("h", "n") == 5  # an integer-encoded value has its decimal length
    assert r.hstrlen("h", "zz") == 0
    assert r.hstrlen("nokey", "a") == 0


def test_hkeys_hvals_hgetall_keep_pairs_together(r):
    fields = {f"f{i}": f"v{i}" for i in range(20)}
    r.hset("h", mapping=fields)
    keys, vals = r.hkeys("h"), r.hvals("h")
    assert sorted(keys) == sorted(fields)
    assert dict(zip(keys, vals)) == fields  # same order in HKEYS and HVALS
    assert r.hgetall("h") == fields
    assert r.hkeys("nokey") == [] and r.hvals("nokey") == [] and r.hgetall("nokey") == {}


def test_hgetall_raw_is_a_flat_field_value_array(r, raw):
    c = raw()
    assert c.cmd("HSET", "h", "a", "1") == 1
    assert c.cmd("HGETALL", "h") == [b"a", b"1"]
    assert c.cmd("HGETALL", "nokey") == []


def test_hincrby(r):
    assert r.hincrby("h", "n", 5) == 5  # missing field counts from 0
    assert r.hincrby("h", "n", -7) == -2
    assert r.hget("h", "n") == "-2"
    r.hset("h", "s", "abc")
    assert err(lambda: r.hincrby("h", "s", 1)) == "hash value is not an integer"
    r.hset("h", "f", "1.5")
    assert err(lambda: r.hincrby("h", "f", 1)) == "hash value is not an integer"
    assert err(lambda: r.execute_command("HINCRBY", "h", "n", "x")) == "value is not an integer or out of range"
    assert err(lambda: r.execute_command("HINCRBY", "h", "n", "1.5")) == "value is not an integer or out of range"


def test_hincrby_overflow(r):
    r.hset("h", "max", str(2**63 - 1))
    assert err(lambda: r.hincrby("h", "max", 1)) == "increment or decrement would overflow"
    r.hset("h", "min", str(-2**63))
    assert err(lambda: r.hincrby("h", "min", -1)) == "increment or decrement would overflow"
    assert r.hget("h", "max") == str(2**63 - 1)


def test_hincrbyfloat(r, raw):
    """The reply is a bulk string in the shortest exact form (checked on the raw socket)."""
    c = raw()
    r.hset("h", "f", "10.5")
    assert c.cmd("HINCRBYFLOAT", "h", "f", "0.1") == b"10.6"
    assert r.hget("h", "f") == "10.6"
    assert c.cmd("HINCRBYFLOAT", "h", "new", "3") == b"3"
    assert c.cmd("HINCRBYFLOAT", "h", "new", "-1.5") == b"1.5"
    assert c.cmd("HINCRBYFLOAT", "h", "e", "5.0e3") == b"5000"
    assert r.hget("h", "e") == "5000"
    r.hset("h", "s", "abc")
    assert err(lambda: r.execute_command("HINCRBYFLOAT", "h", "s", "1")) == "hash value is not a float"
    assert err(lambda: r.execute_command("HINCRBYFLOAT", "h", "f", "abc")) == "value is not a valid float"
    assert err(lambda: r.execute_command("HINCRBYFLOAT", "h", "f", "inf")) == "value is NaN or Infinity"


def test_hrandfield_without_count(r):
    assert r.hrandfield("nokey") is None
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    for _ in range(20):
        assert r.hrandfield("h") in ("a", "b", "c")


def test_hrandfield_positive_count_is_distinct(r):
    fields = {f"f{i}": str(i) for i in range(10)}
    r.hset("h", mapping=fields)
    got = r.hrandfield("h", 5)
    assert len(got) == 5 and len(set(got)) == 5 and set(got) <= set(fields)
    assert sorted(r.hrandfield("h", 100)) == sorted(fields)  # capped at the hash size
    assert r.hrandfield("h", 0) == []
    assert r.hrandfield("nokey", 3) == []


def test_hrandfield_negative_count_may_repeat(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    got = r.hrandfield("h", -50)
    assert len(got) == 50
    assert set(got) <= {"a", "b"}


def test_hrandfield_withvalues(r):
    fields = {"a": "1", "b": "2", "c": "3"}
    r.hset("h", mapping=fields)
    flat = r.execute_command("HRANDFIELD", "h", "2", "WITHVALUES")
    assert len(flat) == 4
    pairs = dict(zip(flat[::2], flat[1::2]))
    assert len(pairs) == 2 and all(fields[f] == v for f, v in pairs.items())
    flat = r.execute_command("HRANDFIELD", "h", "-6", "WITHVALUES")
    assert len(flat) == 12
    assert all(fields[f] == v for f, v in zip(flat[::2], flat[1::2]))


def test_hscan_small_hash_in_one_call(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    cursor, page = r.hscan("h", 0)
    assert cursor == 0 and page == {"a": "1", "b": "2"}
    assert r.hscan("nokey", 0) == (0, {})


def test_hscan_iterates_a_large_hash_to_cursor_zero(r):
    fields = {f"field:{i}": str(i) for i in range(1000)}
    r.hset("h", mapping=fields)
    assert hscan_all(r, "h", count=10) == fields


def test_hscan_match(r):
    r.hset("h", mapping={f"foo:{i}": str(i) for i in range(300)})
    r.hset("h", mapping={f"bar:{i}": str(i) for i in range(300)})
    seen = hscan_all(r, "h", match="bar:1*", count=50)
    assert set(seen) == {f"bar:{i}" for i in range(300) if str(i).startswith("1")}


def test_wrongtype(r):
    r.set("s", "x")
    assert err(lambda: r.hget("s", "a")) == WRONGTYPE
    assert err(lambda: r.hset("s", "a", "1")) == WRONGTYPE
    assert err(lambda: r.hgetall("s")) == WRONGTYPE
    assert err(lambda: r.hlen("s")) == WRONGTYPE
    r.hset("h", "a", "1")
    assert err(lambda: r.get("h")) == WRONGTYPE
    assert err(lambda: r.lpush("h", "x")) == WRONGTYPE


def test_encoding_listpack_then_hashtable_by_count(r):
    """Past hash-max-listpack-entries fields. Set explicitly: redis-server without a config
    file defaults to 512, its shipped redis.conf (and Ferrite) to 128."""
    with config(r, "hash-max-listpack-entries", 128):
        r.hset("h", mapping={f"f{i}": "v" for i in range(128)})
        assert r.object("encoding", "h") == "listpack"
        r.hset("h", "f128", "v")
        assert r.object("encoding", "h") == "hashtable"
        r.hdel("h", *[f"f{i}" for i in range(100)])
        assert r.object("encoding", "h") == "hashtable"  # never converts back


def test_encoding_hashtable_for_a_long_value_or_field(r):
    r.hset("v", "a", "x" * 64)
    assert r.object("encoding", "v") == "listpack"
    r.hset("v", "b", "x" * 65)
    assert r.object("encoding", "v") == "hashtable"
    r.hset("f", "k" * 65, "1")
    assert r.object("encoding", "f") == "hashtable"


def test_config_set_hash_max_listpack_entries(r):
    with config(r, "hash-max-listpack-entries", 4):
        assert r.config_get("hash-max-ziplist-entries") == {"hash-max-ziplist-entries": "4"}
        r.hset("h", mapping={f"f{i}": "v" for i in range(4)})
        assert r.object("encoding", "h") == "listpack"
        r.hset("h", "f4", "v")
        assert r.object("encoding", "h") == "hashtable"
        r.hset("small", "a", "1")
        assert r.object("encoding", "small") == "listpack"


def test_resp3_replies(r, raw):
    """RESP3: HGETALL is a map, HRANDFIELD WITHVALUES a list of [field, value] pairs."""
    c = raw()
    c.cmd("HELLO", "3")
    c.cmd("HSET", "h", "a", "1")
    assert c.cmd("HGETALL", "h") == {"a": b"1"}
    assert c.cmd("HGETALL", "nokey") == {}
    assert c.cmd("HRANDFIELD", "h", "-2", "WITHVALUES") == [[b"a", b"1"], [b"a", b"1"]]
    assert c.cmd("HGET", "h", "nope") == "NULL3"
