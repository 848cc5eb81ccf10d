"""SLOWLOG and LATENCY (#8): entries exactly as Redis 7 shapes them (id, unix time, duration,
argv cut at 32 arguments / 128 bytes, client address, client name), the thresholds and
lengths from CONFIG SET, the subcommands' errors, and LATENCY's "command" event from
DEBUG SLEEP. Runs against Redis too (FERRITE_TEST_TARGET=redis).

The suite has its own server: it changes slowlog and latency settings."""
import time

import pytest

from conftest import Raw, Server


@pytest.fixture(scope="module")
def srv():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def c(srv):
    """A raw connection (exact reply shapes) with the slow log on for every command."""
    conn = Raw(srv.port)
    assert conn.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0") == "OK"
    assert conn.cmd("CONFIG", "SET", "slowlog-max-len", "128") == "OK"
    assert conn.cmd("CONFIG", "SET", "latency-monitor-threshold", "0") == "OK"
    conn.cmd("LATENCY", "RESET")
    assert conn.cmd("SLOWLOG", "RESET") == "OK"
    assert conn.cmd("LATENCY", "RESET") == 0  # nothing left to reset
    yield conn
    conn.close()


def my_addr(conn):
    info = conn.cmd("CLIENT", "INFO").decode()
    return dict(f.split("=", 1) for f in info.split())["addr"]


def entries(conn, *count):
    return conn.cmd("SLOWLOG", "GET", *count)


def test_entry_is_redis_shaped(c):
    assert c.cmd("CLIENT", "SETNAME", "obs") == "OK"
    addr = my_addr(c)
    before = int(time.time())
    t0 = time.monotonic()
    assert c.cmd("SET", "k", "v") == "OK"
    round_trip_us = (time.monotonic() - t0) * 1e6
    after = int(time.time())
    e = entries(c, 1)
    assert len(e) == 1
    eid, ts, dur, argv, peer, name = e[0]
    # Microseconds spent executing: never more than the client waited for the reply.
    assert isinstance(eid, int) and isinstance(dur, int) and 0 <= dur <= round_trip_us + 1
    assert before - 1 <= ts <= after + 1
    assert argv == [b"SET", b"k", b"v"]  # as sent, not lower-cased
    assert peer == addr.encode()
    assert name == b"obs"


def test_newest_first_ids_increase_and_len(c):
    for i in range(3):
        c.cmd("SET", f"k{i}", "v")
    e = entries(c, 3)
    assert [x[3] for x in e] == [[b"SET", b"k2", b"v"], [b"SET", b"k1", b"v"], [b"SET", b"k0", b"v"]]
    assert e[0][0] == e[1][0] + 1 == e[2][0] + 2
    # Every command is logged after it ran: SLOWLOG RESET, LATENCY RESET, 3 SETs, SLOWLOG GET.
    assert c.cmd("SLOWLOG", "LEN") == 6


def test_reset_keeps_ids_and_logs_itself(c):
    c.cmd("PING")
    last = entries(c, 1)[0][0]
    assert c.cmd("SLOWLOG", "RESET") == "OK"
    assert c.cmd("SLOWLOG", "LEN") == 1  # the RESET, logged after it cleared the log
    e = entries(c, -1)
    assert [x[3] for x in e] == [[b"SLOWLOG", b"LEN"], [b"SLOWLOG", b"RESET"]]
    assert e[1][0] == last + 2  # ids are never reused (last + 1 was the SLOWLOG GET)


def test_argument_truncation(c):
    c.cmd("SET", "big", "x" * 200)
    argv = entries(c, 1)[0][3]
    assert argv == [b"SET", b"big", b"x" * 128 + b"... (72 more bytes)"]
    c.cmd("SET", "edge", "y" * 128)  # exactly 128 bytes: kept whole
    assert entries(c, 1)[0][3][2] == b"y" * 128
    keys = [f"key{i}" for i in range(40)]
    assert c.cmd("DEL", *keys) == 0
    argv = entries(c, 1)[0][3]
    assert len(argv) == 32
    assert argv[:31] == [b"DEL"] + [k.encode() for k in keys[:30]]
    assert argv[31] == b"... (10 more arguments)"  # 41 arguments, 31 kept
    c.cmd("DEL", *keys[:31])  # 32 arguments exactly: kept whole
    assert entries(c, 1)[0][3] == [b"DEL"] + [k.encode() for k in keys[:31]]


def test_passwords_are_redacted(c):
    r = c.cmd("AUTH", "someone", "secret")
    assert r[0] == "ERR"  # no such user / password
    assert entries(c, 1)[0][3] == [b"AUTH", b"(redacted)", b"(redacted)"]
    c.cmd("CONFIG", "SET", "requirepass", "")
    assert entries(c, 1)[0][3] == [b"CONFIG", b"SET", b"requirepass", b"(redacted)"]


def test_threshold_and_disable(c):
    assert c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "20000") == "OK"  # 20 ms
    c.cmd("SLOWLOG", "RESET")
    c.cmd("SET", "fast", "1")
    assert c.cmd("SLOWLOG", "LEN") == 0
    assert c.cmd("DEBUG", "SLEEP", "0.03") == "OK"
    e = entries(c)
    assert len(e) == 1
    assert e[0][3] == [b"DEBUG", b"SLEEP", b"0.03"]
    assert e[0][2] >= 20000
    assert c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "-1") == "OK"  # disabled
    c.cmd("DEBUG", "SLEEP", "0.03")
    assert c.cmd("SLOWLOG", "LEN") == 1
    assert c.cmd("CONFIG", "GET", "slowlog-log-slower-than") == [b"slowlog-log-slower-than", b"-1"]
    assert c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "-2")[0] == "ERR"


def test_max_len_and_get_counts(c):
    assert c.cmd("CONFIG", "SET", "slowlog-max-len", "3") == "OK"
    for i in range(10):
        c.cmd("SET", f"k{i}", "v")
    assert c.cmd("SLOWLOG", "LEN") == 3
    assert len(entries(c)) == 3  # default count 10, capped by the length
    assert len(entries(c, -1)) == 3
    assert entries(c, 0) == []
    assert len(entries(c, 2)) == 2
    assert entries(c, -2) == ("ERR", "ERR count should be greater than or equal to -1")
    assert entries(c, "abc") == ("ERR", "ERR count should be greater than or equal to -1")
    assert c.cmd("CONFIG", "SET", "slowlog-max-len", "0") == "OK"
    c.cmd("SET", "x", "1")
    assert c.cmd("SLOWLOG", "LEN") == 0


def test_transaction_logs_its_commands_not_exec(c):
    c.cmd("MULTI")
    c.cmd("SET", "t", "1")
    c.cmd("INCR", "t")
    assert c.cmd("EXEC") == ["OK", 2]
    names = [x[3][0] for x in entries(c, 4)]
    assert b"EXEC" not in names and b"exec" not in names
    assert names[:2] == [b"INCR", b"SET"]


def test_blocked_command_logged_once_when_served(srv, c):
    blocker = Raw(srv.port)
    try:
        blocker.send(b"*3\r\n$5\r\nBLPOP\r\n$5\r\nslowq\r\n$1\r\n5\r\n")
        deadline = time.time() + 5
        while time.time() < deadline:
            info = c.cmd("INFO", "clients").decode()
            if "blocked_clients:1" in info:
                break
            time.sleep(0.01)
        assert "blocked_clients:1" in info
        assert not any(x[3][0] == b"BLPOP" for x in entries(c, -1))
        assert c.cmd("LPUSH", "slowq", "x") == 1
        assert blocker.reply() == [b"slowq", b"x"]
        assert [x[3] for x in entries(c, -1) if x[3][0] == b"BLPOP"] == [[b"BLPOP", b"slowq", b"5"]]
    finally:
        blocker.close()


def test_slowlog_errors_and_help(c):
    assert c.cmd("SLOWLOG", "LEN", "x") == ("ERR", "ERR wrong number of arguments for 'slowlog|len' command")
    assert c.cmd("SLOWLOG", "RESET", "x") == ("ERR", "ERR wrong number of arguments for 'slowlog|reset' command")
    assert c.cmd("SLOWLOG", "GET", "1", "2") == (
        "ERR", "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.")
    assert c.cmd("SLOWLOG", "foo") == ("ERR", "ERR unknown subcommand 'foo'. Try SLOWLOG HELP.")
    assert c.cmd("SLOWLOG") == ("ERR", "ERR wrong number of arguments for 'slowlog' command")
    assert c.cmd("SLOWLOG", "HELP") == [
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    ]


# ---------------------------------------------------------------- LATENCY

def test_latency_command_event(c):
    assert c.cmd("LATENCY", "LATEST") == []
    assert c.cmd("DEBUG", "SLEEP", "0.05") == "OK"  # threshold 0: monitor off
    assert c.cmd("LATENCY", "LATEST") == []
    assert c.cmd("CONFIG", "SET", "latency-monitor-threshold", "10") == "OK"
    before = int(time.time())
    c.cmd("SET", "quick", "1")  # well under 10 ms
    assert c.cmd("DEBUG", "SLEEP", "0.05") == "OK"
    after = int(time.time())
    latest = c.cmd("LATENCY", "LATEST")
    assert len(latest) == 1
    event, ts, last, worst = latest[0]
    assert event == b"command"
    assert before - 1 <= ts <= after + 1
    assert 50 <= last < 5000 and worst == last
    history = c.cmd("LATENCY", "HISTORY", "command")
    assert history == [[ts, last]]
    assert c.cmd("LATENCY", "HISTORY", "no-such-event") == []


def test_latency_same_second_keeps_the_worst_and_reset(c):
    assert c.cmd("CONFIG", "SET", "latency-monitor-threshold", "10") == "OK"
    c.cmd("DEBUG", "SLEEP", "0.02")
    c.cmd("DEBUG", "SLEEP", "0.06")
    history = c.cmd("LATENCY", "HISTORY", "command")
    assert 1 <= len(history) <= 2  # one sample per second
    assert max(lat for _, lat in history) >= 60
    worst = c.cmd("LATENCY", "LATEST")[0][3]
    assert worst >= 60
    assert c.cmd("LATENCY", "RESET", "no-such-event") == 0
    assert c.cmd("LATENCY", "RESET", "COMMAND") == 1  # event names match case-insensitively
    assert c.cmd("LATENCY", "LATEST") == []
    c.cmd("DEBUG", "SLEEP", "0.02")
    assert c.cmd("LATENCY", "RESET") == 1


def test_latency_errors_and_help(c):
    assert c.cmd("LATENCY", "HISTORY") == ("ERR", "ERR wrong number of arguments for 'latency|history' command")
    assert c.cmd("LATENCY", "LATEST", "x") == ("ERR", "ERR wrong number of arguments for 'latency|latest' command")
    assert c.cmd("LATENCY", "foo") == ("ERR", "ERR unknown subcommand 'foo'. Try LATENCY HELP.")
    help_lines = c.cmd("LATENCY", "HELP")
    assert help_lines[0] == "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert help_lines[-2:] == ["HELP", "    Prints this help."]
    for line in ["HISTORY <event>", "    Return time-latency samples for the <event> class.",
                 "LATEST", "    Return the latest latency samples for all events.",
                 "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
                 "    (default: reset all data for all event classes)"]:
        assert line in help_lines
