"""Sorted-set commands, with Redis's exact replies, score texts, error texts and encodings.
Score texts are checked on a raw socket: redis-py turns scores into floats."""
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
    old = c.config_get(name)[name]
    c.config_set(name, value)
    try:
        yield
    finally:
        c.config_set(name, old)


@pytest.fixture
def z(r):
    """A small sorted set: a=1 b=2 c=3 d=4 e=5."""
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    return r


@pytest.fixture
def lex(r):
    """Members with one score, for the BYLEX family."""
    r.zadd("lex", {m: 0 for m in ["a", "b", "c", "d", "e", "f", "g"]})
    return r


# --- ZADD and its options ---------------------------------------------------------------

def test_zadd_counts_new_members(r):
    assert r.zadd("z", {"a": 1, "b": 2}) == 2
    assert r.zadd("z", {"a": 10, "c": 3}) == 1  # a updated, not counted
    assert r.zscore("z", "a") == 10.0
    assert r.type("z") == "zset"
    assert r.execute_command("ZADD", "z", "5", "x", "6", "x") == 1  # the last score wins
    assert r.zscore("z", "x") == 6.0


def test_zadd_nx_xx(r):
    r.zadd("z", {"a": 1})
    assert r.zadd("z", {"a": 5, "b": 2}, nx=True) == 1
    assert r.zscore("z", "a") == 1.0
    assert r.zadd("z", {"a": 5, "c": 3}, xx=True) == 0
    assert r.zscore("z", "a") == 5.0
    assert r.zscore("z", "c") is None
    assert r.zadd("nokey", {"a": 1}, xx=True) == 0
    assert r.exists("nokey") == 0


def test_zadd_ch_counts_changed(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert r.zadd("z", {"a": 1, "b": 20, "c": 3}, ch=True) == 2  # b changed, c added
    assert r.zadd("z", {"a": 1}, ch=True) == 0


def test_zadd_gt_lt(r):
    r.zadd("z", {"a": 5, "b": 5})
    assert r.zadd("z", {"a": 3, "b": 7}, gt=True, ch=True) == 1
    assert r.zscore("z", "a") == 5.0 and r.zscore("z", "b") == 7.0
    assert r.zadd("z", {"a": 3, "b": 9}, lt=True, ch=True) == 1
    assert r.zscore("z", "a") == 3.0 and r.zscore("z", "b") == 7.0
    assert r.zadd("z", {"new": 1}, gt=True) == 1  # GT/LT still add new members
    assert r.execute_command("ZADD", "z", "XX", "GT", "CH", "100", "a", "1", "nope") == 1
    assert r.zscore("z", "nope") is None


def test_zadd_incr(r, raw):
    c = raw()
    assert wire(c, "ZADD", "z", "INCR", "1.5", "a") == b"$3"
    assert c.line() == b"1.5"
    assert r.zadd("z", {"a": 2}, incr=True) == 3.5
    assert r.zadd("z", {"a": 1}, incr=True, nx=True) is None  # exists: nothing done, nil
    assert r.zadd("z", {"b": 1}, incr=True, xx=True) is None
    assert r.zadd("z", {"a": -1}, incr=True, gt=True) is None  # would lower it
    assert r.zscore("z", "a") == 3.5
    assert r.zadd("z", {"a": 1}, incr=True, gt=True) == 4.5


def test_zadd_option_errors(r):
    assert err(lambda: r.execute_command("ZADD", "z", "XX", "NX", "1", "a")) == \
        "XX and NX options at the same time are not compatible"
    assert err(lambda: r.execute_command("ZADD", "z", "GT", "LT", "1", "a")) == \
        "GT, LT, and/or NX options at the same time are not compatible"
    assert err(lambda: r.execute_command("ZADD", "z", "GT", "NX", "1", "a")) == \
        "GT, LT, and/or NX options at the same time are not compatible"
    assert err(lambda: r.execute_command("ZADD", "z", "INCR", "1", "a", "2", "b")) == \
        "INCR option supports a single increment-element pair"
    assert err(lambda: r.execute_command("ZADD", "z", "abc", "a")) == "value is not a valid float"
    assert err(lambda: r.execute_command("ZADD", "z", "nan", "a")) == "value is not a valid float"
    assert err(lambda: r.execute_command("ZADD", "z", "1")) == "wrong number of arguments for 'zadd' command"
    assert err(lambda: r.execute_command("ZADD", "z", "1", "a", "2")) == "syntax error"
    assert r.exists("z") == 0


def test_zincrby(r):
    assert r.zincrby("z", 2, "a") == 2.0
    assert r.zincrby("z", -0.5, "a") == 1.5
    assert err(lambda: r.execute_command("ZINCRBY", "z", "abc", "a")) == "value is not a valid float"


def test_zincrby_to_nan_is_refused(r):
    r.zadd("z", {"a": float("inf")})
    assert err(lambda: r.zincrby("z", float("-inf"), "a")) == "resulting score is not a number (NaN)"
    assert err(lambda: r.execute_command("ZADD", "z", "INCR", "-inf", "a")) == \
        "resulting score is not a number (NaN)"
    assert r.zscore("z", "a") == float("inf")


# --- score texts ------------------------------------------------------------------------

def test_score_text_resp2(r, raw):
    """Scores are printed with %.17g in Redis 7.0: 0.1 is not printed as "0.1"."""
    c = raw()
    c.cmd("ZADD", "z", "1.5", "a", "3", "b", "inf", "c", "-inf", "d", "1e3", "e",
          "-0", "f", "0.1", "g", "123456789012345678", "h")
    expected = {"a": b"1.5", "b": b"3", "c": b"inf", "d": b"-inf", "e": b"1000", "f": b"0",
                "g": b"0.10000000000000001", "h": b"1.2345678901234568e+17"}
    for member, text in expected.items():
        assert c.cmd("ZSCORE", "z", member) == text, member
    assert c.cmd("ZINCRBY", "sum", "0.1", "x") == b"0.10000000000000001"
    assert c.cmd("ZINCRBY", "sum", "0.2", "x") == b"0.30000000000000004"
    assert c.cmd("ZRANGE", "z", "0", "2", "WITHSCORES") == [b"d", b"-inf", b"f", b"0", b"g", b"0.10000000000000001"]


def test_score_text_resp3(r, raw):
    c = raw()
    c.cmd("HELLO", "3")
    c.cmd("ZADD", "z", "1.5", "a", "3", "b", "inf", "c", "-inf", "d", "0.1", "e")
    assert wire(c, "ZSCORE", "z", "a") == b",1.5"
    assert wire(c, "ZSCORE", "z", "b") == b",3"
    assert wire(c, "ZSCORE", "z", "c") == b",inf"
    assert wire(c, "ZSCORE", "z", "d") == b",-inf"
    assert wire(c, "ZSCORE", "z", "e") == b",0.10000000000000001"
    assert wire(c, "ZSCORE", "z", "nope") == b"_"


def test_withscores_shape_resp3(r, raw):
    """RESP3 pairs each member with its score; single-pop commands stay flat."""
    c = raw()
    c.cmd("HELLO", "3")
    c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
    assert c.cmd("ZRANGE", "z", "0", "1", "WITHSCORES") == [[b"a", 1.0], [b"b", 2.0]]
    assert c.cmd("ZMSCORE", "z", "a", "nope") == [1.0, "NULL3"]
    assert c.cmd("ZPOPMIN", "z") == [b"a", 1.0]
    assert c.cmd("ZPOPMIN", "z", "1") == [[b"b", 2.0]]
    assert c.cmd("ZMPOP", "1", "z", "MAX") == [b"z", [[b"d", 4.0]]]


# --- reads ------------------------------------------------------------------------------

def test_zscore_zmscore_zcard(z):
    assert z.zscore("z", "c") == 3.0
    assert z.zscore("z", "nope") is None
    assert z.zscore("nokey", "a") is None
    assert z.zmscore("z", ["a", "nope", "e"]) == [1.0, None, 5.0]
    assert z.zmscore("nokey", ["a", "b"]) == [None, None]
    assert z.zcard("z") == 5
    assert z.zcard("nokey") == 0


def test_zcount(z):
    assert z.zcount("z", 2, 4) == 3
    assert z.zcount("z", "(2", 4) == 2
    assert z.zcount("z", "(2", "(4") == 1
    assert z.zcount("z", "-inf", "+inf") == 5
    assert z.zcount("z", "-inf", "(1") == 0
    assert z.zcount("z", 4, 2) == 0
    assert z.zcount("nokey", "-inf", "+inf") == 0
    assert err(lambda: z.zcount("z", "x", 1)) == "min or max is not a float"
    assert err(lambda: z.zcount("z", "[1", 2)) == "min or max is not a float"


def test_zlexcount(lex):
    assert lex.zlexcount("lex", "-", "+") == 7
    assert lex.zlexcount("lex", "[b", "[d") == 3
    assert lex.zlexcount("lex", "(b", "(d") == 1
    assert lex.zlexcount("lex", "[c", "+") == 5
    assert lex.zlexcount("lex", "+", "-") == 0
    assert err(lambda: lex.zlexcount("lex", "a", "b")) == "min or max not valid string range item"


def test_zrange_by_rank(z):
    assert z.zrange("z", 0, -1) == ["a", "b", "c", "d", "e"]
    assert z.zrange("z", -2, -1) == ["d", "e"]
    assert z.zrange("z", 3, 100) == ["d", "e"]
    assert z.zrange("z", 3, 1) == []
    assert z.zrange("z", 0, 1, withscores=True) == [("a", 1.0), ("b", 2.0)]
    assert z.execute_command("ZRANGE", "z", "0", "1", "REV") == ["e", "d"]
    assert z.zrevrange("z", 0, 1) == ["e", "d"]
    assert z.zrange("nokey", 0, -1) == []


def test_zrange_ties_order_by_member(r):
    r.zadd("z", {"c": 1, "a": 1, "b": 1, "x": 0})
    assert r.zrange("z", 0, -1) == ["x", "a", "b", "c"]
    assert r.zrevrange("z", 0, -1) == ["c", "b", "a", "x"]


def test_zrange_byscore(z):
    assert z.execute_command("ZRANGE", "z", "(1", "4", "BYSCORE") == ["b", "c", "d"]
    assert z.execute_command("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2") == ["b", "c"]
    assert z.execute_command("ZRANGE", "z", "+inf", "(2", "BYSCORE", "REV") == ["e", "d", "c"]
    assert z.execute_command("ZRANGE", "z", "4", "2", "BYSCORE", "REV", "LIMIT", "0", "2",
                             "WITHSCORES") == ["d", "4", "c", "3"]
    assert z.execute_command("ZRANGE", "z", "0", "10", "BYSCORE", "LIMIT", "2", "-1") == ["c", "d", "e"]
    assert z.zrangebyscore("z", 2, "(4") == ["b", "c"]
    assert z.zrangebyscore("z", "-inf", "+inf", start=3, num=5) == ["d", "e"]
    assert z.zrevrangebyscore("z", "+inf", 4, withscores=True) == [("e", 5.0), ("d", 4.0)]
    assert z.zrevrangebyscore("z", 2, 4) == []


def test_zrange_bylex(lex):
    assert lex.execute_command("ZRANGE", "lex", "[b", "(e", "BYLEX") == ["b", "c", "d"]
    assert lex.execute_command("ZRANGE", "lex", "-", "+", "BYLEX", "LIMIT", "2", "2") == ["c", "d"]
    assert lex.execute_command("ZRANGE", "lex", "+", "[e", "BYLEX", "REV") == ["g", "f", "e"]
    assert lex.zrangebylex("lex", "-", "(c") == ["a", "b"]
    assert lex.zrevrangebylex("lex", "(c", "-") == ["b", "a"]
    assert err(lambda: lex.execute_command("ZRANGE", "lex", "b", "d", "BYLEX")) == \
        "min or max not valid string range item"


def test_zrange_syntax_errors(z):
    assert err(lambda: z.execute_command("ZRANGE", "z", "0", "1", "LIMIT", "0", "1")) == \
        "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    assert err(lambda: z.execute_command("ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX")) == "syntax error"
    assert err(lambda: z.execute_command("ZRANGE", "z", "0", "1", "BYLEX", "WITHSCORES")) == \
        "syntax error, WITHSCORES not supported in combination with BYLEX"
    assert err(lambda: z.execute_command("ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "0")) == "syntax error"
    assert err(lambda: z.execute_command("ZRANGE", "z", "a", "1")) == "value is not an integer or out of range"


def test_zrangestore(z):
    assert z.execute_command("ZRANGESTORE", "dst", "z", "1", "3") == 3
    assert z.zrange("dst", 0, -1, withscores=True) == [("b", 2.0), ("c", 3.0), ("d", 4.0)]
    assert z.execute_command("ZRANGESTORE", "dst", "z", "(3", "+inf", "BYSCORE", "LIMIT", "0", "1") == 1
    assert z.zrange("dst", 0, -1) == ["d"]
    assert z.execute_command("ZRANGESTORE", "dst", "z", "10", "20") == 0
    assert z.exists("dst") == 0  # an empty result deletes the destination
    assert err(lambda: z.execute_command("ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES")) == "syntax error"


def test_zrank_zrevrank(z):
    assert z.zrank("z", "a") == 0
    assert z.zrank("z", "e") == 4
    assert z.zrevrank("z", "a") == 4
    assert z.zrank("z", "nope") is None
    assert z.zrevrank("nokey", "a") is None


def test_zrandmember(z):
    assert z.zrandmember("z") in list("abcde")
    assert z.zrandmember("nokey") is None
    got = z.zrandmember("z", 3)
    assert len(got) == 3 and len(set(got)) == 3
    assert sorted(z.zrandmember("z", 10)) == list("abcde")
    got = z.zrandmember("z", -8)
    assert len(got) == 8 and set(got) <= set("abcde")
    flat = z.execute_command("ZRANDMEMBER", "z", "-4", "WITHSCORES")
    assert len(flat) == 8
    scores = {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}
    assert all(scores[m] == s for m, s in zip(flat[::2], flat[1::2]))
    assert z.zrandmember("z", 0) == []
    assert z.zrandmember("nokey", 3) == []


# --- removal ----------------------------------------------------------------------------

def test_zrem(z):
    assert z.zrem("z", "a", "nope", "a") == 1
    assert z.zrem("z", "b", "c", "d", "e") == 4
    assert z.exists("z") == 0
    assert z.zrem("nokey", "a") == 0


def test_zremrangebyrank(z):
    assert z.zremrangebyrank("z", 0, 1) == 2
    assert z.zrange("z", 0, -1) == ["c", "d", "e"]
    assert z.zremrangebyrank("z", -1, -1) == 1
    assert z.zremrangebyrank("z", 5, 10) == 0
    assert z.zremrangebyrank("z", 0, -1) == 2
    assert z.exists("z") == 0


def test_zremrangebyscore(z):
    assert z.zremrangebyscore("z", "(1", 3) == 2
    assert z.zrange("z", 0, -1) == ["a", "d", "e"]
    assert z.zremrangebyscore("z", "-inf", "+inf") == 3
    assert z.exists("z") == 0


def test_zremrangebylex(lex):
    assert lex.zremrangebylex("lex", "[b", "(d") == 2
    assert lex.zrange("lex", 0, -1) == ["a", "d", "e", "f", "g"]
    assert lex.zremrangebylex("lex", "(e", "+") == 2
    assert lex.zrange("lex", 0, -1) == ["a", "d", "e"]
    assert err(lambda: lex.zremrangebylex("lex", "a", "b")) == "min or max not valid string range item"


def test_zpopmin_zpopmax(z):
    assert z.zpopmin("z") == [("a", 1.0)]
    assert z.zpopmax("z", 2) == [("e", 5.0), ("d", 4.0)]
    assert z.zpopmin("z", 10) == [("b", 2.0), ("c", 3.0)]
    assert z.exists("z") == 0
    assert z.zpopmin("z") == []
    assert z.zpopmax("nokey", 3) == []


def test_zpop_count_errors(z):
    assert err(lambda: z.execute_command("ZPOPMIN", "z", "-1")) == "value is out of range, must be positive"
    assert z.execute_command("ZPOPMIN", "z", "0") == []
    assert z.zcard("z") == 5


def test_zmpop(z, raw):
    assert z.execute_command("ZMPOP", "2", "nokey", "z", "MIN") == ["z", [["a", "1"]]]
    assert z.execute_command("ZMPOP", "1", "z", "MAX", "COUNT", "2") == ["z", [["e", "5"], ["d", "4"]]]
    assert z.execute_command("ZMPOP", "1", "z", "MIN", "COUNT", "10") == ["z", [["b", "2"], ["c", "3"]]]
    assert z.exists("z") == 0
    assert wire(raw(), "ZMPOP", "1", "z", "MIN") == b"*-1"


def test_zmpop_errors(z):
    assert err(lambda: z.execute_command("ZMPOP", "0", "z", "MIN")) == "numkeys should be greater than 0"
    assert err(lambda: z.execute_command("ZMPOP", "1", "z", "MID")) == "syntax error"
    assert err(lambda: z.execute_command("ZMPOP", "1", "z", "MIN", "COUNT", "0")) == \
        "count should be greater than 0"


# --- set operations ---------------------------------------------------------------------

@pytest.fixture
def two(r):
    r.zadd("z1", {"a": 1, "b": 2, "c": 3})
    r.zadd("z2", {"b": 10, "c": 20, "d": 30})
    return r


def test_zunionstore_weights_and_aggregate(two):
    assert two.zunionstore("d", ["z1", "z2"]) == 4
    assert two.zrange("d", 0, -1, withscores=True) == [("a", 1), ("b", 12), ("c", 23), ("d", 30)]
    assert two.zunionstore("d", {"z1": 2, "z2": 1}) == 4
    assert two.zscore("d", "a") == 2 and two.zscore("d", "c") == 26
    assert two.zunionstore("d", ["z1", "z2"], aggregate="MIN") == 4
    assert two.zrange("d", 0, -1, withscores=True) == [("a", 1), ("b", 2), ("c", 3), ("d", 30)]
    assert two.zunionstore("d", ["z1", "z2"], aggregate="MAX") == 4
    assert two.zscore("d", "b") == 10


def test_zinterstore_weights_and_aggregate(two):
    assert two.zinterstore("d", ["z1", "z2"]) == 2
    assert two.zrange("d", 0, -1, withscores=True) == [("b", 12), ("c", 23)]
    assert two.execute_command("ZINTERSTORE", "d", "2", "z1", "z2", "WEIGHTS", "3", "-1",
                               "AGGREGATE", "MAX") == 2
    assert two.zrange("d", 0, -1, withscores=True) == [("b", 6), ("c", 9)]
    assert two.zinterstore("d", ["z1", "nokey"]) == 0
    assert two.exists("d") == 0


def test_zdiffstore(two):
    assert two.zdiffstore("d", ["z1", "z2"]) == 1
    assert two.zrange("d", 0, -1, withscores=True) == [("a", 1)]
    assert two.zdiffstore("d", ["z1", "z1"]) == 0
    assert two.exists("d") == 0


def test_store_accepts_plain_sets(r):
    """A plain set counts as a sorted set with every score 1."""
    r.sadd("s", "a", "b")
    r.zadd("z", {"b": 5})
    assert r.zunionstore("d", ["s", "z"]) == 2
    assert r.zrange("d", 0, -1, withscores=True) == [("a", 1), ("b", 6)]
    assert r.execute_command("ZINTER", "2", "s", "z") == ["b"]


def test_zunion_zinter_zdiff_replies(two):
    assert two.execute_command("ZUNION", "2", "z1", "z2") == ["a", "b", "c", "d"]
    assert two.execute_command("ZUNION", "2", "z1", "z2", "WITHSCORES") == \
        ["a", "1", "b", "12", "c", "23", "d", "30"]
    assert two.execute_command("ZINTER", "2", "z1", "z2", "AGGREGATE", "MIN", "WITHSCORES") == \
        ["b", "2", "c", "3"]
    assert two.execute_command("ZDIFF", "2", "z1", "z2", "WITHSCORES") == ["a", "1"]
    assert two.execute_command("ZDIFF", "2", "nokey", "z2") == []


def test_zintercard(two):
    assert two.zintercard(2, ["z1", "z2"]) == 2
    assert two.zintercard(2, ["z1", "z2"], limit=1) == 1
    assert two.zintercard(2, ["z1", "nokey"]) == 0
    assert err(lambda: two.execute_command("ZINTERCARD", "0", "z1")) == \
        "at least 1 input key is needed for 'zintercard' command"
    assert err(lambda: two.execute_command("ZINTERCARD", "1", "z1", "LIMIT", "-1")) == "LIMIT can't be negative"


def test_set_operation_errors(two):
    assert err(lambda: two.execute_command("ZUNIONSTORE", "d", "0", "z1")) == \
        "at least 1 input key is needed for 'zunionstore' command"
    assert err(lambda: two.execute_command("ZUNIONSTORE", "d", "2", "z1")) == "syntax error"
    assert err(lambda: two.execute_command("ZUNIONSTORE", "d", "1", "z1", "WEIGHTS", "x")) == \
        "weight value is not a float"
    assert err(lambda: two.execute_command("ZUNIONSTORE", "d", "1", "z1", "AGGREGATE", "AVG")) == "syntax error"
    assert err(lambda: two.execute_command("ZDIFFSTORE", "d", "1", "z1", "WEIGHTS", "1")) == "syntax error"
    assert err(lambda: two.execute_command("ZUNION", "1", "z1", "WITHSCORES", "FOO")) == "syntax error"
    two.set("str", "x")
    assert err(lambda: two.zunionstore("d", ["z1", "str"])) == WRONGTYPE


def test_zscan(r):
    r.zadd("small", {"a": 1, "b": 2.5})
    assert r.zscan("small", 0) == (0, [("a", 1.0), ("b", 2.5)])
    members = {f"m:{i}": float(i) for i in range(500)}
    r.zadd("big", members)
    assert dict(r.zscan_iter("big", count=20)) == members
    assert dict(r.zscan_iter("big", match="m:4?")) == {f"m:4{i}": 40.0 + i for i in range(10)}
    assert r.zscan("nokey", 0) == (0, [])


def test_wrongtype(r):
    r.set("str", "x")
    assert err(lambda: r.zadd("str", {"a": 1})) == WRONGTYPE
    assert err(lambda: r.zrange("str", 0, -1)) == WRONGTYPE
    assert err(lambda: r.zscore("str", "a")) == WRONGTYPE
    r.zadd("z", {"a": 1})
    assert err(lambda: r.get("z")) == WRONGTYPE
    assert err(lambda: r.sadd("z", "a")) == WRONGTYPE


# --- encodings --------------------------------------------------------------------------

def test_encoding_listpack_then_skiplist_by_count(r):
    r.zadd("z", {f"m{i}": i for i in range(128)})
    assert r.object("encoding", "z") == "listpack"
    r.zadd("z", {"m128": 128})
    assert r.object("encoding", "z") == "skiplist"
    assert r.zrange("z", 126, 128) == ["m126", "m127", "m128"]


def test_encoding_skiplist_for_a_long_member(r):
    r.zadd("z", {"x" * 64: 1})
    assert r.object("encoding", "z") == "listpack"
    r.zadd("z", {"y" * 65: 2})
    assert r.object("encoding", "z") == "skiplist"


def test_encoding_is_configurable(r):
    with config(r, "zset-max-listpack-entries", 2):
        r.zadd("z", {"a": 1, "b": 2})
        assert r.object("encoding", "z") == "listpack"
        r.zadd("z", {"c": 3})
        assert r.object("encoding", "z") == "skiplist"


def test_large_zset_ranks_and_ranges(r):
    """A skiplist-encoded set answers rank and range queries like a small one."""
    members = {f"m{i:04d}": i * 0.5 for i in range(2000)}
    r.zadd("z", members)
    assert r.zcard("z") == 2000
    assert r.zrank("z", "m1500") == 1500
    assert r.zrevrank("z", "m1500") == 499
    assert r.zrange("z", 1000, 1002) == ["m1000", "m1001", "m1002"]
    assert r.zcount("z", 100, "(200") == 200
    assert r.zrangebyscore("z", 999.5, "+inf", start=0, num=2) == ["m1999"]
    assert r.zremrangebyrank("z", 0, 999) == 1000
    assert r.zrank("z", "m1500") == 500
