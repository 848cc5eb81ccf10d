"""Pub/sub with Redis 7's exact replies: SUBSCRIBE/PSUBSCRIBE confirmations, message and
pmessage delivery, PUBLISH receiver counts, PUBSUB CHANNELS/NUMSUB/NUMPAT, the RESP2
subscribed-mode restrictions, RESP3 push frames, and redis-cli as a subscriber.

Channels on the shared server are prefixed per test; the global counters (NUMPAT, the full
CHANNELS list) are checked on a server of their own."""
import os
import select
import subprocess
import time

from conftest import redis_cli

SUBSCRIBED_ONLY = ("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                   "QUIT / RESET are allowed in this context")



def next_message(p, timeout=2.0):
    """The next message on a redis-py PubSub, failing after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no pub/sub message within %.1fs" % timeout)
        m = p.get_message(timeout=min(left, 0.5))
        if m is not None:
            return m


def no_message(p, wait=0.1):
    return p.get_message(timeout=wait) is None


def wait_for(fn, timeout=5.0):
    """Polls fn() until it is truthy (the server handles a disconnect asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.01)


def msg(kind, channel, data, pattern=None):
    return {"type": kind, "pattern": pattern, "channel": channel, "data": data}


# ---- redis-py PubSub -------------------------------------------------------------------

def test_subscribe_publish_unsubscribe(r):
    p = r.pubsub()
    try:
        p.subscribe("ps1:news")
        assert next_message(p) == msg("subscribe", "ps1:news", 1)
        assert r.publish("ps1:news", "hello") == 1
        assert next_message(p) == msg("message", "ps1:news", "hello")
        assert r.publish("ps1:other", "x") == 0
        assert no_message(p)
        p.subscribe("ps1:a", "ps1:b")
        assert next_message(p) == msg("subscribe", "ps1:a", 2)
        assert next_message(p) == msg("subscribe", "ps1:b", 3)
        assert r.publish("ps1:b", "to b") == 1
        assert r.publish("ps1:a", "to a") == 1
        assert next_message(p) == msg("message", "ps1:b", "to b")
        assert next_message(p) == msg("message", "ps1:a", "to a")
        p.unsubscribe("ps1:news")
        assert next_message(p) == msg("unsubscribe", "ps1:news", 2)
        assert r.publish("ps1:news", "gone") == 0
        p.unsubscribe()
        rest = [next_message(p), next_message(p)]
        assert sorted(m["channel"] for m in rest) == ["ps1:a", "ps1:b"]
        assert [m["type"] for m in rest] == ["unsubscribe"] * 2
        assert [m["data"] for m in rest] == [1, 0]
        assert no_message(p)
    finally:
        p.close()


def test_psubscribe_pmessage(r):
    p = r.pubsub()
    try:
        p.psubscribe("ps2:news.*", "ps2:h?llo", "ps2:b[ae]d")
        assert next_message(p) == msg("psubscribe", "ps2:news.*", 1)
        assert next_message(p) == msg("psubscribe", "ps2:h?llo", 2)
        assert next_message(p) == msg("psubscribe", "ps2:b[ae]d", 3)
        assert r.publish("ps2:news.tech", "x") == 1
        assert next_message(p) == msg("pmessage", "ps2:news.tech", "x", pattern="ps2:news.*")
        for ch, n in (("ps2:hello", 1), ("ps2:hallo", 1), ("ps2:heello", 0), ("ps2:bed", 1),
                      ("ps2:bid", 0), ("ps2:news", 0), ("ps2:sport", 0)):
            assert r.publish(ch, "m") == n, ch
        got = [next_message(p) for _ in range(3)]
        assert got == [msg("pmessage", "ps2:hello", "m", pattern="ps2:h?llo"),
                       msg("pmessage", "ps2:hallo", "m", pattern="ps2:h?llo"),
                       msg("pmessage", "ps2:bed", "m", pattern="ps2:b[ae]d")]
        assert no_message(p)
        p.punsubscribe("ps2:h?llo")
        assert next_message(p) == msg("punsubscribe", "ps2:h?llo", 2)
        assert r.publish("ps2:hello", "m") == 0
    finally:
        p.close()


def test_publish_counts_every_receiver(server, r):
    a, b, c = (server.client(decode_responses=True).pubsub() for _ in range(3))
    try:
        a.subscribe("ps3:ch")
        b.subscribe("ps3:ch")
        b.psubscribe("ps3:c*")
        c.psubscribe("ps3:*h")
        for p, n in ((a, 1), (b, 2), (c, 1)):
            for _ in range(n):
                assert next_message(p)["type"] in ("subscribe", "psubscribe")
        # A client subscribed by channel and by pattern receives (and counts) twice.
        assert r.publish("ps3:ch", "m") == 4
        assert next_message(a) == msg("message", "ps3:ch", "m")
        assert next_message(b) == msg("message", "ps3:ch", "m")
        assert next_message(b) == msg("pmessage", "ps3:ch", "m", pattern="ps3:c*")
        assert next_message(c) == msg("pmessage", "ps3:ch", "m", pattern="ps3:*h")
        assert r.publish("ps3:cat", "m2") == 1
        assert next_message(b) == msg("pmessage", "ps3:cat", "m2", pattern="ps3:c*")
        assert all(no_message(p, 0.05) for p in (a, b, c))
    finally:
        for p in (a, b, c):
            p.close()


def test_binary_channel_and_payload(server, rb):
    p = rb.pubsub()
    try:
        ch, data = b"ps4:\x00\xff\r\n", b"\x00payload\r\n\xfe" + b"x" * 100000
        p.subscribe(ch)
        assert next_message(p) == msg("subscribe", ch, 1)
        assert rb.publish(ch, data) == 1
        assert next_message(p) == msg("message", ch, data)
    finally:
        p.close()


def test_ping_in_subscribed_mode_via_redis_py(r):
    p = r.pubsub()
    try:
        p.subscribe("ps5:ch")
        assert next_message(p)["type"] == "subscribe"
        p.ping()
        assert next_message(p) == {"type": "pong", "pattern": None, "channel": None, "data": ""}
        p.ping("hi")
        assert next_message(p) == {"type": "pong", "pattern": None, "channel": None, "data": "hi"}
    finally:
        p.close()


# ---- raw RESP2 -------------------------------------------------------------------------

def test_resp2_subscribed_client_is_restricted(raw, r):
    c = raw()
    assert c.cmd("SUBSCRIBE", "ps6:ch") == [b"subscribe", b"ps6:ch", 1]
    assert c.cmd("GET", "ps6:k") == ("ERR", SUBSCRIBED_ONLY % "get")
    assert c.cmd("set", "ps6:k", "v") == ("ERR", SUBSCRIBED_ONLY % "set")
    assert c.cmd("PUBLISH", "ps6:ch", "x") == ("ERR", SUBSCRIBED_ONLY % "publish")
    assert c.cmd("PING") == [b"pong", b""]
    assert c.cmd("PING", "msg") == [b"pong", b"msg"]
    assert r.get("ps6:k") is None
    # Still subscribed: messages keep arriving.
    assert r.publish("ps6:ch", "m") == 1
    assert c.reply() == [b"message", b"ps6:ch", b"m"]
    assert c.cmd("PSUBSCRIBE", "ps6:*") == [b"psubscribe", b"ps6:*", 2]
    assert c.cmd("UNSUBSCRIBE") == [b"unsubscribe", b"ps6:ch", 1]
    assert c.cmd("GET", "ps6:k") == ("ERR", SUBSCRIBED_ONLY % "get")  # a pattern is left
    assert c.cmd("PUNSUBSCRIBE") == [b"punsubscribe", b"ps6:*", 0]
    # Out of subscribed mode: everything works again.
    assert c.cmd("GET", "ps6:k") is None
    assert c.cmd("PING") == "PONG"


def test_quit_is_allowed_while_subscribed(raw, r):
    c = raw()
    assert c.cmd("SUBSCRIBE", "ps7:ch") == [b"subscribe", b"ps7:ch", 1]
    assert c.cmd("QUIT") == "OK"
    assert c.closed()
    assert wait_for(lambda: r.pubsub_numsub("ps7:ch") == [("ps7:ch", 0)])


def test_unsubscribe_without_subscriptions(raw):
    c = raw()
    assert c.cmd("UNSUBSCRIBE") == [b"unsubscribe", None, 0]
    assert c.cmd("PUNSUBSCRIBE") == [b"punsubscribe", None, 0]
    assert c.cmd("UNSUBSCRIBE", "ps8:never") == [b"unsubscribe", b"ps8:never", 0]
    assert c.cmd("PUNSUBSCRIBE", "ps8:*") == [b"punsubscribe", b"ps8:*", 0]
    # None of that entered subscribed mode.
    assert c.cmd("GET", "ps8:k") is None
    assert c.cmd("PING") == "PONG"


def test_unsubscribe_without_subscriptions_via_redis_py(r):
    p = r.pubsub()
    try:
        p.execute_command("UNSUBSCRIBE")
        # get_message() returns nothing while redis-py thinks the client is unsubscribed:
        # read the reply itself.
        reply = p.parse_response(block=False, timeout=2)
        assert reply == ["unsubscribe", None, 0]
        assert p.handle_message(reply) == msg("unsubscribe", None, 0)
    finally:
        p.close()


def test_subscribing_twice_counts_once(raw, r):
    c = raw()
    assert c.cmd("SUBSCRIBE", "ps9:a", "ps9:a") == [b"subscribe", b"ps9:a", 1]
    assert c.reply() == [b"subscribe", b"ps9:a", 1]
    assert c.cmd("PSUBSCRIBE", "ps9:*") == [b"psubscribe", b"ps9:*", 2]
    assert c.cmd("PSUBSCRIBE", "ps9:*") == [b"psubscribe", b"ps9:*", 2]
    assert r.publish("ps9:a", "m") == 2
    assert c.reply() == [b"message", b"ps9:a", b"m"]
    assert c.reply() == [b"pmessage", b"ps9:*", b"ps9:a", b"m"]
    assert c.cmd("UNSUBSCRIBE", "ps9:a", "ps9:a") == [b"unsubscribe", b"ps9:a", 1]
    assert c.reply() == [b"unsubscribe", b"ps9:a", 1]


def test_reset_leaves_subscribed_mode(raw, r):
    """Ferrite: RESET keeps the subscriptions (GET is still refused, NUMSUB stays 1)."""
    c = raw()
    assert c.cmd("SUBSCRIBE", "ps10:ch") == [b"subscribe", b"ps10:ch", 1]
    assert c.cmd("PSUBSCRIBE", "ps10:*") == [b"psubscribe", b"ps10:*", 2]
    assert c.cmd("RESET") == "RESET"
    assert c.cmd("GET", "ps10:k") is None
    assert r.pubsub_numsub("ps10:ch") == [("ps10:ch", 0)]
    assert r.publish("ps10:ch", "m") == 0


# ---- PUBSUB introspection --------------------------------------------------------------

def test_pubsub_channels_numsub_numpat(server_factory):
    s = server_factory()
    r = s.client(decode_responses=True)
    assert r.pubsub_channels() == []
    assert r.pubsub_numpat() == 0
    assert r.pubsub_numsub() == []
    subs = [s.client(decode_responses=True).pubsub() for _ in range(4)]
    try:
        a, b, c, d = subs
        a.subscribe("ch1", "ch2")
        b.subscribe("ch1", "other")
        c.psubscribe("ch*", "x*")
        d.psubscribe("ch*")
        for p, n in ((a, 2), (b, 2), (c, 2), (d, 1)):
            for _ in range(n):
                next_message(p)
        assert sorted(r.pubsub_channels()) == ["ch1", "ch2", "other"]
        assert sorted(r.pubsub_channels("ch*")) == ["ch1", "ch2"]
        assert r.pubsub_channels("nomatch*") == []
        assert r.pubsub_numsub("ch1", "ch2", "other", "none") == [
            ("ch1", 2), ("ch2", 1), ("other", 1), ("none", 0)]
        # Redis 7 counts distinct patterns; pattern subscribers are not in NUMSUB.
        assert r.pubsub_numpat() == 2
        assert r.publish("ch1", "m") == 4
        # A closed connection drops its subscriptions.
        b.close()
        assert wait_for(lambda: r.pubsub_numsub("ch1", "other") == [("ch1", 1), ("other", 0)])
        assert sorted(r.pubsub_channels()) == ["ch1", "ch2"]
        c.close()
        assert wait_for(lambda: r.pubsub_numpat() == 1)
        assert r.publish("ch1", "m") == 2
        a.unsubscribe("ch2")
        assert wait_for(lambda: r.pubsub_channels() == ["ch1"])
    finally:
        for p in subs:
            p.close()
    assert wait_for(lambda: r.pubsub_channels() == [] and r.pubsub_numpat() == 0)
    r.close()


def test_pubsub_raw_replies(raw):
    c = raw()
    assert c.cmd("PUBSUB", "NUMSUB") == []
    assert c.cmd("PUBSUB", "NUMSUB", "ps11:x", "ps11:y") == [b"ps11:x", 0, b"ps11:y", 0]
    assert c.cmd("PUBSUB", "CHANNELS", "ps11:*") == []
    assert isinstance(c.cmd("PUBSUB", "NUMPAT"), int)
    assert c.cmd("PUBSUB") == ("ERR", "ERR wrong number of arguments for 'pubsub' command")
    assert c.cmd("PUBLISH", "ps11:x") == (
        "ERR", "ERR wrong number of arguments for 'publish' command")
    assert c.cmd("SUBSCRIBE") == ("ERR", "ERR wrong number of arguments for 'subscribe' command")


# ---- RESP3 -------------------------------------------------------------------------------

def push(c, n):
    """Reads one push frame of n elements, checking it is a push ('>'), not an array."""
    assert c.line() == b">%d" % n
    return [c.reply() for _ in range(n)]


def test_resp3_push_messages(raw, r):
    c = raw()
    assert c.cmd("HELLO", "3")["proto"] == 3
    c.send(b"*2\r\n$9\r\nSUBSCRIBE\r\n$9\r\nps12:news\r\n")
    assert push(c, 3) == [b"subscribe", b"ps12:news", 1]
    # RESP3 clients may run any command while subscribed.
    assert c.cmd("DEL", "ps12:k") == 0
    assert c.cmd("GET", "ps12:k") == "NULL3"
    assert c.cmd("SET", "ps12:k", "v") == "OK"
    assert c.cmd("GET", "ps12:k") == b"v"
    assert c.cmd("PING") == "PONG"
    assert r.publish("ps12:news", "hi") == 1
    assert push(c, 3) == [b"message", b"ps12:news", b"hi"]
    c.send(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$6\r\nps12:*\r\n")
    assert push(c, 3) == [b"psubscribe", b"ps12:*", 2]
    assert r.publish("ps12:news", "both") == 2
    assert push(c, 3) == [b"message", b"ps12:news", b"both"]
    assert push(c, 4) == [b"pmessage", b"ps12:*", b"ps12:news", b"both"]
    # A push written before a reply comes out first, whole.
    assert r.publish("ps12:x", "p") == 1
    c.send(b"*2\r\n$3\r\nGET\r\n$6\r\nps12:k\r\n")
    assert push(c, 4) == [b"pmessage", b"ps12:*", b"ps12:x", b"p"]
    assert c.reply() == b"v"
    c.send(b"*1\r\n$11\r\nUNSUBSCRIBE\r\n")
    assert push(c, 3) == [b"unsubscribe", b"ps12:news", 1]
    c.send(b"*1\r\n$12\r\nPUNSUBSCRIBE\r\n")
    assert push(c, 3) == [b"punsubscribe", b"ps12:*", 0]
    c.send(b"*1\r\n$11\r\nUNSUBSCRIBE\r\n")
    assert push(c, 3) == [b"unsubscribe", "NULL3", 0]
    c.cmd("DEL", "ps12:k")


def test_resp3_push_between_replies(raw, r):
    c = raw()
    c.cmd("HELLO", "3")
    c.send(b"*2\r\n$9\r\nSUBSCRIBE\r\n$9\r\nps13:news\r\n")
    assert push(c, 3) == [b"subscribe", b"ps13:news", 1]
    assert r.publish("ps13:news", "first") == 1
    # The push was written before the ECHO reply: it comes out first.
    c.send(b"*2\r\n$4\r\nECHO\r\n$5\r\nafter\r\n")
    assert push(c, 3) == [b"message", b"ps13:news", b"first"]
    assert c.reply() == b"after"


def test_resp2_and_resp3_subscribers_together(raw, r):
    c2, c3 = raw(), raw()
    c3.cmd("HELLO", "3")
    assert c2.cmd("SUBSCRIBE", "ps14:ch") == [b"subscribe", b"ps14:ch", 1]
    c3.send(b"*2\r\n$9\r\nSUBSCRIBE\r\n$7\r\nps14:ch\r\n")
    assert push(c3, 3) == [b"subscribe", b"ps14:ch", 1]
    assert r.publish("ps14:ch", "m") == 2
    assert c2.line() == b"*3"
    assert [c2.reply() for _ in range(3)] == [b"message", b"ps14:ch", b"m"]
    assert push(c3, 3) == [b"message", b"ps14:ch", b"m"]


def test_resp3_numsub_is_a_flat_array(raw):
    """Ferrite replies PUBSUB NUMSUB with a RESP3 map; Redis keeps the flat array."""
    c = raw()
    c.cmd("HELLO", "3")
    c.send(b"*4\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n$6\r\nps15:a\r\n$6\r\nps15:b\r\n")
    assert c.line() == b"*4"
    assert [c.reply() for _ in range(4)] == [b"ps15:a", 0, b"ps15:b", 0]


# ---- redis-cli ---------------------------------------------------------------------------

def test_redis_cli_subscribe_receives_a_message(server, r):
    proc = subprocess.Popen(["redis-cli", "-p", str(server.port), "subscribe", "ps16:cli"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: r.pubsub_numsub("ps16:cli") == [("ps16:cli", 1)])
        out = redis_cli(server.port, "PUBLISH", "ps16:cli", "hello from a test", timeout=10)
        assert out.stdout.strip() == b"1"
        buf, deadline = b"", time.monotonic() + 5
        while b"hello from a test\n" not in buf and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buf += chunk
        assert buf == b"subscribe\nps16:cli\n1\nmessage\nps16:cli\nhello from a test\n"
    finally:
        proc.kill()
        proc.wait(5)
        proc.stdout.close()
    assert wait_for(lambda: r.pubsub_numsub("ps16:cli") == [("ps16:cli", 0)])
