"""Hostile input and the divergences the differential fuzzer (tests/difffuzz) found.

Each test names the behaviour of redis-server 7.0.15 it pins down; the whole file also runs
against Debian's redis-server (FERRITE_TEST_TARGET=redis), which proves the expectations are
Redis's. Replies are read raw (conftest.Raw), so error texts are compared byte for byte.
"""
import socket
import time

import pytest

from conftest import IS_REDIS, Raw

I64_MIN = "-9223372036854775808"
I64_MAX = "9223372036854775807"
RANGE_ERR = ("ERR", "ERR value is out of range, value must between -9223372036854775807 and "
             "9223372036854775807")
NOT_INT = ("ERR", "ERR value is not an integer or out of range")


@pytest.fixture
def raw(server):
    c = Raw(server.port)
    c.cmd("FLUSHALL")
    yield c
    c.close()


def alive(server):
    c = Raw(server.port)
    try:
        return c.cmd("PING") == "PONG"
    finally:
        c.close()


# ---------------------------------------------------------------- glob matching
def test_keys_with_many_stars_against_a_long_key_answers(raw, server):
    """The matcher gives up on a failed '*' tail (Redis's skipLongerMatches): 35 stars
    against 10 000 'a' used to take exponential time and stall every client."""
    raw.cmd("SET", "a" * 10000, "v")
    raw.sock.settimeout(30)
    pattern = "a*" * 35 + "b"
    assert raw.cmd("KEYS", pattern) == []
    assert raw.cmd("SCAN", "0", "MATCH", pattern, "COUNT", "100") == [b"0", []]
    raw.cmd("HSET", "h", "a" * 10000, "1")
    assert raw.cmd("HSCAN", "h", "0", "MATCH", pattern) == [b"0", []]
    raw.cmd("SADD", "s", "a" * 10000)
    assert raw.cmd("SSCAN", "s", "0", "MATCH", pattern) == [b"0", []]
    raw.cmd("ZADD", "z", "1", "a" * 10000)
    assert raw.cmd("ZSCAN", "z", "0", "MATCH", pattern) == [b"0", []]
    assert raw.cmd("KEYS", "a*" * 35 + "a") == [b"a" * 10000]
    assert alive(server)


def test_pattern_subscriptions_with_many_stars(server):
    sub = Raw(server.port)
    pub = Raw(server.port)
    pattern = "a*" * 35 + "b"
    assert sub.cmd("PSUBSCRIBE", pattern) == [b"psubscribe", pattern.encode(), 1]
    pub.sock.settimeout(30)
    assert pub.cmd("PUBLISH", "a" * 10000, "m") == 0
    assert pub.cmd("PUBLISH", "a" * 100 + "b", "m") == 1
    assert pub.cmd("PUBSUB", "NUMPAT") == 1
    assert sub.reply() == [b"pmessage", pattern.encode(), b"a" * 100 + b"b", b"m"]
    sub.close()
    pub.close()


def test_pubsub_channels_and_config_get_with_long_patterns(server):
    sub = Raw(server.port)
    q = Raw(server.port)
    sub.cmd("SUBSCRIBE", "a" * 5000)
    q.sock.settimeout(30)
    assert q.cmd("PUBSUB", "CHANNELS", "a*" * 40 + "b") == []
    assert q.cmd("PUBSUB", "CHANNELS", "a*" * 40) == [b"a" * 5000]
    assert q.cmd("CONFIG", "GET", "*a*" * 40 + "zz") == ([] if not IS_REDIS else [])
    sub.close()
    q.close()


def test_glob_ranges_compare_bytes_as_signed_chars(raw):
    """[a-\\xff] is the range [-1 .. 'a'] in Redis (char is signed)."""
    for k in (b"z", b"A", b"\x80"):
        raw.cmd("SET", k, "1")
    assert sorted(raw.cmd("KEYS", b"[a-\xff]")) == [b"A"]
    assert raw.cmd("KEYS", b"[\\]]") == []  # nothing matches: there is no key "]"
    raw.cmd("SET", "]", "1")
    assert raw.cmd("KEYS", b"[\\]]") == [b"]"]


def test_scan_match_of_the_empty_pattern_matches_only_the_empty_name(raw):
    raw.cmd("SADD", "s", "", "a")
    assert raw.cmd("SSCAN", "s", "0", "MATCH", "") == [b"0", [b""]]


# ---------------------------------------------------------------- random-count commands
def test_srandmember_int64_min_is_refused_and_the_server_lives(raw, server):
    raw.cmd("SADD", "s", "a", "b")
    assert raw.cmd("SRANDMEMBER", "s", I64_MIN) == RANGE_ERR
    assert raw.cmd("SRANDMEMBER", "missing", I64_MIN) == RANGE_ERR  # before the lookup
    assert raw.cmd("SRANDMEMBER", "s", "abc", "x") == ("ERR", "ERR syntax error")
    assert alive(server)


def test_hrandfield_and_zrandmember_ranges(raw):
    raw.cmd("HSET", "h", "f", "v")
    raw.cmd("ZADD", "z", "1", "m")
    for cmd, key, opt in (("HRANDFIELD", "h", "WITHVALUES"), ("ZRANDMEMBER", "z", "WITHSCORES")):
        assert raw.cmd(cmd, key, I64_MIN) == RANGE_ERR
        assert raw.cmd(cmd, key, "4611686018427387904", opt) == ("ERR", "ERR value is out of range")
        assert raw.cmd(cmd, key, "-4611686018427387904", opt) == ("ERR", "ERR value is out of range")
        # The count is parsed before the syntax is checked.
        assert raw.cmd(cmd, key, "abc", "FOO") == NOT_INT
        assert raw.cmd(cmd, key, "1", "FOO") == ("ERR", "ERR syntax error")
        assert raw.cmd(cmd, key, "0") == []


@pytest.mark.parametrize("cmd,setup", [
    ("HRANDFIELD", ("HSET", "k", "f", "v")),
    ("SRANDMEMBER", ("SADD", "k", "m")),
    ("ZRANDMEMBER", ("ZADD", "k", "1", "m")),
])
def test_a_huge_negative_count_stops_at_the_output_limit(server_factory, cmd, setup):
    """HRANDFIELD h -4294967297 on a small hash used to build a 4-billion-entry reply until
    the OOM killer came. The reply now stops at the client's output-buffer hard limit: that
    client is closed, the server's memory stays bounded and everyone else is served."""
    s = server_factory()
    admin = Raw(s.port)
    admin.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 8mb 4mb 60")
    admin.cmd(*setup)
    victim = Raw(s.port)
    victim.sock.settimeout(60)
    victim.send(b"*3\r\n$%d\r\n%s\r\n$1\r\nk\r\n$11\r\n-4294967297\r\n" % (len(cmd), cmd.encode()))
    assert victim.closed(timeout=60)
    assert admin.cmd("PING") == "PONG"
    info = admin.cmd("INFO", "memory").decode()
    used = int(info.split("used_memory:")[1].split("\r\n")[0])
    assert used < 200 * 1024 * 1024
    victim.close()
    admin.close()


def test_spop_and_list_pop_counts(raw):
    raw.cmd("SADD", "s", "a")
    raw.cmd("RPUSH", "l", "a")
    pos = ("ERR", "ERR value is out of range, must be positive")
    assert raw.cmd("SPOP", "s", "-1") == pos
    assert raw.cmd("SPOP", "s", "abc") == pos
    assert raw.cmd("SPOP", "missing", "3") == []
    assert raw.cmd("LPOP", "l", "-1") == pos
    assert raw.cmd("LPOP", "l", "1", "2") == ("ERR", "ERR wrong number of arguments for 'lpop' command")
    assert raw.cmd("RPOP", "l", "1", "x") == ("ERR", "ERR wrong number of arguments for 'rpop' command")
    assert raw.cmd("LPOP", "missing", "2") is None


# ---------------------------------------------------------------- expiry arithmetic
def test_expire_overflow_is_an_invalid_expire_time(raw):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("EXPIRE", "k", I64_MAX) == ("ERR", "ERR invalid expire time in 'expire' command")
    assert raw.cmd("PEXPIRE", "k", I64_MAX) == ("ERR", "ERR invalid expire time in 'pexpire' command")
    assert raw.cmd("EXPIREAT", "k", I64_MAX) == ("ERR", "ERR invalid expire time in 'expireat' command")
    assert raw.cmd("EXPIRE", "k", "1", "FOO") == ("ERR", "ERR Unsupported option FOO")
    assert raw.cmd("TTL", "k") == -1


def test_set_expiry_limits(raw):
    """EX seconds overflow when made ms; relative times overflow when now is added; absolute
    ones do not need to."""
    assert raw.cmd("SET", "k", "v", "EX", "9223372036854776") == \
        ("ERR", "ERR invalid expire time in 'set' command")
    assert raw.cmd("SET", "k", "v", "PX", "9223372036854775806") == \
        ("ERR", "ERR invalid expire time in 'set' command")
    assert raw.cmd("SET", "k", "v", "PX", "4611686018427387903") == "OK"
    assert raw.cmd("SET", "k", "v", "EXAT", "9223372036854775") == "OK"
    assert raw.cmd("EXPIRETIME", "k") == 9223372036854775
    assert raw.cmd("SETEX", "k", "4611686018427387", "v") == "OK"
    assert raw.cmd("PSETEX", "k", "4611686018427387903", "v") == "OK"
    assert raw.cmd("SET", "k", "v", "EX", "0") == ("ERR", "ERR invalid expire time in 'set' command")
    # An option may repeat; NX and XX may not be combined.
    assert raw.cmd("SET", "k", "v", "EX", "100", "EX", "200") == "OK"
    assert raw.cmd("TTL", "k") == 200
    assert raw.cmd("SET", "k", "v", "NX", "XX") == ("ERR", "ERR syntax error")
    assert raw.cmd("SET", "k", "v", "KEEPTTL", "EX", "1") == ("ERR", "ERR syntax error")
    # Options are compared as C strings.
    assert raw.cmd("SET", "k2", "v", b"nx\x00junk") == "OK"
    assert raw.cmd("SET", "k2", "w", b"nx\x00junk") is None


def test_getex_checks_the_key_before_the_amount(raw):
    assert raw.cmd("GETEX", "missing", "EX", "abc") is None
    raw.cmd("SET", "k", "v")
    assert raw.cmd("GETEX", "k", "EX", "abc") == NOT_INT
    assert raw.cmd("GETEX", "k", "EX", "0") == ("ERR", "ERR invalid expire time in 'getex' command")
    assert raw.cmd("GETEX", "k", "NX") == ("ERR", "ERR syntax error")
    assert raw.cmd("GETEX", "k", "PX", "9223372036854770000") == \
        ("ERR", "ERR invalid expire time in 'getex' command")


def test_expiretime_near_int64_max(raw):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("PEXPIREAT", "k", I64_MAX) == 1
    assert raw.cmd("PEXPIRETIME", "k") == int(I64_MAX)
    assert raw.cmd("EXPIRETIME", "k") == 9223372036854776


# ---------------------------------------------------------------- counters and floats
def test_incrbyfloat_infinity_and_order(raw):
    raw.cmd("SET", "k", "1")
    assert raw.cmd("INCRBYFLOAT", "k", "inf") == ("ERR", "ERR increment would produce NaN or Infinity")
    assert raw.cmd("INCRBYFLOAT", "k", "abc") == ("ERR", "ERR value is not a valid float")
    raw.cmd("RPUSH", "l", "a")
    assert raw.cmd("INCRBYFLOAT", "l", "abc")[1].startswith("WRONGTYPE")
    raw.cmd("SET", "k", "1e5000")  # past long double: not a float
    assert raw.cmd("INCRBYFLOAT", "k", "1") == ("ERR", "ERR value is not a valid float")


def test_counters_overflow(raw):
    raw.cmd("SET", "k", I64_MAX)
    assert raw.cmd("INCR", "k") == ("ERR", "ERR increment or decrement would overflow")
    assert raw.cmd("DECRBY", "k", I64_MIN) == ("ERR", "ERR decrement would overflow")
    raw.cmd("HSET", "h", "f", I64_MIN)
    assert raw.cmd("HINCRBY", "h", "f", "-1") == ("ERR", "ERR increment or decrement would overflow")
    assert raw.cmd("HINCRBYFLOAT", "h", "g", "inf") == ("ERR", "ERR value is NaN or Infinity")


def test_float_parsing_is_redis_string2d(raw):
    """A denormal is a valid score; an overflow (1e309) is not; -0 prints as -0 in
    ZINCRBY's reply and is stored as 0 in a small sorted set."""
    assert raw.cmd("ZADD", "z", "1e-320", "a") == 1
    assert raw.cmd("ZADD", "z", "1e309", "b") == ("ERR", "ERR value is not a valid float")
    assert raw.cmd("ZINCRBY", "z", "4.9e-324", "c") == b"4.9406564584124654e-324"
    assert raw.cmd("ZINCRBY", "z", "-0.0", "d") == b"-0"
    assert raw.cmd("ZSCORE", "z", "d") == b"0"
    assert raw.cmd("ZADD", "z", " 1", "e") == ("ERR", "ERR value is not a valid float")


# ---------------------------------------------------------------- sorted sets
def test_zset_ranges_are_parsed_before_the_key_is_looked_up(raw):
    raw.cmd("SET", "str", "x")
    assert raw.cmd("ZRANGEBYSCORE", "str", "-inf", "((1") == ("ERR", "ERR min or max is not a float")
    assert raw.cmd("ZRANGEBYLEX", "str", "a", "[") == \
        ("ERR", "ERR min or max not valid string range item")
    assert raw.cmd("ZREVRANGE", "str", "+1", "-7") == NOT_INT
    assert raw.cmd("ZREMRANGEBYSCORE", "str", "nan", "1") == ("ERR", "ERR min or max is not a float")
    assert raw.cmd("ZRANGESTORE", "d", "str", "00", "7") == NOT_INT
    assert raw.cmd("ZRANGE", "str", "0", "1")[1].startswith("WRONGTYPE")


def test_zset_score_bounds_are_strtod(raw):
    """zslParseRange uses strtod: leading spaces and "" (0) pass, trailing bytes do not."""
    raw.cmd("ZADD", "z", "0", "a", "1", "b", "2", "c")
    assert raw.cmd("ZRANGEBYSCORE", "z", "( 1", "+inf") == [b"c"]
    assert raw.cmd("ZRANGE", "z", "", "5", "BYSCORE") == [b"a", b"b", b"c"]
    assert raw.cmd("ZCOUNT", "z", "1e309", "inf") == 0
    assert raw.cmd("ZCOUNT", "z", "1x", "2") == ("ERR", "ERR min or max is not a float")


def test_zrank_has_no_withscore_in_7_0(raw):
    assert raw.cmd("ZRANK", "z", "m", "WITHSCORE") == \
        ("ERR", "ERR wrong number of arguments for 'zrank' command")


def test_zset_operations_check_types_before_options(raw):
    raw.cmd("SET", "str", "x")
    assert raw.cmd("ZUNION", "1", "str", "AGGREGATE", "AVG")[1].startswith("WRONGTYPE")
    assert raw.cmd("ZINTERCARD", "3", "a", "b") == ("ERR", "ERR syntax error")
    assert raw.cmd("ZINTERCARD", "0", "a") == \
        ("ERR", "ERR at least 1 input key is needed for 'zintercard' command")
    assert raw.cmd("ZUNIONSTORE", "d", "1", "z", "WEIGHTS", "nan") == \
        ("ERR", "ERR weight value is not a float")


def test_zmpop_and_bzmpop_parse_keys_before_the_timeout(raw):
    assert raw.cmd("BZMPOP", I64_MAX, "2", "a", "b", "MID") == ("ERR", "ERR syntax error")
    assert raw.cmd("BZMPOP", "abc", "1", "a", "MIN", "COUNT", "0") == \
        ("ERR", "ERR count should be greater than 0")
    assert raw.cmd("BLMPOP", "-1", "abc", "a", "LEFT") == \
        ("ERR", "ERR numkeys should be greater than 0")
    assert raw.cmd("ZMPOP", I64_MAX, "k", "MIN") == ("ERR", "ERR syntax error")


def test_blocking_timeouts_overflow_to_negative(raw):
    """Redis casts ceil(seconds * 1000) to an integer unchecked: huge or infinite values come
    out negative there."""
    neg = ("ERR", "ERR timeout is negative")
    assert raw.cmd("BLPOP", "k", I64_MAX) == neg
    assert raw.cmd("BRPOP", "k", "1e20") == neg
    assert raw.cmd("BZPOPMIN", "k", "inf") == neg
    assert raw.cmd("BLMOVE", "a", "b", "LEFT", "LEFT", "-0.5") == neg
    assert raw.cmd("BLPOP", "k", "nan") == ("ERR", "ERR timeout is not a float or out of range")


def test_xread_block_past_int64_waits_for_data(server):
    """XREAD BLOCK takes milliseconds as an integer and adds it to the clock: with INT64_MAX
    the read waits (Redis overflows into a deadline that never comes; Ferrite saturates, no
    overflow) and is answered when data arrives, not at once."""
    c, w = Raw(server.port), Raw(server.port)
    w.cmd("DEL", "s")
    c.send(b"*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$19\r\n" + I64_MAX.encode() +
           b"\r\n$7\r\nSTREAMS\r\n$1\r\ns\r\n$1\r\n$\r\n")
    time.sleep(0.3)
    c.sock.settimeout(0.2)
    with pytest.raises(socket.timeout):
        c.sock.recv(1)  # still waiting
    c.sock.settimeout(10)
    assert w.cmd("XADD", "s", "1-1", "f", "v") == b"1-1"
    assert c.reply() == [[b"s", [[b"1-1", [b"f", b"v"]]]]]
    assert c.cmd("XREAD", "BLOCK", "-1", "STREAMS", "s", "0") == ("ERR", "ERR timeout is negative")
    w.cmd("DEL", "s")
    c.close()
    w.close()


def test_stream_container_commands_check_subcommands_first(server):
    """XINFO and XGROUP are container commands in Redis 7.0: the subcommand and its arity are
    checked first, and errors name "xinfo|stream"."""
    c = Raw(server.port)
    assert c.cmd("XINFO", "FOO") == ("ERR", "ERR unknown subcommand 'FOO'. Try XINFO HELP.")
    assert c.cmd("XINFO", "STREAM") == \
        ("ERR", "ERR wrong number of arguments for 'xinfo|stream' command")
    assert c.cmd("XGROUP", "SETID", "k", "g") == \
        ("ERR", "ERR wrong number of arguments for 'xgroup|setid' command")
    assert c.cmd("XGROUP", "DESTROY", "k", "g", "x") == \
        ("ERR", "ERR wrong number of arguments for 'xgroup|destroy' command")
    c.cmd("SUBSCRIBE", "ch")
    assert c.cmd("XINFO", "CONSUMERS", "k", "g") == (
        "ERR", "ERR Can't execute 'xinfo|consumers': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
        "PING / QUIT / RESET are allowed in this context")
    c.close()


def test_nogroup_errors_cut_names_at_a_nul(raw):
    """Redis formats the key and group names of NOGROUP errors with %s: the text stops at
    the first NUL byte of each name (found by the differential fuzzer)."""
    key, group = "\x00\xffk", "g\x00x"
    want = ("ERR", "NOGROUP No such key '' or consumer group 'g'")
    assert raw.cmd("XPENDING", key, group) == want
    assert raw.cmd("XCLAIM", key, group, "c", "0", "1-1") == want
    assert raw.cmd("XAUTOCLAIM", key, group, "c", "0", "0") == want
    assert raw.cmd("XREADGROUP", "GROUP", group, "c", "STREAMS", key, ">") == \
        ("ERR", want[1] + " in XREADGROUP with GROUP option")
    raw.cmd("XADD", "a\x00b", "1-1", "f", "v")
    assert raw.cmd("XINFO", "CONSUMERS", "a\x00b", group) == \
        ("ERR", "NOGROUP No such consumer group 'g' for key name 'a'")
    assert raw.cmd("XGROUP", "SETID", "a\x00b", group, "0") == \
        ("ERR", "NOGROUP No such consumer group 'g' for key name 'a'")


def test_xautoclaim_count_beyond_memory(raw):
    """Redis allocates COUNT stream IDs before claiming: a COUNT within range whose array
    cannot be allocated (here 1.5 EB) is refused with its allocation error."""
    raw.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    assert raw.cmd("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "92233720368547758") == \
        ("ERR", "ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
    assert raw.cmd("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "576460752303423488") == \
        ("ERR", "ERR COUNT must be > 0")
    assert raw.cmd("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "1000") == [b"0-0", [], []]


# ---------------------------------------------------------------- sets, lists, scans
def test_spop_of_most_of_a_set_leaves_a_new_set(raw):
    """SPOP with a count that leaves at most a sixth of the set moves the members that stay
    into a new set, encoded as new sets are: an intset when they are all integers, even if
    the old set was a hash table (found by the differential fuzzer, through DUMP)."""
    seen_ints = 0
    for _ in range(40):
        raw.cmd("DEL", "s")
        raw.cmd("SADD", "s", "a", *[str(i) for i in range(1, 12)])
        assert len(raw.cmd("SPOP", "s", "10")) == 10
        stay = raw.cmd("SMEMBERS", "s")
        all_ints = all(m.isdigit() for m in stay)
        seen_ints += all_ints
        rdb_type = raw.cmd("DUMP", "s")[0]
        assert (rdb_type == 11) == all_ints, (stay, rdb_type)  # 11: intset, 2: hash table
    assert seen_ints > 0
    raw.cmd("DEL", "s")
    raw.cmd("SADD", "s", "a", *[str(i) for i in range(1, 12)])
    raw.cmd("SPOP", "s", "2")  # many stay: the set is kept as it is
    assert raw.cmd("DUMP", "s")[0] == 2


def test_smove_from_a_missing_source(raw):
    raw.cmd("SET", "str", "x")
    assert raw.cmd("SMOVE", "missing", "str", "m") == 0


def test_sintercard_numkeys(raw):
    assert raw.cmd("SINTERCARD", "k1", "k5") == ("ERR", "ERR numkeys should be greater than 0")
    assert raw.cmd("SINTERCARD", "3", "a") == \
        ("ERR", "ERR Number of keys can't be greater than number of args")


def test_list_index_commands_look_the_key_up_first(raw):
    assert raw.cmd("LINDEX", "missing", "abc") is None
    assert raw.cmd("LSET", "missing", "abc", "x") == ("ERR", "ERR no such key")
    raw.cmd("SET", "str", "x")
    assert raw.cmd("LINDEX", "str", "abc")[1].startswith("WRONGTYPE")
    raw.cmd("RPUSH", "l", "a")
    assert raw.cmd("LINDEX", "l", "99999999999999999999") == NOT_INT
    assert raw.cmd("LSET", "l", "5", "x") == ("ERR", "ERR index out of range")


def test_lpos_rank_int64_min_as_redis_7_0(raw):
    """Redis 7.0 negates RANK without a check: -9223372036854775808 stays negative, so the
    search runs from the tail, every match counts and COUNT never stops it."""
    raw.cmd("RPUSH", "l", "a", "b", "a", "a")
    assert raw.cmd("LPOS", "l", "a", "RANK", I64_MIN) == 3
    assert raw.cmd("LPOS", "l", "a", "RANK", I64_MIN, "COUNT", "1") == [3, 2, 0]
    assert raw.cmd("LPOS", "l", "a", "RANK", "0") == ("ERR", "ERR RANK can't be zero: use 1 to "
                                                       "start from the first match, 2 from the "
                                                       "second ... or use negative to start from "
                                                       "the end of the list")
    assert raw.cmd("LPOS", "missing", "a", "COUNT", "0") == []


def test_scan_cursors_are_strtoul(raw):
    raw.cmd("SET", "k", "v")
    assert raw.cmd("SCAN", "")[0] == b"0"
    # strtoul wraps "-1" to 2^64-1, the last cursor: one bucket visited (which keys it
    # holds depends on the hash table), then the scan is over.
    cursor, keys = raw.cmd("SCAN", "-1")
    assert cursor == b"0" and set(keys) <= {b"k"}
    assert raw.cmd("SCAN", " 0") == ("ERR", "ERR invalid cursor")
    assert raw.cmd("SCAN", "18446744073709551616") == ("ERR", "ERR invalid cursor")
    assert raw.cmd("SCAN", "0", "COUNT", "0") == ("ERR", "ERR syntax error")
    assert raw.cmd("SCAN", "0", "COUNT", I64_MAX) == [b"0", [b"k"]]


def test_scans_of_missing_keys_ignore_their_options(raw):
    for cmd in ("SSCAN", "HSCAN", "ZSCAN"):
        assert raw.cmd(cmd, "missing", "0", "COUNT", "0") == [b"0", []]
        assert raw.cmd(cmd, "missing", "abc") == ("ERR", "ERR invalid cursor")


def test_small_collections_scan_whole_whatever_the_cursor(raw):
    raw.cmd("HSET", "h", "a", "1")
    assert raw.cmd("HSCAN", "h", "-1") == [b"0", [b"a", b"1"]]


# ---------------------------------------------------------------- bits
def test_bitcount_argument_order(raw):
    assert raw.cmd("BITCOUNT", "missing", "4") == 0
    raw.cmd("SET", "k", "foobar")
    assert raw.cmd("BITCOUNT", "k", "-1") == ("ERR", "ERR syntax error")
    assert raw.cmd("BITCOUNT", "k", "-1", "-2", "FOO") == 0
    assert raw.cmd("BITCOUNT", "k", "0", "-1", "FOO") == ("ERR", "ERR syntax error")


def test_bitfield_parse_order_and_types(raw):
    bad_type = ("ERR", "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is "
                "not supported but i64 is.")
    assert raw.cmd("BITFIELD", "k", "GET", "I8", "0") == bad_type
    assert raw.cmd("BITFIELD", "k", "GET", "u64", "0") == bad_type
    assert raw.cmd("BITFIELD_RO", "k", "SET", "u8", "#", "1") == \
        ("ERR", "ERR bit offset is not an integer or out of range")
    assert raw.cmd("BITFIELD_RO", "k", "SET", "u8", "0", "1") == \
        ("ERR", "ERR BITFIELD_RO only supports the GET subcommand")
    assert raw.cmd("BITFIELD", "k", "INCRBY", "i8", "#9223372036854775807", "1") == \
        ("ERR", "ERR bit offset is not an integer or out of range")
    assert raw.cmd("BITFIELD", "k", "GET", b"i8\x00x", "0") == [0]


def test_setbit_and_bitfield_change_only_when_a_value_changes(server):
    """WATCH sees SETBIT/BITFIELD only when they changed something (Redis 7.0)."""
    a, b = Raw(server.port), Raw(server.port)
    a.cmd("FLUSHALL")
    a.cmd("SET", "k", "\x00")
    for same in (("SETBIT", "k", "0", "0"), ("BITFIELD", "k", "SET", "u8", "0", "0")):
        assert a.cmd("WATCH", "k") == "OK"
        b.cmd(*same)
        a.cmd("MULTI")
        a.cmd("PING")
        assert a.cmd("EXEC") == ["PONG"]
    assert a.cmd("WATCH", "k") == "OK"
    b.cmd("SETBIT", "k", "0", "1")
    a.cmd("MULTI")
    a.cmd("PING")
    assert a.cmd("EXEC") is None
    a.close()
    b.close()


# ---------------------------------------------------------------- transactions, errors
def test_flushdb_touches_only_watched_keys_that_exist(server):
    a = Raw(server.port)
    a.cmd("FLUSHALL")
    a.cmd("WATCH", "nokey")
    a.cmd("FLUSHDB")
    a.cmd("MULTI")
    assert a.cmd("EXEC") == []
    a.cmd("SET", "k", "v")
    a.cmd("WATCH", "k")
    a.cmd("FLUSHDB")
    a.cmd("MULTI")
    assert a.cmd("EXEC") is None
    a.close()


def test_a_refused_exec_discards_the_transaction(raw):
    assert raw.cmd("MULTI") == "OK"
    assert raw.cmd("EXEC", "x") == ("ERR", "EXECABORT Transaction discarded because of: "
                                    "wrong number of arguments for 'exec' command")
    assert raw.cmd("EXEC") == ("ERR", "ERR EXEC without MULTI")


def test_subscribed_context_names_subcommands(server):
    c = Raw(server.port)
    c.cmd("SUBSCRIBE", "ch")
    tail = "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    assert c.cmd("LATENCY", "HELP") == ("ERR", "ERR Can't execute 'latency|help" + tail)
    assert c.cmd("GET", "k") == ("ERR", "ERR Can't execute 'get" + tail)
    assert c.cmd("EXEC") == ("ERR", "EXECABORT Transaction discarded because of: Can't execute "
                             "'exec" + tail)
    c.close()


def test_unknown_subcommands_and_subcommand_arity(raw):
    assert raw.cmd("CONFIG", "FOO") == ("ERR", "ERR unknown subcommand 'FOO'. Try CONFIG HELP.")
    assert raw.cmd("config", "foo") == ("ERR", "ERR unknown subcommand 'foo'. Try CONFIG HELP.")
    assert raw.cmd("CONFIG", "GET") == ("ERR", "ERR wrong number of arguments for 'config|get' command")
    assert raw.cmd("PUBSUB", "CHANNELS", "a", "b") == \
        ("ERR", "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.")
    assert raw.cmd("DEBUG", "FOO") == \
        ("ERR", "ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP.")


def test_pubsub_help(raw):
    helptext = raw.cmd("PUBSUB", "HELP")
    assert helptext[0].startswith("PUBSUB <subcommand>")
    assert "SHARDNUMSUB [<shardchannel> ...]" in helptext
    assert helptext[-2:] == ["HELP", "    Prints this help."]


def test_unknown_command_error_lists_128_bytes_of_arguments(raw):
    err = raw.cmd("NOSUCH", "a" * 200, "b")
    assert err == ("ERR", "ERR unknown command 'NOSUCH', with args beginning with: '" + "a" * 128 +
                   "' ")


def test_select_range(raw):
    assert raw.cmd("SELECT", "4294967296") == \
        ("ERR", "ERR value is out of range, value must between -2147483648 and 2147483647")
    assert raw.cmd("SELECT", "16") == ("ERR", "ERR DB index is out of range")


def test_debug_arguments(raw):
    pos = ("ERR", "ERR value is out of range, must be positive")
    assert raw.cmd("DEBUG", "POPULATE", "10", "p", "abc") == pos
    assert raw.cmd("DEBUG", "POPULATE", "-1") == pos
    assert raw.cmd("DEBUG", "POPULATE", "2", "k", "0") == "OK"
    assert raw.cmd("GET", "k:1") == b"value:1"
    assert raw.cmd("DEBUG", "SLEEP", "abc") == "OK"
    assert raw.cmd("DEBUG", "RELOAD", "BY") == \
        ("ERR", "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")


def test_debug_reload_touches_watched_keys(raw):
    raw.cmd("SET", "k", "1")
    raw.cmd("WATCH", "k")
    assert raw.cmd("DEBUG", "RELOAD") == "OK"
    raw.cmd("MULTI")
    assert raw.cmd("EXEC") is None


# ---------------------------------------------------------------- memory accounting
def test_output_limit_does_not_count_the_static_reply_buffer(server_factory):
    """Redis counts only its reply list against the output limit, not the 16 KB static
    buffer a client's first pending bytes sit in: with a 1000-byte hard limit a 10 000-byte
    reply is still sent, a 40 000-byte one closes the client."""
    s = server_factory()
    admin = Raw(s.port)
    admin.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 1000 0 0")
    admin.cmd("SET", "small", "x" * 10000)
    admin.cmd("SET", "big", "x" * 40000)
    c = Raw(s.port)
    c.sock.settimeout(30)
    assert c.cmd("GET", "small") == b"x" * 10000
    assert c.cmd("PING") == "PONG"
    c.send(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n")
    assert c.closed(timeout=30)
    assert len(c.buf) < 40000  # cut: not the whole reply
    c.close()
    admin.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
    admin.close()


def test_migrate_port_is_read_as_atoi(raw):
    """MIGRATE hands atoi(port) to its connect: "abc" is port 0, refused, which Redis reports
    as a failed write (its connect does not check the socket's error), like any closed
    port; a port that does not resolve fails the connect."""
    raw.cmd("SET", "k", "v")
    write_err = ("ERR", "IOERR error or timeout writing to target instance")
    assert raw.cmd("MIGRATE", "127.0.0.1", "abc", "k", "0", "100") == write_err
    assert raw.cmd("MIGRATE", "127.0.0.1", "0", "k", "0", "100") == write_err
    assert raw.cmd("MIGRATE", "127.0.0.1", "-5", "k", "0", "100") == \
        ("ERR", "IOERR error or timeout connecting to the client")
    assert raw.cmd("GET", "k") == b"v"


def test_reply_and_query_buffers_are_counted(server_factory):
    """A client that does not read its replies holds them in the server's memory: INFO
    used_memory and mem_clients_normal and CLIENT LIST omem see them; so does a half-sent
    big argument in a query buffer."""
    s = server_factory()
    admin = Raw(s.port)
    admin.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
    admin.cmd("SET", "big", "x" * 1_000_000)

    def field(section, name):
        info = admin.cmd("INFO", section).decode()
        return int(info.split(name + ":")[1].split("\r\n")[0])

    base_used = field("memory", "used_memory")
    base_clients = field("memory", "mem_clients_normal")
    lazy = socket.create_connection(("127.0.0.1", s.port))
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 40)  # 40 MB of replies, never read
    deadline = time.time() + 20
    while time.time() < deadline and field("memory", "mem_clients_normal") < base_clients + 20e6:
        time.sleep(0.1)
    assert field("memory", "mem_clients_normal") >= base_clients + 20e6
    assert field("memory", "used_memory") >= base_used + 20e6
    omem = max(int(line.split("omem=")[1].split(" ")[0])
               for line in admin.cmd("CLIENT", "LIST").decode().splitlines())
    assert omem >= 20e6
    lazy.close()
    # A big argument half sent.
    slow = socket.create_connection(("127.0.0.1", s.port))
    slow.sendall(b"*2\r\n$4\r\nECHO\r\n$40000000\r\n" + b"y" * 30_000_000)
    before = field("memory", "used_memory")
    deadline = time.time() + 20
    while time.time() < deadline and field("memory", "used_memory") < base_used + 25e6:
        time.sleep(0.1)
    assert field("memory", "used_memory") >= base_used + 25e6, before
    slow.close()
    admin.close()


def test_eviction_sees_reply_buffers(server_factory):
    """maxmemory counts client buffers, as Redis does: a client holding a large unread reply
    pushes used memory over the limit and keys are evicted."""
    s = server_factory()
    admin = Raw(s.port)
    admin.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
    admin.cmd("SET", "big", "x" * 1_000_000)
    for i in range(2000):
        admin.send(b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$100\r\n%s\r\n" % (
            len(b"key:%d" % i), i, b"v" * 100))
    for _ in range(2000):
        admin.reply()
    info = admin.cmd("INFO", "memory").decode()
    used = int(info.split("used_memory:")[1].split("\r\n")[0])
    admin.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
    admin.cmd("CONFIG", "SET", "maxmemory", str(used + 10_000_000))
    lazy = socket.create_connection(("127.0.0.1", s.port))
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 30)  # 30 MB held for this client
    deadline = time.time() + 20
    evicted = 0
    while time.time() < deadline and evicted == 0:
        admin.cmd("SET", "probe", "1")  # a write makes the server enforce maxmemory
        stats = admin.cmd("INFO", "stats").decode()
        evicted = int(stats.split("evicted_keys:")[1].split("\r\n")[0])
        time.sleep(0.1)
    assert evicted > 0
    lazy.close()
    admin.cmd("CONFIG", "SET", "maxmemory", "0")
    admin.close()


def test_lrem_count_int64_min_removes_every_match(raw):
    """Found by the fuzzer under UBSan: |INT64_MIN| was computed by negation."""
    raw.cmd("RPUSH", "l", "b", "a", "b", "c", "b")
    assert raw.cmd("LREM", "l", I64_MIN, "b") == 3
    assert raw.cmd("LRANGE", "l", "0", "-1") == [b"a", b"c"]
    raw.cmd("RPUSH", "big", *(["b", "x"] * 200))  # the full encoding too
    assert raw.cmd("LREM", "big", I64_MIN, "b") == 200


def test_sort_converts_a_small_sorted_set_for_good(raw):
    """Redis's SORT (SORT_RO too) turns a listpack sorted set into a skiplist: a -0 score
    added afterwards is kept as -0, where the small encoding stores 0."""
    raw.cmd("ZADD", "z", "0", "a", "1", "b")
    assert raw.cmd("SORT_RO", "z", "ALPHA") == [b"a", b"b"]
    raw.cmd("ZADD", "z", "-0", "c")
    assert raw.cmd("ZSCORE", "z", "c") == b"-0"
    raw.cmd("ZADD", "small", "-0", "c")
    assert raw.cmd("ZSCORE", "small", "c") == b"0"


def test_swapdb_touches_watched_keys_of_either_database(server):
    a = Raw(server.port)
    a.cmd("FLUSHALL")
    a.cmd("RPUSH", "k", "x")
    a.cmd("WATCH", "k")
    a.cmd("SWAPDB", "0", "15")  # k leaves db 0
    a.cmd("MULTI")
    assert a.cmd("EXEC") is None
    a.cmd("WATCH", "nokey")
    a.cmd("SWAPDB", "0", "15")  # k comes back; nokey is in neither
    a.cmd("MULTI")
    assert a.cmd("EXEC") == []
    a.cmd("FLUSHALL")
    a.close()
