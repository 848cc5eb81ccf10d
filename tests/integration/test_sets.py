"""Set commands, with Redis's exact replies, error texts and encodings."""
import contextlib

import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def err(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


def wire(conn, *args):
    """Sends one command on a raw connection and returns the first line of its reply."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    conn.send(out)
    return conn.line()


@contextlib.contextmanager
def config(c, name, value):
    """CONFIG SET for the duration of a block (the server is shared by the session)."""
    old = c.config_get(name)[name]
    c.config_set(name, value)
    try:
        yield
    finally:
        c.config_set(name, old)


def has_set_listpack(c):
    """Redis 7.2 (and Ferrite) keep small non-integer sets as "listpack", bounded by
    set-max-listpack-entries/-value; Redis 7.0 has neither and uses "hashtable"."""
    return bool(c.config_get("set-max-listpack-entries"))


def test_sadd_srem_count_changes(r):
    assert r.sadd("s", "a", "b", "a") == 2
    assert r.sadd("s", "b", "c") == 1
    assert r.type("s") == "set"
    assert r.srem("s", "a", "zz", "a") == 1
    assert r.srem("nokey", "a") == 0
    assert r.srem("s", "b", "c") == 2
    assert r.exists("s") == 0  # the empty set is deleted
    assert err(lambda: r.execute_command("SADD", "s")) == "wrong number of arguments for 'sadd' command"


def test_smembers_sismember_smismember_scard(r):
    r.sadd("s", "a", "b", "c")
    assert r.smembers("s") == {"a", "b", "c"}
    assert r.smembers("nokey") == set()
    assert r.sismember("s", "a") is True
    assert r.sismember("s", "zz") is False
    assert r.sismember("nokey", "a") is False
    assert r.smismember("s", ["a", "zz", "c"]) == [True, False, True]
    assert r.smismember("nokey", ["a", "b"]) == [False, False]
    assert r.scard("s") == 3
    assert r.scard("nokey") == 0


def test_smismember_raw_reply_is_integers(r, raw):
    r.sadd("s", "a")
    assert raw().cmd("SMISMEMBER", "s", "a", "b") == [1, 0]


def test_spop(r):
    r.sadd("s", "a", "b", "c", "d", "e")
    one = r.spop("s")
    assert one in set("abcde")
    two = r.spop("s", 2)
    assert len(two) == 2 and len(set(two) | {one}) == 3
    rest = r.spop("s", 10)  # more than there is: all, and the key goes away
    assert sorted(rest + two + [one]) == list("abcde")
    assert r.exists("s") == 0
    assert r.spop("s") is None
    assert r.spop("s", 3) == []


def test_spop_count_zero_and_errors(r):
    r.sadd("s", "a")
    assert r.spop("s", 0) == []
    assert r.scard("s") == 1
    assert err(lambda: r.execute_command("SPOP", "s", "-1")) == "value is out of range, must be positive"
    assert err(lambda: r.execute_command("SPOP", "s", "1", "2")) == "syntax error"


def test_spop_from_a_large_set(r):
    members = {str(i) for i in range(1000)} | {f"m{i}" for i in range(1000)}
    r.sadd("s", *members)
    popped = r.spop("s", 1500)
    assert len(popped) == 1500 and len(set(popped)) == 1500
    assert set(popped) | r.smembers("s") == members
    assert r.scard("s") == 500


def test_srandmember(r):
    r.sadd("s", "a", "b", "c")
    assert r.srandmember("s") in {"a", "b", "c"}
    assert r.srandmember("nokey") is None
    got = r.srandmember("s", 2)
    assert len(got) == 2 and len(set(got)) == 2 and set(got) <= {"a", "b", "c"}
    assert sorted(r.srandmember("s", 10)) == ["a", "b", "c"]  # positive: distinct, capped
    got = r.srandmember("s", -10)  # negative: exactly |count|, may repeat
    assert len(got) == 10 and set(got) <= {"a", "b", "c"}
    assert r.srandmember("s", 0) == []
    assert r.srandmember("nokey", 5) == []
    assert r.scard("s") == 3  # nothing removed
    assert err(lambda: r.execute_command("SRANDMEMBER", "s", "x")) == "value is not an integer or out of range"


def test_smove(r):
    r.sadd("src", "a", "b")
    r.sadd("dst", "c")
    assert r.smove("src", "dst", "a") is True
    assert r.smove("src", "dst", "zz") is False
    assert r.smembers("dst") == {"a", "c"}
    assert r.smove("src", "dst", "b") is True
    assert r.exists("src") == 0
    assert r.smove("nokey", "dst", "a") is False
    assert r.smove("dst", "dst", "a") is True  # same set: member present
    assert r.smembers("dst") == {"a", "b", "c"}


def test_smove_wrongtype(r):
    r.sadd("s", "a")
    r.set("str", "x")
    assert err(lambda: r.smove("s", "str", "a")) == WRONGTYPE
    assert err(lambda: r.smove("str", "s", "a")) == WRONGTYPE
    assert r.smembers("s") == {"a"}


def test_sinter_sunion_sdiff(r):
    r.sadd("a", "1", "2", "3", "x")
    r.sadd("b", "2", "3", "4", "x")
    r.sadd("c", "3", "x", "y")
    assert r.sinter("a", "b", "c") == {"3", "x"}
    assert r.sinter("a", "nokey") == set()
    assert r.sunion("a", "b", "c") == {"1", "2", "3", "4", "x", "y"}
    assert r.sunion("nokey") == set()
    assert r.sdiff("a", "b") == {"1"}
    assert r.sdiff("a", "b", "c") == {"1"}
    assert r.sdiff("b", "a") == {"4"}
    assert r.sdiff("nokey", "a") == set()
    assert r.sdiff("a", "nokey") == {"1", "2", "3", "x"}


def test_set_algebra_wrongtype(r):
    r.sadd("a", "1")
    r.set("str", "x")
    assert err(lambda: r.sinter("a", "str")) == WRONGTYPE
    assert err(lambda: r.sinter("nokey", "str")) == WRONGTYPE  # checked even after an empty key
    assert err(lambda: r.sunion("a", "str")) == WRONGTYPE
    assert err(lambda: r.sdiff("a", "str")) == WRONGTYPE


def test_sintercard(r):
    r.sadd("a", *"abcdef")
    r.sadd("b", *"bcdefg")
    assert r.sintercard(2, ["a", "b"]) == 5
    assert r.sintercard(2, ["a", "b"], limit=3) == 3
    assert r.sintercard(2, ["a", "b"], limit=0) == 5  # 0 means no limit
    assert r.sintercard(1, ["a"]) == 6
    assert r.sintercard(2, ["a", "nokey"]) == 0


def test_sintercard_errors(r):
    r.sadd("a", "x")
    assert err(lambda: r.execute_command("SINTERCARD", "0", "a")) == "numkeys should be greater than 0"
    assert err(lambda: r.execute_command("SINTERCARD", "2", "a")) == \
        "Number of keys can't be greater than number of args"
    assert err(lambda: r.execute_command("SINTERCARD", "1", "a", "LIMIT", "-1")) == "LIMIT can't be negative"
    assert err(lambda: r.execute_command("SINTERCARD", "1", "a", "FOO")) == "syntax error"


def test_store_variants(r):
    r.sadd("a", "1", "2", "3")
    r.sadd("b", "2", "3", "4")
    assert r.sinterstore("d", "a", "b") == 2
    assert r.smembers("d") == {"2", "3"}
    assert r.sunionstore("d", "a", "b") == 4
    assert r.smembers("d") == {"1", "2", "3", "4"}
    assert r.sdiffstore("d", "a", "b") == 1
    assert r.smembers("d") == {"1"}
    assert r.sunionstore("a", "a", "b") == 4  # destination may be a source
    assert r.smembers("a") == {"1", "2", "3", "4"}


def test_store_of_an_empty_result_deletes_the_destination(r):
    r.sadd("a", "1")
    r.sadd("b", "2")
    for store in (lambda: r.sinterstore("d", "a", "b"),
                  lambda: r.sdiffstore("d", "a", "a"),
                  lambda: r.sunionstore("d", "nokey1", "nokey2")):
        r.set("d", "old string value")
        assert store() == 0
        assert r.exists("d") == 0


def test_store_overwrites_any_type_destination(r):
    r.sadd("a", "1")
    r.set("d", "x", ex=100)
    assert r.sunionstore("d", "a") == 1
    assert r.type("d") == "set"
    assert r.ttl("d") == -1


def test_sscan(r):
    r.sadd("small", "a", "b")
    cursor, members = r.sscan("small", 0)
    assert cursor == 0 and sorted(members) == ["a", "b"]
    assert r.sscan("nokey", 0) == (0, [])
    big = {f"m:{i}" for i in range(1000)}
    r.sadd("big", *big)
    assert set(r.sscan_iter("big", count=20)) == big
    assert set(r.sscan_iter("big", match="m:99*")) == {"m:99"} | {f"m:99{i}" for i in range(10)}


def test_sscan_intset(r):
    r.sadd("ints", *range(600))
    assert set(r.sscan_iter("ints", count=50)) == {str(i) for i in range(600)}


def test_wrongtype(r):
    r.set("str", "x")
    assert err(lambda: r.sadd("str", "a")) == WRONGTYPE
    assert err(lambda: r.smembers("str")) == WRONGTYPE
    assert err(lambda: r.scard("str")) == WRONGTYPE
    assert err(lambda: r.sismember("str", "a")) == WRONGTYPE
    r.sadd("s", "a")
    assert err(lambda: r.get("s")) == WRONGTYPE


def test_encoding_intset_for_small_integer_sets(r):
    r.sadd("i", "1", "-5", str(2**63 - 1), str(-2**63))
    assert r.object("encoding", "i") == "intset"
    r.sadd("n", "007")  # not canonical: a string
    assert r.object("encoding", "n") != "intset"
    r.sadd("big", str(2**63))  # out of int64 range
    assert r.object("encoding", "big") != "intset"


def test_encoding_intset_to_hashtable_past_512_integers(r):
    r.sadd("i", *range(512))
    assert r.object("encoding", "i") == "intset"
    r.sadd("i", "512")
    assert r.object("encoding", "i") == "hashtable"
    assert r.scard("i") == 513 and r.sismember("i", "512")


def test_encoding_set_max_intset_entries_is_configurable(r):
    with config(r, "set-max-intset-entries", 4):
        r.sadd("i", 1, 2, 3, 4)
        assert r.object("encoding", "i") == "intset"
        r.sadd("i", 5)
        assert r.object("encoding", "i") == "hashtable"


def test_encoding_small_string_set(r):
    r.sadd("s", "a", "b", "c")
    assert r.object("encoding", "s") == ("listpack" if has_set_listpack(r) else "hashtable")
    r.sadd("i", 1, 2, 3)
    r.sadd("i", "x")  # an intset takes a string member
    assert r.object("encoding", "i") == ("listpack" if has_set_listpack(r) else "hashtable")
    assert r.smembers("i") == {"1", "2", "3", "x"}


def test_encoding_hashtable_past_128_strings_or_a_long_member(r):
    r.sadd("s", *[f"m{i}" for i in range(129)])
    assert r.object("encoding", "s") == "hashtable"
    r.sadd("long", "x" * 65)
    assert r.object("encoding", "long") == "hashtable"
    if has_set_listpack(r):
        r.sadd("edge", *[f"m{i}" for i in range(128)])
        assert r.object("encoding", "edge") == "listpack"
        r.sadd("edge64", "x" * 64)
        assert r.object("encoding", "edge64") == "listpack"


def test_resp3_set_replies(r, raw):
    """RESP3: SMEMBERS, SINTER, SUNION and SDIFF reply with the set type (~)."""
    c = raw()
    c.cmd("HELLO", "3")
    c.cmd("SADD", "s", "a")
    assert wire(c, "SMEMBERS", "s") == b"~1"
    assert c.reply() == b"a"
    assert wire(c, "SMEMBERS", "nokey") == b"~0"
    assert wire(c, "SINTER", "s", "nokey") == b"~0"
    assert wire(c, "SUNION", "s") == b"~1"
    assert c.reply() == b"a"
    assert wire(c, "SDIFF", "s", "nokey") == b"~1"
    assert c.reply() == b"a"
    assert wire(c, "SRANDMEMBER", "s", "2") == b"*1"  # a plain array: it may repeat
    assert c.reply() == b"a"
    assert wire(c, "SPOP", "s", "1") == b"~1"
    assert c.reply() == b"a"
