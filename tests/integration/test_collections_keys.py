"""Keyspace commands over every collection type: TYPE, COPY, RENAME, MOVE, OBJECT ENCODING,
DEBUG DIGEST-VALUE (a copy digests the same as its source, whatever the encoding)."""
import redis


def populate(r, prefix=""):
    r.hset(prefix + "h", mapping={"a": "1", "b": "2"})
    r.rpush(prefix + "l", "x", "y", "z")
    r.sadd(prefix + "s", "m1", "m2")
    r.sadd(prefix + "i", 1, 2, 3)
    r.zadd(prefix + "z", {"p": 1.5, "q": 2})


def test_type_of_every_collection(r):
    populate(r)
    assert [r.type(k) for k in ("h", "l", "s", "i", "z")] == ["hash", "list", "set", "set", "zset"]
    assert r.scan(0, _type="zset", count=100)[1] == ["z"]


def test_copy_is_deep_and_digests_equal(r):
    populate(r)
    for k in ("h", "l", "s", "i", "z"):
        assert r.copy(k, k + "2") is True
        d = r.execute_command("DEBUG", "DIGEST-VALUE", k, k + "2")
        assert d[0] == d[1] and d[0] != "0" * 40
    r.hset("h2", "c", "3")
    r.rpush("l2", "w")
    r.srem("s2", "m1")
    r.zadd("z2", {"p": 9})
    assert r.hgetall("h") == {"a": "1", "b": "2"}
    assert r.lrange("l", 0, -1) == ["x", "y", "z"]
    assert r.smembers("s") == {"m1", "m2"}
    assert r.zscore("z", "p") == 1.5
    assert r.copy("h", "l") is False  # destination exists
    assert r.copy("h", "l", replace=True) is True
    assert r.type("l") == "hash"


def test_rename_and_move_keep_collections(r):
    populate(r)
    r.rename("z", "z-new")
    assert r.zrange("z-new", 0, -1, withscores=True) == [("p", 1.5), ("q", 2.0)]
    assert r.move("h", 3) is True
    r.select(3) if hasattr(r, "select") else None
    c3 = redis.Redis(port=r.connection_pool.connection_kwargs["port"], db=3, decode_responses=True)
    assert c3.hgetall("h") == {"a": "1", "b": "2"}


def test_digest_ignores_encoding(r):
    """The same contents digest the same whether packed or in the full structure."""
    r.config_set("set-max-intset-entries", 512)
    r.sadd("packed", *range(100))
    has_listpack = bool(r.config_get("set-max-listpack-entries"))  # Redis 7.2+ only
    r.config_set("set-max-intset-entries", 0)
    if has_listpack:
        r.config_set("set-max-listpack-entries", 0)
    r.sadd("full", *range(100))
    r.config_set("set-max-intset-entries", 512)
    if has_listpack:
        r.config_set("set-max-listpack-entries", 128)
    assert r.object("encoding", "packed") == "intset"
    assert r.object("encoding", "full") == "hashtable"
    d = r.execute_command("DEBUG", "DIGEST-VALUE", "packed", "full")
    assert d[0] == d[1]


def test_empty_collections_are_deleted(r):
    r.rpush("l", "a")
    r.lpop("l")
    r.sadd("s", "a")
    r.srem("s", "a")
    r.hset("h", "f", "v")
    r.hdel("h", "f")
    r.zadd("z", {"a": 1})
    r.zrem("z", "a")
    assert r.exists("l", "s", "h", "z") == 0
    assert r.dbsize() == 0


def test_wrongtype_across_families(r):
    r.set("str", "v")
    for call in (lambda: r.hget("str", "f"), lambda: r.lpush("str", "x"),
                 lambda: r.sadd("str", "x"), lambda: r.zadd("str", {"a": 1})):
        try:
            call()
            raise AssertionError("no error")
        except redis.ResponseError as e:
            assert str(e) == "WRONGTYPE Operation against a key holding the wrong kind of value"
    r.rpush("list", "a")
    try:
        r.get("list")
        raise AssertionError("no error")
    except redis.ResponseError as e:
        assert str(e).startswith("WRONGTYPE")
