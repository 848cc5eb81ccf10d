"""List commands, with Redis's exact replies, nil kinds and error texts."""
import pytest
import redis

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def err(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


def wire(conn, *args):
    """Sends one command on a raw connection and returns the first line of its reply, to
    tell a nil bulk ($-1) from a nil array (*-1) or an empty array (*0)."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    conn.send(out)
    return conn.line()


def has_small_list_listpack(c):
    """Redis 7.2 (and Ferrite) report small lists and sets as "listpack"; Redis 7.0 reports
    every list as "quicklist". The set-max-listpack-entries parameter arrived with it."""
    return bool(c.config_get("set-max-listpack-entries"))


def test_push_returns_the_new_length(r):
    assert r.rpush("l", "a", "b") == 2
    assert r.lpush("l", "x", "y") == 4  # pushed one by one: y ends up first
    assert r.lrange("l", 0, -1) == ["y", "x", "a", "b"]
    assert r.type("l") == "list"
    assert err(lambda: r.execute_command("RPUSH", "l")) == "wrong number of arguments for 'rpush' command"


def test_pushx_only_on_an_existing_list(r):
    assert r.lpushx("l", "a") == 0
    assert r.rpushx("l", "a") == 0
    assert r.exists("l") == 0
    r.rpush("l", "m")
    assert r.lpushx("l", "a", "b") == 3
    assert r.rpushx("l", "z") == 4
    assert r.lrange("l", 0, -1) == ["b", "a", "m", "z"]


def test_lpop_rpop(r):
    r.rpush("l", "a", "b", "c", "d", "e")
    assert r.lpop("l") == "a"
    assert r.rpop("l") == "e"
    assert r.lpop("l", 2) == ["b", "c"]
    assert r.rpop("l", 5) == ["d"]  # more than there is
    assert r.exists("l") == 0        # the empty list is deleted
    assert r.lpop("l") is None


def test_pop_count_edge_cases(r, raw):
    """Missing key: nil bulk without a count, nil array with one (RESP2); count 0 on an
    existing list is an empty array."""
    c = raw()
    r.rpush("l", "a")
    assert wire(c, "LPOP", "nokey") == b"$-1"
    assert wire(c, "LPOP", "nokey", 2) == b"*-1"
    assert wire(c, "RPOP", "nokey", 0) == b"*-1"
    assert wire(c, "LPOP", "l", 0) == b"*0"
    assert r.llen("l") == 1
    assert err(lambda: r.execute_command("LPOP", "l", "-1")) == "value is out of range, must be positive"
    assert err(lambda: r.execute_command("LPOP", "l", "x")) == "value is out of range, must be positive"


def test_pop_count_missing_key_in_resp3(r, raw):
    c = raw()
    c.cmd("HELLO", "3")
    assert wire(c, "LPOP", "nokey", 2) == b"_"
    assert wire(c, "LPOP", "nokey") == b"_"


def test_llen_lindex(r):
    r.rpush("l", "a", "b", "c")
    assert r.llen("l") == 3
    assert r.llen("nokey") == 0
    assert r.lindex("l", 0) == "a"
    assert r.lindex("l", -1) == "c"
    assert r.lindex("l", -3) == "a"
    assert r.lindex("l", 3) is None
    assert r.lindex("l", -4) is None
    assert r.lindex("nokey", 0) is None
    assert err(lambda: r.execute_command("LINDEX", "l", "x")) == "value is not an integer or out of range"


def test_lset(r):
    r.rpush("l", "a", "b", "c")
    assert r.lset("l", 1, "B")
    assert r.lset("l", -1, "C")
    assert r.lrange("l", 0, -1) == ["a", "B", "C"]
    assert err(lambda: r.lset("l", 3, "x")) == "index out of range"
    assert err(lambda: r.lset("l", -4, "x")) == "index out of range"
    assert err(lambda: r.lset("nokey", 0, "x")) == "no such key"


def test_lrange_index_clamping(r):
    r.rpush("l", *"abcdef")
    assert r.lrange("l", 0, 2) == ["a", "b", "c"]
    assert r.lrange("l", -3, -1) == ["d", "e", "f"]
    assert r.lrange("l", -100, 1) == ["a", "b"]
    assert r.lrange("l", 4, 100) == ["e", "f"]
    assert r.lrange("l", 3, 2) == []
    assert r.lrange("l", 6, 10) == []
    assert r.lrange("nokey", 0, -1) == []
    assert err(lambda: r.execute_command("LRANGE", "l", "0", "x")) == "value is not an integer or out of range"


def test_ltrim(r):
    r.rpush("l", *"abcdef")
    assert r.ltrim("l", 1, -2)
    assert r.lrange("l", 0, -1) == ["b", "c", "d", "e"]
    assert r.ltrim("l", -2, 100)
    assert r.lrange("l", 0, -1) == ["d", "e"]
    assert r.ltrim("l", 5, 10)  # empty range: the key goes away
    assert r.exists("l") == 0
    assert r.ltrim("nokey", 0, 1)


def test_lrem(r):
    r.rpush("l", *"axbxcxdx")
    assert r.lrem("l", 2, "x") == 2  # first two from the head
    assert r.lrange("l", 0, -1) == list("abcxdx")
    assert r.lrem("l", -1, "x") == 1  # one from the tail
    assert r.lrange("l", 0, -1) == list("abcxd")
    r.rpush("l", "x", "x")
    assert r.lrem("l", 0, "x") == 3  # all of them
    assert r.lrange("l", 0, -1) == list("abcd")
    assert r.lrem("l", 0, "zz") == 0
    assert r.lrem("nokey", 0, "a") == 0
    r.delete("l")
    r.rpush("l", "x")
    assert r.lrem("l", 1, "x") == 1
    assert r.exists("l") == 0


def test_linsert(r):
    r.rpush("l", "a", "c")
    assert r.linsert("l", "before", "c", "b") == 3
    assert r.linsert("l", "after", "c", "d") == 4
    assert r.lrange("l", 0, -1) == ["a", "b", "c", "d"]
    assert r.linsert("l", "before", "zz", "x") == -1
    assert r.linsert("nokey", "before", "a", "x") == 0
    assert r.exists("nokey") == 0
    assert err(lambda: r.execute_command("LINSERT", "l", "MIDDLE", "a", "x")) == "syntax error"


def test_lpos(r):
    r.rpush("l", *"abcabcab")
    assert r.lpos("l", "c") == 2
    assert r.lpos("l", "c", rank=2) == 5
    assert r.lpos("l", "c", rank=3) is None
    assert r.lpos("l", "a", rank=-1) == 6
    assert r.lpos("l", "a", rank=-2) == 3
    assert r.lpos("l", "zz") is None
    assert r.lpos("nokey", "a") is None


def test_lpos_count_and_maxlen(r):
    r.rpush("l", *"abcabcab")
    assert r.lpos("l", "a", count=2) == [0, 3]
    assert r.lpos("l", "a", count=0) == [0, 3, 6]  # 0 means all
    assert r.lpos("l", "a", count=0, rank=-1) == [6, 3, 0]
    assert r.lpos("l", "a", count=0, maxlen=4) == [0, 3]  # only the first 4 compared
    assert r.lpos("l", "a", rank=-1, maxlen=2) == 6   # maxlen counts from the tail too
    assert r.lpos("l", "a", rank=-1, maxlen=1) is None
    assert r.lpos("l", "zz", count=3) == []
    assert r.lpos("nokey", "a", count=3) == []


def test_lpos_errors(r):
    r.rpush("l", "a")
    assert err(lambda: r.execute_command("LPOS", "l", "a", "RANK", "0")) == (
        "RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
        "or use negative to start from the end of the list")
    assert err(lambda: r.execute_command("LPOS", "l", "a", "COUNT", "-1")) == "COUNT can't be negative"
    assert err(lambda: r.execute_command("LPOS", "l", "a", "MAXLEN", "-1")) == "MAXLEN can't be negative"
    assert err(lambda: r.execute_command("LPOS", "l", "a", "FOO")) == "syntax error"


def test_lmove(r):
    r.rpush("src", "a", "b", "c")
    assert r.lmove("src", "dst", "LEFT", "RIGHT") == "a"
    assert r.lmove("src", "dst", "RIGHT", "LEFT") == "c"
    assert r.lrange("dst", 0, -1) == ["c", "a"]
    assert r.lmove("src", "dst") == "b"  # LEFT RIGHT by default in redis-py
    assert r.exists("src") == 0
    assert r.lmove("src", "dst") is None
    assert r.lrange("dst", 0, -1) == ["c", "a", "b"]
    assert err(lambda: r.execute_command("LMOVE", "dst", "x", "UP", "LEFT")) == "syntax error"


def test_lmove_and_rpoplpush_rotate_one_list(r):
    r.rpush("l", "a", "b", "c")
    assert r.rpoplpush("l", "l") == "c"
    assert r.lrange("l", 0, -1) == ["c", "a", "b"]
    assert r.lmove("l", "l", "LEFT", "RIGHT") == "c"
    assert r.lrange("l", 0, -1) == ["a", "b", "c"]
    assert r.rpoplpush("nokey", "l") is None


def test_lmove_to_a_wrong_type_destination_keeps_the_source(r):
    r.rpush("l", "a")
    r.set("s", "x")
    assert err(lambda: r.lmove("l", "s")) == WRONGTYPE
    assert err(lambda: r.rpoplpush("l", "s")) == WRONGTYPE
    assert r.lrange("l", 0, -1) == ["a"]


def test_lmpop(r):
    r.rpush("b", "1", "2", "3")
    assert r.execute_command("LMPOP", "2", "a", "b", "LEFT") == ["b", ["1"]]
    assert r.execute_command("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5") == ["b", ["3", "2"]]
    assert r.exists("b") == 0
    assert r.execute_command("LMPOP", "2", "a", "b", "LEFT") is None


def test_lmpop_errors(r):
    assert err(lambda: r.execute_command("LMPOP", "0", "a", "LEFT")) == "numkeys should be greater than 0"
    assert err(lambda: r.execute_command("LMPOP", "1", "a", "MIDDLE")) == "syntax error"
    assert err(lambda: r.execute_command("LMPOP", "1", "a", "LEFT", "COUNT", "0")) == \
        "count should be greater than 0"
    assert err(lambda: r.execute_command("LMPOP", "1", "a")) == "wrong number of arguments for 'lmpop' command"
    assert err(lambda: r.execute_command("LMPOP", "x", "a", "LEFT")) == "numkeys should be greater than 0"


def test_wrongtype(r):
    r.set("s", "x")
    assert err(lambda: r.lpush("s", "a")) == WRONGTYPE
    assert err(lambda: r.lrange("s", 0, -1)) == WRONGTYPE
    assert err(lambda: r.llen("s")) == WRONGTYPE
    assert err(lambda: r.lpos("s", "a")) == WRONGTYPE
    r.rpush("l", "a")
    assert err(lambda: r.get("l")) == WRONGTYPE


def test_binary_and_empty_elements(rb):
    rb.rpush("l", b"", b"\x00\xff\r\n", b"x" * 10000)
    assert rb.lrange("l", 0, -1) == [b"", b"\x00\xff\r\n", b"x" * 10000]
    assert rb.lpos("l", b"") == 0


def test_encoding_small_and_large(r):
    r.rpush("small", "a", "b", "c")
    assert r.object("encoding", "small") == ("listpack" if has_small_list_listpack(r) else "quicklist")
    r.rpush("large", *[f"{i:03d}" + "x" * 97 for i in range(200)])
    assert r.object("encoding", "large") == "quicklist"
    assert r.llen("large") == 200
    assert r.lindex("large", 150) == "150" + "x" * 97


def test_large_list_operations(r):
    """A list spanning many nodes behaves as one sequence."""
    items = [str(i) for i in range(5000)]
    r.rpush("l", *items)
    assert r.llen("l") == 5000
    assert r.lindex("l", 2500) == "2500"
    assert r.lrange("l", 1000, 1004) == items[1000:1005]
    assert r.lset("l", 4000, "X")
    assert r.linsert("l", "before", "X", "W") == 5001
    assert r.lrange("l", 3999, 4002) == ["3999", "W", "X", "4001"]
    assert r.ltrim("l", 100, 199)
    assert r.lrange("l", 0, -1) == items[100:200]
