"""Client-side caching (CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO) byte for byte as
Redis 7.0: invalidation pushes in RESP3 on the same connection, `__redis__:invalidate`
messages to a RESP2 redirect target, BCAST prefixes, OPTIN/OPTOUT, NOLOOP, flushes, expiry,
eviction from the tracking table, scripts and transactions, INFO and CLIENT LIST.

Raw sockets throughout (python3-redis 4.3 speaks RESP2 only and hides pushes). Every test
passes against Debian's redis-server too (FERRITE_TEST_TARGET=redis)."""
import time

import pytest

from conftest import Raw, poll

INVALIDATE_MSG = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"


def keys_array(*keys):
    out = b"*%d\r\n" % len(keys)
    for k in keys:
        out += b"$%d\r\n%s\r\n" % (len(k), k)
    return out


def push(*keys):
    """The RESP3 invalidation push of these keys."""
    return b">2\r\n$10\r\ninvalidate\r\n" + keys_array(*keys)


class Conn(Raw):
    """Raw with exact byte expectations."""

    def send_cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.send(out)

    def expect(self, data):
        """The next bytes the server sent are exactly `data`."""
        while len(self.buf) < len(data):
            self._fill()
        got, self.buf = self.buf[:len(data)], self.buf[len(data):]
        assert got == data

    def nothing_pending(self):
        """Nothing was sent before the reply to a PING (a sentinel that proves no message is
        queued for this connection)."""
        assert self.buf == b""
        self.send_cmd("PING")
        l = self.line()
        assert l in (b"+PONG", b"*2"), l  # +PONG, or RESP2 subscribed mode's pong array
        if l == b"*2":
            assert self.reply() == b"pong" and self.reply() == b""

    def client_id(self):
        return self.cmd("CLIENT", "ID")


@pytest.fixture
def conn(server):
    made = []

    def make(resp3=False):
        c = Conn(server.port)
        made.append(c)
        if resp3:
            c.cmd("HELLO", "3")
        return c

    yield make
    for c in made:
        c.close()


def redirect_target(conn):
    """A RESP2 connection subscribed to __redis__:invalidate, and its id."""
    t = conn()
    tid = t.client_id()
    assert t.cmd("SUBSCRIBE", "__redis__:invalidate") == [b"subscribe", b"__redis__:invalidate", 1]
    return t, tid


def test_resp3_invalidation_on_same_connection(server, conn):
    c = conn(resp3=True)
    w = conn()
    w.cmd("SET", "t:k1", "1")
    assert c.cmd("CLIENT", "TRACKING", "on") == "OK"
    assert c.cmd("GET", "t:k1") == b"1"
    w.cmd("SET", "t:k1", "2")
    c.expect(push(b"t:k1"))
    # The key left the table: a second write sends nothing.
    w.cmd("SET", "t:k1", "3")
    c.nothing_pending()
    # A key never read is not tracked.
    w.cmd("SET", "t:other", "1")
    c.nothing_pending()


def test_own_write_invalidation_follows_the_reply(server, conn):
    c = conn(resp3=True)
    c.cmd("CLIENT", "TRACKING", "on")
    c.cmd("HSET", "t:h", "f", "1")
    c.cmd("HGET", "t:h", "f")
    c.send_cmd("HDEL", "t:h", "f")
    c.expect(b":1\r\n" + push(b"t:h"))
    # MGET finding an expired key (lazy expiry inside the command): reply, then the push.
    c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        c.cmd("MSET", "t:x", "1", "t:y", "2")
        c.cmd("PEXPIRE", "t:y", "50")
        c.cmd("GET", "t:y")
        time.sleep(0.1)
        c.send_cmd("MGET", "t:x", "t:y")
        c.expect(b"*2\r\n$1\r\n1\r\n_\r\n" + push(b"t:y"))
    finally:
        c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    # A transaction's writes: after EXEC's whole reply.
    c.cmd("MSET", "t:a", "1", "t:b", "2")
    c.cmd("GET", "t:a")
    c.cmd("MULTI")
    c.cmd("INCR", "t:a")
    c.cmd("GET", "t:b")
    c.send_cmd("EXEC")
    c.expect(b"*2\r\n:2\r\n$1\r\n2\r\n" + push(b"t:a"))


def test_resp2_redirect_to_subscribed_client(server, conn):
    t, tid = redirect_target(conn)
    c = conn()
    assert c.cmd("CLIENT", "TRACKING", "on", "REDIRECT", tid) == "OK"
    c.cmd("SET", "t:a", "1")
    c.cmd("SET", "t:b", "1")
    c.cmd("GET", "t:a")
    c.cmd("INCR", "t:b")  # never read: no message
    c.cmd("INCR", "t:a")
    t.expect(INVALIDATE_MSG + keys_array(b"t:a"))
    t.nothing_pending()
    assert c.cmd("CLIENT", "GETREDIR") == tid
    c.cmd("CLIENT", "TRACKING", "off")
    assert c.cmd("CLIENT", "GETREDIR") == -1


def test_redirect_to_resp3_client(server, conn):
    t = conn(resp3=True)
    tid = t.client_id()
    c = conn()
    c.cmd("CLIENT", "TRACKING", "on", "REDIRECT", tid)
    c.cmd("SET", "t:r3", "1")
    c.cmd("GET", "t:r3")
    c.cmd("DEL", "t:r3")
    t.expect(push(b"t:r3"))
    # A RESP2 target that is not subscribed gets nothing.
    t2 = conn()
    c.cmd("CLIENT", "TRACKING", "on", "REDIRECT", t2.client_id())
    c.cmd("SET", "t:r3", "1")
    c.cmd("GET", "t:r3")
    c.cmd("DEL", "t:r3")
    t2.nothing_pending()


def test_bcast_prefixes_and_noloop(server, conn):
    t, tid = redirect_target(conn)
    c = conn()
    assert c.cmd("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", tid,
                 "PREFIX", "a:", "PREFIX", "b:") == "OK"
    c.cmd("MULTI")
    for k in ("a:1", "a:2", "b:1", "b:2", "c:1"):
        c.cmd("INCR", k)
    c.cmd("EXEC")
    # One message per prefix, its keys in byte order.
    t.expect(INVALIDATE_MSG + keys_array(b"a:1", b"a:2"))
    t.expect(INVALIDATE_MSG + keys_array(b"b:1", b"b:2"))
    # Adding a prefix while on.
    assert c.cmd("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", tid, "PREFIX", "c:") == "OK"
    c.cmd("INCR", "c:1234")
    t.expect(INVALIDATE_MSG + keys_array(b"c:1234"))
    info = c.cmd("CLIENT", "TRACKINGINFO")
    assert info == [b"flags", [b"on", b"bcast"], b"redirect", tid, b"prefixes", [b"a:", b"b:", b"c:"]]
    # NOLOOP: the client's own changes are left out.
    c.cmd("CLIENT", "TRACKING", "off")
    c.cmd("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", tid, "NOLOOP")
    w = conn()
    w.cmd("SET", "nl:other1", "1")
    t.expect(INVALIDATE_MSG + keys_array(b"nl:other1"))
    c.cmd("SET", "nl:loop", "1")
    w.cmd("SET", "nl:other2", "1")
    t.expect(INVALIDATE_MSG + keys_array(b"nl:other2"))
    t.nothing_pending()
    c.cmd("CLIENT", "TRACKING", "off")


def test_noloop_default_mode_and_scripts(server, conn):
    t, tid = redirect_target(conn)
    c = conn()
    w = conn()
    c.cmd("CLIENT", "TRACKING", "on", "REDIRECT", tid, "NOLOOP")
    c.cmd("MGET", "nd:other1", "nd:loop", "nd:other2")
    w.cmd("SET", "nd:other1", "1")
    t.expect(INVALIDATE_MSG + keys_array(b"nd:other1"))
    c.cmd("SET", "nd:loop", "1")
    c.cmd("EVAL", "return redis.call('set', KEYS[1], '2')", "1", "nd:loop")
    w.cmd("SET", "nd:other2", "1")
    t.expect(INVALIDATE_MSG + keys_array(b"nd:other2"))
    t.nothing_pending()


def test_scripts_track_declared_keys_when_they_read(server, conn):
    c = conn(resp3=True)
    w = conn()
    c.cmd("CLIENT", "TRACKING", "on")
    w.cmd("MSET", "s:k1", "1", "s:k2", "1")
    # A script that reads nothing tracks nothing.
    c.cmd("EVAL", "redis.call('set', 's:k3', 'bar')", "2", "s:k1", "s:k2")
    w.cmd("MSET", "s:k2", "2", "s:k1", "2")
    c.nothing_pending()
    # A read-only command in the script: every declared key is tracked.
    c.cmd("EVAL", "redis.call('get', 's:k3')", "2", "s:k1", "s:k2")
    w.cmd("MSET", "s:k2", "2", "s:k1", "2")
    c.expect(push(b"s:k2") + push(b"s:k1"))
    c.cmd("EVAL_RO", "redis.call('ping')", "2", "s:k1", "s:k2")
    w.cmd("MSET", "s:k2", "2", "s:k1", "2")
    c.nothing_pending()
    c.cmd("EVAL_RO", "redis.call('get', 's:k1')", "2", "s:k1", "s:k2")
    w.cmd("MSET", "s:k2", "3", "s:k1", "3")
    c.expect(push(b"s:k2") + push(b"s:k1"))
    # A script's write invalidates other clients' keys.
    o = conn(resp3=True)
    o.cmd("CLIENT", "TRACKING", "on")
    o.cmd("GET", "s:k1")
    w.cmd("EVAL", "redis.call('set', KEYS[1], 'x')", "1", "s:k1")
    o.expect(push(b"s:k1"))


def test_optin_optout_and_caching(server, conn):
    c = conn(resp3=True)
    w = conn()
    c.cmd("CLIENT", "TRACKING", "on", "OPTIN")
    c.cmd("GET", "o:k1")  # not cached: no CLIENT CACHING yes
    w.cmd("SET", "o:k1", "1")
    c.nothing_pending()
    assert c.cmd("CLIENT", "CACHING", "yes") == "OK"
    assert c.cmd("CLIENT", "TRACKINGINFO")["flags"] == [b"on", b"optin", b"caching-yes"]
    c.cmd("GET", "o:k1")
    assert c.cmd("CLIENT", "TRACKINGINFO")["flags"] == [b"on", b"optin"]  # one command only
    c.cmd("GET", "o:k2")  # after the one command: not tracked
    w.cmd("SET", "o:k1", "2")
    w.cmd("SET", "o:k2", "2")
    c.expect(push(b"o:k1"))
    c.nothing_pending()
    # CACHING yes covers a whole transaction.
    c.cmd("CLIENT", "CACHING", "yes")
    c.cmd("MULTI")
    c.cmd("GET", "o:k3")
    c.cmd("GET", "o:k4")
    c.cmd("EXEC")
    w.cmd("MSET", "o:k3", "1", "o:k4", "1")
    c.expect(push(b"o:k3") + push(b"o:k4"))
    assert c.cmd("CLIENT", "CACHING", "no") == (
        "ERR", "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    assert c.cmd("CLIENT", "TRACKING", "on", "OPTOUT") == (
        "ERR", "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
        "and then re-enabling it with a different mode.")
    c.cmd("CLIENT", "TRACKING", "off")
    c.cmd("CLIENT", "TRACKING", "on", "OPTOUT")
    assert c.cmd("CLIENT", "CACHING", "yes") == (
        "ERR", "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
    c.cmd("CLIENT", "CACHING", "no")
    assert c.cmd("CLIENT", "TRACKINGINFO")["flags"] == [b"on", b"optout", b"caching-no"]
    c.cmd("GET", "o:k5")  # opted out
    c.cmd("GET", "o:k6")
    w.cmd("MSET", "o:k5", "1", "o:k6", "1")
    c.expect(push(b"o:k6"))
    c.nothing_pending()


def test_errors(server, conn):
    c = conn()
    e = lambda *a: c.cmd("CLIENT", *a)
    assert e("CACHING", "yes") == ("ERR", "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
    assert e("TRACKING", "on", "PREFIX", "x") == ("ERR", "ERR PREFIX option requires BCAST mode to be enabled")
    assert e("TRACKING", "on", "OPTIN", "OPTOUT") == ("ERR", "ERR You can't specify both OPTIN mode and OPTOUT mode")
    assert e("TRACKING", "on", "BCAST", "OPTIN") == ("ERR", "ERR OPTIN and OPTOUT are not compatible with BCAST")
    assert e("TRACKING", "on", "REDIRECT", "999999") == ("ERR", "ERR The client ID you want redirect to does not exist")
    assert e("TRACKING", "on", "REDIRECT", "abc") == ("ERR", "ERR value is not an integer or out of range")
    me = c.client_id()
    assert e("TRACKING", "on", "REDIRECT", me, "REDIRECT", me) == ("ERR", "ERR A client can only redirect to a single other client")
    assert e("TRACKING", "on", "FOO") == ("ERR", "ERR syntax error")
    assert e("TRACKING", "on", "REDIRECT") == ("ERR", "ERR syntax error")
    assert e("TRACKING", "maybe") == ("ERR", "ERR syntax error")
    assert e("TRACKING") == ("ERR", "ERR wrong number of arguments for 'client|tracking' command")
    assert e("CACHING") == ("ERR", "ERR wrong number of arguments for 'client|caching' command")
    assert e("GETREDIR", "x") == ("ERR", "ERR wrong number of arguments for 'client|getredir' command")
    assert e("TRACKINGINFO", "x") == ("ERR", "ERR wrong number of arguments for 'client|trackinginfo' command")
    assert e("TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO") == ("ERR", "ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for a single client must not overlap.")
    assert e("TRACKING", "on", "BCAST", "PREFIX", "FOO", "PREFIX", "BAR") == "OK"
    assert e("TRACKING", "on", "BCAST", "PREFIX", "FO") == ("ERR", "ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. Prefixes for a single client must not overlap.")
    assert e("TRACKING", "on", "BCAST", "PREFIX", "BARB") == ("ERR", "ERR Prefix 'BARB' overlaps with an existing prefix 'BAR'. Prefixes for a single client must not overlap.")
    assert e("TRACKING", "on") == ("ERR", "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
    assert e("TRACKING", "off") == "OK"
    assert e("TRACKING", "on", "OPTIN") == "OK"
    assert e("CACHING", "maybe") == ("ERR", "ERR syntax error")
    assert e("TRACKING", "off", "BCAST") == "OK"  # options are parsed, not checked, for OFF


def test_trackinginfo_and_getredir(server, conn):
    c = conn(resp3=True)
    t, tid = redirect_target(conn)
    assert c.cmd("CLIENT", "TRACKINGINFO") == {"flags": [b"off"], "redirect": -1, "prefixes": []}
    assert c.cmd("CLIENT", "GETREDIR") == -1
    c.cmd("CLIENT", "TRACKING", "on")
    assert c.cmd("CLIENT", "TRACKINGINFO") == {"flags": [b"on"], "redirect": 0, "prefixes": []}
    assert c.cmd("CLIENT", "GETREDIR") == 0
    c.cmd("CLIENT", "TRACKING", "on", "REDIRECT", tid, "NOLOOP")
    assert c.cmd("CLIENT", "TRACKINGINFO") == {"flags": [b"on", b"noloop"], "redirect": tid, "prefixes": []}
    c.cmd("CLIENT", "TRACKING", "off")
    c.cmd("CLIENT", "TRACKING", "on", "BCAST")
    assert c.cmd("CLIENT", "TRACKINGINFO") == {"flags": [b"on", b"bcast"], "redirect": 0, "prefixes": [b""]}
    # Exact bytes in RESP3 (a map, the flags a set) and RESP2.
    c.send_cmd("CLIENT", "TRACKINGINFO")
    c.expect(b"%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n"
             b"$8\r\nprefixes\r\n*1\r\n$0\r\n\r\n")
    d = conn()
    d.send_cmd("CLIENT", "TRACKINGINFO")
    d.expect(b"*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n")
    c.cmd("CLIENT", "TRACKING", "off")


def test_redirect_broken(server, conn):
    c = conn(resp3=True)
    w = conn()
    t, tid = redirect_target(conn)
    c.cmd("CLIENT", "TRACKING", "on", "REDIRECT", tid)
    c.cmd("GET", "rb:k")
    t.close()
    assert poll(lambda: b"id=%d " % tid not in w.cmd("CLIENT", "LIST"))
    w.cmd("SET", "rb:k", "1")
    c.expect(b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % tid)
    info = c.cmd("CLIENT", "TRACKINGINFO")
    assert info == {"flags": [b"on", b"broken_redirect"], "redirect": tid, "prefixes": []}
    line = c.cmd("CLIENT", "INFO")
    assert b" flags=tR " in line and b" redir=%d " % tid in line
    c.cmd("CLIENT", "TRACKING", "off")


def test_client_list_flags(server, conn):
    c = conn()
    assert b" flags=N " in c.cmd("CLIENT", "INFO") and b" redir=-1 " in c.cmd("CLIENT", "INFO")
    c.cmd("CLIENT", "TRACKING", "on")
    assert b" flags=t " in c.cmd("CLIENT", "INFO") and b" redir=0 " in c.cmd("CLIENT", "INFO")
    c.cmd("CLIENT", "TRACKING", "off")
    c.cmd("CLIENT", "TRACKING", "on", "BCAST")
    assert b" flags=tB " in c.cmd("CLIENT", "INFO")
    c.cmd("CLIENT", "TRACKING", "off")
    assert b" flags=N " in c.cmd("CLIENT", "INFO")


def test_flush_sends_null(server, conn):
    c = conn(resp3=True)
    t, tid = redirect_target(conn)
    r2 = conn()
    r2.cmd("CLIENT", "TRACKING", "on", "REDIRECT", tid)
    c.cmd("CLIENT", "TRACKING", "on")
    w = conn()
    w.cmd("FLUSHALL")
    c.expect(b">2\r\n$10\r\ninvalidate\r\n_\r\n")
    t.expect(INVALIDATE_MSG + b"$-1\r\n")
    w.cmd("FLUSHDB", "ASYNC")
    c.expect(b">2\r\n$10\r\ninvalidate\r\n_\r\n")
    t.expect(INVALIDATE_MSG + b"$-1\r\n")
    # The client's own FLUSHDB inside a transaction: after EXEC's reply.
    c.cmd("MULTI")
    c.cmd("FLUSHDB")
    c.send_cmd("EXEC")
    c.expect(b"*1\r\n+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n")
    t.expect(INVALIDATE_MSG + b"$-1\r\n")
    r2.cmd("CLIENT", "TRACKING", "off")
    c.cmd("CLIENT", "TRACKING", "off")


def test_expiry_invalidates(server, conn):
    t, tid = redirect_target(conn)
    c = conn()
    c.cmd("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", tid, "NOLOOP", "PREFIX", "ex:")
    c.cmd("SET", "ex:key", "v", "PX", "1")
    c.cmd("SET", "ex:keyother", "v")  # changed by the client itself: NOLOOP
    # Active expiry deletes it: no client did that, NOLOOP does not hide it.
    t.expect(INVALIDATE_MSG + keys_array(b"ex:key"))
    c.cmd("CLIENT", "TRACKING", "off")
    # Default mode, lazy expiry by another client's read.
    d = conn(resp3=True)
    d.cmd("CLIENT", "TRACKING", "on")
    d.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        d.cmd("SET", "ex:lazy", "v", "PX", "30")
        d.cmd("GET", "ex:lazy")
        time.sleep(0.1)
        c.cmd("GET", "ex:lazy")
        d.expect(push(b"ex:lazy"))
    finally:
        d.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    d.cmd("CLIENT", "TRACKING", "off")


def test_tracking_table_limit_evicts_and_info(server_factory):
    s = server_factory()
    t = Conn(s.port)
    tid = t.client_id()
    t.cmd("SUBSCRIBE", "__redis__:invalidate")
    c = Conn(s.port)
    w = Conn(s.port)
    try:
        c.cmd("CLIENT", "TRACKING", "on", "REDIRECT", tid)
        for i in range(250):
            c.cmd("GET", "key%d" % i)
        b = Conn(s.port)
        b.cmd("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "prefix:")
        info = w.cmd("INFO")
        assert b"tracking_clients:2\r\n" in info
        assert b"tracking_total_keys:250\r\n" in info
        assert b"tracking_total_items:250\r\n" in info
        assert b"tracking_total_prefixes:1\r\n" in info
        # Over the limit: keys leave the table, each with an invalidation, until one is left.
        w.cmd("CONFIG", "SET", "tracking-table-max-keys", "1")
        seen = set()
        for _ in range(249):
            assert t.line() == b"*3"
            assert t.reply() == b"message" and t.reply() == b"__redis__:invalidate"
            seen.update(t.reply())
        assert len(seen) == 249
        t.nothing_pending()
        assert b"tracking_total_keys:1\r\n" in w.cmd("INFO", "stats")
        b.close()
        c.cmd("CLIENT", "TRACKING", "off")
        assert poll(lambda: b"tracking_clients:0\r\n" in w.cmd("INFO", "clients"))
        assert b"tracking_total_prefixes:0\r\n" in w.cmd("INFO", "stats")
    finally:
        for x in (t, c, w):
            x.close()


def test_eviction_invalidates_before_reply(server_factory):
    s = server_factory()
    c = Conn(s.port)
    try:
        c.cmd("HELLO", "3")
        c.cmd("CLIENT", "TRACKING", "on")
        info = c.cmd("INFO", "memory")
        used = int(info.split(b"used_memory:")[1].split(b"\r\n")[0])
        c.cmd("CONFIG", "SET", "maxmemory-policy", "volatile-random")
        c.cmd("CONFIG", "SET", "maxmemory", str(used + 300 * 1024))
        c.cmd("SETEX", "volatile-key", "10000", "x")
        c.cmd("GET", "volatile-key")
        c.cmd("SETBIT", "big-key", "4000000", "0")  # ~500 KB: over the limit
        # The eviction happens before the next command runs: its push precedes the reply.
        c.send_cmd("GETBIT", "big-key", "0")
        c.expect(push(b"volatile-key") + b":0\r\n")
        c.cmd("CONFIG", "SET", "maxmemory", "0")
    finally:
        c.close()


def test_unblocked_command_gets_push_after_reply(server, conn):
    c = conn(resp3=True)
    w = conn()
    w.cmd("RPUSH", "bl:list2", "a")
    c.cmd("CLIENT", "TRACKING", "on")
    c.cmd("LRANGE", "bl:list2", "0", "-1")
    c.send_cmd("BLMOVE", "bl:list1", "bl:list2", "LEFT", "LEFT", "0")
    assert poll(lambda: b"blocked_clients:1" in w.cmd("INFO", "clients"))
    w.cmd("RPUSH", "bl:list1", "foo")
    c.expect(b"$3\r\nfoo\r\n" + push(b"bl:list2"))


def test_reply_off_still_gets_pushes(server, conn):
    c = conn(resp3=True)
    w = conn()
    c.cmd("CLIENT", "TRACKING", "on")
    w.cmd("SET", "ro:foo", "bar")
    c.cmd("GET", "ro:foo")
    c.send_cmd("CLIENT", "REPLY", "OFF")
    w.cmd("SET", "ro:foo", "bar2")
    c.expect(push(b"ro:foo"))
    c.send_cmd("CLIENT", "REPLY", "ON")
    c.expect(b"+OK\r\n")
    c.cmd("CLIENT", "TRACKING", "off")


def test_switching_to_bcast_drops_earlier_keys(server, conn):
    c = conn(resp3=True)
    w = conn()
    c.cmd("CLIENT", "TRACKING", "on")
    c.cmd("GET", "sw:key1")
    c.cmd("CLIENT", "TRACKING", "off")
    c.cmd("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "zz:")
    w.cmd("INCR", "sw:key1")
    c.nothing_pending()
    c.cmd("CLIENT", "TRACKING", "off")
