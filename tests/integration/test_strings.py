"""String commands, with Redis's exact replies and error texts."""
import time

import pytest
import redis


def err(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


def test_set_options(r):
    assert r.set("k", "v")
    assert r.set("k", "w", nx=True) is None
    assert r.set("k", "w", xx=True, get=True) == "v"
    assert r.set("n", "w", xx=True) is None
    assert r.set("k", "x", ex=100)
    assert 99 <= r.ttl("k") <= 100
    assert r.set("k", "y", keepttl=True)
    assert 99 <= r.ttl("k") <= 100
    assert r.set("k", "z")
    assert r.ttl("k") == -1
    assert r.set("k", "p", px=100000)
    assert 99000 <= r.pttl("k") <= 100000
    at = int(time.time()) + 1000
    assert r.set("k", "q", exat=at)
    assert r.execute_command("EXPIRETIME", "k") == at
    assert r.set("k", "q", pxat=at * 1000)
    assert r.execute_command("PEXPIRETIME", "k") == at * 1000
    assert err(lambda: r.execute_command("SET", "k", "v", "EX", "0")) == "invalid expire time in 'set' command"
    assert err(lambda: r.execute_command("SET", "k", "v", "EX", "x")) == "value is not an integer or out of range"
    assert err(lambda: r.execute_command("SET", "k", "v", "NX", "XX")) == "syntax error"
    assert err(lambda: r.execute_command("SET", "k", "v", "EX", "10", "PX", "10")) == "syntax error"
    assert err(lambda: r.execute_command("SET", "k", "v", "KEEPTTL", "EX", "10")) == "syntax error"


def test_setnx_setex_psetex_getset_getdel(r):
    assert r.setnx("a", "1") is True
    assert r.setnx("a", "2") is False
    assert r.setex("b", 100, "v")
    assert 99 <= r.ttl("b") <= 100
    assert r.psetex("c", 100000, "v")
    assert err(lambda: r.setex("b", 0, "v")) == "invalid expire time in 'setex' command"
    assert r.getset("a", "3") == "1"
    assert r.getset("new", "x") is None
    assert r.getdel("a") == "3"
    assert r.exists("a") == 0
    assert r.getdel("a") is None


def test_getex(r):
    r.set("k", "v")
    assert r.getex("k", ex=100) == "v"
    assert 99 <= r.ttl("k") <= 100
    assert r.getex("k", persist=True) == "v"
    assert r.ttl("k") == -1
    assert r.getex("k", px=50000) == "v"
    assert 49000 <= r.pttl("k") <= 50000
    assert r.getex("missing") is None
    assert err(lambda: r.execute_command("GETEX", "k", "EX", "1", "PERSIST")) == "syntax error"


def test_mget_mset_msetnx(r):
    assert r.mset({"a": "1", "b": "2"})
    r.rpush("list", "x")
    assert r.mget("a", "b", "nope", "list") == ["1", "2", None, None]
    assert r.msetnx({"c": "3", "a": "9"}) is False
    assert r.get("c") is None
    assert r.msetnx({"c": "3", "d": "4"}) is True
    assert err(lambda: r.execute_command("MSET", "a", "1", "b")) == "wrong number of arguments for 'mset' command"


def test_counters(r):
    assert r.incr("c") == 1
    assert r.incrby("c", 10) == 11
    assert r.decr("c") == 10
    assert r.decrby("c", 20) == -10
    r.set("max", str(2**63 - 1))
    assert err(lambda: r.incr("max")) == "increment or decrement would overflow"
    r.set("s", "abc")
    assert err(lambda: r.incr("s")) == "value is not an integer or out of range"
    r.set("sp", " 1")
    assert err(lambda: r.incr("sp")) == "value is not an integer or out of range"
    assert err(lambda: r.incrby("c", "x")) == "value is not an integer or out of range"


def test_incrbyfloat(r):
    r.set("f", "10.5")
    assert r.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert r.get("f") == "10.6"
    r.set("g", "3")
    assert r.get("g") == "3"
    assert r.incrbyfloat("g", 1.1) == pytest.approx(4.1)
    assert r.get("g") == "4.1"
    r.incrbyfloat("h", 5.0e3)
    assert r.get("h") == "5000"
    assert err(lambda: r.execute_command("INCRBYFLOAT", "h", "abc")) == "value is not a valid float"
    r.set("s", "abc")
    assert err(lambda: r.execute_command("INCRBYFLOAT", "s", "1")) == "value is not a valid float"


def test_append_strlen_ranges(r):
    assert r.append("s", "Hello") == 5
    assert r.append("s", " World") == 11
    assert r.strlen("s") == 11
    assert r.strlen("missing") == 0
    assert r.getrange("s", 0, 4) == "Hello"
    assert r.getrange("s", -5, -1) == "World"
    assert r.getrange("s", 5, 3) == ""
    assert r.getrange("s", 0, 100) == "Hello World"
    assert r.getrange("missing", 0, 10) == ""
    assert r.setrange("s", 6, "Redis") == 11
    assert r.get("s") == "Hello Redis"
    assert r.setrange("z", 3, "x") == 4
    assert r.get("z") == "\x00\x00\x00x"
    assert r.setrange("empty", 5, "") == 0
    assert r.exists("empty") == 0
    assert err(lambda: r.setrange("s", -1, "x")) == "offset is out of range"
    assert err(lambda: r.setrange("s", 2**29, "x")) == "string exceeds maximum allowed size (proto-max-bulk-len)"


def test_wrongtype(r):
    r.rpush("list", "a")
    wt = "WRONGTYPE Operation against a key holding the wrong kind of value"
    for fn in (lambda: r.get("list"), lambda: r.incr("list"), lambda: r.append("list", "x"),
               lambda: r.strlen("list"), lambda: r.getrange("list", 0, 1),
               lambda: r.set("list", "v", get=True)):
        assert err(fn) == wt


def test_object_encoding_of_strings(r):
    r.set("i", "12345")
    r.set("e", "short")
    r.set("raw", "x" * 100)
    assert r.object("encoding", "i") == "int"
    assert r.object("encoding", "e") == "embstr"
    assert r.object("encoding", "raw") == "raw"
    r.append("e", "more")
    assert r.object("encoding", "e") == "raw"
