"""DUMP / RESTORE / MIGRATE with real processes, both ways between the server under test and
Debian's redis-server 7.0: every type and encoding, byte-equal payloads where both servers
hold the same encoding, Redis's exact errors, TTL / IDLETIME / FREQ, what RESTORE and
MIGRATE log to the AOF, corrupted payloads (every byte flipped, every truncation) answered
with an error by a server that stays up, and MIGRATE's options, errors, timeout and
connection cache. With FERRITE_TEST_TARGET=redis the server under test is redis-server too,
which proves the expectations are Redis's."""
import os
import shutil
import socket
import tempfile
import threading
import time

import pytest
import redis

from conftest import IS_REDIS, RedisServer, Server, poll

ferrite_only = pytest.mark.skipif(IS_REDIS, reason="Ferrite's single-file AOF")

# ---- CRC-64/Jones (Redis's crc64.c), to forge payloads whose checksum is right ----

_POLY = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 reflected
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc64(data, crc=0):
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def seal(body, version=10):
    """A payload around RDB value bytes: version (le16) and CRC-64 (le64)."""
    p = body + version.to_bytes(2, "little")
    return p + crc64(p).to_bytes(8, "little")


def reseal(payload):
    """The same payload with the checksum made right again after an edit."""
    return seal(payload[:-10], int.from_bytes(payload[-10:-8], "little"))


def err(fn):
    try:
        fn()
    except redis.exceptions.ResponseError as e:
        return str(e)
    return None


@pytest.fixture
def peer():
    """A redis-server 7.0 beside the server under test."""
    d = tempfile.mkdtemp(prefix="ferrite-dump-it-")
    p = RedisServer(d)
    yield p
    p.stop()
    shutil.rmtree(d, ignore_errors=True)


def fill(c):
    """Every type in every encoding both servers have, and edge values."""
    c.set("s:int", "12345")
    c.set("s:bigint", "-9223372036854775808")
    c.set("s:embstr", "hello")
    c.set("s:raw", "r" * 200)
    c.set("s:empty", "")
    c.set("s:binary", bytes(range(256)) * 4)
    c.set("s:notint", "007")
    c.set("s:lzf", "compress me " * 1000)
    c.rpush("l:small", "a", "1", "-2", "", "70000", "12345678901", "x" * 70)
    c.rpush("l:big", *[f"element-{i}" if i % 3 else str(i) for i in range(5000)])
    c.rpush("l:wide", *[chr(97 + i) * 9000 for i in range(4)])
    c.sadd("set:intset", *range(-20, 20), 10**12)
    c.sadd("set:strings", "a", "b", "c")
    c.sadd("set:big", *[f"member-{i}" for i in range(700)])
    c.zadd("z:small", {"a": 1, "b": 2.5, "c": -3, "d": 1e-300, "e": float("inf"), "f": 0.1})
    c.zadd("z:big", {f"m{i}": (i % 17) * 0.25 - 1 for i in range(300)})
    c.hset("h:small", mapping={"f": "v", "n": "42", "e": ""})
    c.hset("h:big", mapping={f"field-{i}": f"value-{i}" for i in range(1000)})
    c.hset("h:longval", mapping={"k": "v" * 200})


KEYS = ["s:int", "s:bigint", "s:embstr", "s:raw", "s:empty", "s:binary", "s:notint", "s:lzf",
        "l:small", "l:big", "l:wide", "set:intset", "set:strings", "set:big", "z:small", "z:big",
        "h:small", "h:big", "h:longval"]


def value_of(c, key):
    t = c.type(key)
    if t == b"string":
        return c.get(key)
    if t == b"list":
        return c.lrange(key, 0, -1)
    if t == b"set":
        return sorted(c.smembers(key))
    if t == b"zset":
        return c.zrange(key, 0, -1, withscores=True)
    if t == b"hash":
        return sorted(c.hgetall(key).items())
    return None


# ---- one server ----


def test_restore_errors_are_redis_texts(server):
    c = server.client()
    c.flushall()
    c.set("a", "v")
    p = c.dump("a")
    assert c.dump("missing") is None
    assert err(lambda: c.restore("a", 0, p)) == "BUSYKEY Target key name already exists."
    # BUSYKEY comes before the TTL is even parsed, as Redis.
    assert err(lambda: c.execute_command("RESTORE", "a", "x", p)).startswith("BUSYKEY")
    assert err(lambda: c.execute_command("RESTORE", "k", "x", p)) == \
        "value is not an integer or out of range"
    assert err(lambda: c.execute_command("RESTORE", "k", "-1", p)) == \
        "Invalid TTL value, must be >= 0"
    assert err(lambda: c.execute_command("RESTORE", "k", "0", p, "IDLETIME", "-1")) == \
        "Invalid IDLETIME value, must be >= 0"
    assert err(lambda: c.execute_command("RESTORE", "k", "0", p, "IDLETIME", "x")) == \
        "value is not an integer or out of range"
    assert err(lambda: c.execute_command("RESTORE", "k", "0", p, "FREQ", "256")) == \
        "Invalid FREQ value, must be >= 0 and <= 255"
    assert err(lambda: c.execute_command("RESTORE", "k", "0", p, "FREQ", "-1")) == \
        "Invalid FREQ value, must be >= 0 and <= 255"
    for bad in (["IDLETIME", "1", "FREQ", "2"], ["FREQ", "2", "IDLETIME", "1"], ["IDLETIME"],
                ["FREQ"], ["NOSUCH"]):
        assert err(lambda: c.execute_command("RESTORE", "k", "0", p, *bad)) == "syntax error", bad
    version_err = "DUMP payload version or checksum are wrong"
    assert err(lambda: c.restore("k", 0, p[:-1] + bytes([p[-1] ^ 1]))) == version_err
    assert err(lambda: c.restore("k", 0, b"short")) == version_err
    assert err(lambda: c.restore("k", 0, b"")) == version_err
    assert err(lambda: c.restore("k", 0, seal(p[:-10], version=11))) == version_err
    assert c.restore("k9", 0, seal(p[:-10], version=9))  # older versions are fine
    assert err(lambda: c.restore("k", 0, seal(b"\x00\x0fab"))) == "Bad data format"
    assert err(lambda: c.restore("k", 0, seal(b"\x01\x00"))) == "Bad data format"  # empty list
    assert err(lambda: c.restore("k", 0, seal(b"\x08\x00"))) == "Bad data format"  # type 8
    assert err(lambda: c.restore("k", 0, seal(b"\xff"))) == "Bad data format"
    assert err(lambda: c.restore("k", 0, seal(b""))) == "Bad data format"
    # Huge lengths: answered at once, nothing allocated for them (the server stays small).
    for body in (b"\x00\x81" + (1 << 62).to_bytes(8, "big"), b"\x01\x80\xff\xff\xff\xff",
                 b"\x00\xc3\x03\x80\xff\xff\xff\xff" + b"abc", b"\x12\x81" + (1 << 40).to_bytes(8, "big")):
        assert err(lambda: c.restore("k", 0, seal(body))) == "Bad data format", body
    assert c.exists("k") == 0
    assert c.ping()


def test_every_type_round_trips_in_one_server(server):
    c = server.client()
    c.flushall()
    fill(c)
    for k in KEYS:
        p = c.dump(k)
        assert c.restore(k + ":copy", 0, p), k
        assert value_of(c, k + ":copy") == value_of(c, k), k
        assert c.object("encoding", k + ":copy") == c.object("encoding", k), k
        assert c.execute_command("DEBUG", "DIGEST-VALUE", k)[0] == \
            c.execute_command("DEBUG", "DIGEST-VALUE", k + ":copy")[0], k
        assert c.restore(k, 0, p, replace=True)
        assert value_of(c, k) == value_of(c, k + ":copy")


def test_ttl_absttl_replace_and_overflow(server):
    c = server.client()
    c.flushall()
    c.set("src", "v")
    p = c.dump("src")
    assert c.restore("rel", 100000, p)
    assert 99000 < c.pttl("rel") <= 100000
    at = int(time.time() * 1000) + 500000
    assert c.restore("abs", at, p, absttl=True)
    assert c.execute_command("PEXPIRETIME", "abs") == at
    # An absolute time in the past: OK, and no key.
    assert c.restore("past", 1000, p, absttl=True)
    assert c.exists("past") == 0
    # ... and with REPLACE, the old key is gone too.
    c.set("old", "x")
    assert c.restore("old", 1000, p, absttl=True, replace=True)
    assert c.exists("old") == 0
    # A relative TTL near INT64_MAX wraps into the past in Redis: OK, nothing created.
    assert c.execute_command("RESTORE", "wrap", "9223372036854775807", p) == b"OK"
    assert c.exists("wrap") == 0
    assert c.execute_command("RESTORE", "far", "9223372036854775807", p, "ABSTTL") == b"OK"
    assert c.execute_command("PEXPIRETIME", "far") == 9223372036854775807
    # TTL 0 = none; REPLACE replaces type and TTL.
    c.set("t", "x", ex=100)
    c.rpush("lst", "a")
    assert c.restore("t", 0, c.dump("lst"), replace=True)
    assert c.type("t") == b"list" and c.ttl("t") == -1


def test_idletime_and_freq_follow_the_eviction_policy(server):
    c = server.client()
    c.flushall()
    c.set("src", "v")
    p = c.dump("src")
    c.config_set("maxmemory-policy", "allkeys-lru")
    try:
        assert c.execute_command("RESTORE", "idle", "0", p, "IDLETIME", "1000") == b"OK"
        assert 1000 <= c.object("idletime", "idle") <= 1002
        # FREQ is accepted and ignored under LRU.
        assert c.execute_command("RESTORE", "f", "0", p, "FREQ", "100") == b"OK"
        assert c.object("idletime", "f") <= 2
        c.config_set("maxmemory-policy", "allkeys-lfu")
        assert c.execute_command("RESTORE", "freq", "0", p, "FREQ", "100") == b"OK"
        assert c.object("freq", "freq") == 100
        assert c.execute_command("RESTORE", "i2", "0", p, "IDLETIME", "1000") == b"OK"
        assert c.object("freq", "i2") == 5  # LFU_INIT_VAL: IDLETIME ignored under LFU
    finally:
        c.config_set("maxmemory-policy", "noeviction")


def sanitize(c):
    """redis-server reads an unsanitized listpack without checking it (and may crash on a
    forged one): ask it to check, as Ferrite always does."""
    try:
        c.config_set("sanitize-dump-payload", "yes")
    except redis.exceptions.ResponseError:
        pass


def test_corrupted_payloads_never_hurt_the_server(server):
    c = server.client()
    c.flushall()
    sanitize(c)
    c.rpush("l", "a", "12", "x" * 70, "-5")
    c.hset("h", mapping={"f": "v", "n": "1"})
    c.zadd("z", {"a": 1.5, "b": 2})
    c.sadd("i", 1, 2, 300000)
    c.set("s", "str" * 30)
    errors = 0
    for k in ("l", "h", "z", "i", "s"):
        p = c.dump(k)
        # Every truncation (the checksum then no longer matches) and every byte flipped.
        for n in range(len(p)):
            assert err(lambda: c.restore("t", 0, p[:n])) == \
                "DUMP payload version or checksum are wrong"
        for i in range(len(p)):
            bad = p[:i] + bytes([p[i] ^ 0xFF]) + p[i + 1:]
            assert err(lambda: c.restore("t", 0, bad)) == "DUMP payload version or checksum are wrong"
        # The same damage behind a right checksum: the value reader meets it.
        for n in range(len(p) - 10):
            r = err(lambda: c.restore("t", 0, seal(p[:n])))
            assert r in (None, "Bad data format"), r
            errors += r is not None
            c.delete("t")
        for i in range(len(p) - 10):
            for x in (0x01, 0x80, 0xFF):
                r = err(lambda: c.restore("t", 0, reseal(p[:i] + bytes([p[i] ^ x]) + p[i + 1:])))
                assert r in (None, "Bad data format"), r
                errors += r is not None
                c.delete("t")
    assert errors > 100
    assert c.ping() and value_of(c, "l") == [b"a", b"12", b"x" * 70, b"-5"]


@ferrite_only
def test_restore_is_logged_with_an_absolute_ttl_and_replays(server_factory):
    s = server_factory(aof="always")
    c = s.client()
    c.set("src", "v")
    p = c.dump("src")
    c.restore("k", 100000, p)
    c.restore("plain", 0, p)
    c.set("gone", "x")
    c.restore("gone", 1000, p, absttl=True, replace=True)
    with open(s.aof_path(), "rb") as f:
        aof = f.read()
    at = c.execute_command("PEXPIRETIME", "k")
    assert b"$7\r\nRESTORE\r\n$1\r\nk\r\n$13\r\n%d\r\n" % at in aof
    assert b"ABSTTL" in aof
    assert b"*2\r\n$3\r\nDEL\r\n$4\r\ngone\r\n" in aof
    digest = c.execute_command("DEBUG", "DIGEST")
    s.keep = True
    s.stop()
    c2 = server_factory(dir=s.dir, aof="always").client()
    assert c2.execute_command("DEBUG", "DIGEST") == digest
    assert c2.execute_command("PEXPIRETIME", "k") == at
    assert c2.exists("gone") == 0


def test_restart_keeps_restored_keys_and_their_expiry(server_factory):
    """The same check by observation only, for redis-server as well: restart on the same
    directory, the restored keys and their expiry times are as before."""
    s = server_factory(aof="always")
    c = s.client()
    c.set("src", "v")
    p = c.dump("src")
    c.restore("k", 100000, p)
    at = c.execute_command("PEXPIRETIME", "k")
    c.rpush("l", *range(100))
    c.restore("l2", 0, c.dump("l"))
    s.keep = True
    s.stop()
    c2 = server_factory(dir=s.dir, aof="always").client()
    assert c2.execute_command("PEXPIRETIME", "k") == at
    assert c2.lrange("l2", 0, -1) == c2.lrange("l", 0, -1)


# ---- both ways with redis-server 7.0 ----


def test_payloads_cross_both_ways_and_match_byte_for_byte(server, peer):
    t = server.client()
    r = peer.client()
    t.flushall()
    r.flushall()
    fill(t)
    fill(r)
    same_bytes = 0
    for k in KEYS:
        pt, pr = t.dump(k), r.dump(k)
        # Target -> redis-server and back.
        assert r.restore(k + ":from-target", 0, pt), k
        assert value_of(r, k + ":from-target") == value_of(t, k), k
        assert t.restore(k + ":from-redis", 0, pr), k
        assert value_of(t, k + ":from-redis") == value_of(r, k), k
        # Round trip through redis-server: the same value by DIGEST-VALUE.
        assert t.restore(k + ":round", 0, r.dump(k + ":from-target"))
        assert t.execute_command("DEBUG", "DIGEST-VALUE", k)[0] == \
            t.execute_command("DEBUG", "DIGEST-VALUE", k + ":round")[0], k
        assert r.execute_command("DEBUG", "DIGEST-VALUE", k)[0] == \
            r.execute_command("DEBUG", "DIGEST-VALUE", k + ":from-target")[0], k
        # Where both hold the same encoding and its order is defined (all but hash tables),
        # the payloads are the same bytes.
        enc_t, enc_r = t.object("encoding", k), r.object("encoding", k)
        if enc_t == enc_r and enc_t != b"hashtable":
            assert pt == pr, (k, enc_t)
            same_bytes += 1
    assert same_bytes >= 12


def test_migrate_to_redis_and_back(server, peer):
    t = server.client()
    r = peer.client()
    t.flushall()
    r.flushall()
    fill(t)
    expected = {k: value_of(t, k) for k in KEYS}
    t.expire("s:raw", 5000)
    # One key, then the rest with KEYS, into db 2 of redis-server.
    assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "s:int", 2, 5000) == b"OK"
    assert t.exists("s:int") == 0
    assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "", 2, 5000, "KEYS", *KEYS[1:],
                             "missing") == b"OK"
    r2 = peer.client(db=2)
    for k in KEYS:
        assert value_of(r2, k) == expected[k], k
        assert t.exists(k) == 0, k
    assert 4990 <= r2.ttl("s:raw") <= 5000
    assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "s:int", 2, 5000) == b"NOKEY"
    # And back: redis-server migrates into the server under test (db 1).
    assert r2.execute_command("MIGRATE", "127.0.0.1", server.port, "", 1, 5000, "KEYS",
                              *KEYS) == b"OK"
    t1 = server.client(db=1)
    for k in KEYS:
        assert value_of(t1, k) == expected[k], k
    assert 4980 <= t1.ttl("s:raw") <= 5000
    assert r2.dbsize() == 0


def test_migrate_copy_replace_and_target_errors(server, peer):
    t = server.client()
    r = peer.client()
    t.flushall()
    r.flushall()
    t.set("k", "mine")
    t.rpush("l", 1, 2, 3)
    r.set("k", "theirs")
    e = err(lambda: t.execute_command("MIGRATE", "127.0.0.1", peer.port, "k", 0, 5000))
    assert e == "Target instance replied with error: BUSYKEY Target key name already exists."
    assert t.get("k") == b"mine"  # kept: the target refused it
    assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "k", 0, 5000, "COPY",
                             "REPLACE") == b"OK"
    assert r.get("k") == b"mine" and t.get("k") == b"mine"
    assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "", 0, 5000, "COPY",
                             "KEYS", "l") == b"OK"
    assert t.exists("l") == 1 and r.lrange("l", 0, -1) == [b"1", b"2", b"3"]
    # One key refused among several: the others move, the error names the first refusal.
    t.set("new", "n")
    e = err(lambda: t.execute_command("MIGRATE", "127.0.0.1", peer.port, "", 0, 5000,
                                      "KEYS", "new", "l"))
    assert e == "Target instance replied with error: BUSYKEY Target key name already exists."
    assert t.exists("new") == 0 and r.get("new") == b"n" and t.exists("l") == 1


def test_migrate_auth_and_auth2(server, peer):
    t = server.client()
    r = peer.client()
    t.flushall()
    r.flushall()
    r.execute_command("ACL", "SETUSER", "mover", "on", ">moverpass", "~*", "+@all")
    r.config_set("requirepass", "secret")
    try:
        t.set("a", "1")
        t.set("b", "2")
        t.set("c", "3")
        e = err(lambda: t.execute_command("MIGRATE", "127.0.0.1", peer.port, "a", 0, 5000))
        assert e == "Target instance replied with error: NOAUTH Authentication required."
        e = err(lambda: t.execute_command("MIGRATE", "127.0.0.1", peer.port, "a", 0, 5000,
                                          "AUTH", "wrong"))
        assert e.startswith("Target instance replied with error: WRONGPASS")
        assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "a", 0, 5000, "AUTH",
                                 "secret") == b"OK"
        assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "b", 0, 5000, "AUTH2",
                                 "mover", "moverpass") == b"OK"
        assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "c", 0, 5000, "AUTH2",
                                 "default", "secret") == b"OK"
        ra = peer.client()
        ra.execute_command("AUTH", "secret")
        assert [ra.get(k) for k in ("a", "b", "c")] == [b"1", b"2", b"3"]
        assert t.dbsize() == 0
    finally:
        ra = peer.client()
        ra.execute_command("AUTH", "secret")
        ra.config_set("requirepass", "")


def test_migrate_into_a_server_with_a_password(server_factory, peer):
    t = server_factory(requirepass="pw")
    r = peer.client()
    r.flushall()
    r.set("x", "1")
    r.set("y", "2")
    assert r.execute_command("MIGRATE", "127.0.0.1", t.port, "x", 0, 5000, "AUTH", "pw") == b"OK"
    assert r.execute_command("MIGRATE", "127.0.0.1", t.port, "y", 0, 5000, "AUTH2", "default",
                             "pw") == b"OK"
    tc = t.client(password="pw")
    assert tc.get("x") == b"1" and tc.get("y") == b"2"


def test_migrate_argument_errors(server):
    c = server.client()
    c.flushall()
    c.set("k", "v")
    m = lambda *a: err(lambda: c.execute_command("MIGRATE", *a))
    assert m("127.0.0.1", 1, "k", 0, "x") == "value is not an integer or out of range"
    assert m("127.0.0.1", 1, "k", "x", 100) == "value is not an integer or out of range"
    assert m("127.0.0.1", 1, "k", 0, 100, "KEYS", "k") == (
        "When using MIGRATE KEYS option, the key argument must be set to the empty string")
    assert m("127.0.0.1", 1, "", 0, 100, "AUTH") == "syntax error"
    assert m("127.0.0.1", 1, "", 0, 100, "AUTH2", "u") == "syntax error"
    assert m("127.0.0.1", 1, "", 0, 100, "NOSUCH") == "syntax error"
    assert c.execute_command("MIGRATE", "127.0.0.1", 1, "", 0, 100, "KEYS") == b"NOKEY"
    assert c.execute_command("MIGRATE", "127.0.0.1", 1, "missing", 0, 100) == b"NOKEY"
    assert m("127.0.0.1", 1, "k", 0, 100) == "IOERR error or timeout writing to target instance"
    assert m("no-such-host.invalid", 1, "k", 0, 100) == \
        "IOERR error or timeout connecting to the client"
    assert c.get("k") == b"v"


def test_migrate_times_out_on_a_silent_target_and_the_server_goes_on(server):
    """A target that accepts and never answers: IOERR after the timeout, the key stays, and
    other clients are served again once it returns (MIGRATE blocks, as in Redis)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    conns = []
    stop = threading.Event()

    def accept():
        lsock.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(lsock.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    try:
        c = server.client()
        c.flushall()
        c.set("k", "v")
        t0 = time.time()
        e = err(lambda: c.execute_command("MIGRATE", "127.0.0.1", lsock.getsockname()[1], "k", 0,
                                          300))
        took = time.time() - t0
        assert e == "IOERR error or timeout reading to target instance"
        assert took < 5
        assert c.get("k") == b"v" and c.ping()
    finally:
        stop.set()
        th.join(5)
        for s in conns:
            s.close()
        lsock.close()


def test_migrate_connections_are_cached_then_closed_when_idle(server, peer):
    t = server.client()
    r = peer.client()
    t.flushall()

    def peer_clients():
        # Only the connections MIGRATE opened (their last command was RESTORE): the
        # peer's own start-up probe may still be closing when the test begins.
        return sum(1 for c in r.client_list() if c["cmd"].startswith("restore"))

    base = peer_clients()
    assert base == 0
    for i in range(3):
        t.set(f"k{i}", i)
        assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, f"k{i}", 0, 5000) == b"OK"
    assert peer_clients() == base + 1  # one cached connection for the three
    # Redis closes a cached connection unused for more than 10 s (checked every second).
    assert poll(lambda: peer_clients() == base, timeout=20, interval=0.5)
    t.set("again", 1)
    assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "again", 0, 5000) == b"OK"
    assert r.get("again") == b"1"


def test_migrate_reconnects_when_the_cached_connection_died(server, peer):
    t = server.client()
    r = peer.client()
    t.set("a", 1)
    assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "a", 0, 5000) == b"OK"
    r.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    t.set("b", 2)
    assert t.execute_command("MIGRATE", "127.0.0.1", peer.port, "b", 0, 5000) == b"OK"
    assert peer.client().get("b") == b"2"


@ferrite_only
def test_migrate_logs_del_of_the_moved_keys(server_factory, peer):
    s = server_factory(aof="always")
    c = s.client()
    c.set("moved", "1")
    c.set("copied", "2")
    c.set("stays", "3")
    assert c.execute_command("MIGRATE", "127.0.0.1", peer.port, "moved", 0, 5000) == b"OK"
    assert c.execute_command("MIGRATE", "127.0.0.1", peer.port, "copied", 0, 5000, "COPY") == b"OK"
    with open(s.aof_path(), "rb") as f:
        aof = f.read()
    assert b"*2\r\n$3\r\nDEL\r\n$5\r\nmoved\r\n" in aof
    assert b"MIGRATE" not in aof and b"copied\r\n" in aof and b"DEL\r\n$6\r\ncopied" not in aof
    digest = c.execute_command("DEBUG", "DIGEST")
    s.keep = True
    s.stop()
    c2 = server_factory(dir=s.dir, aof="always").client()
    assert c2.execute_command("DEBUG", "DIGEST") == digest
    assert c2.exists("moved") == 0 and c2.get("copied") == b"2"


def test_migrate_passwords_are_redacted_in_the_slowlog(server):
    c = server.client()
    c.flushall()
    c.config_set("slowlog-log-slower-than", 0)
    try:
        c.slowlog_reset()
        c.execute_command("MIGRATE", "127.0.0.1", 1, "", 0, 100, "AUTH", "pw1", "KEYS", "nokey")
        c.execute_command("MIGRATE", "127.0.0.1", 1, "", 0, 100, "AUTH2", "user", "pw2", "KEYS",
                          "AUTH", "nokey")
        cmds = [e["command"] for e in c.slowlog_get(10) if e["command"].startswith(b"MIGRATE")]
        assert len(cmds) == 2
        assert all(b"pw" not in x and b"user" not in x for x in cmds), cmds
        assert sum(x.count(b"(redacted)") for x in cmds) == 3, cmds
        assert b"KEYS AUTH nokey" in cmds[0]  # after KEYS, AUTH is a key name
    finally:
        c.config_set("slowlog-log-slower-than", 10000)


def test_redis_migrates_into_the_server_with_copy_and_replace(server, peer):
    t = server.client()
    r = peer.client()
    t.flushall()
    r.flushall()
    r.zadd("z", {"a": 1, "b": 2})
    r.set("s", "theirs")
    t.set("s", "mine")
    e = err(lambda: r.execute_command("MIGRATE", "127.0.0.1", server.port, "s", 0, 5000))
    assert e == "Target instance replied with error: BUSYKEY Target key name already exists."
    assert r.execute_command("MIGRATE", "127.0.0.1", server.port, "", 0, 5000, "COPY",
                             "REPLACE", "KEYS", "s", "z") == b"OK"
    assert t.get("s") == b"theirs" and t.zrange("z", 0, -1, withscores=True) == \
        [(b"a", 1.0), (b"b", 2.0)]
    assert r.exists("s", "z") == 2  # COPY keeps them
