"""Blocking pops and moves: immediate replies, timeouts, wake-ups, fairness and
transactions. A blocked client is a raw connection that sends its command and reads the
reply later; every wait is bounded."""
import select
import time

import pytest
import redis

from conftest import Raw

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def err(fn):
    with pytest.raises(redis.ResponseError) as e:
        fn()
    return str(e.value)


def send(conn, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    conn.send(out)


def wait_blocked(r, n, timeout=5):
    """Waits (bounded) until INFO reports exactly n blocked clients."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if r.info("clients")["blocked_clients"] == n:
            return
        time.sleep(0.01)
    raise AssertionError(f"blocked_clients never reached {n}: {r.info('clients')['blocked_clients']}")


@pytest.fixture
def blocker(server):
    """Makes raw connections whose reads give up after 3 s (a test never hangs)."""
    conns = []

    def make():
        c = Raw(server.port)
        c.sock.settimeout(3)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()


def blocked(blocker, r, *args, waiting=1):
    """Sends a blocking command on a fresh connection and waits until it is blocked (the
    server then counts `waiting` blocked clients). A reply instead fails the test at once."""
    c = blocker()
    send(c, *args)
    deadline = time.time() + 5
    while time.time() < deadline:
        if r.info("clients")["blocked_clients"] == waiting:
            return c
        if select.select([c.sock], [], [], 0.01)[0]:
            raise AssertionError(f"{args[0]} replied instead of blocking: {c.reply()!r}")
    raise AssertionError(f"{args[0]} did not block")


def timed(fn):
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0


# --- immediate replies ------------------------------------------------------------------

def test_blpop_brpop_immediate(r):
    r.rpush("l", "a", "b", "c")
    assert r.blpop(["l"], 1) == ("l", "a")
    assert r.brpop(["l"], 1) == ("l", "c")
    assert r.llen("l") == 1


def test_blpop_takes_the_first_non_empty_key_in_argument_order(r):
    r.rpush("second", "x")
    r.rpush("third", "y")
    assert r.blpop(["first", "second", "third"], 1) == ("second", "x")
    assert r.brpop(["first", "second", "third"], 1) == ("third", "y")


def test_blmove_brpoplpush_immediate(r):
    r.rpush("src", "a", "b")
    assert r.blmove("src", "dst", 1, "RIGHT", "LEFT") == "b"
    assert r.brpoplpush("src", "dst", 1) == "a"
    assert r.lrange("dst", 0, -1) == ["a", "b"]
    assert r.exists("src") == 0


def test_blmpop_immediate(r):
    r.rpush("b", "1", "2", "3")
    assert r.execute_command("BLMPOP", "1", "2", "a", "b", "LEFT", "COUNT", "2") == ["b", ["1", "2"]]
    assert r.execute_command("BLMPOP", "1", "1", "b", "RIGHT") == ["b", ["3"]]


def test_bzpopmin_bzpopmax_immediate(r, raw):
    r.zadd("z", {"a": 1, "b": 2.5, "c": 3})
    assert raw().cmd("BZPOPMIN", "z", "1") == [b"z", b"a", b"1"]
    assert raw().cmd("BZPOPMAX", "nokey", "z", "1") == [b"z", b"c", b"3"]
    assert r.bzpopmin(["z"], 1) == ("z", "b", 2.5)


def test_bzmpop_immediate(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.execute_command("BZMPOP", "1", "1", "z", "MAX", "COUNT", "2") == ["z", [["c", "3"], ["b", "2"]]]
    assert r.execute_command("BZMPOP", "1", "2", "nokey", "z", "MIN") == ["z", [["a", "1"]]]


def test_blocking_on_a_wrong_type_key_fails_at_once(r):
    r.set("s", "x")
    assert err(lambda: r.execute_command("BLPOP", "s", "0")) == WRONGTYPE
    assert err(lambda: r.execute_command("BZPOPMIN", "s", "0")) == WRONGTYPE
    assert err(lambda: r.execute_command("BLMOVE", "s", "d", "LEFT", "LEFT", "0")) == WRONGTYPE


# --- timeouts ---------------------------------------------------------------------------

@pytest.mark.parametrize("cmd", [
    ("BLPOP", "nokey", "0.2"),
    ("BRPOP", "nokey", "0.2"),
    ("BLMPOP", "0.2", "1", "nokey", "LEFT"),
    ("BZPOPMIN", "nokey", "0.2"),
    ("BZPOPMAX", "nokey", "0.2"),
    ("BZMPOP", "0.2", "1", "nokey", "MIN"),
])
def test_timeout_replies_nil_array(r, raw, cmd):
    c = raw()
    t0 = time.monotonic()
    send(c, *cmd)
    assert c.line() == b"*-1"
    assert 0.15 <= time.monotonic() - t0 < 2


@pytest.mark.parametrize("cmd", [
    ("BLMOVE", "nokey", "dst", "LEFT", "RIGHT", "0.1"),
    ("BRPOPLPUSH", "nokey", "dst", "0.1"),
])
def test_move_timeout_replies_nil_array(r, raw, cmd):
    """Surprising but true in Redis 7: a timed-out BLMOVE/BRPOPLPUSH replies *-1 (a nil
    array), though the same command inside MULTI on an empty key replies $-1."""
    c = raw()
    t0 = time.monotonic()
    send(c, *cmd)
    assert c.line() == b"*-1"
    assert 0.05 <= time.monotonic() - t0 < 2
    assert r.exists("dst") == 0


def test_timeout_in_resp3_is_null(r, raw):
    c = raw()
    c.cmd("HELLO", "3")
    send(c, "BLPOP", "nokey", "0.1")
    assert c.line() == b"_"


def test_fractional_timeout_via_client(r):
    out, took = timed(lambda: r.blpop(["nokey"], 0.3))
    assert out is None
    assert 0.25 <= took < 2


def test_timeout_errors(r):
    assert err(lambda: r.execute_command("BLPOP", "l", "-1")) == "timeout is negative"
    assert err(lambda: r.execute_command("BZPOPMIN", "z", "-0.5")) == "timeout is negative"
    assert err(lambda: r.execute_command("BLPOP", "l", "abc")) == "timeout is not a float or out of range"
    assert err(lambda: r.execute_command("BLMOVE", "a", "b", "LEFT", "LEFT", "abc")) == \
        "timeout is not a float or out of range"
    assert err(lambda: r.execute_command("BLMPOP", "abc", "1", "l", "LEFT")) == \
        "timeout is not a float or out of range"


# --- wake-ups ---------------------------------------------------------------------------

def test_blpop_woken_by_a_push(r, blocker):
    c = blocked(blocker, r, "BLPOP", "l", "5")
    assert r.lpush("l", "x") == 1
    assert c.reply() == [b"l", b"x"]
    wait_blocked(r, 0)
    assert r.exists("l") == 0  # the pushed element went to the waiter


def test_waiter_takes_one_element_of_a_multi_push(r, blocker):
    c = blocked(blocker, r, "BLPOP", "l", "5")
    assert r.rpush("l", "a", "b", "c") == 3  # the reply counts before serving
    assert c.reply() == [b"l", b"a"]
    assert r.lrange("l", 0, -1) == ["b", "c"]


def test_woken_on_any_of_its_keys(r, blocker):
    c = blocked(blocker, r, "BRPOP", "k1", "k2", "k3", "5")
    r.rpush("k2", "x", "y")
    assert c.reply() == [b"k2", b"y"]


def test_blocked_clients_served_first_come_first_served(r, blocker):
    first = blocked(blocker, r, "BLPOP", "l", "5", waiting=1)
    second = blocked(blocker, r, "BLPOP", "l", "5", waiting=2)
    r.rpush("l", "one")
    assert first.reply() == [b"l", b"one"]
    wait_blocked(r, 1)  # the second still waits
    r.rpush("l", "two")
    assert second.reply() == [b"l", b"two"]
    wait_blocked(r, 0)


def test_one_push_serves_several_waiters_in_order(r, blocker):
    first = blocked(blocker, r, "BLPOP", "l", "5", waiting=1)
    second = blocked(blocker, r, "BRPOP", "l", "5", waiting=2)
    r.rpush("l", "a", "b", "c")
    assert first.reply() == [b"l", b"a"]
    assert second.reply() == [b"l", b"c"]
    assert r.lrange("l", 0, -1) == ["b"]


def test_blmove_woken_by_a_push(r, blocker):
    c = blocked(blocker, r, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "5")
    r.rpush("src", "a", "b")
    assert c.reply() == b"b"
    assert r.lrange("src", 0, -1) == ["a"]
    assert r.lrange("dst", 0, -1) == ["b"]


def test_brpoplpush_woken_by_a_push(r, blocker):
    c = blocked(blocker, r, "BRPOPLPUSH", "src", "dst", "5")
    r.lpush("src", "x")
    assert c.reply() == b"x"
    assert r.lrange("dst", 0, -1) == ["x"]
    assert r.exists("src") == 0


def test_blmove_feeds_a_client_blocked_on_its_destination(r, blocker):
    """A blocked BLMOVE, once served, pushes to its destination and so wakes a client
    blocked there, within the same push."""
    mover = blocked(blocker, r, "BLMOVE", "src", "dst", "LEFT", "LEFT", "5", waiting=1)
    popper = blocked(blocker, r, "BLPOP", "dst", "5", waiting=2)
    r.rpush("src", "x")
    assert mover.reply() == b"x"
    assert popper.reply() == [b"dst", b"x"]
    assert r.exists("src", "dst") == 0


def test_blmpop_woken_takes_up_to_count(r, blocker):
    c = blocked(blocker, r, "BLMPOP", "5", "2", "a", "b", "RIGHT", "COUNT", "2")
    r.rpush("b", "1", "2", "3")
    assert c.reply() == [b"b", [b"3", b"2"]]
    assert r.lrange("b", 0, -1) == ["1"]


def test_bzpopmin_bzpopmax_woken_by_zadd(r, blocker):
    low = blocked(blocker, r, "BZPOPMIN", "z", "5", waiting=1)
    high = blocked(blocker, r, "BZPOPMAX", "z", "5", waiting=2)
    r.zadd("z", {"a": 1, "b": 2, "c": 3.5})
    assert low.reply() == [b"z", b"a", b"1"]
    assert high.reply() == [b"z", b"c", b"3.5"]
    assert r.zrange("z", 0, -1) == ["b"]


def test_bzmpop_woken_by_zadd(r, blocker):
    c = blocked(blocker, r, "BZMPOP", "5", "1", "z", "MIN", "COUNT", "5")
    r.zadd("z", {"a": 1, "b": 2})
    assert c.reply() == [b"z", [[b"a", b"1"], [b"b", b"2"]]]
    assert r.exists("z") == 0


def test_push_of_another_type_does_not_wake(r, blocker):
    c = blocked(blocker, r, "BZPOPMIN", "k", "5")
    r.rpush("k", "x")  # a list, not a sorted set: the client keeps waiting
    time.sleep(0.1)
    wait_blocked(r, 1)
    r.delete("k")
    r.zadd("k", {"m": 1})
    assert c.reply() == [b"k", b"m", b"1"]


def test_disconnected_waiter_takes_nothing(r, blocker):
    c = blocked(blocker, r, "BLPOP", "l", "5")
    c.close()
    wait_blocked(r, 0)
    r.rpush("l", "x")
    assert r.lrange("l", 0, -1) == ["x"]


# --- transactions -----------------------------------------------------------------------

def test_woken_by_a_push_inside_multi_exec(r, blocker):
    c = blocked(blocker, r, "BLPOP", "l", "5")
    p = r.pipeline(transaction=True)
    p.rpush("l", "a")
    p.rpush("l", "b")
    assert p.execute() == [1, 2]  # both pushes ran before the waiter was served
    assert c.reply() == [b"l", b"a"]
    assert r.lrange("l", 0, -1) == ["b"]


def test_waiter_served_against_the_state_after_exec(r, blocker):
    """Served after EXEC: a push and a pop in one transaction leave nothing to serve."""
    c = blocked(blocker, r, "BLPOP", "l", "5")
    p = r.pipeline(transaction=True)
    p.rpush("l", "a")
    p.lpop("l")
    assert p.execute() == [1, "a"]
    time.sleep(0.1)
    wait_blocked(r, 1)
    r.rpush("l", "b")
    assert c.reply() == [b"l", b"b"]


def test_blocking_commands_inside_multi_do_not_block(r):
    """Inside a transaction a blocking command on an empty key replies nil at once, even
    with timeout 0 (forever)."""
    p = r.pipeline(transaction=True)
    p.blpop(["nokey"], 0)
    p.brpoplpush("nokey", "dst", 0)
    p.execute_command("BLMPOP", "0", "1", "nokey", "LEFT")
    p.execute_command("BZPOPMIN", "nokey", "0")
    out, took = timed(p.execute)
    assert out == [None, None, None, None]
    assert took < 1


def test_nil_kinds_inside_multi(r, raw):
    """Inside MULTI the move commands reply a nil bulk, the pops a nil array."""
    c = raw()
    assert c.cmd("MULTI") == "OK"
    for cmd in [("BRPOPLPUSH", "nokey", "d", "0"), ("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0"),
                ("BLPOP", "nokey", "0"), ("BZPOPMIN", "nokey", "0")]:
        assert c.cmd(*cmd) == "QUEUED"
    send(c, "EXEC")
    assert [c.line() for _ in range(5)] == [b"*4", b"$-1", b"$-1", b"*-1", b"*-1"]


def test_blocking_command_inside_multi_with_data(r):
    r.rpush("l", "a")
    p = r.pipeline(transaction=True)
    p.blpop(["l"], 0)
    p.blpop(["l"], 0)
    assert p.execute() == [("l", "a"), None]
