"""Geo commands with Redis 7.0's exact replies: scores, coordinate and distance texts, reply
shapes in RESP2 and RESP3, result order, every error text, STORE/STOREDIST, what reaches the
AOF, and a randomized differential run against a redis-server started by the test.

Replies are read on raw sockets (conftest.Raw): redis-py turns geo replies into floats."""
import os
import random
import shlex
import socket

import pytest

from conftest import IS_REDIS, Raw, RedisServer, Server, poll

WRONGTYPE = ("ERR", "WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = ("ERR", "ERR syntax error")
BAD_UNIT = ("ERR", "ERR unsupported unit provided. please use M, KM, FT, MI")
NO_MEMBER = ("ERR", "ERR could not decode requested zset member")

# Redis's answers for the two points of its documentation.
PALERMO = ("13.361389", "38.115556")
CATANIA = ("15.087269", "37.502669")
PALERMO_SCORE = 3479099956230698
CATANIA_SCORE = 3479447370796909
PALERMO_POS = [b"13.36138933897018433", b"38.11555639549629859"]
CATANIA_POS = [b"15.08726745843887329", b"37.50266842333162032"]


@pytest.fixture
def c(server):
    conn = Raw(server.port)
    assert conn.cmd("FLUSHALL") == "OK"
    yield conn
    conn.close()


@pytest.fixture
def sicily(c):
    assert c.cmd("GEOADD", "Sicily", *PALERMO, "Palermo", *CATANIA, "Catania") == 2
    return c


def resp3(server):
    conn = Raw(server.port)
    conn.cmd("HELLO", "3")
    return conn


# --- GEOADD -----------------------------------------------------------------------------

def test_geoadd_stores_the_52_bit_score(c):
    assert c.cmd("GEOADD", "Sicily", *PALERMO, "Palermo", *CATANIA, "Catania") == 2
    assert c.cmd("TYPE", "Sicily") == "zset"
    assert c.cmd("ZSCORE", "Sicily", "Palermo") == str(PALERMO_SCORE).encode()
    assert c.cmd("ZSCORE", "Sicily", "Catania") == str(CATANIA_SCORE).encode()
    assert c.cmd("OBJECT", "ENCODING", "Sicily") == b"listpack"


def test_geoadd_update_and_options(c):
    assert c.cmd("GEOADD", "k", "10", "20", "a", "11", "21", "b") == 2
    assert c.cmd("GEOADD", "k", "10", "20", "a") == 0  # same place: nothing changes
    assert c.cmd("GEOADD", "k", "12", "22", "a") == 0  # moved, but not added
    assert c.cmd("GEOADD", "k", "CH", "13", "23", "a", "14", "24", "c") == 2
    assert c.cmd("GEOADD", "k", "NX", "1", "1", "a", "2", "2", "d") == 1
    assert c.cmd("GEOPOS", "k", "a")[0][0].startswith(b"12.99999")  # NX kept a
    assert c.cmd("GEOADD", "k", "XX", "1", "1", "a", "3", "3", "e") == 0
    assert c.cmd("GEOPOS", "k", "e") == [None]  # XX added nothing
    assert c.cmd("GEOPOS", "k", "a")[0][0].startswith(b"0.99999")  # XX updated a
    assert c.cmd("GEOADD", "k", "CH", "NX", "5", "5", "a", "6", "6", "f") == 1
    assert c.cmd("GEOADD", "k", "CH", "XX", "7", "7", "a", "8", "8", "g") == 1
    assert c.cmd("ZCARD", "k") == 5
    # The same member twice: the later position wins.
    assert c.cmd("GEOADD", "k2", "1", "1", "m", "2", "2", "m") == 1
    assert c.cmd("ZSCORE", "k2", "m") == c.cmd("ZSCORE", "k", "d")  # d sits at 2,2


def test_geoadd_errors(c):
    assert c.cmd("GEOADD", "k", "XX", "NX", "1", "1", "a") == SYNTAX
    assert c.cmd("GEOADD", "k", "NX", "1", "1") == SYNTAX
    assert c.cmd("GEOADD", "k", "CH", "CH", "CH") == SYNTAX  # no positions at all
    assert c.cmd("GEOADD", "k", "foo", "1", "1", "a") == SYNTAX
    assert c.cmd("GEOADD", "k", "1", "1") == ("ERR", "ERR wrong number of arguments for 'geoadd' command")
    assert c.cmd("GEOADD", "k", "200", "100", "a") == (
        "ERR", "ERR invalid longitude,latitude pair 200.000000,100.000000")
    assert c.cmd("GEOADD", "k", "0", "85.05112879", "a") == (
        "ERR", "ERR invalid longitude,latitude pair 0.000000,85.051129")
    assert c.cmd("GEOADD", "k", "-180.0000001", "0", "a") == (
        "ERR", "ERR invalid longitude,latitude pair -180.000000,0.000000")
    assert c.cmd("GEOADD", "k", "1", "abc", "a") == ("ERR", "ERR value is not a valid float")
    assert c.cmd("GEOADD", "k", " 1", "1", "a") == ("ERR", "ERR value is not a valid float")
    assert c.cmd("GEOADD", "k", "nan", "1", "a") == ("ERR", "ERR value is not a valid float")
    assert c.cmd("GEOADD", "k", "1e400", "1", "a") == ("ERR", "ERR value is not a valid float")
    # An error in any position adds none of them.
    assert c.cmd("GEOADD", "k", "1", "1", "a", "1", "91", "b") == (
        "ERR", "ERR invalid longitude,latitude pair 1.000000,91.000000")
    assert c.cmd("EXISTS", "k") == 0
    c.cmd("SET", "str", "x")
    assert c.cmd("GEOADD", "str", "1", "1", "a") == WRONGTYPE
    # Argument errors come before the type check.
    assert c.cmd("GEOADD", "str", "1", "91", "a") == (
        "ERR", "ERR invalid longitude,latitude pair 1.000000,91.000000")


def test_geoadd_limits_and_odd_numbers(c):
    # Limits are inclusive; the upper corner's score has bits above the 52nd, as in Redis.
    assert c.cmd("GEOADD", "k", "180", "85.05112878", "top", "-180", "-85.05112878", "bottom") == 2
    assert c.cmd("ZSCORE", "k", "top") == b"13510798882111488"
    assert c.cmd("ZSCORE", "k", "bottom") == b"0"
    assert c.cmd("GEOPOS", "k", "top", "bottom") == [
        [b"180", b"85.0511287799999991"], [b"-179.99999731779098511", b"-85.05112751263942528"]]
    assert c.cmd("GEOHASH", "k", "top") == [b"bp05b5048p0"]
    # A denormal parses (strtod flags it, Redis accepts it); an integer-like text too.
    assert c.cmd("GEOADD", "k", "1e-310", "0", "den", "+7", "-0", "int") == 2
    assert c.cmd("GEOPOS", "k", "den") == [[b"0.00000268220901489", b"0.00000126736058093"]]


def test_geoadd_xx_on_missing_key_creates_nothing(c):
    assert c.cmd("GEOADD", "nokey", "XX", "1", "1", "a") == 0
    assert c.cmd("EXISTS", "nokey") == 0


def test_geoadd_crosses_into_the_large_encoding(c):
    args = []
    for i in range(200):
        args += [str(-100 + i * 0.5), str(-40 + i * 0.25), f"m{i}"]
    assert c.cmd("GEOADD", "big", *args) == 200
    assert c.cmd("OBJECT", "ENCODING", "big") == b"skiplist"
    assert c.cmd("GEOSEARCH", "big", "FROMMEMBER", "m100", "BYRADIUS", "70", "km", "ASC") == [
        b"m100", b"m99", b"m101"]


# --- GEOPOS / GEODIST / GEOHASH ------------------------------------------------------------

def test_geopos_texts_and_missing(sicily):
    c = sicily
    assert c.cmd("GEOPOS", "Sicily", "Palermo", "nope", "Catania") == [PALERMO_POS, None, CATANIA_POS]
    assert c.cmd("GEOPOS", "nokey", "a", "b") == [None, None]
    assert c.cmd("GEOPOS", "Sicily") == []  # arity -2: no members, empty array


def test_geopos_decodes_any_score(c):
    """Members added with ZADD at scores that are no geohash decode as Redis's cast makes them."""
    c.cmd("ZADD", "z", "-1", "neg", "1e19", "big", "inf", "pinf", "-inf", "ninf", "3.5", "frac")
    assert c.cmd("GEOPOS", "z", "neg", "big", "pinf", "ninf", "frac") == [
        [b"180", b"85.0511287799999991"], [b"180", b"85.0511287799999991"],
        [b"-179.99999731779098511", b"-85.05112751263942528"],
        [b"180", b"-85.05112751263942528"],
        [b"-179.99999195337295532", b"-85.05112497791824921"]]
    assert c.cmd("GEOHASH", "z", "neg", "pinf", "frac") == [b"bp05b5048p0", b"00bh0hbj200",
                                                          b"00bh0hbj210"]


def test_geodist_units_and_missing(sicily):
    c = sicily
    assert c.cmd("GEODIST", "Sicily", "Palermo", "Catania") == b"166274.1516"
    assert c.cmd("GEODIST", "Sicily", "Palermo", "Catania", "km") == b"166.2742"
    assert c.cmd("GEODIST", "Sicily", "Palermo", "Catania", "KM") == b"166.2742"
    assert c.cmd("GEODIST", "Sicily", "Palermo", "Catania", "mi") == b"103.3182"
    assert c.cmd("GEODIST", "Sicily", "Palermo", "Catania", "ft") == b"545518.8700"
    assert c.cmd("GEODIST", "Sicily", "Palermo", "Palermo") == b"0.0000"
    assert c.cmd("GEODIST", "Sicily", "Palermo", "nope") is None
    assert c.cmd("GEODIST", "nokey", "a", "b") is None
    assert c.cmd("GEODIST", "Sicily", "Palermo", "Catania", "yd") == BAD_UNIT
    assert c.cmd("GEODIST", "nokey", "a", "b", "yd") == BAD_UNIT  # the unit is checked first
    assert c.cmd("GEODIST", "Sicily", "Palermo", "Catania", "km", "x") == SYNTAX
    c.cmd("SET", "str", "x")
    assert c.cmd("GEODIST", "str", "a", "b") == WRONGTYPE


def test_geohash_strings(sicily):
    c = sicily
    assert c.cmd("GEOHASH", "Sicily", "Palermo", "nope", "Catania") == [
        b"sqc8b49rny0", None, b"sqdtr74hyu0"]
    assert c.cmd("GEOHASH", "nokey", "a") == [None]
    c.cmd("SET", "str", "x")
    assert c.cmd("GEOHASH", "str", "a") == WRONGTYPE
    assert c.cmd("GEOPOS", "str", "a") == WRONGTYPE


def test_resp3_replies(server, sicily):
    c3 = resp3(server)
    try:
        def raw(*args):
            out = b"*%d\r\n" % len(args) + b"".join(
                b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
            c3.send(out)
            return read_exact(c3)
        assert raw("GEOPOS", "Sicily", "Palermo", "nope") == (
            b"*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n")
        assert raw("GEODIST", "Sicily", "a", "b") == b"_\r\n"
        assert raw("GEODIST", "nokey", "a", "b") == b"_\r\n"
        assert raw("GEODIST", "Sicily", "Palermo", "Catania") == b"$11\r\n166274.1516\r\n"
        assert raw("GEOHASH", "Sicily", "x") == b"*1\r\n_\r\n"
        assert raw("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD", "WITHDIST",
                   "WITHHASH", "COUNT", "1") == (
            b"*1\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n"
            b"*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n")
        assert raw("GEOSEARCH", "nokey", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m") == b"*0\r\n"
    finally:
        c3.close()


# --- searches ------------------------------------------------------------------------------

def test_georadius_sorted_and_with_options(sicily):
    c = sicily
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km") == [b"Palermo", b"Catania"]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "ASC") == [b"Catania", b"Palermo"]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC") == [b"Palermo", b"Catania"]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD",
                 "WITHHASH") == [
        [b"Palermo", b"190.4424", PALERMO_SCORE, PALERMO_POS],
        [b"Catania", b"56.4413", CATANIA_SCORE, CATANIA_POS]]
    # The option order in the request does not change the reply's.
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHHASH", "withcoord",
                 "ASC") == [[b"Catania", CATANIA_SCORE, CATANIA_POS],
                            [b"Palermo", PALERMO_SCORE, PALERMO_POS]]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200000", "m", "WITHDIST", "ASC") == [
        [b"Catania", b"56441.2579"], [b"Palermo", b"190442.4298"]]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "100", "km") == [b"Catania"]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "1", "m") == []
    assert c.cmd("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "ASC") == [b"Catania", b"Palermo"]


def test_count_and_any(sicily):
    c = sicily
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1") == [b"Catania"]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "DESC") == [b"Palermo"]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "5") == [b"Catania", b"Palermo"]
    # ANY: the first found (score order within the first cell scanned), not sorted.
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY") == [b"Palermo"]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY", "ASC") == [
        b"Palermo"]
    assert c.cmd("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
                 "COUNT", "2", "ANY", "DESC") == [b"Palermo", b"Catania"]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY") == (
        "ERR", "ERR the ANY argument requires COUNT argument")
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0") == (
        "ERR", "ERR COUNT must be > 0")
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "-3") == (
        "ERR", "ERR COUNT must be > 0")
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "x") == (
        "ERR", "ERR value is not an integer or out of range")
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT") == SYNTAX


def test_ties_keep_redis_order(c):
    """Members at the same place are equally distant. A full sort keeps them in scan order
    (glibc's stable merge sort under Redis's qsort); a COUNT sort takes them as Redis's
    partial quicksort leaves them. The expected lists are redis-server 7.0.15's replies."""
    args = []
    for i in range(60):
        args += ["2", "2", f"same{i:02d}"]
    for i in range(30):  # near00 is at (2, 2) too
        args += [str(2 + (i % 7) * 0.001), str(2 + (i % 5) * 0.001), f"near{i:02d}"]
    c.cmd("GEOADD", "t", *args)
    q = ("GEOSEARCH", "t", "FROMLONLAT", "2.002", "2.001", "BYRADIUS", "10", "km")
    nearest = [b"near16", b"near01", b"near02", b"near15", b"near22", b"near10", b"near17",
               b"near21", b"near11", b"near23"]
    same = [f"same{i:02d}".encode() for i in range(60)]
    full = c.cmd(*q, "ASC")
    assert full[:10] == nearest
    assert full[10:71] == [b"near00"] + same
    assert c.cmd(*q, "COUNT", "7") == nearest[:7]
    assert c.cmd(*q, "COUNT", "13") == nearest + [b"same09", b"same10", b"same11"]
    assert c.cmd(*q, "COUNT", "59") == nearest + same[9:21] + [b"near00"] + same[22:58]
    assert c.cmd(*q, "COUNT", "61") == nearest + same[9:21] + [b"near00"] + same[22:60]


def test_search_errors(sicily):
    c = sicily
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "-1", "km") == (
        "ERR", "ERR radius cannot be negative")
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "abc", "km") == ("ERR", "ERR need numeric radius")
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "parsec") == BAD_UNIT
    assert c.cmd("GEORADIUS", "Sicily", "181", "37", "200", "km") == (
        "ERR", "ERR invalid longitude,latitude pair 181.000000,37.000000")
    assert c.cmd("GEORADIUS", "Sicily", "x", "37", "200", "km") == ("ERR", "ERR value is not a valid float")
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "FROMLONLAT", "1", "1") == SYNTAX
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "bogus") == SYNTAX
    assert c.cmd("GEORADIUSBYMEMBER", "Sicily", "nope", "200", "km") == NO_MEMBER
    assert c.cmd("GEORADIUSBYMEMBER", "Sicily", "nope", "abc", "km") == NO_MEMBER  # member first
    assert c.cmd("GEORADIUSBYMEMBER", "Sicily", "Palermo", "abc", "km") == (
        "ERR", "ERR need numeric radius")
    G = ("GEOSEARCH", "Sicily")
    assert c.cmd(*G, "FROMMEMBER", "nope", "BYBOX", "4", "4", "km") == NO_MEMBER
    assert c.cmd(*G, "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYBOX", "4", "4", "km") == SYNTAX
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYBOX", "4", "4", "km") == SYNTAX
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYBOX", "4", "4", "km", "BYRADIUS", "1", "km") == SYNTAX
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "BYBOX", "4", "4", "km") == SYNTAX
    assert c.cmd(*G, "BYRADIUS", "1", "km", "COUNT", "2") == (
        "ERR", "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH")
    assert c.cmd("geosearch", "Sicily", "FROMLONLAT", "1", "1", "COUNT", "2") == (
        "ERR", "ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch")
    assert c.cmd("GeoSearchStore", "d", "Sicily", "FROMLONLAT", "1", "1", "COUNT", "3") == (
        "ERR", "ERR exactly one of BYRADIUS and BYBOX can be specified for GeoSearchStore")
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYBOX", "-1", "4", "km") == (
        "ERR", "ERR height or width cannot be negative")
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYBOX", "x", "y", "km") == ("ERR", "ERR need numeric width")
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYBOX", "1", "y", "km") == ("ERR", "ERR need numeric height")
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYBOX", "1", "1", "kmm") == BAD_UNIT
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYBOX", "1", "1") == SYNTAX
    assert c.cmd(*G, "FROMLONLAT", "1", "91", "BYBOX", "1", "1", "m") == (
        "ERR", "ERR invalid longitude,latitude pair 1.000000,91.000000")
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STORE", "x") == SYNTAX
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STOREDIST") == SYNTAX
    assert c.cmd(*G, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "ANY") == (
        "ERR", "ERR the ANY argument requires COUNT argument")
    assert c.cmd("GEOSEARCH", "Sicily", "BYBOX", "4", "4", "km") == (
        "ERR", "ERR wrong number of arguments for 'geosearch' command")
    c.cmd("SET", "str", "x")
    # The source's type is checked before any argument.
    assert c.cmd("GEORADIUS", "str", "x", "y", "z", "w") == WRONGTYPE
    assert c.cmd("GEOSEARCH", "str", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km") == WRONGTYPE
    assert c.cmd("GEOSEARCHSTORE", "d", "str", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km") == WRONGTYPE


def test_missing_source(c):
    # No set: GEORADIUSBYMEMBER checks only the options; GEOSEARCH does not look the member up
    # but still checks coordinates and shapes.
    assert c.cmd("GEORADIUSBYMEMBER", "nokey", "m", "abc", "xyz") == []
    assert c.cmd("GEORADIUSBYMEMBER", "nokey", "m", "abc", "xyz", "bogus") == SYNTAX
    assert c.cmd("GEORADIUSBYMEMBER", "nokey", "m", "abc", "xyz", "STORE", "d", "WITHDIST") == (
        "ERR", "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and "
        "WITHCOORD options")
    assert c.cmd("GEORADIUS", "nokey", "1", "1", "1", "km") == []
    assert c.cmd("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km") == []
    assert c.cmd("GEOSEARCH", "nokey", "FROMLONLAT", "200", "1", "BYRADIUS", "1", "km") == (
        "ERR", "ERR invalid longitude,latitude pair 200.000000,1.000000")
    # With a store, the destination is deleted and 0 replied.
    c.cmd("SET", "dst", "old")
    assert c.cmd("GEORADIUSBYMEMBER", "nokey", "m", "abc", "xyz", "STORE", "dst") == 0
    assert c.cmd("EXISTS", "dst") == 0
    c.cmd("SET", "dst", "old")
    assert c.cmd("GEOSEARCHSTORE", "dst", "nokey", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m") == 0
    assert c.cmd("EXISTS", "dst") == 0


def test_store_and_storedist(sicily):
    c = sicily
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst") == 2
    assert c.cmd("ZRANGE", "dst", "0", "-1", "WITHSCORES") == [
        b"Palermo", str(PALERMO_SCORE).encode(), b"Catania", str(CATANIA_SCORE).encode()]
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst") == 2
    assert c.cmd("ZRANGE", "dst", "0", "-1", "WITHSCORES") == [
        b"Catania", b"56.441257870158204", b"Palermo", b"190.44242984775784"]
    assert c.cmd("OBJECT", "ENCODING", "dst") == b"listpack"
    # Both given: the later wins.
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "a", "STORE", "b") == 2
    assert c.cmd("EXISTS", "a", "b") == 1
    assert c.cmd("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "COUNT", "1", "STOREDIST",
                 "near") == 1
    assert c.cmd("ZRANGE", "near", "0", "-1", "WITHSCORES") == [b"Palermo", b"0"]
    assert c.cmd("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200",
                 "km", "STOREDIST", "COUNT", "1", "DESC") == 1
    assert c.cmd("ZRANGE", "dst", "0", "-1", "WITHSCORES") == [b"Palermo", b"190.44242984775784"]
    assert c.cmd("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400",
                 "km") == 2
    assert c.cmd("ZSCORE", "dst", "Catania") == str(CATANIA_SCORE).encode()
    # The store replaces the destination (any type, its TTL too).
    c.cmd("SET", "dst", "string", "EX", "100")
    assert c.cmd("GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Catania", "BYRADIUS", "1", "km") == 1
    assert c.cmd("TTL", "dst") == -1
    # No result: the destination is deleted.
    assert c.cmd("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m") == 0
    assert c.cmd("EXISTS", "dst") == 0
    # The destination may be the source.
    assert c.cmd("GEOSEARCHSTORE", "Sicily", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "100",
                 "km") == 1
    assert c.cmd("ZRANGE", "Sicily", "0", "-1") == [b"Catania"]


def test_store_option_errors(sicily):
    c = sicily
    msg = ("ERR", "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and "
           "WITHCOORD options")
    for w in ("WITHDIST", "WITHHASH", "WITHCOORD"):
        assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d", w) == msg
        assert c.cmd("GEORADIUSBYMEMBER", "Sicily", "Palermo", "9", "km", w, "STOREDIST", "d") == msg
        assert c.cmd("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "2",
                     "km", w) == (
            "ERR", "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE") == SYNTAX
    assert c.cmd("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "d") == SYNTAX
    assert c.cmd("GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "2", "km", "STOREDIST", "d") == SYNTAX
    assert c.cmd("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "2", "km",
                 "STORE", "x") == SYNTAX
    assert c.cmd("EXISTS", "d") == 0


def test_box_search_and_edges(c):
    c.cmd("GEOADD", "pts", "179.5", "0", "east", "-179.5", "0", "west", "0", "0.4", "north",
          "0", "-0.4", "south", "0.4", "0", "right")
    # A box across the antimeridian finds both sides (Redis's own test case)...
    c.cmd("GEOADD", "am", "179.5", "36", "point1", "-179.5", "36", "point2")
    assert c.cmd("GEOSEARCH", "am", "FROMLONLAT", "179", "36", "BYBOX", "400", "400", "km",
                 "ASC") == [b"point1", b"point2"]
    assert c.cmd("GEOSEARCH", "am", "FROMLONLAT", "-179", "36", "BYBOX", "400", "400", "km",
                 "ASC") == [b"point2", b"point1"]
    # ... but not from a centre on the meridian itself: there Redis's cells miss the west side.
    assert c.cmd("GEOSEARCH", "am", "FROMLONLAT", "180", "36", "BYBOX", "400", "400", "km") == [
        b"point1"]
    # Height and width are full extents: 0.4 degrees is ~44.5 km from the centre.
    assert c.cmd("GEOSEARCH", "pts", "FROMLONLAT", "0", "0", "BYBOX", "100", "50", "km", "ASC") == [
        b"right"]
    # north and south are equally far: sorting keeps the scan order either way (as Redis).
    box = ("GEOSEARCH", "pts", "FROMLONLAT", "0", "0", "BYBOX", "50", "100", "km")
    assert c.cmd(*box, "ASC") == [b"north", b"south"]
    assert c.cmd(*box, "DESC") == [b"north", b"south"]
    assert c.cmd(*box, "COUNT", "1", "DESC") == [b"north"]
    assert len(c.cmd("GEOSEARCH", "pts", "FROMLONLAT", "0", "0", "BYBOX", "100", "100", "km")) == 3
    # A radius around the world finds everything once.
    assert sorted(c.cmd("GEORADIUS", "pts", "0", "0", "30000", "km")) == [
        b"east", b"north", b"right", b"south", b"west"]
    assert sorted(c.cmd("GEORADIUS", "pts", "0", "0", "inf", "km")) == [
        b"east", b"north", b"right", b"south", b"west"]
    assert c.cmd("GEORADIUS", "pts", "0", "0", "0", "km", "WITHDIST") == []


def test_polar_and_huge_searches(c):
    c.cmd("GEOADD", "p", "0", "84", "a", "90", "84", "b", "180", "84", "c", "-90", "84.9", "d",
          "45", "-84.5", "e")
    assert c.cmd("GEORADIUSBYMEMBER", "p", "a", "1500", "km", "WITHDIST", "ASC") == [
        [b"a", b"0.0000"], [b"d", b"875.1949"], [b"b", b"942.9225"]]
    # The distance is from the stored cell centre, not from (0, 84) itself.
    assert c.cmd("GEORADIUS", "p", "0", "84", "50", "km", "WITHDIST") == [[b"a", b"0.0001"]]
    # Redis's issue #2767: a huge radius scans the coarsest cells, each once (no member twice).
    # They do not reach every corner of the map: members near the pole on the far side are
    # missed, in the same way as by redis-server 7.0.15 (these are its replies).
    expected = {"-180": [b"d", b"a", b"b", b"e"], "-90": [b"d", b"a", b"b", b"e"],
                "0": [b"a", b"b", b"e", b"d"], "45": [b"a", b"b", b"e", b"d"],
                "180": [b"c", b"a", b"b", b"e"]}
    for lon, want in expected.items():
        assert c.cmd("GEORADIUS", "p", lon, "0", "50000", "km") == want


def test_getkeys_and_command_info(server):
    c = Raw(server.port)
    try:
        assert c.cmd("COMMAND", "GETKEYS", "GEORADIUS", "src", "1", "1", "1", "km", "STORE", "a",
                     "STOREDIST", "b") == [b"src", b"a", b"b"]
        assert c.cmd("COMMAND", "GETKEYS", "GEORADIUSBYMEMBER", "src", "m", "1", "km", "STOREDIST",
                     "b") == [b"src", b"b"]
        assert c.cmd("COMMAND", "GETKEYS", "GEOSEARCHSTORE", "d", "s", "FROMLONLAT", "1", "1",
                     "BYRADIUS", "1", "km") == [b"d", b"s"]
        assert c.cmd("COMMAND", "GETKEYS", "GEOADD", "k", "1", "1", "m") == [b"k"]
        info = c.cmd("COMMAND", "INFO", "geoadd", "geosearch", "georadius_ro", "geosearchstore")
        assert [(i[0], i[1]) for i in info] == [(b"geoadd", -5), (b"geosearch", -7),
                                                (b"georadius_ro", -6), (b"geosearchstore", -8)]
        assert "write" in info[0][2] and "readonly" in info[1][2]
    finally:
        c.close()


# --- persistence ---------------------------------------------------------------------------

def aof_text(s):
    """Everything the server has appended to its AOF (Ferrite's file, or Redis 7's
    incremental files)."""
    if IS_REDIS:
        d = os.path.join(s.dir, "appendonlydir")
        files = sorted(f for f in os.listdir(d) if f.endswith(".incr.aof"))
        return b"".join(open(os.path.join(d, f), "rb").read() for f in files)
    return open(s.aof_path(), "rb").read()


def test_geoadd_is_logged_as_zadd_and_stores_replay(server_factory):
    s = server_factory(aof="always")
    c = Raw(s.port)
    assert c.cmd("GEOADD", "Sicily", "CH", *PALERMO, "Palermo", *CATANIA, "Catania") == 2
    assert c.cmd("GEOADD", "Sicily", *PALERMO, "Palermo") == 0  # no change: nothing logged
    assert c.cmd("GEOSEARCHSTORE", "near", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200",
                 "km", "STOREDIST", "COUNT", "1") == 1
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "all") == 2
    assert c.cmd("GEORADIUS", "Sicily", "15", "37", "200", "km") == [b"Palermo", b"Catania"]
    data = aof_text(s)
    zadd = (b"*7\r\n$4\r\nzadd\r\n$6\r\nSicily\r\n$2\r\nCH\r\n$16\r\n3479099956230698\r\n"
            b"$7\r\nPalermo\r\n$16\r\n3479447370796909\r\n$7\r\nCatania\r\n")
    assert zadd in data
    assert data.count(b"zadd") == 1 and b"GEOADD" not in data.upper().replace(b"ZADD", b"")
    assert b"GEOSEARCHSTORE" in data and b"GEORADIUS" in data
    assert data.count(b"GEORADIUS") == 1  # the search without STORE is not logged
    digest = c.cmd("DEBUG", "DIGEST")
    before = {k: c.cmd("ZRANGE", k, "0", "-1", "WITHSCORES") for k in ("Sicily", "near", "all")}
    c.close()
    s.keep = True
    s.stop()
    s2 = server_factory(dir=s.dir, aof="always")
    c2 = Raw(s2.port)
    try:
        assert c2.cmd("DEBUG", "DIGEST") == digest
        assert {k: c2.cmd("ZRANGE", k, "0", "-1", "WITHSCORES") for k in before} == before
        assert before["near"] == [b"Catania", b"56.441257870158204"]
    finally:
        c2.close()


# --- randomized differential run against redis-server ---------------------------------------

def read_exact(conn):
    """The bytes of one whole reply on a conftest.Raw connection."""
    out = []

    def one():
        line = conn.line()
        out.append(line + b"\r\n")
        t, rest = line[:1], line[1:]
        if t in (b"$", b"="):
            n = int(rest)
            if n >= 0:
                out.append(conn.exact(n) + b"\r\n")
        elif t in (b"*", b"~", b">", b"%"):
            n = int(rest)
            for _ in range(max(n, 0) * (2 if t == b"%" else 1)):
                one()
    one()
    return b"".join(out)


def encode(args):
    return b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() if isinstance(x, str) else x for x in args))


class Pair:
    """The same commands to Redis and Ferrite; every reply compared byte for byte."""

    def __init__(self, redis_port, ferrite_port, proto):
        self.conns = [Raw(redis_port), Raw(ferrite_port)]
        for conn in self.conns:
            conn.cmd("HELLO", str(proto))
        self.sent = 0

    def both(self, *args):
        for conn in self.conns:
            conn.send(encode(args))
        want, got = (read_exact(conn) for conn in self.conns)
        self.sent += 1
        assert got == want, (
            f"reply differs for: {' '.join(shlex.quote(str(a)) for a in args)}\n"
            f"  redis:   {want[:600]!r}\n  ferrite: {got[:600]!r}")
        return want

    def close(self):
        for conn in self.conns:
            conn.close()


def random_coord(rng, centre, spread_deg):
    lon = min(180.0, max(-180.0, centre[0] + rng.uniform(-spread_deg, spread_deg)))
    lat = min(85.05112878, max(-85.05112878, centre[1] + rng.uniform(-spread_deg, spread_deg)))
    digits = rng.choice([0, 1, 3, 6, 9, 15])
    return f"{lon:.{digits}f}", f"{lat:.{digits}f}"


CENTRES = [(13.36, 38.11), (0.0, 0.0), (179.9, -12.0), (-179.95, 40.0), (2.35, 48.85),
           (-74.0, 40.7), (151.2, -33.9), (25.0, 84.5), (-60.0, -84.9), (139.7, 35.7)]
UNITS = {"m": 1.0, "km": 1000.0, "ft": 0.3048, "mi": 1609.34}


def fill_key(p, rng, key, n):
    """n members around a few centres (some in the same spot, some far away), added in
    batches with random GEOADD options."""
    centres = rng.sample(CENTRES, 3)
    members = []
    batch = []
    for i in range(n):
        centre = rng.choice(centres)
        spread = rng.choice([0.0001, 0.01, 0.5, 5, 40])
        if members and rng.random() < 0.1:  # exactly where another member is: distance ties
            lon, lat = rng.choice(members)[1:]
        else:
            lon, lat = random_coord(rng, centre, spread)
        name = f"m{i}" if rng.random() < 0.9 else f"m{rng.randrange(max(i, 1))}"
        members.append((name, lon, lat))
        batch += [lon, lat, name]
        if len(batch) >= 3 * 40 or i == n - 1:
            opts = rng.choice([[], [], ["CH"], ["NX"], ["XX", "CH"]])
            p.both("GEOADD", key, *opts, *batch)
            batch = []
    return members


def random_search(p, rng, key, members, dst):
    centre_kind = rng.random()
    if centre_kind < 0.3 and members:
        name = rng.choice(members)[0] if rng.random() < 0.95 else "absent"
        center = ("member", name)
    else:  # mostly near a member, so that most searches find something
        centre = rng.choice(CENTRES)
        if members and rng.random() < 0.75:
            centre = tuple(float(x) for x in rng.choice(members)[1:])
        center = ("lonlat",) + random_coord(rng, centre, rng.choice([0.001, 0.3, 3]))
    unit = rng.choice(list(UNITS))
    size_m = 10 ** rng.uniform(0, 6.8)  # 1 m .. ~6000 km
    size = f"{size_m / UNITS[unit]:.{rng.choice([0, 2, 6])}f}"
    box = rng.random() < 0.4
    opts = []
    r = rng.random()
    if r < 0.3:
        opts.append("ASC")
    elif r < 0.5:
        opts.append("DESC")
    if rng.random() < 0.4:
        opts += ["COUNT", str(rng.choice([1, 2, 3, 5, 10, 40, 500]))]
        if rng.random() < 0.35:
            opts.append("ANY")
    store = rng.random() < 0.2
    if not store:
        opts += [w for w in ("WITHDIST", "WITHCOORD", "WITHHASH") if rng.random() < 0.3]
    rng.shuffle(opts)  # option order does not matter, but parsing must accept every order
    # COUNT's value must stay after COUNT: rebuild pairs after the shuffle.
    opts = fix_count(opts)
    if box:
        w = f"{size_m * rng.uniform(0.3, 2) / UNITS[unit]:.3f}"
        shape = ["BYBOX", w, size, unit]
    else:
        shape = ["BYRADIUS", size, unit]
    frm = ["FROMMEMBER", center[1]] if center[0] == "member" else ["FROMLONLAT", center[1], center[2]]
    if store:
        if rng.random() < 0.5:
            p.both("GEOSEARCHSTORE", dst, key, *frm, *shape, *opts,
                   *(["STOREDIST"] if rng.random() < 0.5 else []))
        elif not box:
            store_opt = [rng.choice(["STORE", "STOREDIST"]), dst]
            if center[0] == "member":
                p.both("GEORADIUSBYMEMBER", key, center[1], size, unit, *opts, *store_opt)
            else:
                p.both("GEORADIUS", key, center[1], center[2], size, unit, *opts, *store_opt)
        else:
            p.both("GEOSEARCHSTORE", dst, key, *frm, *shape, *opts)
        p.both("ZRANGE", dst, "0", "-1", "WITHSCORES")
        return
    if box or rng.random() < 0.5:
        p.both("GEOSEARCH", key, *frm, *shape, *opts)
    elif center[0] == "member":
        p.both(rng.choice(["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"]), key, center[1], size,
               unit, *opts)
    else:
        p.both(rng.choice(["GEORADIUS", "GEORADIUS_RO"]), key, center[1], center[2], size, unit,
               *opts)


def fix_count(opts):
    """Puts COUNT's number right after COUNT again after a shuffle."""
    if "COUNT" not in opts:
        return opts
    n = next(o for o in opts if o.isdigit())
    rest = [o for o in opts if o != n]
    i = rest.index("COUNT")
    return rest[:i + 1] + [n] + rest[i + 1:]


@pytest.mark.skipif(IS_REDIS, reason="compares Ferrite with a redis-server the test starts")
def test_randomized_differential_against_redis(tmp_path):
    """Random geo sets (small and large encodings, clusters, duplicates, poles, the
    antimeridian) and random searches of every form, sent to redis-server and Ferrite; every
    reply must be the same bytes. The seed is in the failure message (GEO_DIFF_SEED reruns
    one seed)."""
    seeds = [int(os.environ["GEO_DIFF_SEED"])] if "GEO_DIFF_SEED" in os.environ else [1, 2, 3]
    rs = RedisServer(str(tmp_path))
    fs = Server()
    try:
        for seed in seeds:
            rng = random.Random(seed)
            for proto in (2, 3):
                p = Pair(rs.port, fs.port, proto)
                try:
                    p.both("FLUSHALL")
                    keys = {}
                    for key, n in (("small", rng.randrange(1, 120)), ("big", rng.randrange(300, 2500))):
                        keys[key] = fill_key(p, rng, key, n)
                    p.both("ZCARD", "big")
                    p.both("OBJECT", "ENCODING", "small")
                    p.both("OBJECT", "ENCODING", "big")
                    for q in range(500):
                        key = rng.choice(list(keys))
                        random_search(p, rng, key, keys[key], "dst")
                        if q % 25 == 0:
                            sample = [m[0] for m in rng.sample(keys[key], min(5, len(keys[key])))]
                            p.both("GEOPOS", key, *sample, "absent")
                            p.both("GEOHASH", key, *sample)
                            p.both("GEODIST", key, sample[0], sample[-1], rng.choice(list(UNITS)))
                    assert p.sent > 600
                except AssertionError as e:
                    raise AssertionError(f"seed {seed}, RESP{proto}: {e}") from None
                finally:
                    p.close()
    finally:
        fs.stop()
        rs.stop()
