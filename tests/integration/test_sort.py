"""SORT and SORT_RO with Redis 7's exact replies: numeric and ALPHA order, BY weights and
hash fields, BY without '*' (no sorting), LIMIT clamping, GET patterns, STORE (and its
propagation), error texts.

Note: Redis's numeric parse reads errno without clearing it, so a score that overflowed
(ERANGE) earlier on the same server thread can make a later, valid SORT fail. No test here
produces an out-of-range double; each test starts on a new connection (the accept loop
leaves errno at EAGAIN)."""
import time

import pytest
import redis

from conftest import IS_REDIS

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_DOUBLE = "One or more scores can't be converted into double"
SYNTAX = "syntax error"
NOT_INT = "value is not an integer or out of range"

ferrite_only = pytest.mark.skipif(IS_REDIS, reason="Ferrite's single-file AOF")


def err(fn, *args):
    with pytest.raises(redis.ResponseError) as e:
        fn(*args)
    return str(e.value)


def sort(r, *args):
    return r.execute_command("SORT", *args)


def sort_ro(r, *args):
    return r.execute_command("SORT_RO", *args)


# ---- numeric order ---------------------------------------------------------------------

def test_numeric_list_asc_desc(r):
    r.rpush("l", "3", "1", "2", "10", "1.5", "-2")
    assert sort(r, "l") == ["-2", "1", "1.5", "2", "3", "10"]
    assert sort(r, "l", "ASC") == ["-2", "1", "1.5", "2", "3", "10"]
    assert sort(r, "l", "DESC") == ["10", "3", "2", "1.5", "1", "-2"]
    # The last of ASC/DESC wins; keywords are case-insensitive.
    assert sort(r, "l", "desc", "asc") == ["-2", "1", "1.5", "2", "3", "10"]
    assert sort(r, "l", "asc", "Desc") == ["10", "3", "2", "1.5", "1", "-2"]
    assert r.lrange("l", 0, -1) == ["3", "1", "2", "10", "1.5", "-2"]  # source untouched


def test_numeric_parse_is_strtod(r):
    """Scores come from strtod(): leading blanks, hex, inf and an empty string (0) pass."""
    r.rpush("l", "inf", "1e3", " 5", "0x10", "", "-0.5", "-inf")
    assert sort(r, "l") == ["-inf", "-0.5", "", " 5", "0x10", "1e3", "inf"]
    assert sort(r, "l", "DESC") == ["inf", "1e3", "0x10", " 5", "", "-0.5", "-inf"]


def test_not_a_number_is_an_error(r):
    r.rpush("l", "1", "x", "2")
    assert err(sort, r, "l") == NOT_DOUBLE
    assert err(sort_ro, r, "l", "DESC") == NOT_DOUBLE
    r.rpush("t", "5 ")  # trailing bytes fail
    assert err(sort, r, "t") == NOT_DOUBLE
    r.rpush("n", "nan")
    assert err(sort, r, "n") == NOT_DOUBLE
    # ALPHA does not parse, BY without '*' does not sort: no error.
    assert sort(r, "l", "ALPHA") == ["1", "2", "x"]
    assert sort(r, "l", "BY", "nosort") == ["1", "x", "2"]
    # A failed SORT ... STORE leaves the destination alone.
    r.set("dst", "keep")
    assert err(sort, r, "l", "STORE", "dst") == NOT_DOUBLE
    assert r.get("dst") == "keep"
    # Even a LIMIT that would leave the bad element out does not help.
    r.delete("l")
    r.rpush("l", "1", "2", "y")
    assert err(sort, r, "l", "LIMIT", "0", "1") == NOT_DOUBLE


def test_equal_scores_fall_back_to_the_elements(r):
    r.rpush("l", "1.0", "1", "01", "2", "1e0")
    assert sort(r, "l") == ["01", "1", "1.0", "1e0", "2"]
    assert sort(r, "l", "DESC") == ["2", "1e0", "1.0", "1", "01"]
    r.rpush("w", "b", "a", "d", "c")
    r.mset({"wt_a": 1, "wt_b": 1, "wt_c": 0, "wt_d": 1})
    assert sort(r, "w", "BY", "wt_*") == ["c", "a", "b", "d"]
    assert sort(r, "w", "BY", "wt_*", "DESC") == ["d", "b", "a", "c"]


def test_duplicates_in_a_list(r):
    r.rpush("l", "3", "1", "3", "2", "1")
    assert sort(r, "l") == ["1", "1", "2", "3", "3"]
    assert sort(r, "l", "DESC") == ["3", "3", "2", "1", "1"]
    assert sort(r, "l", "ALPHA", "DESC") == ["3", "3", "2", "1", "1"]


# ---- ALPHA ---------------------------------------------------------------------------------

def test_alpha(r):
    r.rpush("l", "pear", "apple", "fig", "apple", "banana", "10", "9", "")
    assert sort(r, "l", "ALPHA") == ["", "10", "9", "apple", "apple", "banana", "fig", "pear"]
    assert sort(r, "l", "ALPHA", "DESC") == ["pear", "fig", "banana", "apple", "apple", "9",
                                             "10", ""]
    assert err(sort, r, "l") == NOT_DOUBLE


def test_alpha_store_is_bytewise(rb):
    """With STORE Redis compares binary-safe bytes whatever the locale: upper case first."""
    rb.rpush("l", b"b", b"B", b"a", b"A", b"a\x00b", b"a\x00a", b"\xff", b"_")
    assert sort(rb, "l", "ALPHA", "STORE", "dst") == 8
    assert rb.lrange("dst", 0, -1) == [b"A", b"B", b"_", b"a", b"a\x00a", b"a\x00b", b"b",
                                       b"\xff"]
    assert sort(rb, "l", "ALPHA", "DESC", "STORE", "dst") == 8
    assert rb.lrange("dst", 0, -1) == [b"\xff", b"b", b"a\x00b", b"a\x00a", b"a", b"_", b"B",
                                       b"A"]


def test_binary_elements_round_trip(rb):
    vals = [b"\x00", b"a\r\nb", b"\xfe\xff", b"plain"]
    rb.rpush("l", *vals)
    assert sort(rb, "l", "BY", "nosort") == vals
    assert sort(rb, "l", "ALPHA", "STORE", "d") == 4
    assert rb.lrange("d", 0, -1) == sorted(vals)


# ---- sets and sorted sets ----------------------------------------------------------------

def test_sets(r):
    r.sadd("s", "5", "3", "9", "1", "-7")
    assert sort(r, "s") == ["-7", "1", "3", "5", "9"]
    assert sort(r, "s", "DESC", "LIMIT", "1", "2") == ["5", "3"]
    r.sadd("sa", "pear", "apple", "fig")
    assert sort(r, "sa", "ALPHA") == ["apple", "fig", "pear"]
    assert err(sort, r, "sa") == NOT_DOUBLE
    # BY without '*': hash order, the same members.
    assert sorted(sort(r, "sa", "BY", "nosort")) == ["apple", "fig", "pear"]


def test_set_by_nosort_store_is_sorted_alpha(r):
    """A stored result must not depend on hash order: Redis forces an ALPHA sort."""
    r.sadd("s", "10", "9", "b", "A", "a")
    assert sort(r, "s", "BY", "nosort", "STORE", "dst") == 5
    assert r.lrange("dst", 0, -1) == ["10", "9", "A", "a", "b"]
    assert sort(r, "s", "BY", "nosort", "DESC", "STORE", "dst") == 5
    assert r.lrange("dst", 0, -1) == ["b", "a", "A", "9", "10"]
    assert sort(r, "s", "BY", "nosort", "LIMIT", "1", "2", "STORE", "dst") == 2
    assert r.lrange("dst", 0, -1) == ["9", "A"]


def test_sorted_sets(r):
    """SORT orders a sorted set by its members; BY nosort keeps the score order."""
    r.zadd("z", {"30": 1, "20": 2, "10": 3, "40": 3})
    assert sort(r, "z") == ["10", "20", "30", "40"]
    assert sort(r, "z", "DESC") == ["40", "30", "20", "10"]
    assert sort(r, "z", "BY", "nosort") == ["30", "20", "10", "40"]
    assert sort(r, "z", "BY", "nosort", "DESC") == ["40", "10", "20", "30"]
    assert sort(r, "z", "BY", "nosort", "LIMIT", "1", "2") == ["20", "10"]
    assert sort(r, "z", "BY", "nosort", "DESC", "LIMIT", "1", "2") == ["10", "20"]
    assert sort(r, "z", "BY", "nosort", "LIMIT", "3", "10") == ["40"]
    assert sort(r, "z", "BY", "nosort", "LIMIT", "4", "10") == []
    assert sort(r, "z", "BY", "nosort", "STORE", "dst") == 4
    assert r.lrange("dst", 0, -1) == ["30", "20", "10", "40"]
    r.zadd("zw", {"b": 1, "a": 2})
    assert sort(r, "zw", "ALPHA") == ["a", "b"]
    assert sort(r, "zw", "BY", "nosort") == ["b", "a"]
    assert err(sort, r, "zw") == NOT_DOUBLE


def test_large_collections(r):
    """Past the packed encodings (list, intset/hashtable set, skiplist zset)."""
    nums = [str((i * 7919) % 1000 - 500) for i in range(700)]
    r.rpush("l", *nums)
    r.sadd("s", *nums)
    words = ["w%05d" % ((i * 613) % 997) for i in range(600)]
    r.sadd("sw", *words)
    r.zadd("z", {w: i % 13 for i, w in enumerate(words)})
    assert sort(r, "l") == sorted(nums, key=lambda x: (int(x), x))
    assert sort(r, "s", "DESC") == sorted(set(nums), key=int, reverse=True)
    assert sort(r, "sw", "ALPHA", "LIMIT", "100", "50") == sorted(set(words))[100:150]
    by_score = [w for w, _ in r.zrange("z", 0, -1, withscores=True)]
    assert sort(r, "z", "BY", "nosort") == by_score
    assert sort(r, "z", "BY", "nosort", "DESC", "LIMIT", "10", "300") == by_score[::-1][10:310]
    assert sort(r, "z", "ALPHA", "DESC") == sorted(set(words), reverse=True)


# ---- BY nosort on lists ------------------------------------------------------------------

def test_list_by_nosort_keeps_order(r):
    r.rpush("l", "c", "a", "3", "b", "1")
    assert sort(r, "l", "BY", "nosort") == ["c", "a", "3", "b", "1"]
    assert sort(r, "l", "BY", "nosort", "DESC") == ["1", "b", "3", "a", "c"]
    assert sort(r, "l", "BY", "nosort", "LIMIT", "1", "3") == ["a", "3", "b"]
    assert sort(r, "l", "BY", "nosort", "DESC", "LIMIT", "1", "3") == ["b", "3", "a"]
    assert sort(r, "l", "BY", "nosort", "DESC", "LIMIT", "3", "100") == ["a", "c"]
    assert sort(r, "l", "BY", "nosort", "LIMIT", "5", "1") == []
    # Any BY without '*' disables sorting, even with a real pattern given later.
    r.mset({"w_c": 1, "w_a": 2, "w_3": 3, "w_b": 4, "w_1": 5})
    assert sort(r, "l", "BY", "nosort", "BY", "w_*") == ["c", "a", "3", "b", "1"]
    assert sort(r, "l", "BY", "w_*") == ["c", "a", "3", "b", "1"]
    assert sort(r, "l", "BY", "w_*", "DESC") == ["1", "b", "3", "a", "c"]


# ---- BY patterns -------------------------------------------------------------------------

def test_by_weight_keys(r):
    r.rpush("l", "a", "b", "c", "d")
    r.mset({"w_a": "30", "w_b": "-1.5", "w_c": "7"})  # d has no weight: 0
    assert sort(r, "l", "BY", "w_*") == ["b", "d", "c", "a"]
    assert sort(r, "l", "BY", "w_*", "DESC") == ["a", "c", "d", "b"]
    assert sort(r, "l", "BY", "w_*", "LIMIT", "1", "2") == ["d", "c"]
    assert sort(r, "l", "BY", "w_*", "DESC", "LIMIT", "0", "1") == ["a"]
    # A weight of another type counts as missing.
    r.delete("w_a")
    r.rpush("w_a", "100")
    assert sort(r, "l", "BY", "w_*") == ["b", "a", "d", "c"]
    r.set("w_c", "seven")
    assert err(sort, r, "l", "BY", "w_*") == NOT_DOUBLE


def test_by_pattern_with_prefix_and_suffix(r):
    r.rpush("l", "1", "2", "3")
    r.mset({"pre:1:post": 3, "pre:2:post": 1, "pre:3:post": 2})
    assert sort(r, "l", "BY", "pre:*:post") == ["2", "3", "1"]
    # Only the first '*' is substituted.
    r.mset({"x1*": 2, "x2*": 1, "x3*": 3})
    assert sort(r, "l", "BY", "x**") == ["2", "1", "3"]


def test_by_hash_fields(r):
    r.rpush("l", "1", "2", "3", "4")
    r.hset("h_1", mapping={"age": 40, "name": "dan"})
    r.hset("h_2", mapping={"age": 25, "name": "bob"})
    r.hset("h_3", mapping={"age": 31, "name": "cat"})
    r.hset("h_4", mapping={"name": "amy"})  # no age: 0
    assert sort(r, "l", "BY", "h_*->age") == ["4", "2", "3", "1"]
    assert sort(r, "l", "BY", "h_*->age", "DESC") == ["1", "3", "2", "4"]
    assert sort(r, "l", "BY", "h_*->name", "ALPHA") == ["4", "2", "3", "1"]
    assert sort(r, "l", "BY", "h_*->name", "ALPHA", "DESC") == ["1", "3", "2", "4"]
    assert err(sort, r, "l", "BY", "h_*->name") == NOT_DOUBLE
    # A string where a hash is expected counts as missing.
    r.delete("h_1")
    r.set("h_1", "99")
    assert sort(r, "l", "BY", "h_*->age") == ["1", "4", "2", "3"]


def test_by_alpha_missing_weights_sort_first(r):
    r.rpush("l", "1", "2", "3", "4")
    r.mset({"n_1": "delta", "n_2": "alpha", "n_4": "charlie"})
    assert sort(r, "l", "BY", "n_*", "ALPHA") == ["3", "2", "4", "1"]
    assert sort(r, "l", "BY", "n_*", "ALPHA", "DESC") == ["1", "4", "2", "3"]
    assert sort(r, "l", "BY", "n_*", "ALPHA", "STORE", "dst") == 4
    assert r.lrange("dst", 0, -1) == ["3", "2", "4", "1"]


def test_expired_weights_count_as_missing(r):
    r.rpush("l", *[str(i) for i in range(40)])
    for i in range(40):
        r.set("w_%d" % i, 100 - i, px=1 if i % 2 else None)
    r.set("g_5", "five", px=1)
    time.sleep(0.02)
    # Missing weights (the odd ones) are 0 and tie: the elements decide, bytewise.
    odd_first = sorted(str(i) for i in range(1, 40, 2)) + [str(i) for i in range(38, -1, -2)]
    assert sort(r, "l", "BY", "w_*", "GET", "#", "GET", "g_*") == \
        [x for e in odd_first for x in (e, None)]
    assert r.exists("w_1") == 0


# ---- GET -------------------------------------------------------------------------------

def test_get_patterns(r):
    r.rpush("l", "2", "1", "3")
    r.mset({"obj_1": "one", "obj_2": "two"})
    r.hset("h_1", "f", "h1")
    r.hset("h_3", "f", "h3")
    assert sort(r, "l", "GET", "obj_*") == ["one", "two", None]
    assert sort(r, "l", "GET", "#", "GET", "obj_*", "GET", "h_*->f") == [
        "1", "one", "h1", "2", "two", None, "3", None, "h3"]
    assert sort(r, "l", "DESC", "LIMIT", "0", "2", "GET", "h_*->f", "GET", "#") == [
        "h3", "3", None, "2"]
    assert sort(r, "l", "GET", "h_*->nofield") == [None, None, None]
    assert sort(r, "l", "GET", "nostar") == [None, None, None]
    # Wrong types read as missing: a hash for a plain pattern, a string for a field.
    assert sort(r, "l", "GET", "h_*") == [None, None, None]
    assert sort(r, "l", "GET", "obj_*->f") == [None, None, None]
    # "->" with nothing after it is part of the key name.
    r.set("q_1->", "arrow")
    assert sort(r, "l", "GET", "q_*->") == ["arrow", None, None]
    # GET # returns the element; BY # has no '*' so it does not sort.
    assert sort(r, "l", "BY", "#", "GET", "#") == ["2", "1", "3"]


def test_get_null_in_resp3(raw):
    c = raw()  # raw connections do not flush: a key of its own
    c.cmd("HELLO", "3")
    c.cmd("DEL", "sort:resp3")
    c.cmd("RPUSH", "sort:resp3", "1")
    assert c.cmd("SORT", "sort:resp3", "GET", "#", "GET", "sort:missing_*") == [b"1", "NULL3"]
    c.cmd("DEL", "sort:resp3")


def test_redis_py_sort_helper(r):
    r.rpush("l", "3", "1", "2")
    r.mset({"w_1": 3, "w_2": 2, "w_3": 1, "n_1": "a", "n_2": "b", "n_3": "c"})
    assert r.sort("l") == ["1", "2", "3"]
    assert r.sort("l", start=1, num=1, desc=True) == ["2"]
    assert r.sort("l", by="w_*", get=["#", "n_*"], groups=True) == [
        ("3", "c"), ("2", "b"), ("1", "a")]
    assert r.sort("l", by="w_*", store="dst") == 3
    assert r.lrange("dst", 0, -1) == ["3", "2", "1"]
    assert r.sort_ro("l", by="w_*", get="n_*") == ["c", "b", "a"]


# ---- LIMIT -----------------------------------------------------------------------------

def test_limit_clamping(r):
    r.rpush("l", "5", "4", "3", "2", "1")
    assert sort(r, "l", "LIMIT", "1", "2") == ["2", "3"]
    assert sort(r, "l", "LIMIT", "-5", "2") == ["1", "2"]     # negative offset: 0
    assert sort(r, "l", "LIMIT", "2", "-1") == ["3", "4", "5"]  # negative count: all
    assert sort(r, "l", "LIMIT", "2", "-9") == ["3", "4", "5"]
    assert sort(r, "l", "LIMIT", "3", "100") == ["4", "5"]
    assert sort(r, "l", "LIMIT", "5", "1") == []
    assert sort(r, "l", "LIMIT", "100", "1") == []
    assert sort(r, "l", "LIMIT", "0", "0") == []
    assert sort(r, "l", "LIMIT", "1", "2", "DESC") == ["4", "3"]
    assert sort(r, "l", "LIMIT", "0", "1", "LIMIT", "4", "1") == ["5"]  # last one wins
    big = str(2**63 - 1)
    assert sort(r, "l", "LIMIT", "1", big) == ["2", "3", "4", "5"]
    assert sort(r, "l", "LIMIT", big, big) == []
    assert sort(r, "l", "LIMIT", str(-2**63), "1") == ["1"]


def test_limit_errors(r):
    r.rpush("l", "1", "2")
    assert err(sort, r, "l", "LIMIT", "x", "1") == NOT_INT
    assert err(sort, r, "l", "LIMIT", "0", "1.5") == NOT_INT
    assert err(sort, r, "l", "LIMIT", "0", str(2**63)) == NOT_INT
    assert err(sort, r, "l", "LIMIT", "1") == SYNTAX
    assert err(sort, r, "l", "LIMIT") == SYNTAX


# ---- STORE -----------------------------------------------------------------------------

def test_store(r):
    r.rpush("l", "3", "1", "2")
    assert sort(r, "l", "STORE", "dst") == 3
    assert r.type("dst") == "list"
    assert r.lrange("dst", 0, -1) == ["1", "2", "3"]
    # Replaces a value of another type and drops its TTL.
    r.delete("dst")
    r.set("dst", "string", ex=1000)
    assert sort(r, "l", "DESC", "STORE", "dst") == 3
    assert r.lrange("dst", 0, -1) == ["3", "2", "1"]
    assert r.ttl("dst") == -1
    # Into the source itself.
    assert sort(r, "l", "STORE", "l") == 3
    assert r.lrange("l", 0, -1) == ["1", "2", "3"]


def test_store_with_gets_counts_every_value(r):
    r.rpush("l", "1", "2", "3")
    r.mset({"o_1": "one", "o_3": "three"})
    assert sort(r, "l", "GET", "#", "GET", "o_*", "STORE", "dst") == 6
    # A missing GET target stores an empty string.
    assert r.lrange("dst", 0, -1) == ["1", "one", "2", "", "3", "three"]
    assert sort(r, "l", "GET", "nostar", "LIMIT", "0", "2", "STORE", "dst") == 2
    assert r.lrange("dst", 0, -1) == ["", ""]


def test_store_empty_result_deletes_destination(r):
    r.rpush("l", "1", "2")
    r.set("dst", "x")
    assert sort(r, "l", "LIMIT", "5", "5", "STORE", "dst") == 0
    assert r.exists("dst") == 0
    r.hset("dst", "f", "v")
    assert sort(r, "missing", "STORE", "dst") == 0
    assert r.exists("dst") == 0
    assert sort(r, "missing", "STORE", "dst") == 0


def test_store_is_seen_by_watch(server, r):
    r.rpush("l", "2", "1")
    other = server.client(decode_responses=True)
    try:
        p = r.pipeline()
        p.watch("dst")
        other.sort("l", store="dst")
        p.multi()
        p.set("x", "1")
        with pytest.raises(redis.WatchError):
            p.execute()
        # A SORT without STORE writes nothing: a WATCH on its key survives.
        p = r.pipeline()
        p.watch("l")
        other.sort("l")
        other.sort_ro("l")
        p.multi()
        p.set("x", "2")
        assert p.execute() == [True]
    finally:
        other.close()


def test_store_inside_multi(r):
    r.sadd("s", "b", "c", "a")
    p = r.pipeline(transaction=True)
    p.sort("s", alpha=True, store="dst")
    p.lrange("dst", 0, -1)
    assert p.execute() == [3, ["a", "b", "c"]]


# ---- types, errors, SORT_RO ---------------------------------------------------------------

def test_wrong_types_and_missing_key(r):
    r.set("str", "x")
    r.hset("hash", "f", "v")
    for cmd in (sort, sort_ro):
        assert err(cmd, r, "str") == WRONGTYPE
        assert err(cmd, r, "hash") == WRONGTYPE
        assert cmd(r, "missing") == []
        assert cmd(r, "missing", "BY", "w_*", "GET", "#", "LIMIT", "0", "10") == []
    assert err(sort, r, "str", "STORE", "dst") == WRONGTYPE
    # Options are parsed before the key is looked up.
    assert err(sort, r, "str", "BOGUS") == SYNTAX


def test_syntax_errors(r):
    r.rpush("l", "1")
    assert err(sort, r, "l", "FOO") == SYNTAX
    assert err(sort, r, "l", "BY") == SYNTAX
    assert err(sort, r, "l", "GET") == SYNTAX
    assert err(sort, r, "l", "STORE") == SYNTAX
    assert err(sort, r, "l", "ALPHA", "LIMIT", "0") == SYNTAX
    assert err(r.execute_command, "SORT") == "wrong number of arguments for 'sort' command"
    assert err(r.execute_command, "SORT_RO") == \
        "wrong number of arguments for 'sort_ro' command"


def test_sort_ro(r):
    r.rpush("l", "2", "3", "1")
    r.mset({"w_1": 3, "w_2": 2, "w_3": 1})
    assert sort_ro(r, "l") == ["1", "2", "3"]
    assert sort_ro(r, "l", "BY", "w_*", "GET", "#", "DESC", "ALPHA") == ["1", "2", "3"]
    assert err(sort_ro, r, "l", "STORE", "dst") == SYNTAX
    assert r.exists("dst") == 0


def test_command_info(raw):
    sort_info, ro_info = raw().cmd("COMMAND", "INFO", "sort", "sort_ro")
    for info in (sort_info, ro_info):
        info[2] = [f.encode() if isinstance(f, str) else f for f in info[2]]
    assert sort_info[:2] == [b"sort", -2] and sort_info[3:6] == [1, 1, 1]
    assert b"write" in sort_info[2] and b"denyoom" in sort_info[2]
    assert ro_info[:2] == [b"sort_ro", -2] and ro_info[3:6] == [1, 1, 1]
    assert b"readonly" in ro_info[2] and b"write" not in ro_info[2]


# ---- persistence -------------------------------------------------------------------------

def test_store_survives_an_aof_restart(server_factory):
    s = server_factory(aof="always")
    c = s.client()
    members = [b"m%04d" % i for i in range(2500)]
    c.sadd("s", *members)
    c.rpush("l", *[str(i) for i in range(3000, 0, -1)])
    c.set("gone", "x")
    assert c.sort("s", by="nosort", store="ds") == 2500
    assert c.sort("l", start=10, num=1500, store="dl") == 1500
    assert c.sort("l", get=["#", "#"], start=0, num=600, desc=True, store="dg") == 1200
    assert c.sort("l", start=5000, num=1, store="gone") == 0
    before = {k: c.lrange(k, 0, -1) for k in ("ds", "dl", "dg")}
    digest = c.execute_command("DEBUG", "DIGEST")
    s.keep = True
    s.stop()
    s2 = server_factory(dir=s.dir, aof="always")
    c2 = s2.client()
    assert c2.execute_command("DEBUG", "DIGEST") == digest
    assert {k: c2.lrange(k, 0, -1) for k in ("ds", "dl", "dg")} == before
    assert before["ds"] == sorted(members)
    assert c2.exists("gone") == 0


def aof_commands(path):
    data = open(path, "rb").read()
    i, out = 0, []
    while i < len(data):
        if data[i:i + 1] != b"*":  # timestamp annotations and the like
            i = data.index(b"\n", i) + 1
            continue
        j = data.index(b"\r\n", i)
        n, i, argv = int(data[i + 1:j]), j + 2, []
        for _ in range(n):
            j = data.index(b"\r\n", i)
            ln = int(data[i + 1:j])
            argv.append(data[j + 2:j + 2 + ln])
            i = j + 4 + ln
        out.append(argv)
    return out


@ferrite_only
def test_store_is_logged_as_del_and_rpush_chunks(server_factory):
    s = server_factory(aof="always")
    c = s.client()
    c.sadd("s", *[b"m%04d" % i for i in range(2500)])
    c.rpush("l", "2", "1")
    c.sort("s", by="nosort", store="big")      # hash order must not reach the log
    c.sort("l")                                # no STORE: nothing logged
    c.sort("l", start=9, num=1, store="none")  # empty, nothing to delete: nothing logged
    c.set("old", "x")
    c.sort("l", start=9, num=1, store="old")   # empty: DEL
    c.sort("l", store="small")
    cmds = [a for a in aof_commands(s.aof_path()) if a[0].upper() not in (b"SELECT", b"SADD")]
    assert not any(a[0].upper() == b"SORT" for a in cmds)
    names = [a[0].upper() for a in cmds]
    assert names == [b"RPUSH", b"DEL", b"RPUSH", b"RPUSH", b"RPUSH", b"SET", b"DEL", b"DEL",
                     b"RPUSH"]
    assert cmds[0] == [b"RPUSH", b"l", b"2", b"1"]
    assert cmds[1] == [b"DEL", b"big"]
    chunks = cmds[2:5]
    assert [len(a) - 2 for a in chunks] == [1024, 1024, 452]
    assert all(a[1] == b"big" for a in chunks)
    assert [m for a in chunks for m in a[2:]] == sorted(b"m%04d" % i for i in range(2500))
    assert cmds[6] == [b"DEL", b"old"]
    assert cmds[7:] == [[b"DEL", b"small"], [b"RPUSH", b"small", b"1", b"2"]]
